"""Named presets of the loss zoo: each published method = a choice of parts plus its paper's defaults.

A :class:`Preset` is data: ``defaults`` hold every knob the method reads (the part names ``advantage``,
``surrogate``, ``aggregation``, ``kl_estimator``, ``kl_placement``, ``shaping``, ``selection``,
``token_weighting``, ``sample_filter`` are knobs too, so any part can be swapped per run), and
``loss_fn`` is only set for methods that are not "advantage x surrogate x aggregation" (GVPO, A*-PO,
RePO replay). :func:`get_preset` finds one by name; :func:`resolve_knobs` merges overrides and
rejects unknown knobs. See docs/rl-presets.md for every formula, paper and default, and for how to add
a variant in one file (:func:`register_preset`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from optkit.core.errors import InvalidParameterError, UnknownNameError, suggest
from optkit.core.params import BOOL, Interval, validate

from .batch import LossOutput, PreferencePairs, Rollouts
from .losses import special
from .losses._util import check_group_size, part
from .losses.advantages import ADVANTAGES
from .losses.aggregation import AGGREGATIONS
from .losses.kl import KL_ESTIMATORS
from .losses.policy import SAMPLE_FILTERS, TOKEN_WEIGHTINGS, policy_loss
from .losses.preference import PREFERENCE_LOSSES, REFERENCE_FREE, preference_loss
from .losses.selection import SELECTORS
from .losses.shaping import SHAPERS
from .losses.surrogates import SURROGATES


@dataclass(frozen=True)
class Preset:
    """One named method. ``kind`` is "policy" or "preference"; ``update_rule`` is "gradient" (the trainer's
    optimizer) or "trpo" (the trainer calls :func:`optkit.rl.losses.trpo.trpo_step`); ``online_pairs``
    asks the trainer to build preference pairs from the current policy each round and ``ref_refresh`` to
    reset the reference to the current policy at each round (iterative methods)."""

    name: str
    paper: str
    kind: str
    defaults: dict
    needs_reference: bool = False
    needs_critic: bool = False
    group_method: bool = True
    description: str = ""
    loss_fn: Callable | None = None
    update_rule: str = "gradient"
    online_pairs: bool = False
    ref_refresh: bool = False

    def _k(self, knobs: dict | None) -> dict:
        return {**self.defaults, **(knobs or {})}

    def _check_group(self, r: Rollouts) -> None:
        if self.group_method:
            check_group_size(r.group_size, r.mask.shape[0], f"preset {self.name!r}")

    def requires_reference(self, knobs: dict | None = None) -> bool:
        """Whether ``ref_logp`` is needed with these knobs (KL on, or the method itself uses pi_ref)."""
        k = self._k(knobs)
        return self.needs_reference or (float(k.get("kl_coef", 0.0)) > 0 and k.get("kl_placement", "loss") != "none")

    def shape_rewards(self, r: Rollouts, knobs: dict | None = None) -> torch.Tensor:
        """(B,) rewards after the ``shaping`` pipeline (validates finiteness and group size)."""
        k = self._k(knobs)
        if not bool(torch.isfinite(r.rewards).all()):
            raise InvalidParameterError("Rollouts.rewards must be finite; the task returned a non-finite reward.")
        self._check_group(r)
        rewards = r.rewards.to(r.mask.dtype)
        for name in k.get("shaping", ()):
            rewards = part(SHAPERS, name, "shaping")(rewards, r, k)
        if rewards.dim() != 1:
            raise InvalidParameterError(f"Preset {self.name!r} takes scalar rewards; got shape {tuple(r.rewards.shape)}. "
                                        "Add 'multi_objective' to the 'shaping' knob for (B, K) rewards.")
        return rewards

    def select(self, r: Rollouts, knobs: dict | None = None) -> torch.Tensor:
        """(B,) bool rows to train on."""
        k = self._k(knobs)
        return part(SELECTORS, k.get("selection", "none"), "selection")(r, k)

    def loss(self, r, knobs: dict | None = None) -> LossOutput:
        """The loss on a Rollouts (policy presets) or PreferencePairs (preference presets) batch."""
        k = self._k(knobs)
        if self.kind == "preference":
            if not isinstance(r, PreferencePairs):
                raise InvalidParameterError(f"Preset {self.name!r} is a preference loss and needs PreferencePairs. Got {type(r).__name__}.")
            return preference_loss(r, k) if self.loss_fn is None else self.loss_fn(r, k)
        if not isinstance(r, Rollouts):
            raise InvalidParameterError(f"Preset {self.name!r} is a policy loss and needs Rollouts. Got {type(r).__name__}.")
        if self.loss_fn is not None or k.get("advantage") != "given":
            # "given" advantages were computed on whole groups in shape_rewards; the kept rows may be partial
            # groups (CPPO), which the loss does not need to regroup
            self._check_group(r)
        return policy_loss(r, k) if self.loss_fn is None else self.loss_fn(r, k)


# ------------------------------------------------------------------------------------------- knob checks
_REAL = [Interval(float, None, None)]
_NONNEG = [Interval(float, 0, None)]
_POS = [Interval(float, 0, None, "neither")]
_UNIT = [Interval(float, 0, 1)]
KNOB_CONSTRAINTS: dict = {
    "clip_eps": _NONNEG, "clip_eps_high": _NONNEG + [None], "dual_clip": [Interval(float, 1, None, "neither"), None],
    "clip_delta": [Interval(float, 1, None, "neither"), None], "kl_coef": _NONNEG, "entropy_coef": _REAL,
    "ppo_epochs": [Interval(int, 1, None)], "gamma": _UNIT, "gae_lambda": _UNIT, "vf_coef": _NONNEG,
    "value_clip": _POS + [None], "beta": _POS, "label_smoothing": [Interval(float, 0, 0.5, "left")],
    "flip_rate": [Interval(float, 0, 1, "left")], "adv_eps": _NONNEG, "std_ddof": [Interval(int, 0, 1)],
    "prune_rate": [Interval(float, 0, 1, "left")], "max_kl": _POS, "damping": _NONNEG, "cg_iters": [Interval(int, 1, None)],
    "whiten_advantages": [BOOL], "delta_l_alpha": _NONNEG, "lambda_frac": _UNIT, "dropout_rate": [Interval(float, 0, 1, "left")],
    "spo_rho": _UNIT, "greso_p0": _UNIT, "exo_eps": [Interval(float, 0, 0.5, "neither")], "modpo_weight": [Interval(float, 0, 1, "right")],
    "dr_dpo_beta_prime": _POS, "egsw_temperature": _POS, "norm_length": [Interval(float, 0, None, "neither"), None],
    "overlong_buffer": [Interval(int, 1, None), None], "overlong_max_length": [Interval(int, 1, None), None],
    "replay_size": [Interval(int, 1, None)], "seed_alpha": _NONNEG, "unlikeliness_beta": _UNIT,
}
_CHOICES = {"baseline": ("none", "batch_mean"), "scale_rewards": ("group", "batch", "none"),
            "seed_scale": ("linear", "exp", "focal"), "multi_objective_mode": ("sum_then_normalize", "normalize_then_sum"),
            "replay_strategy": ("full", "recency", "reward", "variance"), "egsw_mode": ("trajectory", "step")}
_PARTS = {"advantage": ADVANTAGES, "surrogate": SURROGATES, "aggregation": AGGREGATIONS, "selection": SELECTORS,
          "token_weighting": {"none": None, **TOKEN_WEIGHTINGS}, "sample_filter": {"none": None, **SAMPLE_FILTERS},
          "pref_loss": PREFERENCE_LOSSES}


def _check_knob(preset: Preset, name: str, value) -> None:
    owner = f"preset {preset.name!r}"
    if name in _PARTS:
        table = _PARTS[name]
        if not isinstance(value, str) or value not in table:
            raise UnknownNameError(f"The {name!r} knob of {owner} must be one of {sorted(table)}. Got {value!r} instead."
                                   + (suggest(value, table) if isinstance(value, str) else ""))
        return
    if name == "shaping":
        if not isinstance(value, (tuple, list)) or any(not isinstance(v, str) or v not in SHAPERS for v in value):
            raise UnknownNameError(f"The 'shaping' knob of {owner} must be a tuple of names from {sorted(SHAPERS)}. Got {value!r} instead.")
        return
    if name == "kl_estimator":
        validate(owner, name, value, [_opts(KL_ESTIMATORS)])
        return
    if name == "kl_placement":
        validate(owner, name, value, [_opts(("loss", "reward", "none"))])
        return
    if name in _CHOICES:
        validate(owner, name, value, [_opts(_CHOICES[name])])
        return
    if name in KNOB_CONSTRAINTS:
        validate(owner, name, value, KNOB_CONSTRAINTS[name])
        return
    default = preset.defaults.get(name)
    if isinstance(default, bool):
        validate(owner, name, value, [BOOL])
    elif isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            raise InvalidParameterError(f"The {name!r} knob of {owner} must be a finite number. Got {value!r} instead.")
    elif isinstance(default, str) and not isinstance(value, str):
        raise InvalidParameterError(f"The {name!r} knob of {owner} must be a str. Got {value!r} instead.")


def _opts(choices):
    from optkit.core.params import Options

    return Options(choices)


def resolve_knobs(preset: Preset | str, overrides: dict | None = None) -> dict:
    """The preset's defaults updated by ``overrides``; unknown knobs (other than trainer-state keys starting
    with "_") raise :class:`InvalidParameterError` naming the closest known knobs."""
    if isinstance(preset, str):
        preset = get_preset(preset)
    out = dict(preset.defaults)
    for name, value in (overrides or {}).items():
        if not isinstance(name, str):
            raise InvalidParameterError(f"Knob names must be str. Got {name!r} instead.")
        if name.startswith("_"):
            out[name] = value
            continue
        if name not in preset.defaults:
            raise InvalidParameterError(f"Unknown knob {name!r} for preset {preset.name!r}. Known knobs: "
                                        f"{sorted(preset.defaults)}.{suggest(name, preset.defaults)}")
        _check_knob(preset, name, value)
        out[name] = value
    return out


PRESETS: dict[str, Preset] = {}


def register_preset(preset: Preset) -> Preset:
    """Add a preset to :data:`PRESETS` (validating its default knobs); returns it."""
    if preset.kind not in ("policy", "preference"):
        raise InvalidParameterError(f"Preset.kind must be 'policy' or 'preference'. Got {preset.kind!r} instead.")
    for name, value in preset.defaults.items():
        if not name.startswith("_"):
            _check_knob(preset, name, value)
    PRESETS[preset.name] = preset
    return preset


def get_preset(name: str) -> Preset:
    """The preset called ``name``; :class:`UnknownNameError` with the closest names otherwise."""
    if not isinstance(name, str) or name not in PRESETS:
        raise UnknownNameError(f"Unknown RL preset {name!r}." + (suggest(name, PRESETS) if isinstance(name, str) else "")
                               + f" Available: {', '.join(sorted(PRESETS))}.")
    return PRESETS[name]


def describe_defaults(preset: Preset | str) -> str:
    """The preset's default knobs as one ``k=v, ...`` line (sorted; the line docs/rl-presets.md shows)."""
    if isinstance(preset, str):
        preset = get_preset(preset)
    return ", ".join(f"{k}={v!r}" for k, v in sorted(preset.defaults.items()))


