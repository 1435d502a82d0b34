"""Advantage estimators against hand-computed values (including the research notes' worked examples)."""

import math

import pytest
import torch
from _losses_common import rollouts

from optkit.core.errors import InvalidParameterError, OptkitError
from optkit.rl.losses import advantages as A


def t(x):
    return torch.tensor(x, dtype=torch.float64)


def test_grpo_worked_example_ddof1_and_ddof0():
    # notes §1.2.4: [1,0,1,0] -> ±0.87 (ddof=1) / ±1.00 (ddof=0); [1,1,1,0] -> +0.5/-1.5 (ddof=1), +0.58/-1.73 (ddof=0)
    a = A.group_normalized(t([1, 0, 1, 0, 1, 1, 1, 0]), 4, "group", eps=0.0, ddof=1)
    assert torch.allclose(a, t([math.sqrt(3) / 2, -math.sqrt(3) / 2] * 2 + [0.5, 0.5, 0.5, -1.5]), atol=1e-12)
    a0 = A.group_normalized(t([1, 0, 1, 0, 1, 1, 1, 0]), 4, "group", eps=0.0, ddof=0)
    s = math.sqrt(3)
    assert torch.allclose(a0, t([1, -1, 1, -1, 1 / s, 1 / s, 1 / s, -s]), atol=1e-12)
    assert round(float(a0[4]), 2) == 0.58 and round(float(a0[7]), 2) == -1.73


def test_group_advantages_sum_to_zero_and_dr_grpo_is_centring():
    r = t([0.3, 1.0, 0.0, 2.0, 5.0, 5.0])
    for scale in ("group", "none"):
        a = A.group_normalized(r, 3, scale)
        assert torch.allclose(a.view(2, 3).sum(1), torch.zeros(2, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(A.group_normalized(r, 3, "none"), t([0.3 - 1.3 / 3, 1 - 1.3 / 3, -1.3 / 3, -2, 1, 1]), atol=1e-12)
    # all-equal group -> exactly zero advantage (no gradient)
    assert torch.all(A.group_normalized(t([1, 1, 1, 1]), 4) == 0)


def test_rloo_is_leave_one_out():
    r = t([1.0, 0.0, 0.0, 3.0])
    expect = t([1 - 1, 0 - 4 / 3, 0 - 4 / 3, 3 - 1 / 3])
    assert torch.allclose(A.leave_one_out(r, 4), expect, atol=1e-12)
    assert abs(float(A.leave_one_out(r, 4).sum())) < 1e-12


def test_ngrpo_worked_example():
    # notes §1.2.10: G=8, one correct, ddof=1: GRPO +2.47/-0.35 -> NGRPO +1.76/-0.50; all-wrong: -0.33 each
    r = t([1, 0, 0, 0, 0, 0, 0, 0])
    g = A.group_normalized(r, 8, eps=0.0)
    assert round(float(g[0]), 2) == 2.47 and round(float(g[1]), 2) == -0.35
    n = A.virtual_max(r, 8, 1.0, eps=0.0)
    assert round(float(n[0]), 2) == 1.76 and round(float(n[1]), 2) == -0.50
    w = A.virtual_max(torch.zeros(8, dtype=torch.float64), 8, 1.0, eps=0.0)
    assert torch.allclose(w, torch.full((8,), -1 / 3, dtype=torch.float64), atol=1e-12)
    # all-correct groups still get 0
    assert torch.all(A.virtual_max(torch.ones(8, dtype=torch.float64), 8) == 0)


def test_bnpo_alpha_beta_one_is_reinforce_with_baseline_and_fit():
    r = t([1, 0, 0, 0, 1, 1, 0, 1])
    adv, a, b = A.beta_normalized(r, 4, alpha=1.0, beta=1.0)
    assert torch.allclose(adv, r - t([0.25] * 4 + [0.75] * 4), atol=1e-12)
    # method-of-moments fit (unbiased var, as the authors' code): p = (0.25, 0.75, 0.5, 0.5): m = 0.5, v = 1/24,
    # k = 0.25 * 24 - 1 = 5 -> a = b = 1 + 2.5/3
    r = t([1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0])
    adv, a, b = A.beta_normalized(r, 4)
    ab = 1 + 2.5 / 3
    assert a == pytest.approx(ab) and b == pytest.approx(ab)
    f = (0.25 * 0.75) ** (ab - 1) / (math.gamma(ab) ** 2 / math.gamma(2 * ab))  # Beta(ab, ab) pdf at 0.25
    assert float(adv[0]) == pytest.approx(0.75 / f, rel=1e-9)


def test_bnpo_float32_with_degenerate_groups_is_finite():
    # all-correct / all-wrong groups put p at 0 or 1 where the Beta pdf vanishes; float32 used to give 0 * inf
    r = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0], dtype=torch.float32)
    adv, _, _ = A.beta_normalized(r, 4)
    assert adv.dtype == torch.float32 and torch.isfinite(adv).all()
    assert torch.all(adv[:8] == 0)


