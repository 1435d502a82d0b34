"""Preference losses: values at init, reductions to DPO at neutral settings, hand values, gradchecks."""

import math

import pytest
import torch
import torch.nn.functional as F
from _losses_common import pairs

from optkit.core.errors import InvalidParameterError
from optkit.rl.losses.preference import PREFERENCE_LOSSES as PL
from optkit.rl.losses.preference import preference_loss


def t(x):
    return torch.tensor(x, dtype=torch.float64)


LW = [[-0.3, -1.2], [-0.8, -0.1], [-2.0, -0.4]]
LL = [[-0.9, -0.6], [-0.2, -0.5], [-1.1, -1.5]]
RW = [[-0.5, -1.0], [-0.7, -0.3], [-1.8, -0.6]]
RL = [[-0.6, -0.8], [-0.4, -0.4], [-1.0, -1.3]]


def _h(beta=1.0):
    lw, ll, rw, rl = (t(x).sum(1) for x in (LW, LL, RW, RL))
    return (lw - rw) - (ll - rl)


def test_dpo_at_init_is_log2():
    p = pairs(LW, LL, LW, LL)  # policy == reference
    out = preference_loss(p, {"pref_loss": "dpo", "beta": 0.1})
    assert float(out.loss) == pytest.approx(math.log(2))
    assert out.metrics["reward_accuracy"] == 0.0


def test_dpo_hand_value():
    p = pairs(LW, LL, RW, RL)
    loss, m = PL["dpo"](p, {"beta": 0.5})
    assert float(loss) == pytest.approx(float(-F.logsigmoid(0.5 * _h()).mean()))


@pytest.mark.parametrize("name,neutral", [
    ("cdpo", {"label_smoothing": 0.0}), ("rdpo", {"label_smoothing": 0.0}), ("odpo", {"odpo_alpha": 0.0}),
    ("mappo", {}), ("tgdpo", {"tgdpo_alpha": 0.0}), ("beta_dpo", {"beta_dpo_a": 0.0, "beta_dpo_rho": 0.0}),
    ("dno", {"dno_margin": -1e9}), ("rpo", {"rpo_alpha": 0.0}), ("modpo", {"modpo_weight": 1.0}),
])
def test_reduces_to_dpo_at_neutral_setting(name, neutral):
    # MaPPO with prior gap s_w - s_l = 1 is DPO; ODPO needs positive gaps
    p = pairs(LW, LL, RW, RL, chosen_reward=t([1.0, 1.0, 1.0]), rejected_reward=t([0.0, 0.0, 0.0]))
    dpo, _ = PL["dpo"](p, {"beta": 0.3})
    loss, _ = PL[name](p, {"beta": 0.3, **neutral})
    assert float(loss) == pytest.approx(float(dpo), rel=1e-10)


def test_wpo_with_unit_weights_is_dpo():
    zeros = [[0.0, 0.0]] * 3  # log-prob 0 per token -> w(y) = exp(0) = 1
    p = pairs(zeros, zeros, RW, RL)
    assert float(PL["wpo"](p, {"beta": 0.3})[0]) == pytest.approx(float(PL["dpo"](p, {"beta": 0.3})[0]))


def test_dr_dpo_large_beta_prime_is_dpo_and_small_is_min():
    p = pairs(LW, LL, RW, RL)
    dpo, _ = PL["dpo"](p, {"beta": 0.3})
    big, _ = PL["dr_dpo"](p, {"beta": 0.3, "dr_dpo_beta_prime": 1e6})
    assert float(big) == pytest.approx(float(dpo), rel=1e-5)
    per = -F.logsigmoid(0.3 * _h())
    small, _ = PL["dr_dpo"](p, {"beta": 0.3, "dr_dpo_beta_prime": 1e-3})
    assert float(small) == pytest.approx(float(per.min()), abs=2e-3)


def test_rdpo_is_unbiased_under_label_flips():
    h = _h()
    e, b = 0.3, 0.4
    clean = -F.logsigmoid(b * h)
    p = pairs(LW, LL, RW, RL)
    flipped = pairs(LL, LW, RL, RW)
    l_keep, _ = PL["rdpo"](p, {"beta": b, "label_smoothing": e})
    l_flip, _ = PL["rdpo"](flipped, {"beta": b, "label_smoothing": e})
    assert (1 - e) * float(l_keep) + e * float(l_flip) == pytest.approx(float(clean.mean()), rel=1e-10)
    with pytest.raises(InvalidParameterError, match="label_smoothing"):
        PL["rdpo"](p, {"label_smoothing": 0.5})