def available_presets(kind: str | None = None) -> list[str]:
    """Sorted preset names, optionally only of one kind ("policy" / "preference")."""
    return sorted(n for n, p in PRESETS.items() if kind is None or p.kind == kind)


# ------------------------------------------------------------------------------------------- policy presets
_COMMON = {"ppo_epochs": 1, "entropy_coef": 0.0, "shaping": (), "selection": "none", "token_weighting": "none",
           "sample_filter": "none", "kl_coef": 0.0, "kl_estimator": "k3", "kl_placement": "loss"}
_GRPO = {**_COMMON, "advantage": "grpo", "scale_rewards": "group", "adv_eps": 1e-6, "std_ddof": 1, "surrogate": "clip",
         "clip_eps": 0.2, "clip_eps_high": None, "dual_clip": None, "aggregation": "seq_mean_token_mean", "kl_coef": 0.04}


def _policy(name, paper, defaults, description, **kw):
    return register_preset(Preset(name=name, paper=paper, kind="policy", defaults=defaults, description=description, **kw))


_policy("ppo", "Proximal Policy Optimization Algorithms (1707.06347); dual clip: Mastering Complex Control in MOBA Games with Deep RL (1912.09729)",
        {**_COMMON, "advantage": "gae", "gamma": 1.0, "gae_lambda": 0.95, "whiten_advantages": True, "surrogate": "clip",
         "clip_eps": 0.2, "clip_eps_high": None, "dual_clip": 3.0, "aggregation": "token_mean", "kl_placement": "reward",
         "kl_estimator": "k1", "vf_coef": 0.5, "value_clip": 0.2, "ppo_epochs": 4},
        "PPO-clip with GAE (critic), dual clip c=3, optional KL-in-reward.", needs_critic=True, group_method=False)
