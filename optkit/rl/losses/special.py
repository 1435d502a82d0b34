"""Losses that are not advantage x surrogate: GVPO, A*-PO (stage 2), RePO (replay), and the token
weightings / sample filters used by EGSW and D-PPO.
"""

from __future__ import annotations

import torch

from optkit.core.errors import InvalidParameterError

from ..batch import LossOutput, Rollouts
from ._util import f, grouped, masked_mean, seq_sum
from .policy import check_rollouts, policy_loss, register_sample_filter, register_token_weighting


def gvpo_loss(r: Rollouts, knobs: dict) -> LossOutput:
    """GVPO: per group ``1/(2(G-1)) sum_i [(R_i - mean R) - (r_i - mean r)]^2`` with
    ``R_i = beta (log pi_theta(o_i) - log pi_old(o_i))`` (sequence log-probs); mean over groups."""
    check_rollouts(r)
    G, b = r.group_size, knobs.get("gvpo_beta", 0.1)
    R = b * seq_sum(r.logp - r.old_logp.detach(), r.mask)
    Rg = grouped(R, G, "GVPO")
    rg = grouped(r.rewards.to(R.dtype), G, "GVPO")
    d = (Rg - Rg.mean(1, keepdim=True)) - (rg - rg.mean(1, keepdim=True))
    loss = ((d**2).sum(1) / (2 * (G - 1))).mean()
    return LossOutput(loss, {"loss": f(loss), "implicit_reward_std": f(Rg.detach().std(1))})


def astar_loss(r: Rollouts, knobs: dict) -> LossOutput:
    """A*-PO stage 2: ``mean_i (beta2 (log pi_theta(y_i) - log pi_ref(y_i)) - (r_i - V*(x_i)))^2``; the shaped
    reward passed in is already ``r - V*`` (shaper ``astar_advantage``)."""
    check_rollouts(r)
    if r.ref_logp is None:
        raise InvalidParameterError("A*-PO needs Rollouts.ref_logp (the reference policy's log-probs); it is None.")
    b2 = knobs.get("astar_beta2", 1e-3)
    u = seq_sum(r.logp - r.ref_logp.detach(), r.mask)
    loss = ((b2 * u - r.rewards.to(u.dtype)) ** 2).mean()
    return LossOutput(loss, {"loss": f(loss), "adv_mean": f(r.rewards), "logratio_ref": f(u.detach())})


def astar_value(ref_rewards: torch.Tensor, beta1: float = 0.5) -> torch.Tensor:
    """A*-PO stage 1: ``V*(x) = beta1 log mean_n exp(r_n / beta1)`` from a (P, N) tensor of rewards of N
    reference-policy samples per prompt."""
    n = ref_rewards.shape[1]
    return beta1 * (torch.logsumexp(ref_rewards / beta1, dim=1) - torch.log(torch.tensor(float(n), dtype=ref_rewards.dtype)))


def repo_loss(r: Rollouts, knobs: dict) -> LossOutput:
    """RePO: ``J_on`` (the GRPO-style loss on the fresh rollouts) + ``J_off`` (the same loss on replayed
    rollouts ``knobs['_state']['replay']``, a Rollouts the trainer builds from the replay buffer with
    CURRENT log-probs and the STORED behaviour log-probs as old_logp; advantages are computed within the
    off-policy set). Without a replay batch it is J_on alone."""
    out = policy_loss(r, knobs)
    st = knobs.get("_state") or {}
    rep = st.get("replay")
    if rep is None:
        out.metrics["replay_rows"] = 0.0
        return out
    off = policy_loss(rep, knobs)
    loss = out.loss + knobs.get("replay_coef", 1.0) * off.loss
    m = dict(out.metrics)
    m.update({"off_" + k: v for k, v in off.metrics.items()})
    m["replay_rows"] = float(rep.mask.shape[0])
    m["loss"] = f(loss)
    return LossOutput(loss, m)


class ReplayBuffer:
    """RePO's per-prompt replay buffer of past responses: ``add(prompt_id, items, rewards)`` stores opaque
    items (the trainer's tokens + behaviour log-probs); ``sample(prompt_id, k, strategy, generator)``
    returns up to k stored items by strategy "full" (uniform, the authors' default "random"), "recency"
    (newest), "reward" (highest reward) or "variance" (the k-subset of maximal reward variance, ties to the
    larger reward sum, as the authors' ``max_variance_k``)."""

    STRATEGIES = ("full", "recency", "reward", "variance")

    def __init__(self, capacity_per_prompt: int = 64):
        self.capacity = int(capacity_per_prompt)
        self.data: dict = {}

    def add(self, prompt_id, items, rewards) -> None:
        buf = self.data.setdefault(prompt_id, [])
        for it, rw in zip(items, rewards):
            buf.append((it, float(rw)))
        del buf[: max(len(buf) - self.capacity, 0)]

    def sample(self, prompt_id, k: int, strategy: str = "full", generator=None) -> list:
        if strategy not in self.STRATEGIES:
            raise InvalidParameterError(f"The replay 'strategy' must be one of {self.STRATEGIES}. Got {strategy!r} instead.")
        buf = self.data.get(prompt_id, [])
        if not buf:
            return []
        k = min(k, len(buf))
        if strategy == "recency":
            return [it for it, _ in buf[-k:]]
        if strategy == "reward":
            return [it for it, _ in sorted(buf, key=lambda x: -x[1])[:k]]
        if strategy == "variance":
            return [buf[j][0] for j in _max_variance_subset([x[1] for x in buf], k)]
        idx = torch.randperm(len(buf), generator=generator)[:k].tolist()
        return [buf[i][0] for i in idx]