def test_cdpo_ipo_exo_hand_values():
    p = pairs(LW, LL, RW, RL)
    h = _h()
    e, b = 0.2, 0.5
    loss, _ = PL["cdpo"](p, {"beta": b, "label_smoothing": e})
    assert float(loss) == pytest.approx(float((-(1 - e) * F.logsigmoid(b * h) - e * F.logsigmoid(-b * h)).mean()))
    lw, ll, rw, rl = (t(x).sum(1) for x in (LW, LL, RW, RL))
    hbar = (lw - rw) / 2 - (ll - rl) / 2
    loss, _ = PL["ipo"](p, {"beta": 0.1})
    assert float(loss) == pytest.approx(float(((hbar - 5.0) ** 2).mean()))
    loss, _ = PL["exo"](p, {"beta": b, "exo_eps": 1e-3})
    q = torch.sigmoid(b * h)
    ref = q * (q.log() - math.log(1 - 1e-3)) + (1 - q) * ((1 - q).log() - math.log(1e-3))
    assert float(loss) == pytest.approx(float(ref.mean()))


def test_simpo_needs_no_reference_and_hand_value():
    p = pairs(LW, LL)  # no reference log-probs at all
    loss, _ = PL["simpo"](p, {"beta": 2.5, "simpo_gamma": 1.375})
    aw, al = t(LW).mean(1), t(LL).mean(1)
    assert float(loss) == pytest.approx(float((-F.logsigmoid(2.5 * (aw - al) - 1.375)).mean()))
    for name in ("orpo", "repo_relu", "asft"):
        PL[name](p, {})  # reference-free too
    with pytest.raises(InvalidParameterError, match="ref"):
        PL["dpo"](p, {})


def test_orpo_asft_repo_hand_values():
    p = pairs(LW, LL)
    aw, al = t(LW).mean(1), t(LL).mean(1)

    def log_odds(a):
        return a - torch.log(1 - torch.exp(a))

    loss, _ = PL["orpo"](p, {"orpo_lambda": 0.1})
    assert float(loss) == pytest.approx(float((-aw - 0.1 * F.logsigmoid(log_odds(aw) - log_odds(al))).mean()))
    loss, _ = PL["asft"](p, {"asft_lambda": 0.1})
    assert float(loss) == pytest.approx(float((-aw - 0.1 * (aw + torch.log(1 - torch.exp(al)))).mean()))
    loss, _ = PL["repo_relu"](p, {"repo_gamma": 0.5})
    assert float(loss) == pytest.approx(float(torch.relu(0.5 - (aw - al)).mean()))


def test_kto_hand_value():
    p = pairs(LW, LL, RW, RL)
    lw, ll, rw, rl = (t(x).sum(1) for x in (LW, LL, RW, RL))
    uw, ul = lw - rw, ll - rl
    z0 = max(float(torch.cat([uw, ul]).mean()), 0.0)
    ref = torch.cat([1 - torch.sigmoid(0.1 * (uw - z0)), 1 - torch.sigmoid(0.1 * (z0 - ul))]).mean()
    loss, m = PL["kto"](p, {"beta": 0.1})
    assert float(loss) == pytest.approx(float(ref)) and m["kto_z0"] == pytest.approx(z0)


def test_odpo_offset_and_sppo_targets():
    p = pairs(LW, LL, RW, RL, chosen_reward=t([1.0, 0.9, 0.5]), rejected_reward=t([0.0, 0.4, 0.25]))
    loss, _ = PL["odpo"](p, {"beta": 0.1, "odpo_alpha": 1.0})
    off = torch.log(t([1.0, 0.5, 0.25]))
    assert float(loss) == pytest.approx(float((-F.logsigmoid(0.1 * _h() - off)).mean()))
    bad = pairs(LW, LL, RW, RL, chosen_reward=t([0.0, 0.9, 0.5]), rejected_reward=t([0.0, 0.4, 0.25]))
    with pytest.raises(InvalidParameterError, match="ODPO"):
        PL["odpo"](bad, {})
    lw, ll, rw, rl = (t(x).sum(1) for x in (LW, LL, RW, RL))
    loss, _ = PL["sppo"](p, {"beta": 0.5})
    assert float(loss) == pytest.approx(float(((lw - rw - 1.0) ** 2 + (ll - rl + 1.0) ** 2).mean()))