_policy("trpo", "Trust Region Policy Optimization (1502.05477)",
        {**_GRPO, "surrogate": "trpo", "aggregation": "token_mean", "kl_coef": 0.0, "max_kl": 0.01, "damping": 0.1,
         "cg_iters": 10},
        "Unclipped IS surrogate; the trainer takes the natural-gradient step in a KL ball (exact Fisher).",
        update_rule="trpo")
_policy("reinforce", "Simple statistical gradient-following algorithms for connectionist RL (Williams 1992)",
        {**_COMMON, "advantage": "reinforce", "baseline": "none", "surrogate": "pg", "aggregation": "seq_mean_token_sum"},
        "-R log pi(y) per sequence; 'baseline'='batch_mean' subtracts the batch mean reward.", group_method=False)
_policy("rloo", "Back to Basics: Revisiting REINFORCE-Style Optimization for Learning from Human Feedback in LLMs (2402.14740)",
        {**_COMMON, "advantage": "rloo", "surrogate": "pg", "aggregation": "seq_mean_token_sum"},
        "REINFORCE with the leave-one-out group baseline r_i - mean_{j!=i} r_j.")
_policy("reinforce_pp", "REINFORCE++: A Simple and Efficient Approach for Aligning Large Language Models (2501.03262)",
        {**_COMMON, "advantage": "reinforce_pp", "gamma": 1.0, "surrogate": "clip", "clip_eps": 0.2, "clip_eps_high": None,
         "dual_clip": None, "aggregation": "token_mean", "kl_coef": 0.01, "kl_placement": "reward", "kl_estimator": "k1"},
        "Token returns with the KL penalty in the reward, whitened over the batch; PPO clip.", group_method=False)