def _max_variance_subset(scores: list, k: int) -> list:
    """Indices of the k-subset with the largest population variance (ties: larger sum). Exhaustive when there
    are at most 5000 subsets; otherwise the extremes (alternately the largest and the smallest scores),
    which is optimal for variance among subsets built from the sorted ends."""
    import itertools
    import math as _m

    n = len(scores)
    if _m.comb(n, k) <= 5000:
        best, key = None, None
        for sub in itertools.combinations(range(n), k):
            v = [scores[j] for j in sub]
            mu = sum(v) / k
            cand = (sum((x - mu) ** 2 for x in v) / k, sum(v))
            if key is None or cand > key:
                best, key = list(sub), cand
        return best
    order = sorted(range(n), key=lambda j: scores[j])
    out, lo, hi = [], 0, n - 1
    while len(out) < k:
        out.append(order[hi])
        hi -= 1
        if len(out) < k:
            out.append(order[lo])
            lo += 1
    return out


@register_token_weighting("egsw")
def egsw_weights(r: Rollouts, adv_tok: torch.Tensor, knobs: dict) -> torch.Tensor:
    """EGSW: ``w ∝ exp((A + alpha H)/P)`` normalized over the group, times G (weights average 1; the paper
    normalizes to sum 1, which only rescales the learning rate by 1/G). ``egsw_mode="trajectory"`` uses each
    response's mean advantage and mean exact token entropy (one weight per response); ``"step"`` normalizes
    per position t over the group's responses that have a token at t (Rollouts.entropy needed)."""
    if r.entropy is None:
        raise InvalidParameterError("EGSW needs Rollouts.entropy (the exact per-token entropy); it is None.")
    G = r.group_size
    alpha, P = knobs.get("egsw_alpha", 0.1), knobs.get("egsw_temperature", 1.0)
    mode = knobs.get("egsw_mode", "trajectory")
    if mode == "step":
        z = grouped((adv_tok + alpha * r.entropy.detach()) / P, G, "EGSW")
        m = grouped(r.mask, G, "EGSW")
        z = torch.where(m > 0, z, torch.full_like(z, -float("inf")))
        w = torch.nan_to_num(torch.softmax(z, dim=1), nan=0.0) * m.sum(1, keepdim=True)
        return w.reshape(r.mask.shape) * r.mask
    if mode != "trajectory":
        raise InvalidParameterError(f"The 'egsw_mode' knob must be 'trajectory' or 'step'. Got {mode!r} instead.")
    A = (adv_tok * r.mask).sum(1) / r.mask.sum(1).clamp_min(1.0)
    H = (r.entropy.detach() * r.mask).sum(1) / r.mask.sum(1).clamp_min(1.0)
    z = grouped((A + alpha * H) / P, G, "EGSW")
    w = (G * torch.softmax(z, dim=1)).reshape(-1)
    return w[:, None].expand_as(r.mask)


@register_sample_filter("dppo")
def dppo_filter(r: Rollouts, knobs: dict) -> torch.Tensor:
    """D-PPO dropout (our reading of the variance bound, which grows with ``(rho - 1)^2 A^2``): per minibatch
    drop the ``dropout_rate`` fraction of sequences with the largest ``(rho_seq - 1)^2 A^2``,
    ``rho_seq = exp(mean_t log rho)``."""
    lr = ((r.logp - r.old_logp) * r.mask).sum(1) / r.mask.sum(1).clamp_min(1.0)
    A = r.rewards.to(lr.dtype)
    score = ((torch.exp(lr.detach()) - 1) ** 2) * A**2
    n_drop = int(knobs.get("dropout_rate", 0.1) * score.numel())
    keep = torch.ones_like(score, dtype=torch.bool)
    if n_drop > 0:
        keep[torch.topk(score, n_drop).indices] = False
    return keep


@register_sample_filter("ratio_dropout")
def ratio_dropout(r: Rollouts, knobs: dict) -> torch.Tensor:
    """Sample Dropout (Lin et al.): drop sequences whose ``|rho_seq - 1|`` exceeds ``dropout_threshold``."""
    lr = ((r.logp - r.old_logp) * r.mask).sum(1) / r.mask.sum(1).clamp_min(1.0)
    return (torch.exp(lr.detach()) - 1).abs() <= knobs.get("dropout_threshold", 0.3)


__all__ = ["gvpo_loss", "astar_loss", "astar_value", "repo_loss", "ReplayBuffer", "egsw_weights", "dppo_filter",
           "ratio_dropout", "masked_mean"]
