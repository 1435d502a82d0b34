"""KL estimators and placement.

Per token, with ``d = log pi_theta - log pi_ref`` on the sampled token (Schulman's "Approximating KL"):

- ``k1`` = d (unbiased value, can be negative), ``k2`` = d^2 / 2 (its gradient is the KL gradient),
  ``k3`` = exp(-d) + d - 1 (>= 0, unbiased value; GRPO/TRL), ``abs`` = |d|;
- ``k1_st`` / ``k3_st``: straight-through, forward value of k1/k3 but the gradient of k2
  (``k2 - sg[k2] + sg[k]``, verl's ``k1+``/``k3+``);
- ``k3_is``: k3 times the ratio pi_theta/pi_old (DeepSeek-V3.2's importance-corrected estimator, TRL
  ``use_bias_correction_kl``).

Placement: "loss" adds ``beta * k`` to every token's loss (GRPO); "reward" subtracts
``beta * k(old, ref)`` from each token's reward (PPO-RLHF; :class:`AdaptiveKL` adapts beta).
"""

from __future__ import annotations

import math

import torch

from optkit.core.errors import InvalidParameterError

KL_ESTIMATORS = ("k1", "k2", "k3", "abs", "k1_st", "k3_st", "k3_is")


def kl_estimate(logp, ref_logp, kind="k3", old_logp=None):
    """Per-token KL(pi_theta || pi_ref) estimate of the given ``kind`` (see module doc)."""
    d = (logp - ref_logp.detach()).clamp(-20.0, 20.0)
    if kind == "k1":
        return d
    if kind == "k2":
        return 0.5 * d**2
    if kind == "k3":
        return torch.exp(-d) + d - 1
    if kind == "abs":
        return d.abs()
    if kind in ("k1_st", "k3_st"):
        k2 = 0.5 * d**2
        val = d if kind == "k1_st" else torch.exp(-d) + d - 1
        return k2 - k2.detach() + val.detach()
    if kind == "k3_is":
        if old_logp is None:
            raise InvalidParameterError("The 'k3_is' KL estimator needs old_logp (the behaviour log-probs).")
        ratio = torch.exp((logp - old_logp.detach()).clamp(-20.0, 20.0))
        return ratio * (torch.exp(-d) + d - 1)
    raise InvalidParameterError(f"The 'kl_estimator' knob must be one of {KL_ESTIMATORS}. Got {kind!r} instead.")


def exact_kl(logits_p, logits_q, mask=None):
    """Exact per-position KL(p || q) = sum_v p(v) (log p(v) - log q(v)) from (..., V) logits; masked mean
    when ``mask`` is given, else the (...,) tensor."""
    lp = torch.log_softmax(logits_p, dim=-1)
    lq = torch.log_softmax(logits_q, dim=-1)
    kl = (lp.exp() * (lp - lq)).sum(-1)
    if mask is None:
        return kl
    return (kl * mask).sum() / mask.sum().clamp_min(1.0)


def exact_entropy(logits, mask=None):
    """Exact per-position entropy from (..., V) logits; masked mean when ``mask`` is given."""
    lp = torch.log_softmax(logits, dim=-1)
    h = -(lp.exp() * lp).sum(-1)
    if mask is None:
        return h
    return (h * mask).sum() / mask.sum().clamp_min(1.0)


def kl_reward_penalty(old_logp, ref_logp, mask, beta, kind="k1"):
    """(B, T) per-token penalty ``beta * k(old, ref)`` for KL-in-reward (no gradient)."""
    with torch.no_grad():
        return beta * kl_estimate(old_logp, ref_logp, kind if kind in ("k1", "k2", "k3", "abs") else "k1") * mask


class AdaptiveKL:
    """Ziegler et al.'s controller: ``beta <- beta (1 + clip(KL/target - 1, -0.2, 0.2) n / horizon)``."""

    def __init__(self, init_beta: float, target: float, horizon: int = 10000):
        if not (math.isfinite(init_beta) and init_beta >= 0):
            raise InvalidParameterError(f"The 'init_beta' of AdaptiveKL must be a float >= 0. Got {init_beta!r} instead.")
        if not (target > 0):
            raise InvalidParameterError(f"The 'target' of AdaptiveKL must be a float > 0. Got {target!r} instead.")
        self.beta, self.target, self.horizon = float(init_beta), float(target), int(horizon)

    def update(self, kl: float, n_steps: int) -> float:
        err = min(max(kl / self.target - 1.0, -0.2), 0.2)
        self.beta *= 1.0 + err * n_steps / self.horizon
        return self.beta