_policy("reinforce_pp_baseline", "REINFORCE++ (2501.03262), group-baseline variant (verl reinforce_plus_plus_baseline)",
        {**_COMMON, "advantage": "reinforce_pp_baseline", "surrogate": "clip", "clip_eps": 0.2, "clip_eps_high": None,
         "dual_clip": None, "aggregation": "token_mean", "kl_coef": 0.001, "kl_placement": "loss", "kl_estimator": "k2"},
        "r - mean_q, then whitened over all response tokens of the batch; k2 KL in the loss.")
_policy("grpo", "DeepSeekMath: Pushing the Limits of Mathematical Reasoning in Open Language Models (2402.03300)", dict(_GRPO),
        "(r - mean_q)/std_q, PPO clip 0.2, per-sequence token mean, k3 KL in loss (beta 0.04).")
_policy("dr_grpo", "Understanding R1-Zero-Like Training: A Critical Perspective (2503.20783)",
        {**_GRPO, "scale_rewards": "none", "aggregation": "seq_mean_token_sum_norm", "norm_length": None, "kl_coef": 0.0},
        "GRPO without the std and the 1/|o| divisors: r - mean_q, sum over tokens / (B * L_max).")
_policy("dapo", "DAPO: An Open-Source LLM Reinforcement Learning System at Scale (2503.14476)",
        {**_GRPO, "clip_eps_high": 0.28, "dual_clip": 10.0, "aggregation": "token_mean", "kl_coef": 0.0,
         "selection": "dynamic_sampling", "shaping": ("overlong",), "overlong_buffer": None, "overlong_penalty": 1.0,
         "overlong_max_length": None},
        "Clip-higher (0.2/0.28), dynamic sampling, token-level loss, soft overlong punishment, no KL.")