def test_wpo_weight_and_beta_dpo_state():
    p = pairs(LW, LL, RW, RL)
    loss, m = PL["wpo"](p, {"beta": 0.1})
    w = torch.exp(t(LW).mean(1) + t(LL).mean(1))
    assert float(loss) == pytest.approx(float((w * -F.logsigmoid(0.1 * _h())).mean()))
    st = {}
    torch.manual_seed(0)
    PL["beta_dpo"](p, {"beta": 0.1, "_state": st})
    assert st["beta_dpo_m0"] == pytest.approx(0.1 * float(_h().mean()))  # EMA from 0 with momentum 0.9
    assert st["beta_dpo_s0"] == pytest.approx(0.1 * float(_h().std()))
    # a = 0, rho = 0 -> plain DPO with beta0 on all pairs (tested in the neutral-setting test); beta clamp at 1e-3
    loss, m = PL["beta_dpo"](p, {"beta": 0.1, "beta_dpo_a": -1e6, "beta_dpo_rho": 0.0, "_state": {}})
    assert m["beta_batch"] >= 1e-3


@pytest.mark.parametrize("name", ["dpo", "simpo", "orpo", "ipo", "rdpo", "tgdpo"])
def test_gradcheck_float64(name):
    rw, rl = t(RW), t(RL)

    def fn(lw, ll):
        p = pairs(lw, ll, rw, rl)
        guide = {"tg_chosen": t(LW) - rw, "tg_rejected": t(LL) - rl}  # fixed guide (self-guidance is detached)
        return PL[name](p, {"beta": 0.3, "label_smoothing": 0.2, "_state": guide})[0]

    lw = t(LW).requires_grad_(True)
    ll = t(LL).requires_grad_(True)
    assert torch.autograd.gradcheck(fn, (lw, ll))


def test_mappo_tgdpo_modpo_hinge_dno_rpo_hand_values():
    p = pairs(LW, LL, RW, RL, chosen_reward=t([1.0, 0.9, 0.5]), rejected_reward=t([0.5, 0.4, 0.5]))
    lw, ll, rw, rl = (t(x).sum(1) for x in (LW, LL, RW, RL))
    uw, ul, h = lw - rw, ll - rl, _h()
    dr = t([0.5, 0.5, 0.0])
    assert float(PL["mappo"](p, {"beta": 0.2})[0]) == pytest.approx(float((-F.logsigmoid(0.2 * uw - dr * 0.2 * ul)).mean()))
    assert float(PL["modpo"](p, {"beta": 0.2, "modpo_weight": 0.25})[0]) == pytest.approx(
        float((-F.logsigmoid(0.8 * h - 3.0 * dr)).mean()))
    assert float(PL["hinge"](p, {"beta": 0.2})[0]) == pytest.approx(float(torch.relu(1 - 0.2 * h).mean()))
    keep = t([1.0, 1.0, 0.0])  # margin 0.3: the third pair (gap 0) is dropped
    dno = (-F.logsigmoid(0.2 * h) * keep).sum() / 2
    assert float(PL["dno"](p, {"beta": 0.2, "dno_margin": 0.3})[0]) == pytest.approx(float(dno))
    assert float(PL["rpo"](p, {"beta": 0.2, "rpo_alpha": 0.5})[0]) == pytest.approx(
        float((-F.logsigmoid(0.2 * h) - 0.5 * t(LW).mean(1)).mean()))
    gw, gl = t(LW) - t(RW), t(LL) - t(RL)
    zt = 0.2 * ((1 + 0.2 * 0.2 * gw) * gw).sum(1) - 0.2 * ((1 - 0.2 * 0.2 * gl) * gl).sum(1)
    assert float(PL["tgdpo"](p, {"beta": 0.2, "tgdpo_alpha": 0.2})[0]) == pytest.approx(float((-F.logsigmoid(zt)).mean()))
