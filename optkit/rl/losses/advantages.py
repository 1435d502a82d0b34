"""Advantage estimators: ``fn(rewards, r, knobs) -> (advantages, extras)``.

``rewards`` is the (B,) scalar reward after shaping (and after a sequence-level KL-in-reward penalty,
see :func:`token_rewards`), ``r`` the :class:`~optkit.rl.batch.Rollouts`, ``knobs`` the resolved knobs.
An estimator returns a (B,) outcome advantage (broadcast to every token) or a (B, T) token advantage,
and a dict of extras (``returns`` for the critic, float metrics under other keys).

Groups are contiguous rows of ``r.group_size`` responses (the interface's layout). Every group method
raises :class:`~optkit.core.errors.InvalidParameterError` for a group size < 2.
"""

from __future__ import annotations

import math

import torch

from optkit.core.errors import InvalidParameterError

from ._util import check_group_size, group_mean_std, grouped, masked_whiten, seq_mean

ADVANTAGES: dict = {}


def register_advantage(name: str):
    """Decorator adding an estimator to :data:`ADVANTAGES` under ``name``."""

    def deco(fn):
        ADVANTAGES[name] = fn
        return fn

    return deco


# ----------------------------------------------------------------------------- outcome, group based
def group_normalized(rewards, group_size, scale="group", eps=1e-6, ddof=1):
    """GRPO: ``(r - mean_q) / (std_q + eps)``; ``scale`` "batch" divides by the batch std (Lite-PPO,
    TRL ``scale_rewards="batch"``), "none" only centres (Dr. GRPO)."""
    mean, std = group_mean_std(rewards, group_size, ddof, "GRPO advantage")
    a = rewards - mean
    if scale == "group":
        a = a / (std + eps)
    elif scale == "batch":
        a = a / (rewards.std(correction=ddof) + eps)
    elif scale != "none":
        raise InvalidParameterError(f"The 'scale_rewards' knob must be one of 'group', 'batch', 'none'. Got {scale!r} instead.")
    return a


@register_advantage("grpo")
def _grpo(rewards, r, knobs):
    return group_normalized(rewards, r.group_size, knobs.get("scale_rewards", "group"), knobs.get("adv_eps", 1e-6),
                            knobs.get("std_ddof", 1)), {}


def leave_one_out(rewards, group_size):
    """RLOO: ``r_i - mean_{j != i} r_j = G/(G-1) (r_i - mean_q)``."""
    mean, _ = group_mean_std(rewards, group_size, 0, "RLOO advantage")
    return (rewards - mean) * group_size / (group_size - 1)


@register_advantage("rloo")
def _rloo(rewards, r, knobs):
    return leave_one_out(rewards, r.group_size), {}


def virtual_max(rewards, group_size, r_max=1.0, eps=1e-6, ddof=1):
    """NGRPO advantage calibration: group statistics include one virtual sample with reward ``r_max``."""
    g = grouped(rewards, group_size, "NGRPO advantage")
    ext = torch.cat([g, torch.full_like(g[:, :1], r_max)], dim=1)
    mean = ext.mean(dim=1, keepdim=True)
    std = ext.std(dim=1, correction=ddof, keepdim=True)
    return ((g - mean) / (std + eps)).reshape(-1)


@register_advantage("ngrpo")
def _ngrpo(rewards, r, knobs):
    return virtual_max(rewards, r.group_size, knobs.get("ngrpo_r_max", 1.0), knobs.get("adv_eps", 1e-6),
                       knobs.get("std_ddof", 1)), {}


def beta_normalized(rewards, group_size, r_min=0.0, r_max=1.0, max_weight=1e6, alpha=None, beta=None):
    """BNPO: ``(R - p) / f_Beta(p; a, b)`` with ``p`` the group success rate and (a, b) from a method-of-
    moments fit of the batch's rates: ``a = max(1 + A/3, 1)``, ``b = max(1 + B/3, 1)``, where
    ``A = (m(1-m)/v - 1) m`` and ``B = (m(1-m)/v - 1)(1-m)``. ``1/f`` is clamped to ``[0, max_weight]``."""
    R = (rewards - r_min) / (r_max - r_min)
    g = grouped(R, group_size, "BNPO advantage")
    p = g.mean(dim=1)
    m = p.mean()
    v = p.var(correction=1) if p.numel() > 1 else torch.zeros((), dtype=p.dtype)  # authors' code: torch.var (ddof=1)
    if alpha is not None and beta is not None:
        a = torch.tensor(float(alpha), dtype=R.dtype)
        b = torch.tensor(float(beta), dtype=R.dtype)
    elif float(v) > 0 and 0 < float(m) < 1:
        k = m * (1 - m) / v - 1
        a = torch.clamp(1 + k * m / 3, min=1.0)
        b = torch.clamp(1 + k * (1 - m) / 3, min=1.0)
    else:
        a = b = torch.ones((), dtype=R.dtype)
    # Beta pdf at p in log space (float64); at p in {0, 1} with a or b > 1 the pdf is 0 and the weight is
    # clamped to max_weight, but then R == p for every member of the group, so the advantage is 0.
    p64, a64, b64 = p.double(), a.double(), b.double()
    log_beta = torch.lgamma(a64) + torch.lgamma(b64) - torch.lgamma(a64 + b64)
    log_f = torch.xlogy(a64 - 1, p64) + torch.xlogy(b64 - 1, 1 - p64) - log_beta
    w = torch.exp(-log_f).clamp(0.0, max_weight).to(R.dtype)
    adv = (g - p[:, None]) * w[:, None]
    return adv.reshape(-1), float(a), float(b)