_policy("gspo", "Group Sequence Policy Optimization (2507.18071)",
        {**_GRPO, "surrogate": "gspo", "clip_eps": 3e-4, "clip_eps_high": 4e-4, "kl_coef": 0.0},
        "Length-normalized sequence ratio (GSPO-token form), clipped to [1-3e-4, 1+4e-4].")
_policy("gmpo", "Geometric-Mean Policy Optimization (2507.20673)",
        {**_GRPO, "surrogate": "gmpo", "clip_eps": 0.4, "clip_eps_high": 0.4, "kl_coef": 0.0},
        "Geometric mean of token ratios clipped in log space to (-0.4, 0.4).")
_policy("gpg", "GPG: A Simple and Strong Reinforcement Learning Baseline for Model Reasoning (2504.02546)",
        {**_COMMON, "advantage": "gpg", "gpg_std_norm": False, "adv_eps": 1e-6, "std_ddof": 1, "surrogate": "pg",
         "aggregation": "token_mean"},
        "Plain policy gradient with alpha = B/(B - M) rescaled group-centred advantages; no ratio, no KL.")
_policy("cppo", "CPPO: Accelerating the Training of Group Relative Policy Optimization-Based Reasoning Models (2503.22342)",
        {**_GRPO, "shaping": ("cppo_advantage",), "advantage": "given", "selection": "cppo", "prune_rate": 0.75},
        "GRPO, training only on the k = G(1-P) completions with the largest |advantage| per group.")
_policy("ngrpo", "NGRPO: Negative-enhanced Group Relative Policy Optimization (2509.18851)",
        {**_GRPO, "advantage": "ngrpo", "ngrpo_r_max": 1.0, "clip_eps": 0.16, "clip_eps_high": 0.24,
         "aggregation": "token_mean", "kl_coef": 0.0},
        "Group statistics include a virtual max-reward sample; asymmetric clip 0.16/0.24.")
_policy("spo", "Single-stream Policy Optimization (2509.13232)",
        {**_COMMON, "shaping": ("spo_tracker",), "spo_rho": 0.9, "spo_init_n": 2.0, "advantage": "batch_norm",
         "surrogate": "clip", "clip_eps": 0.2, "clip_eps_high": None, "dual_clip": None, "aggregation": "token_mean"},
        "Group-free: per-prompt Beta-tracker baseline, batch-normalized advantage, PPO clip.", group_method=False)
_policy("delta_l", "ΔL Normalization: Rethink Loss Aggregation in RLVR (2509.07558)",
        {**_GRPO, "aggregation": "delta_l", "delta_l_alpha": 1.0, "norm_length": None, "clip_eps_high": 0.28, "kl_coef": 0.0},
        "Unbiased minimum-variance length weights L^-alpha / mean L^-alpha, sum / (B L_max).")
_policy("bnpo", "BNPO: Beta Normalization Policy Optimization (2506.02864)",
        {**_GRPO, "advantage": "bnpo", "reward_min": 0.0, "reward_max": 1.0, "aggregation": "token_mean", "kl_coef": 0.0},
        "(R - p)/f_Beta(p; a, b) with (a, b) fitted to the batch's success rates.")
_policy("repo_replay", "RePO: Replay-Enhanced Policy Optimization (2506.09340)",
        {**_GRPO, "kl_coef": 0.0, "replay_size": 8, "replay_strategy": "full", "replay_coef": 1.0},
        "GRPO on fresh samples + the same loss on replayed samples (knobs['_state']['replay']).",
        loss_fn=special.repo_loss)
_policy("gvpo", "GVPO: Group Variance Policy Optimization for Large Language Model Post-Training (2504.19599)",
        {**_COMMON, "gvpo_beta": 0.1, "advantage": "grpo", "surrogate": "pg", "aggregation": "token_mean"},
        "Regress centred implicit rewards beta log(pi/pi_old) onto centred rewards.", loss_fn=special.gvpo_loss)
_policy("dcpo", "DCPO: Dynamic Clipping Policy Optimization (2509.02333)",
        {**_GRPO, "shaping": ("dcpo_smooth",), "advantage": "given", "surrogate": "dcpo", "clip_eps": 0.2,
         "clip_eps_high": 0.28, "dcpo_cap": 10.0, "dual_clip": 3.0, "aggregation": "only_token_mean", "kl_coef": 0.0},
        "Token-prior-dependent clip bounds, smooth advantage standardization, only-token-mean.")
