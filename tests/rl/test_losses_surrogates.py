"""Per-token surrogates: hand values, where gradients vanish, on-policy identities, gradchecks (float64)."""

import math

import pytest
import torch
from _losses_common import rollouts

from optkit.rl.losses import surrogates as S
from optkit.rl.losses.aggregation import AGGREGATIONS
from optkit.rl.losses.policy import policy_loss


def t(x):
    return torch.tensor(x, dtype=torch.float64)


def test_ppo_clip_hand_values_and_dual_clip():
    # ratios 1.5, 0.5, 1.1, 0.7 with A = +1, +1, -1, -1 and eps 0.2
    old = t([[0.0, 0.0, 0.0, 0.0]]).log1p()  # zeros
    logp = t([[math.log(1.5), math.log(0.5), math.log(1.1), math.log(0.7)]])
    r = rollouts([0.0], logp, old_logp=old)
    adv = t([[1.0, 1.0, -1.0, -1.0]])
    loss, m = S.ppo_clip(r, adv, {"clip_eps": 0.2})
    # max(-rho A, -clip(rho) A): -1.2, -0.5, 1.1, 0.8
    assert torch.allclose(loss, t([[-1.2, -0.5, 1.1, 0.8]]))
    assert m["clip_frac_high"] == 0.25 and m["clip_frac_low"] == 0.25
    # dual clip: A<0 with huge ratio 5 -> min(5, c=3) * 1
    r2 = rollouts([0.0], t([[math.log(5.0)]]), old_logp=t([[0.0]]))
    l2, _ = S.ppo_clip(r2, t([[-1.0]]), {"clip_eps": 0.2, "dual_clip": 3.0})
    assert float(l2) == pytest.approx(3.0)
    # clip-higher: ratio 1.25 with A>0 is inside [0.8, 1.28]
    r3 = rollouts([0.0], t([[math.log(1.25)]]), old_logp=t([[0.0]]))
    l3, _ = S.ppo_clip(r3, t([[1.0]]), {"clip_eps": 0.2, "clip_eps_high": 0.28})
    assert float(l3) == pytest.approx(-1.25)


def test_gradient_vanishes_exactly_where_clip_is_active():
    logp = t([[math.log(1.5), math.log(1.1)]]).requires_grad_(True)
    r = rollouts([0.0], logp, old_logp=t([[0.0, 0.0]]))
    loss, _ = S.ppo_clip(r, t([[1.0, 1.0]]), {"clip_eps": 0.2})
    loss.sum().backward()
    assert float(logp.grad[0, 0]) == 0.0 and float(logp.grad[0, 1]) == pytest.approx(-1.1)


def test_reduction_to_reinforce_when_clipping_inactive():
    torch.manual_seed(0)
    lp = torch.log_softmax(torch.randn(4, 3, dtype=torch.float64), 1)
    for surrogate in ("clip", "gspo", "gmpo", "simple", "ce_gppo", "sapo", "cispo", "dcpo"):
        x1 = lp.clone().requires_grad_(True)
        x2 = lp.clone().requires_grad_(True)
        knobs = {"advantage": "grpo", "surrogate": surrogate, "aggregation": "seq_mean_token_mean", "clip_eps": 0.2}
        policy_loss(rollouts([1, 0, 0, 1], x1, group_size=4), knobs).loss.backward()
        policy_loss(rollouts([1, 0, 0, 1], x2, group_size=4), {**knobs, "surrogate": "pg"}).loss.backward()
        assert torch.allclose(x1.grad, x2.grad, atol=1e-12), surrogate


