"""Aggregation modes on ragged batches and the KL estimators."""

import math

import pytest
import torch
from _losses_common import rollouts

from optkit.core.errors import InvalidParameterError
from optkit.rl.losses import kl as K
from optkit.rl.losses.aggregation import AGGREGATIONS as AG
from optkit.rl.losses.policy import policy_loss


def t(x):
    return torch.tensor(x, dtype=torch.float64)


def test_verl_593_counter_example():
    # one response of 1 token with loss 10, one of 5 tokens with loss 2 each
    loss = t([[10, 0, 0, 0, 0], [2, 2, 2, 2, 2]])
    mask = t([[1, 0, 0, 0, 0], [1, 1, 1, 1, 1]])
    assert float(AG["token_mean"](loss, mask)) == pytest.approx(20 / 6)  # 3.33
    assert float(AG["seq_mean_token_mean"](loss, mask)) == pytest.approx(6.0)
    assert float(AG["seq_mean_token_sum"](loss, mask)) == pytest.approx(10.0)
    assert float(AG["seq_mean_token_sum_norm"](loss, mask, {"norm_length": 10})) == pytest.approx(20 / 20)
    assert float(AG["only_token_mean"](loss, mask)) == pytest.approx(12.0)
    # ΔL with alpha = 1: w = L^-1 / mean(L^-1) = (1, 0.2)/0.6; sum_i w_i S_i / (B L_max) = (10/0.6 + 0.2*10/0.6)/(2*5)
    assert float(AG["delta_l"](loss, mask, {"delta_l_alpha": 1.0})) == pytest.approx((10 + 2) / 0.6 / 10)


def test_dr_grpo_uses_task_max_length():
    r = rollouts([1, 0], t([[-1.0, -1.0, 0.0], [-1.0, 0.0, 0.0]]), mask=t([[1, 1, 0], [1, 0, 0]]), group_size=2, max_length=8)
    loss = t([[1, 1, 0], [1, 0, 0]])
    assert float(AG["seq_mean_token_sum_norm"](loss, r.mask, {}, r)) == pytest.approx(3 / (2 * 8))


def test_kl_estimators_values_and_exact_expectation():
    d = t([0.5, -0.3])
    lp, ref = d, torch.zeros(2, dtype=torch.float64)
    assert torch.allclose(K.kl_estimate(lp, ref, "k1"), d)
    assert torch.allclose(K.kl_estimate(lp, ref, "k2"), 0.5 * d**2)
    assert torch.allclose(K.kl_estimate(lp, ref, "k3"), torch.exp(-d) + d - 1)
    assert torch.all(K.kl_estimate(lp, ref, "k3") >= 0)
    # E_{x~p}[k1] = E_p[k3] = KL(p || q) exactly on a categorical
    p = torch.softmax(t([0.2, 1.0, -0.5, 0.0]), 0)
    q = torch.softmax(t([0.0, 0.3, 0.1, -1.0]), 0)
    kl = float((p * (p.log() - q.log())).sum())
    for kind in ("k1", "k3"):
        assert float((p * K.kl_estimate(p.log(), q.log(), kind)).sum()) == pytest.approx(kl, rel=1e-12)
    assert float(K.exact_kl(torch.log(p), torch.log(q))) == pytest.approx(kl, rel=1e-12)
    h = float(-(p * p.log()).sum())
    assert float(K.exact_entropy(p.log())) == pytest.approx(h)


def test_straight_through_forward_value_and_k2_gradient():
    for kind, val in (("k1_st", lambda d: d), ("k3_st", lambda d: math.exp(-d) + d - 1)):
        x = t([0.4]).requires_grad_(True)
        k = K.kl_estimate(x, t([0.0]), kind)
        assert float(k.detach()) == pytest.approx(val(0.4))
        k.sum().backward()
        assert float(x.grad) == pytest.approx(0.4)  # d/dd (d^2/2) = d


def test_k3_is_weighted_by_behaviour_ratio():
    x = t([0.2])
    k = K.kl_estimate(x, t([0.0]), "k3_is", old_logp=t([0.1]))
    assert float(k) == pytest.approx(math.exp(0.1) * (math.exp(-0.2) + 0.2 - 1))
    with pytest.raises(InvalidParameterError):
        K.kl_estimate(x, t([0.0]), "k3_is")
    with pytest.raises(InvalidParameterError, match="kl_estimator"):
        K.kl_estimate(x, t([0.0]), "k9")


def test_kl_in_loss_adds_beta_k3_and_kl_in_reward_shifts_rewards():
    lp = t([[-0.5, -0.7], [-0.2, -0.9]])
    ref = t([[-0.6, -0.7], [-0.2, -1.0]])
    r = rollouts([1.0, 0.0], lp, group_size=2, ref_logp=ref)
    base = {"advantage": "grpo", "surrogate": "clip", "aggregation": "token_mean", "clip_eps": 0.2}
    l0 = float(policy_loss(r, base).loss)
    l1 = float(policy_loss(r, {**base, "kl_coef": 0.5, "kl_placement": "loss", "kl_estimator": "k3"}).loss)
    d = lp - ref
    assert l1 - l0 == pytest.approx(0.5 * float((torch.exp(-d) + d - 1).mean()))
    # in reward (outcome advantage): rewards - beta * sum_t k1(old, ref); Dr.GRPO centring makes the effect visible
    out = policy_loss(r, {**base, "scale_rewards": "none", "kl_coef": 1.0, "kl_placement": "reward", "kl_estimator": "k1"})
    shifted = t([1.0, 0.0]) - d.sum(1)
    a = shifted - shifted.mean()
    assert float(out.loss) == pytest.approx(float(-(a[:, None] * torch.ones(2, 2)).mean()))
    with pytest.raises(InvalidParameterError, match="ref_logp"):
        policy_loss(rollouts([1.0, 0.0], lp, group_size=2), {**base, "kl_coef": 0.1})


def test_ppo_value_loss_clipped_hand_value():
    from optkit.rl.losses.policy import value_loss

    v, v_old, ret = t([[1.0, 0.0]]), t([[0.5, 0.0]]), t([[0.0, 1.0]])
    # token 0: max((1-0)^2, (0.7-0)^2) = 1; token 1: max(1, 1) = 1 -> 0.5 * mean = 0.5
    assert float(value_loss(v, v_old, ret, torch.ones(1, 2, dtype=torch.float64), 0.2)) == pytest.approx(0.5)
    v2 = t([[0.0, 0.0]])  # clipped value 0.3 is further from the return 0.0... than 0.0: max(0, 0.09) = 0.09
    assert float(value_loss(v2, v_old, t([[0.0, 0.0]]), torch.ones(1, 2, dtype=torch.float64), 0.2)) == pytest.approx(0.5 * 0.09 / 2)


def test_adaptive_kl_controller():
    c = K.AdaptiveKL(0.1, target=6.0, horizon=10)
    assert c.update(12.0, 1) == pytest.approx(0.1 * 1.02)
    with pytest.raises(InvalidParameterError):
        K.AdaptiveKL(-1.0, 6.0)