_policy("simple_po", "Simple Policy Optimization (2401.16025)",
        {**_GRPO, "surrogate": "simple", "aggregation": "token_mean", "kl_coef": 0.0, "ppo_epochs": 4},
        "Quadratic penalty |A|/(2 eps) (rho-1)^2 instead of clipping.")
_policy("dppo", "Dropout Strategy in Reinforcement Learning: Limiting the Surrogate Objective Variance in Policy Optimization Methods (2310.20380)",
        {**_GRPO, "sample_filter": "dppo", "dropout_rate": 0.1, "aggregation": "token_mean", "kl_coef": 0.0, "ppo_epochs": 4},
        "PPO clip with per-minibatch dropout of the samples that inflate the surrogate's variance.")
_policy("astar_po", "Accelerating RL for LLM Reasoning with Optimal Advantage Regression (2505.20686)",
        {**_COMMON, "shaping": ("astar_advantage",), "astar_beta1": 0.5, "astar_beta2": 1e-3, "advantage": "given",
         "surrogate": "pg", "aggregation": "token_mean"},
        "Regress beta2 log(pi/pi_ref) onto r - V*(x), V* from reference samples.", loss_fn=special.astar_loss,
        needs_reference=True, group_method=False)
_policy("unlikeliness", "Rewarding the Unlikely: Lifting GRPO Beyond Distribution Sharpening (2506.02355)",
        {**_GRPO, "shaping": ("unlikeliness",), "unlikeliness_beta": 0.25},
        "GRPO with r (1 - beta rank/G): the most likely correct samples are rewarded least.")
_policy("aapo", "AAPO: Enhance the Reasoning Capabilities of LLMs with Advantage Momentum (2505.14264)",
        {**_COMMON, "shaping": ("aapo_advantage",), "aapo_clip": (-0.2, 0.28), "std_ddof": 1, "advantage": "given",
         "surrogate": "pg", "aggregation": "token_mean"},
        "Group z-score plus clip(r - r_ref, -0.2, 0.28), plain policy gradient.", needs_reference=True)
_policy("egsw", "Entropy-guided sequence weighting for efficient exploration in RL-based LLM fine-tuning (2503.22456)",
        {**_GRPO, "token_weighting": "egsw", "egsw_alpha": 0.1, "egsw_temperature": 1.0, "egsw_mode": "trajectory"},
        "GRPO terms weighted by a group softmax of (advantage + alpha entropy)/P.")
_policy("seed_grpo", "SEED-GRPO: Semantic Entropy Enhanced GRPO for Uncertainty-Aware Policy Optimization (2505.12346)",
        {**_GRPO, "advantage": "seed_grpo", "scale_rewards": "none", "seed_alpha": 1.0, "seed_scale": "linear"},
        "(r - mean_q) scaled by 1 - alpha SE(q)/log G (semantic entropy over identical-answer clusters).")
_policy("ce_gppo", "CE-GPPO: Controlling Entropy via Gradient-Preserving Clipping Policy Optimization in RL (2509.20712)",
        {**_GRPO, "surrogate": "ce_gppo", "clip_eps_high": 0.28, "gppo_beta1": 0.75, "gppo_beta2": 1.0,
         "aggregation": "token_mean", "kl_coef": 0.0},
        "Clipped tokens keep a bounded, scaled gradient through rho/sg[rho].")
_policy("clip_cov", "The Entropy Mechanism of Reinforcement Learning for Reasoning Language Models (2505.22617)",
        {**_GRPO, "surrogate": "clip_cov", "clip_eps": 1.0, "clip_eps_high": 1.0, "clip_cov_ratio": 2e-4, "cov_low": 1.0,
         "cov_high": 5.0, "aggregation": "token_mean", "kl_coef": 0.0},
        "Stop the gradient of a few random tokens whose cov(log pi, A) lies in (1, 5).")