@register_advantage("bnpo")
def _bnpo(rewards, r, knobs):
    adv, a, b = beta_normalized(rewards, r.group_size, knobs.get("reward_min", 0.0), knobs.get("reward_max", 1.0))
    return adv, {"bnpo_alpha": a, "bnpo_beta": b}


def gpg_advantage(rewards, group_size, std_norm=False, eps=1e-6, ddof=1):
    """GPG: ``alpha (r - mean_q) / F``, ``alpha = B / (B - M)`` with M the rows of zero-variance groups
    (the paper's and authors' code's correction, not verl's fraction of non-zero rewards)."""
    mean, std = group_mean_std(rewards, group_size, ddof, "GPG advantage")
    a = rewards - mean
    if std_norm:
        a = a / (std + eps)
    degenerate = (std <= 0).sum()
    n = rewards.numel()
    alpha = n / max(n - int(degenerate), 1)
    return a * alpha, alpha


@register_advantage("gpg")
def _gpg(rewards, r, knobs):
    a, alpha = gpg_advantage(rewards, r.group_size, knobs.get("gpg_std_norm", False), knobs.get("adv_eps", 1e-6),
                             knobs.get("std_ddof", 1))
    return a, {"gpg_alpha": alpha}


def answer_clusters(old_logp, mask, group_size):
    """Cluster ids (B,) of identical responses inside each group.

    Rollouts carry no token ids; two responses of one prompt are the same token sequence exactly when
    their per-token behaviour log-probs and lengths agree (sampled from one policy), which is what this
    compares (to 1e-6). For verifiable tasks whose response *is* the final answer (addition, sort, copy)
    these are the semantic clusters of SEED-GRPO."""
    B, _ = old_logp.shape
    ids = torch.empty(B, dtype=torch.long)
    lp = (old_logp * mask).detach()
    for start in range(0, B, group_size):
        reps: list[int] = []
        for i in range(start, start + group_size):
            for k, j in enumerate(reps):
                if torch.equal(mask[i], mask[j]) and torch.allclose(lp[i], lp[j], atol=1e-6, rtol=0):
                    ids[i] = k
                    break
            else:
                ids[i] = len(reps)
                reps.append(i)
    return ids


def semantic_entropy(seq_logp, clusters, group_size):
    """Per-group semantic entropy ``-(1/K) sum_k log p(C_k)``, ``p(C_k)`` the normalized probability mass
    of cluster k (sum of ``exp(seq_logp)`` of its members, renormalized over the group's clusters)."""
    lp = grouped(seq_logp.detach(), group_size, "SEED-GRPO")
    cl = grouped(clusters, group_size, "SEED-GRPO")
    out = []
    for g in range(lp.shape[0]):
        ks = torch.unique(cl[g])
        mass = torch.stack([torch.logsumexp(lp[g][cl[g] == k], dim=0) for k in ks])
        logp_c = mass - torch.logsumexp(mass, dim=0)
        out.append(-logp_c.mean())
    return torch.stack(out)


@register_advantage("seed_grpo")
def _seed(rewards, r, knobs):
    G = r.group_size
    a = group_normalized(rewards, G, knobs.get("scale_rewards", "group"), knobs.get("adv_eps", 1e-6), knobs.get("std_ddof", 1))
    se = semantic_entropy((r.old_logp * r.mask).sum(1), answer_clusters(r.old_logp, r.mask, G), G)
    u = (knobs.get("seed_alpha", 1.0) * se / math.log(G)).clamp(0.0, 1.0)
    kind = knobs.get("seed_scale", "linear")
    if kind == "linear":
        s = 1 - u
    elif kind == "exp":
        s = torch.exp(-u)
    elif kind == "focal":
        s = (1 - u) ** 2
    else:
        raise InvalidParameterError(f"The 'seed_scale' knob must be one of 'linear', 'exp', 'focal'. Got {kind!r} instead.")
    return a * s.repeat_interleave(G), {"semantic_entropy": float(se.mean())}


@register_advantage("given")
def _given(rewards, r, knobs):
    """The shaped rewards already are the advantages (stateful or whole-batch estimators run in
    ``Preset.shape_rewards``: CPPO, single-stream SPO, DCPO smooth standardization, A*-PO)."""
    return rewards, {}