def test_gspo_equals_grpo_on_policy_and_differs_off_policy():
    torch.manual_seed(1)
    lp = torch.log_softmax(torch.randn(4, 5, dtype=torch.float64), 1)
    mask = t([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    base = {"advantage": "grpo", "aggregation": "seq_mean_token_mean", "clip_eps": 0.2}
    grads = {}
    for s in ("clip", "gspo"):
        x = lp.clone().requires_grad_(True)
        out = policy_loss(rollouts([1, 0, 1, 0], x, mask=mask, group_size=4), {**base, "surrogate": s})
        out.loss.backward()
        grads[s] = (float(out.loss.detach()), x.grad)
    assert grads["clip"][0] == pytest.approx(grads["gspo"][0], abs=1e-12)
    assert torch.allclose(grads["clip"][1], grads["gspo"][1], atol=1e-12)
    # off-policy (behaviour log-probs differ by a per-token perturbation): the gradients differ
    old = lp + 0.05 * torch.randn(4, 5, dtype=torch.float64)
    g = {}
    for s in ("clip", "gspo"):
        x = lp.clone().requires_grad_(True)
        policy_loss(rollouts([1, 0, 1, 0], x, old_logp=old, mask=mask, group_size=4), {**base, "surrogate": s, "clip_eps": 10.0}).loss.backward()
        g[s] = x.grad
    assert not torch.allclose(g["clip"], g["gspo"], atol=1e-6)


def test_gspo_sequence_ratio_value():
    logp = t([[math.log(1.2), math.log(0.9)]])
    r = rollouts([0.0], logp, old_logp=t([[0.0, 0.0]]))
    loss, m = S.gspo(r, t([[1.0, 1.0]]), {"clip_eps": 0.5})
    s = math.sqrt(1.2 * 0.9)
    assert torch.allclose(loss, t([[-s, -s]]))
    assert m["ratio_mean"] == pytest.approx(s)


def test_gmpo_geometric_mean_with_log_space_clip():
    logp = t([[math.log(2.0), math.log(0.9)]])  # log 2 = 0.69 > 0.4 is clipped for A > 0
    r = rollouts([0.0], logp, old_logp=t([[0.0, 0.0]]))
    loss, _ = S.gmpo(r, t([[1.0, 1.0]]), {"clip_eps": 0.4, "clip_eps_high": 0.4})
    assert float(loss[0, 0]) == pytest.approx(-math.exp((0.4 + math.log(0.9)) / 2))
    loss_n, _ = S.gmpo(r, t([[-1.0, -1.0]]), {"clip_eps": 0.4, "clip_eps_high": 0.4})  # A<0: high side not clipped
    assert float(loss_n[0, 0]) == pytest.approx(math.exp((math.log(2.0) + math.log(0.9)) / 2))


def test_simple_po_optimum_at_trust_region_boundary():
    for A_, target in ((1.0, 1.2), (-1.0, 0.8)):
        rho = torch.linspace(0.5, 1.5, 10001, dtype=torch.float64)
        r = rollouts([0.0], rho.log()[None, :], old_logp=torch.zeros(1, rho.numel(), dtype=torch.float64))
        loss, _ = S.simple_po(r, torch.full((1, rho.numel()), A_, dtype=torch.float64), {"clip_eps": 0.2})
        assert float(rho[loss[0].argmin()]) == pytest.approx(target, abs=1e-3)


def test_ce_gppo_keeps_scaled_gradient_on_clipped_tokens():
    # A<0, rho=0.5 < 0.8 (clipped low); A>0, rho=1.5 > 1.28 (clipped high)
    logp = t([[math.log(0.5), math.log(1.5)]]).requires_grad_(True)
    r = rollouts([0.0], logp, old_logp=t([[0.0, 0.0]]))
    loss, _ = S.ce_gppo(r, t([[-1.0, 1.0]]), {"clip_eps": 0.2, "clip_eps_high": 0.28, "gppo_beta1": 0.75, "gppo_beta2": 1.0})
    assert torch.allclose(loss.detach(), t([[0.75 * 0.8, -1.28]]))  # forward value = the clipped PPO value times beta
    loss.sum().backward()
    assert torch.allclose(logp.grad, t([[0.75 * 0.8, -1.28]]))  # d/dlogp of c*rho/sg(rho) = c
    x = t([[math.log(0.5), math.log(1.5)]]).requires_grad_(True)
    lp, _ = S.ppo_clip(rollouts([0.0], x, old_logp=t([[0.0, 0.0]])), t([[-1.0, 1.0]]), {"clip_eps": 0.2, "clip_eps_high": 0.28})
    lp.sum().backward()
    assert torch.all(x.grad == 0)  # PPO: exactly zero there


def test_dcpo_bounds_monotone_in_token_prior():
    q = torch.linspace(0.001, 1.0, 100, dtype=torch.float64)
    lo, hi = S.dcpo_bounds(q, 0.2, 0.28, 10.0)
    assert torch.all(lo[1:] >= lo[:-1]) and torch.all(hi[1:] <= hi[:-1])
    assert float(lo[0]) == 0.5 and float(hi[0]) == 10.0  # rare tokens: widest range (capped)
    assert float(hi[-1]) == pytest.approx(0.5 + 0.5 * math.sqrt(1 + 4 * 0.28))


def test_clip_cov_and_kl_cov_select_high_covariance_tokens():
    torch.manual_seed(0)
    logp = torch.log_softmax(torch.randn(2, 6, dtype=torch.float64), 1)
    r = rollouts([1.0, 0.0], logp, old_logp=logp.detach(), group_size=2)
    adv = t([[1.0] * 6, [-1.0] * 6])
    lk, m = S.kl_cov(r, adv, {"kl_cov_ratio": 0.2, "kl_cov_coef": 1.0})
    assert m["cov_penalized_frac"] == pytest.approx(2 / 12)
    assert torch.allclose(lk, -adv)  # on-policy |log rho| = 0: value unchanged
    lc, mc = S.clip_cov(r, adv, {"clip_eps": 1.0, "clip_eps_high": 1.0, "cov_low": -1e9, "cov_high": 1e9, "clip_cov_ratio": 0.25})
    assert mc["cov_masked_frac"] == pytest.approx(3 / 12)
    assert int((lc == 0).sum()) == 3


@pytest.mark.parametrize("surrogate", ["clip", "gspo", "gmpo", "simple", "sapo"])
def test_gradcheck_float64(surrogate):
    torch.manual_seed(3)
    old = torch.log_softmax(torch.randn(2, 3, dtype=torch.float64), 1)
    mask = t([[1, 1, 1], [1, 1, 0]])
    adv = t([[0.7] * 3, [-0.4] * 3]) * mask
    knobs = {"clip_eps": 0.2, "clip_eps_high": 0.3, "dual_clip": 3.0}

    def fn(lp):
        r = rollouts([0.0, 0.0], lp, old_logp=old, mask=mask, group_size=2)
        loss, _ = S.SURROGATES[surrogate](r, adv, knobs)
        return AGGREGATIONS["token_mean"](loss, mask)

    x = (old + 0.03 * torch.randn(2, 3, dtype=torch.float64)).requires_grad_(True)  # inside the trust region (no kinks)
    assert torch.autograd.gradcheck(fn, (x,))


def test_cispo_sapo_dcpo_trpo_hand_values():
    logp = t([[math.log(1.5), math.log(0.5)]])
    r = rollouts([0.0], logp, old_logp=t([[0.0, 0.0]]))
    adv = t([[1.0, -1.0]])
    loss, _ = S.cispo(r, adv, {"clip_eps": 0.2, "clip_eps_high": 0.28})
    assert torch.allclose(loss, t([[-1.28 * math.log(1.5), 0.8 * math.log(0.5)]]))
    loss, _ = S.sapo(r, adv, {"sapo_tau_pos": 1.0, "sapo_tau_neg": 2.0})
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    assert torch.allclose(loss, t([[-4 * sig(0.5), 2 * sig(2 * -0.5)]]))
    loss, _ = S.trpo_surrogate(r, adv, {})
    assert torch.allclose(loss, t([[-1.5, 0.5]]))
    # DCPO: q = pi_old = 0.25 -> high bound 0.5 + 0.5 sqrt(1 + 4*0.28/0.25) = 1.726..., so rho = 1.5 is NOT clipped
    r2 = rollouts([0.0], t([[math.log(0.25 * 1.5)]]), old_logp=t([[math.log(0.25)]]))
    loss, _ = S.dcpo(r2, t([[1.0]]), {"clip_eps": 0.2, "clip_eps_high": 0.28})
    assert float(loss) == pytest.approx(-1.5)
    r3 = rollouts([0.0], t([[math.log(0.9 * 1.5)]]), old_logp=t([[math.log(0.9)]]))  # q = 0.9: bound 1.26
    loss, _ = S.dcpo(r3, t([[1.0]]), {"clip_eps": 0.2, "clip_eps_high": 0.28})
    assert float(loss) == pytest.approx(-(0.5 + 0.5 * math.sqrt(1 + 4 * 0.28 / 0.9)))