_policy("kl_cov", "The Entropy Mechanism of Reinforcement Learning for Reasoning Language Models (2505.22617)",
        {**_GRPO, "surrogate": "kl_cov", "kl_cov_ratio": 2e-3, "kl_cov_coef": 1.0, "aggregation": "token_mean", "kl_coef": 0.0},
        "KL penalty |log rho| on the top tokens by cov(log pi, A); no clip elsewhere.")
_policy("grpo_lambda", "Stable Reinforcement Learning for Efficient Reasoning (GRPO-λ) (2505.18086)",
        {**_GRPO, "shaping": ("grpo_lambda",), "lambda_frac": 0.2, "length_penalty_alpha": 0.2},
        "Length-penalized reward only for the top-lambda groups by correctness ratio; 0/1 elsewhere.")
_policy("s_grpo", "S-GRPO: Early Exit via Reinforcement Learning in Reasoning Models",
        {**_GRPO, "shaping": ("early_exit",)},
        "Decaying rewards 2^-(k-1) for the k-th shortest correct response of a group.")
_policy("greso", "Act Only When It Pays: Efficient RL for LLM Reasoning via Selective Rollouts (GRESO) (2506.02177)",
        {**_GRPO, "selection": "greso", "greso_p0": 0.5, "greso_p_min": 0.05, "greso_target_zero": 0.25, "greso_step": 0.01,
         "kl_coef": 0.0},
        "Skip prompts whose recent groups were all-same before rollout (probabilistic), drop degenerate groups after.")
_policy("mo_grpo", "Optimizing Safe and Aligned Language Generation: A Multi-Objective GRPO Approach",
        {**_GRPO, "shaping": ("multi_objective",), "reward_weights": None, "multi_objective_mode": "sum_then_normalize"},
        "GRPO on a weighted sum of K reward heads ((B, K) rewards).")
_policy("cispo", "MiniMax-M1: Scaling Test-Time Compute Efficiently with Lightning Attention (CISPO) (2506.13585)",
        {**_GRPO, "surrogate": "cispo", "clip_eps": 1.0, "clip_eps_high": 5.0, "aggregation": "token_mean", "kl_coef": 0.0},
        "Clipped, stop-gradient IS weight times A log pi (every token keeps a gradient).")
_policy("sapo", "Soft Adaptive Policy Optimization (2511.20347)",
        {**_GRPO, "surrogate": "sapo", "sapo_tau_pos": 1.0, "sapo_tau_neg": 1.05, "aggregation": "token_mean", "kl_coef": 0.0},
        "Sigmoid soft gate (4/tau) sigmoid(tau (rho-1)) instead of the hard clip.")


# --------------------------------------------------------------------------------------- preference presets
def _pref(name, paper, loss, defaults, description, **kw):
    d = {"pref_loss": loss, "flip_rate": 0.0, **defaults}
    kw.setdefault("needs_reference", loss not in REFERENCE_FREE)
    return register_preset(Preset(name=name, paper=paper, kind="preference", defaults=d, description=description,
                                  group_method=False, **kw))


_pref("dpo", "Direct Preference Optimization: Your Language Model is Secretly a Reward Model (2305.18290)", "dpo", {"beta": 0.1}, "-log s(beta h)")
_pref("ipo", "A General Theoretical Paradigm to Understand Learning from Human Preferences (IPO) (2310.12036)", "ipo", {"beta": 0.1},
      "(hbar - 1/(2 tau))^2, length-averaged log-ratios")
_pref("cdpo", "A note on DPO with noisy preferences and relationship to IPO (Mitchell 2023, cDPO)", "cdpo", {"beta": 0.1, "label_smoothing": 0.1},
      "label-smoothed DPO")
_pref("rdpo", "Provably Robust DPO: Aligning Language Models with Noisy Feedback (2403.00409)", "rdpo", {"beta": 0.1, "label_smoothing": 0.1},
      "unbiased DPO under flip rate eps")
_pref("simpo", "SimPO: Simple Preference Optimization with a Reference-Free Reward (2405.14734)", "simpo", {"beta": 2.5, "simpo_gamma": 1.375},
      "reference-free, length-averaged margin with target gamma")