# ----------------------------------------------------------------------------- batch / token level
@register_advantage("reinforce")
def _reinforce(rewards, r, knobs):
    baseline = knobs.get("baseline", "none")
    if baseline == "none":
        return rewards, {}
    if baseline == "batch_mean":
        return rewards - rewards.mean(), {}
    raise InvalidParameterError(f"The 'baseline' knob must be 'none' or 'batch_mean'. Got {baseline!r} instead.")


def token_rewards(rewards, mask, kl_penalty=None):
    """(B, T) token rewards: the outcome reward on the last response token, minus ``kl_penalty`` (B, T)
    on every token when the KL is placed in the reward."""
    B, T = mask.shape
    last = (mask.sum(1).long() - 1).clamp_min(0)
    tr = torch.zeros_like(mask)
    tr[torch.arange(B), last] = rewards.to(mask.dtype)
    if kl_penalty is not None:
        tr = tr - kl_penalty
    return tr * mask


def discounted_returns(tok_rewards, mask, gamma=1.0):
    """``G_t = sum_{s >= t} gamma^{s-t} r_s`` over each row's valid tokens."""
    out = torch.zeros_like(tok_rewards)
    run = torch.zeros(tok_rewards.shape[0], dtype=tok_rewards.dtype)
    for t in range(tok_rewards.shape[1] - 1, -1, -1):
        run = tok_rewards[:, t] + gamma * run * mask[:, t]
        out[:, t] = run
    return out * mask


@register_advantage("reinforce_pp")
def _reinforce_pp(rewards, r, knobs):
    """REINFORCE++: discounted token returns (KL penalty in the reward), whitened over the batch."""
    tr = token_rewards(rewards, r.mask, knobs.get("_kl_tokens"))
    ret = discounted_returns(tr, r.mask, knobs.get("gamma", 1.0))
    return masked_whiten(ret, r.mask), {}


@register_advantage("reinforce_pp_baseline")
def _reinforce_pp_baseline(rewards, r, knobs):
    """REINFORCE++-baseline: ``r - mean_q`` then whitened over all response tokens of the batch."""
    mean, _ = group_mean_std(rewards, r.group_size, 0, "REINFORCE++-baseline advantage")
    a = (rewards - mean)[:, None] * r.mask
    return masked_whiten(a, r.mask), {}


def gae(tok_rewards, values, mask, gamma=1.0, lam=0.95):
    """Generalized advantage estimation; ``values`` (B, T) at each response position, V = 0 after the
    last token. Returns (advantages, returns = advantages + values)."""
    B, T = mask.shape
    adv = torch.zeros_like(tok_rewards)
    last = torch.zeros(B, dtype=tok_rewards.dtype)
    next_v = torch.zeros(B, dtype=tok_rewards.dtype)
    for t in range(T - 1, -1, -1):
        m = mask[:, t]
        delta = tok_rewards[:, t] + gamma * next_v - values[:, t]
        last = (delta + gamma * lam * last) * m
        adv[:, t] = last
        next_v = values[:, t] * m
    return adv, (adv + values) * mask


@register_advantage("gae")
def _gae(rewards, r, knobs):
    v = r.old_values if r.old_values is not None else r.values
    if v is None:
        raise InvalidParameterError("The 'gae' advantage needs critic values: Rollouts.old_values (or values) is None.")
    v = v.detach()
    tr = token_rewards(rewards, r.mask, knobs.get("_kl_tokens"))
    adv, ret = gae(tr, v, r.mask, knobs.get("gamma", 1.0), knobs.get("gae_lambda", 0.95))
    if knobs.get("whiten_advantages", True):
        adv = masked_whiten(adv, r.mask)
    return adv, {"returns": ret}


@register_advantage("batch_norm")
def _batch_norm(rewards, r, knobs):
    """Global normalization of the (shaped) rewards over the batch: ``(x - mean_B x) / (std_B x + 1e-8)``
    (single-stream SPO's advantage after the tracker baseline)."""
    if rewards.numel() < 2:
        return rewards - rewards.mean(), {}
    return (rewards - rewards.mean()) / (rewards.std() + 1e-8), {}


def delta_l_weights(lengths, alpha=1.0):
    """ΔL normalization weights ``L_i^-alpha / mean_j L_j^-alpha`` (mean 1 over the batch)."""
    w = lengths.clamp_min(1.0) ** (-alpha)
    return w / w.mean()


def check_groups(r, owner):
    """Raise for group methods with group size < 2 or ragged groups."""
    check_group_size(r.group_size, r.mask.shape[0], owner)


__all__ = ["ADVANTAGES", "register_advantage", "group_normalized", "leave_one_out", "virtual_max", "beta_normalized",
           "gpg_advantage", "answer_clusters", "semantic_entropy", "token_rewards", "discounted_returns", "gae",
           "delta_l_weights", "seq_mean"]