def test_gpg_alpha_counts_zero_variance_groups():
    r = t([1, 0, 1, 0, 1, 1, 1, 1])  # second group degenerate -> M = 4, alpha = 8/4 = 2
    a, alpha = A.gpg_advantage(r, 4)
    assert alpha == 2.0
    assert torch.allclose(a, t([1, -1, 1, -1, 0, 0, 0, 0]), atol=1e-12)


def test_gae_hand_computed():
    # one response of 3 tokens, outcome reward 1 on the last token, V = (0.5, 0.2, 0.4), gamma = 1, lambda = 0.5
    mask = torch.ones(1, 3, dtype=torch.float64)
    tr = A.token_rewards(t([1.0]), mask)
    assert torch.equal(tr, t([[0, 0, 1]]))
    adv, ret = A.gae(tr, t([[0.5, 0.2, 0.4]]), mask, 1.0, 0.5)
    d2 = 1 - 0.4
    d1 = 0 + 0.4 - 0.2
    d0 = 0 + 0.2 - 0.5
    a2, a1 = d2, d1 + 0.5 * d2
    a0 = d0 + 0.5 * a1
    assert torch.allclose(adv, t([[a0, a1, a2]]), atol=1e-12)
    assert torch.allclose(ret, adv + t([[0.5, 0.2, 0.4]]), atol=1e-12)
    # lambda = 1: advantages = returns - V (Monte Carlo)
    adv1, _ = A.gae(tr, t([[0.5, 0.2, 0.4]]), mask, 1.0, 1.0)
    assert torch.allclose(adv1, t([[0.5, 0.8, 0.6]]), atol=1e-12)


def test_discounted_returns_respect_padding():
    mask = t([[1, 1, 0]])
    tr = A.token_rewards(t([2.0]), mask)
    assert torch.equal(tr, t([[0, 2, 0]]))
    assert torch.allclose(A.discounted_returns(tr, mask, 0.5), t([[1.0, 2.0, 0.0]]))


def test_delta_l_weights_mean_one_and_inverse_length():
    w = A.delta_l_weights(t([1.0, 2.0, 4.0]), 1.0)
    assert float(w.mean()) == pytest.approx(1.0)
    assert float(w[0] / w[1]) == pytest.approx(2.0)


def test_seed_grpo_clusters_identical_responses():
    lp = t([[-0.1, -0.2], [-0.1, -0.2], [-0.3, -0.9], [-0.1, -0.2]])
    r = rollouts([1, 1, 0, 1], lp, group_size=4)
    ids = A.answer_clusters(r.old_logp, r.mask, 4)
    assert ids.tolist() == [0, 0, 1, 0]
    adv, ex = A.ADVANTAGES["seed_grpo"](r.rewards, r, {"seed_alpha": 1.0})
    base = A.group_normalized(r.rewards, 4)
    mass = torch.tensor([3 * math.exp(-0.3), math.exp(-1.2)])
    pc = mass / mass.sum()
    se = float(-(torch.log(pc)).mean())
    assert ex["semantic_entropy"] == pytest.approx(se)
    assert torch.allclose(adv, base * (1 - se / math.log(4)), atol=1e-9)


@pytest.mark.parametrize("G", [1, 0])
def test_group_size_below_two_is_an_error(G):
    with pytest.raises(InvalidParameterError, match="group_size"):
        A.group_normalized(t([1.0, 0.0]), G)


def test_ragged_groups_are_an_error():
    with pytest.raises(OptkitError, match="multiple"):
        A.leave_one_out(t([1.0, 0.0, 1.0]), 2)


def test_reinforce_pp_variants_and_batch_norm():
    mask = t([[1, 1], [1, 0]])
    r = rollouts([1.0, 0.0], torch.zeros(2, 2), mask=mask, group_size=2)
    adv, _ = A.ADVANTAGES["reinforce_pp"](r.rewards, r, {"gamma": 1.0})
    vals = t([1.0, 1.0, 0.0])  # returns on the 3 valid tokens
    z = (vals - vals.mean()) / vals.std()
    assert torch.allclose(adv[mask.bool()], z, atol=1e-6) and float(adv[1, 1]) == 0.0
    adv, _ = A.ADVANTAGES["reinforce_pp_baseline"](r.rewards, r, {})
    v = t([0.5, 0.5, -0.5])
    assert torch.allclose(adv[mask.bool()], (v - v.mean()) / v.std(), atol=1e-6)
    adv, _ = A.ADVANTAGES["batch_norm"](t([1.0, 2.0, 3.0]), r, {})
    assert torch.allclose(adv, t([-1.0, 0.0, 1.0]), atol=1e-6)