_pref("orpo", "ORPO: Monolithic Preference Optimization without Reference Model (2403.07691)", "orpo", {"orpo_lambda": 0.1}, "NLL + odds-ratio penalty, no reference")
_pref("beta_dpo", "β-DPO: Direct Preference Optimization with Dynamic β (2407.08639)", "beta_dpo",
      {"beta": 0.1, "beta_dpo_a": 0.6, "beta_dpo_rho": 0.2}, "batch-adaptive beta and margin-guided filtering")
_pref("dr_dpo", "Towards Robust Alignment of Language Models: Distributionally Robustifying DPO (2407.07880)", "dr_dpo",
      {"beta": 0.1, "dr_dpo_beta_prime": 1.0}, "log-sum-exp (DRO) over the batch's DPO losses")
_pref("odpo", "Direct Preference Optimization with an Offset (2402.10571)", "odpo", {"beta": 0.1, "odpo_alpha": 1.0, "odpo_ratio": False},
      "-log s(beta h - alpha log(s_w - s_l))")
_pref("repo_relu", "RePO: ReLU-based Preference Optimization (2503.07426)", "repo_relu", {"repo_gamma": 0.5},
      "max(0, gamma - (aw - al)), no reference, no beta")
_pref("kto", "KTO: Model Alignment as Prospect Theoretic Optimization (2402.01306)", "kto",
      {"beta": 0.1, "kto_desirable_weight": 1.0, "kto_undesirable_weight": 1.0}, "prospect-theoretic unpaired loss")
_pref("exo", "Towards Efficient Exact Optimization of Language Model Alignment (EXO) (2402.00856)", "exo",
      {"beta": 0.1, "exo_eps": 1e-3}, "reverse KL between the model's and the labels' pair distributions")
_pref("asft", "ASFT: Aligned Supervised Fine-Tuning through Absolute Likelihood (2409.10571)", "asft", {"asft_lambda": 0.1},
      "NLL + pointwise absolute-likelihood terms, no reference")
_pref("mappo", "MaPPO: Maximum a Posteriori Preference Optimization with Prior Knowledge (2507.21183)", "mappo", {"beta": 0.1},
      "-log s(beta uw - (s_w - s_l) beta ul)")
_pref("sppo", "Self-Play Preference Optimization for Language Model Alignment (2405.00675)", "sppo", {"beta": 0.1},
      "squared regression of log(pi/pi_t) to +-1/(2 beta), iterative", online_pairs=True, ref_refresh=True)
_pref("dno", "Direct Nash Optimization: Teaching Language Models to Self-Improve with General Preferences (2404.03715)", "dno", {"beta": 0.1, "dno_margin": 0.0},
      "DPO against the previous iterate on on-policy (best, worst) pairs", online_pairs=True, ref_refresh=True)
_pref("iterative_rpo", "Iterative Reasoning Preference Optimization (2404.19733)", "rpo",
      {"beta": 0.1, "rpo_alpha": 1.0}, "DPO + NLL(yw)/|yw| on regenerated correct/incorrect pairs", online_pairs=True,
      ref_refresh=True)
_pref("wpo", "WPO: Enhancing RLHF with Weighted Preference Optimization (2406.11827)", "wpo", {"beta": 0.1},
      "DPO weighted by the pair's current-policy probability")
_pref("tgdpo", "TGDPO: Harnessing Token-Level Reward Guidance for Enhancing DPO (2506.14574)", "tgdpo",
      {"beta": 0.1, "tgdpo_alpha": 1.0}, "per-token DPO weights from a guide policy's token rewards")
_pref("modpo", "Beyond One-Preference-Fits-All Alignment: Multi-Objective Direct Preference Optimization (2310.03708)", "modpo",
      {"beta": 0.1, "modpo_weight": 0.5}, "DPO with the other objective's score margin")
_pref("online_dpo", "Direct Language Model Alignment from Online AI Feedback (2402.04792)", "dpo",
      {"beta": 0.1}, "DPO on pairs sampled from the current policy each step, fixed reference", online_pairs=True)
_pref("slic_hinge", "SLiC-HF: Sequence Likelihood Calibration with Human Feedback (2305.10425)", "hinge", {"beta": 0.1}, "max(0, 1 - beta h)")


__all__ = ["Preset", "PRESETS", "get_preset", "resolve_knobs", "register_preset", "available_presets", "describe_defaults",
           "KNOB_CONSTRAINTS"]
