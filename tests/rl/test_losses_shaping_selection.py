"""Reward shaping and sample selection on hand-made groups."""

import math

import pytest
import torch
from _losses_common import rollouts

from optkit.core.errors import InvalidParameterError
from optkit.rl.losses import selection as SEL
from optkit.rl.losses import shaping as SH


def t(x):
    return torch.tensor(x, dtype=torch.float64)


def test_dapo_overlong_soft_punishment():
    # L_max = 10, L_cache = 4: no penalty up to 6, linear ramp to -1 at 10
    mask = torch.zeros(4, 12, dtype=torch.float64)
    for i, L in enumerate((5, 6, 8, 10)):
        mask[i, :L] = 1
    r = rollouts([1, 1, 1, 1], torch.zeros(4, 12), mask=mask, group_size=4, max_length=10)
    out = SH.overlong_penalty(r.rewards, r, {"overlong_buffer": 4, "overlong_penalty": 1.0})
    assert torch.allclose(out, t([1, 1, 0.5, 0.0]))
    r.max_length = None
    with pytest.raises(InvalidParameterError, match="max_length"):
        SH.overlong_penalty(r.rewards, r, {})


def test_unlikeliness_penalizes_the_most_likely_sample():
    lp = t([[-0.1], [-2.0], [-1.0], [-3.0]])  # mean log-probs; ranks ascending: 2, 1... -> (3, 1, 2, 0)
    r = rollouts([1, 1, 0, 1], lp, group_size=4)
    out = SH.unlikeliness(r.rewards, r, {"unlikeliness_beta": 0.25})
    assert torch.allclose(out, t([1 - 0.25 * 3 / 4, 1 - 0.25 * 1 / 4, 0, 1]))


def test_early_exit_decaying_rewards():
    mask = torch.zeros(4, 6, dtype=torch.float64)
    for i, L in enumerate((5, 2, 3, 1)):
        mask[i, :L] = 1
    r = rollouts([1, 1, 1, 0], torch.zeros(4, 6), mask=mask, group_size=4, correct=torch.tensor([True, True, True, False]))
    assert torch.allclose(SH.early_exit(r.rewards, r, {}), t([0.25, 1.0, 0.5, 0.0]))


def test_grpo_lambda_penalizes_only_top_groups():
    mask = torch.zeros(4, 6, dtype=torch.float64)
    for i, L in enumerate((2, 4, 3, 5)):
        mask[i, :L] = 1
    # group 0 (rows 0,1) all correct, group 1 (rows 2,3) half correct; lambda_frac = 0.5 -> only group 0 penalized
    r = rollouts([1, 1, 1, 0], torch.zeros(4, 6), mask=mask, group_size=2)
    out = SH.grpo_lambda(r.rewards, r, {"lambda_frac": 0.5, "length_penalty_alpha": 0.2})
    z = 1.0 / (1.0 + 1e-6)  # lengths (2, 4): mean 3, population std 1
    assert torch.allclose(out, t([1 - 0.2 / (1 + math.exp(z)), 1 - 0.2 / (1 + math.exp(-z)), 1, 0]), atol=1e-6)


def test_multi_objective_weighted_sum_and_normalize_then_sum():
    r = rollouts([[1.0, 0.0], [0.0, 2.0]], torch.zeros(2, 1), group_size=2)
    assert torch.allclose(SH.multi_objective(r.rewards, r, {"reward_weights": (0.5, 0.25)}), t([0.5, 0.5]))
    out = SH.multi_objective(r.rewards, r, {"reward_weights": (1.0, 0.5), "multi_objective_mode": "normalize_then_sum"})
    z = 1 / math.sqrt(2)  # any 2-sample group normalizes to +-1/sqrt(2) (ddof=1)
    assert torch.allclose(out, t([z - 0.5 * z, -z + 0.5 * z]), atol=1e-5)
    with pytest.raises(InvalidParameterError, match="reward_weights"):
        SH.multi_objective(r.rewards, r, {"reward_weights": (1.0,)})


def test_spo_tracker_baseline_and_update():
    st = {"prompt_ids": torch.tensor([7, 9])}
    r = rollouts([1.0, 0.0], torch.zeros(2, 1), group_size=1)
    out = SH.spo_tracker(r.rewards, r, {"_state": st, "spo_rho": 0.5, "spo_init_n": 2.0})
    assert torch.allclose(out, t([0.5, -0.5]))
    assert st["spo"][7] == (0.5 * 1 + 1, 0.5 * 1 + 0) and st["spo"][9] == (0.5, 1.5)
    out2 = SH.spo_tracker(t([1.0, 1.0]), r, {"_state": st, "spo_rho": 0.5, "spo_init_n": 2.0})
    assert torch.allclose(out2, t([1 - 1.5 / 2.0, 1 - 0.5 / 2.0]))
    with pytest.raises(InvalidParameterError, match="prompt_ids"):
        SH.spo_tracker(r.rewards, r, {})


