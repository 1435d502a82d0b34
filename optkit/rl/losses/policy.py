"""The composed policy loss: advantage x surrogate x token weighting x KL x aggregation (+ critic).

:func:`policy_loss` is what every policy preset without a custom loss calls; the part names are knobs
(``advantage``, ``surrogate``, ``aggregation``, ``kl_estimator``/``kl_placement``, ``token_weighting``,
``sample_filter``), so any part can be swapped per run.
"""

from __future__ import annotations

import torch

from optkit.core.errors import InvalidParameterError

from ..batch import LossOutput, Rollouts
from ._util import f, masked_mean, part, seq_mean, to_tokens
from .advantages import ADVANTAGES
from .aggregation import AGGREGATIONS
from .kl import kl_estimate, kl_reward_penalty
from .surrogates import SURROGATES

TOKEN_LEVEL_ADVANTAGES = {"gae", "reinforce_pp"}
TOKEN_WEIGHTINGS: dict = {}
SAMPLE_FILTERS: dict = {}


def register_token_weighting(name: str):
    """Decorator: ``fn(r, adv_tok, knobs) -> (B, T) weights`` multiplying the per-token loss."""

    def deco(fn):
        TOKEN_WEIGHTINGS[name] = fn
        return fn

    return deco


def register_sample_filter(name: str):
    """Decorator: ``fn(r, knobs) -> (B,) float mask`` applied inside the loss (per minibatch, with the
    current ratio), e.g. sample dropout."""

    def deco(fn):
        SAMPLE_FILTERS[name] = fn
        return fn

    return deco


def check_rollouts(r: Rollouts) -> None:
    """Shape and finiteness checks on a Rollouts batch (clear OptkitErrors)."""
    B, T = r.mask.shape
    for name in ("logp", "old_logp"):
        t = getattr(r, name)
        if tuple(t.shape) != (B, T):
            raise InvalidParameterError(f"Rollouts.{name} must have shape {(B, T)} like mask. Got {tuple(t.shape)} instead.")
    if r.rewards.shape[0] != B:
        raise InvalidParameterError(f"Rollouts.rewards must have {B} rows. Got shape {tuple(r.rewards.shape)} instead.")
    if not bool(torch.isfinite(r.rewards).all()):
        raise InvalidParameterError("Rollouts.rewards must be finite; the task returned a non-finite reward.")


def policy_loss(r: Rollouts, knobs: dict) -> LossOutput:
    """Compose the loss named by the knobs on a batch of rollouts (see module doc)."""
    check_rollouts(r)
    rewards = r.rewards
    if rewards.dim() != 1:
        raise InvalidParameterError(
            f"Rollouts.rewards must be (B,) at the loss; (B, K) rewards go through the 'multi_objective' shaping. "
            f"Got shape {tuple(rewards.shape)} instead.")
    rewards = rewards.to(r.mask.dtype)
    kn = dict(knobs)
    beta = float(kn.get("kl_coef", 0.0))
    placement = kn.get("kl_placement", "loss")
    est = kn.get("kl_estimator", "k3")
    use_kl = beta > 0 and placement in ("loss", "reward")
    if use_kl and r.ref_logp is None:
        raise InvalidParameterError(f"kl_coef={beta} needs Rollouts.ref_logp (the reference policy's log-probs); it is None.")
    metrics: dict = {}
    adv_name = kn.get("advantage", "grpo")
    if use_kl and placement == "reward":
        pen = kl_reward_penalty(r.old_logp, r.ref_logp, r.mask, beta, est)
        if adv_name in TOKEN_LEVEL_ADVANTAGES:
            kn["_kl_tokens"] = pen
        else:
            rewards = rewards - pen.sum(1)
        metrics["kl_reward_penalty"] = f(pen.sum(1).mean())
    adv, extras = part(ADVANTAGES, adv_name, "advantage")(rewards, r, kn)
    adv_tok = to_tokens(adv.detach(), r.mask)
    loss_tok, m = part(SURROGATES, kn.get("surrogate", "clip"), "surrogate")(r, adv_tok, kn)
    metrics.update(m)
    tw = kn.get("token_weighting", "none")
    if tw != "none":
        w = part(TOKEN_WEIGHTINGS, tw, "token_weighting")(r, adv_tok, kn).detach()
        loss_tok = loss_tok * w
        metrics["token_weight_max"] = f((w * r.mask).max())
    sf = kn.get("sample_filter", "none")
    agg_mask = r.mask
    if sf != "none":  # dropped sequences leave the minibatch: out of the loss and of the normalizers
        keep = part(SAMPLE_FILTERS, sf, "sample_filter")(r, kn).to(r.mask.dtype)
        loss_tok = loss_tok * keep[:, None]
        agg_mask = r.mask * keep[:, None]
        metrics["sample_filter_kept"] = f(keep.mean())
    if use_kl and placement == "loss":
        kl_tok = kl_estimate(r.logp, r.ref_logp, est, r.old_logp)
        loss_tok = loss_tok + beta * kl_tok * r.mask
        metrics["kl_in_loss_" + est] = f(masked_mean(kl_tok.detach(), r.mask))
    ent_coef = float(kn.get("entropy_coef", 0.0))
    if ent_coef != 0.0:
        if r.entropy is None:
            raise InvalidParameterError(f"entropy_coef={ent_coef} needs Rollouts.entropy; it is None.")
        loss_tok = loss_tok - ent_coef * r.entropy * r.mask
    loss = part(AGGREGATIONS, kn.get("aggregation", "token_mean"), "aggregation")(loss_tok, agg_mask, kn, r)
    vf = float(kn.get("vf_coef", 0.0))
    if "returns" in extras and vf > 0 and r.values is not None:
        vl = value_loss(r.values, r.old_values, extras["returns"].detach(), r.mask, kn.get("value_clip", 0.2))
        loss = loss + vf * vl
        metrics["value_loss"] = f(vl)
    if r.ref_logp is not None:
        with torch.no_grad():
            metrics["kl_k1_ref"] = f(masked_mean(kl_estimate(r.logp.detach(), r.ref_logp, "k1"), r.mask))
            metrics["kl_k3_ref"] = f(masked_mean(kl_estimate(r.logp.detach(), r.ref_logp, "k3"), r.mask))
    if r.entropy is not None:
        metrics["entropy_minibatch"] = f(masked_mean(r.entropy.detach(), r.mask))
    seq_adv = seq_mean(adv_tok, r.mask)
    metrics.update({k: v for k, v in extras.items() if k != "returns"})
    metrics["adv_mean"] = f(seq_adv.mean())
    metrics["adv_std"] = f(seq_adv.std()) if seq_adv.numel() > 1 else 0.0
    metrics["adv_zero_frac"] = f((seq_adv.abs() < 1e-8).float().mean())
    metrics["loss"] = f(loss)
    return LossOutput(loss=loss, metrics=metrics)


def value_loss(values, old_values, returns, mask, clip=0.2):
    """PPO critic loss ``1/2 max((V - R)^2, (clip(V, V_old +- clip) - R)^2)``, token mean."""
    l1 = (values - returns) ** 2
    if old_values is not None and clip is not None:
        vc = old_values.detach() + (values - old_values.detach()).clamp(-clip, clip)
        l1 = torch.maximum(l1, (vc - returns) ** 2)
    return 0.5 * masked_mean(l1, mask)
