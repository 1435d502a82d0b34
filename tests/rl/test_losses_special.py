"""GVPO, A*-PO, RePO replay, EGSW weights, D-PPO / sample dropout: hand values on tiny batches."""

import math

import pytest
import torch
from _losses_common import rollouts

from optkit.core.errors import InvalidParameterError
from optkit.rl.losses import special as SP
from optkit.rl.losses.policy import policy_loss


def t(x):
    return torch.tensor(x, dtype=torch.float64)


def test_gvpo_hand_value_and_gradient_matches_detached_mean_form():
    old = t([[-1.0, -0.5], [-0.7, -0.2], [-0.3, -0.9]])
    lp = (old + t([[0.1, 0.0], [-0.2, 0.1], [0.05, 0.05]])).requires_grad_(True)
    r = rollouts([1.0, 0.0, 0.5], lp, old_logp=old, group_size=3)
    out = SP.gvpo_loss(r, {"gvpo_beta": 0.1})
    R = 0.1 * t([0.1, -0.1, 0.1])
    d = (R - R.mean()) - (t([1.0, 0.0, 0.5]) - 0.5)
    assert float(out.loss.detach()) == pytest.approx(float((d**2).sum() / 4))
    out.loss.backward()
    # the verl recipe's form (group mean of R detached) has the same gradient: the centred residuals sum to 0
    x = lp.detach().clone().requires_grad_(True)
    Rx = 0.1 * ((x - old).sum(1))
    ((((Rx - Rx.detach().mean()) - (t([1.0, 0.0, 0.5]) - 0.5)) ** 2).sum() / 4).backward()
    assert torch.allclose(lp.grad, x.grad, atol=1e-12)


def test_astar_loss_and_value():
    v = SP.astar_value(t([[1.0, 0.0, 0.0, 0.0]]), beta1=0.5)
    assert float(v) == pytest.approx(0.5 * math.log((math.exp(2.0) + 3) / 4))
    lp, ref = t([[-0.5, -0.5]]), t([[-1.0, -0.5]])
    r = rollouts([0.3], lp, ref_logp=ref, group_size=1)
    out = SP.astar_loss(r, {"astar_beta2": 0.1})
    assert float(out.loss) == pytest.approx((0.1 * 0.5 - 0.3) ** 2)
    with pytest.raises(InvalidParameterError, match="ref_logp"):
        SP.astar_loss(rollouts([0.3], lp, group_size=1), {})


def test_repo_adds_the_replayed_loss():
    knobs = {"advantage": "grpo", "surrogate": "clip", "aggregation": "token_mean", "clip_eps": 0.2}
    fresh = rollouts([1.0, 0.0], t([[-0.5], [-1.0]]), group_size=2)
    rep = rollouts([0.0, 1.0], t([[-0.2], [-2.0]]), old_logp=t([[-0.3], [-1.5]]), group_size=2)
    on = float(policy_loss(fresh, knobs).loss)
    off = float(policy_loss(rep, knobs).loss)
    out = SP.repo_loss(fresh, {**knobs, "_state": {"replay": rep}})
    assert float(out.loss) == pytest.approx(on + off) and out.metrics["replay_rows"] == 2.0
    assert float(SP.repo_loss(fresh, knobs).loss) == pytest.approx(on)


def test_replay_buffer_strategies():
    buf = SP.ReplayBuffer(capacity_per_prompt=4)
    buf.add(0, ["a", "b", "c", "d", "e"], [0.1, 0.9, 0.5, 0.0, 0.7])  # "a" falls out (capacity 4)
    assert buf.sample(0, 2, "recency") == ["d", "e"]
    assert buf.sample(0, 2, "reward") == ["b", "e"]
    assert buf.sample(0, 2, "variance") == ["b", "d"]  # 0.9 and 0.0: the largest spread
    assert SP._max_variance_subset([0.0, 1.0, 1.0, 0.5], 3) == [0, 1, 2]  # variance 2/9 beats any set with 0.5
    assert sorted(buf.sample(0, 4, "full", torch.Generator().manual_seed(0))) == ["b", "c", "d", "e"]
    assert buf.sample(1, 2) == []
    with pytest.raises(InvalidParameterError, match="strategy"):
        buf.sample(0, 1, "best")


def test_egsw_weights_softmax_over_group():
    r = rollouts([1.0, 0.0], t([[-0.5], [-1.0]]), group_size=2, entropy=t([[0.4], [1.0]]))
    adv = t([[1.0], [-1.0]])
    w = SP.egsw_weights(r, adv, {"egsw_alpha": 0.5, "egsw_temperature": 2.0})
    z = torch.tensor([(1 + 0.2) / 2, (-1 + 0.5) / 2], dtype=torch.float64)
    assert torch.allclose(w[:, 0], 2 * torch.softmax(z, 0))
    # step-wise: per position over the responses that have a token there
    mask = t([[1, 1], [1, 0]])
    r2 = rollouts([1.0, 0.0], t([[-0.5, -0.5], [-1.0, 0.0]]), mask=mask, group_size=2, entropy=t([[0.4, 0.2], [1.0, 0.0]]))
    adv2 = t([[1.0, 1.0], [-1.0, 0.0]])
    w2 = SP.egsw_weights(r2, adv2, {"egsw_alpha": 0.5, "egsw_temperature": 2.0, "egsw_mode": "step"})
    z0 = torch.tensor([(1 + 0.2) / 2, (-1 + 0.5) / 2], dtype=torch.float64)
    assert torch.allclose(w2[:, 0], 2 * torch.softmax(z0, 0)) and torch.allclose(w2[:, 1], t([1.0, 0.0]))
    with pytest.raises(InvalidParameterError, match="entropy"):
        SP.egsw_weights(rollouts([1.0, 0.0], t([[-0.5], [-1.0]]), group_size=2), adv, {})


def test_dppo_dropout_and_normalizer():
    old = t([[0.0], [0.0], [0.0], [0.0]])
    lp = t([[math.log(1.5)], [math.log(1.05)], [math.log(0.9)], [math.log(1.0)]])
    r = rollouts([1.0, 1.0, -1.0, 2.0], lp, old_logp=old, group_size=4)
    keep = SP.dppo_filter(r, {"dropout_rate": 0.25})  # scores (0.25, 0.0025, 0.01, 0) -> drop row 0
    assert keep.tolist() == [False, True, True, True]
    assert SP.ratio_dropout(r, {"dropout_threshold": 0.08}).tolist() == [False, True, False, True]
    knobs = {"advantage": "given", "surrogate": "clip", "aggregation": "token_mean", "clip_eps": 0.2,
             "sample_filter": "dppo", "dropout_rate": 0.25}
    out = policy_loss(r, knobs)
    # kept rows 1..3: losses -1.05, 0.9 (A=-1, rho=0.9 inside the clip), -2.0, averaged over 3 tokens
    assert float(out.loss) == pytest.approx((-1.05 + 0.9 - 2.0) / 3)