def test_dcpo_smooth_standardization_first_visit_is_group_z():
    r = rollouts([1.0, 0.0, 1.0, 1.0], torch.zeros(4, 1), group_size=2)
    st = {"prompt_ids": torch.tensor([0, 1])}
    out = SH.dcpo_smooth(r.rewards, r, {"_state": st})
    z = 0.5 / (math.sqrt(0.5) + 1e-6)
    assert torch.allclose(out, t([z, -z, 0, 0]), atol=1e-6)
    # second visit of prompt 0 with rewards (1, 1): z_cur = 0; cumulative over 4 samples (1,0,1,1)
    out2 = SH.dcpo_smooth(t([1.0, 1.0, 0.0, 0.0]), r, {"_state": st})
    zc = (1 - 0.75) / math.sqrt(0.25)  # unbiased var of (1,0,1,1) = 0.25
    a1, a2 = zc / 2 + 0.5 * 0, 0 / 2 + 0.5 * zc
    assert float(out2[0]) == pytest.approx(min(a1, a2, key=abs), abs=1e-5)


def test_aapo_importance_estimate_of_reference_reward():
    lp = t([[-1.0], [-1.0]])
    r = rollouts([1.0, 0.0], lp, group_size=2, ref_logp=t([[-1.0 + math.log(3.0)], [-1.0]]))
    out = SH.aapo_advantage(r.rewards, r, {})
    ref = 3 / 4  # weights 3:1 on the rewards (1, 0)
    z = 0.5 / (math.sqrt(0.5) + 1e-4)
    assert torch.allclose(out, t([z + min(1 - ref, 0.28), -z + max(0 - ref, -0.2)]), atol=1e-9)


def test_dynamic_sampling_drops_degenerate_groups():
    r = rollouts([1, 0, 1, 1, 0, 0], torch.zeros(6, 1), group_size=2)
    assert SEL.dynamic_sampling(r, {}).tolist() == [True, True, False, False, False, False]
    r.correct = torch.tensor([True, True, True, False, False, False])  # verifier outcome wins over reward
    assert SEL.dynamic_sampling(r, {}).tolist() == [False, False, True, True, False, False]


def test_cppo_keeps_largest_abs_advantage():
    r = rollouts([1, 0, 0, 0, 1, 1, 0, 1], torch.zeros(8, 1), group_size=4)
    keep = SEL.cppo_prune(r, {"prune_rate": 0.75})
    assert keep.tolist() == [True, False, False, False, False, False, True, False]


def test_overlong_filter():
    mask = t([[1, 1, 1], [1, 0, 0]])
    r = rollouts([1, 1], torch.zeros(2, 3), mask=mask, group_size=2, max_length=3)
    assert SEL.overlong_filter(r, {}).tolist() == [False, True]


def test_greso_history_and_pre_filter():
    st = {"prompt_ids": torch.tensor([3, 4, 5])}
    r = rollouts([1, 1, 1, 0, 0, 0], torch.zeros(6, 1), group_size=2)
    keep = SEL.greso_select(r, {"_state": st, "greso_p0": 0.5, "greso_target_zero": 0.25, "greso_step": 0.1})
    assert keep.tolist() == [False, False, True, True, False, False]
    assert st["greso"] == {3: [1.0], 4: [0.5], 5: [0.0]}
    # easy fraction 1/3 >= 0.25/3 and hard fraction 1/3 >= 0.5/3 -> both explore less
    assert st["greso_p_easy"] == pytest.approx(0.4) and st["greso_p_hard"] == pytest.approx(0.4)
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([SEL.greso_pre_filter(st, [3, 4, 5, 6], {}, g) for _ in range(2000)]).double().mean(0)
    assert float(draws[1]) == 1.0 and float(draws[3]) == 1.0
    assert float(draws[0]) == pytest.approx(0.4, abs=0.04) and float(draws[2]) == pytest.approx(0.4, abs=0.04)
    st["greso"][3].append(1.0)  # two all-correct visits in a row -> p_easy ** 2
    draws = torch.stack([SEL.greso_pre_filter(st, [3], {}, g) for _ in range(2000)]).double().mean()
    assert float(draws) == pytest.approx(0.16, abs=0.03)
