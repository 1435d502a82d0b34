"""Reward shaping: ``fn(rewards, r, knobs) -> rewards`` applied in ``Preset.shape_rewards`` in the order of
the ``shaping`` knob (a tuple of names). (B, K) multi-objective rewards must go through
``multi_objective`` first. Some presets compute their whole advantage here (estimators that need the full
batch or per-prompt state) and then train with ``advantage="given"``.
"""

from __future__ import annotations

import math

import torch

from optkit.core.errors import InvalidParameterError

from ._util import check_group_size, grouped
from .advantages import group_normalized

SHAPERS: dict = {}


def register_shaper(name: str):
    """Decorator adding a reward shaper to :data:`SHAPERS` under ``name``."""

    def deco(fn):
        SHAPERS[name] = fn
        return fn

    return deco


def _lengths(r):
    return (r.lengths.to(r.mask.dtype) if r.lengths is not None else r.mask.sum(1))


def _correct(r, rewards):
    if r.correct is not None:
        return r.correct.bool()
    return rewards > 0


@register_shaper("overlong")
def overlong_penalty(rewards, r, knobs):
    """DAPO soft overlong punishment added to the reward: 0 up to ``L_max - L_cache``, then a linear ramp
    ``((L_max - L_cache) - L) / L_cache * factor`` down to ``-factor`` at ``L_max``, ``-factor`` beyond.
    ``L_max`` = ``overlong_max_length`` or the task's ``max_length``; ``L_cache`` = ``overlong_buffer`` or
    ``max(1, round(0.2 L_max))`` (the paper's 4096 / 20480)."""
    L_max = knobs.get("overlong_max_length") or r.max_length
    if L_max is None:
        raise InvalidParameterError("Overlong shaping needs Rollouts.max_length (or the 'overlong_max_length' knob); both are None.")
    cache = knobs.get("overlong_buffer") or max(1, round(0.2 * L_max))
    factor = knobs.get("overlong_penalty", 1.0)
    L = _lengths(r)
    expected = L_max - cache
    pen = torch.clamp((expected - L) / cache * factor, min=-factor, max=0.0)
    return rewards + pen.to(rewards.dtype)


@register_shaper("grpo_lambda")
def grpo_lambda(rewards, r, knobs):
    """GRPO-lambda: rank the batch's groups by correctness ratio; the top ``lambda_frac`` of groups get a
    length-penalized reward for correct answers, ``1 - alpha * sigmoid((L - mean_c L) / std_c L)`` (mean/std
    over the group's correct answers), the others keep the 0/1 reward. Incorrect answers get 0."""
    G = r.group_size
    corr = _correct(r, rewards).to(rewards.dtype)
    base = corr.clone()
    L = _lengths(r).to(rewards.dtype)
    cg, Lg, bg = grouped(corr, G, "GRPO-lambda"), grouped(L, G, "GRPO-lambda"), grouped(base, G, "GRPO-lambda").clone()
    ratio = cg.mean(1)
    n_pen = int(math.ceil(knobs.get("lambda_frac", 0.2) * ratio.numel()))
    order = torch.argsort(ratio, descending=True, stable=True)[:n_pen]
    alpha = knobs.get("length_penalty_alpha", 0.2)
    for g in order.tolist():
        c = cg[g] > 0
        if c.sum() == 0:
            continue
        mu = Lg[g][c].mean()
        sd = Lg[g][c].std(correction=0) if c.sum() > 1 else torch.zeros((), dtype=L.dtype)
        z = (Lg[g] - mu) / (sd + 1e-6) if float(sd) > 0 else torch.zeros_like(Lg[g])
        bg[g] = torch.where(c, 1 - alpha * torch.sigmoid(z), torch.zeros_like(z))
    return bg.reshape(-1)


@register_shaper("unlikeliness")
def unlikeliness(rewards, r, knobs):
    """Unlikeliness reward: ``r * (1 - beta_rank * rank / G)`` with ``rank`` the ascending rank (0 = least
    likely) of the response's mean token log-prob under the behaviour policy within its group."""
    G = r.group_size
    mlp = (r.old_logp.detach() * r.mask).sum(1) / r.mask.sum(1).clamp_min(1.0)
    ranks = torch.argsort(torch.argsort(grouped(mlp, G, "unlikeliness"), dim=1, stable=True), dim=1, stable=True)
    return rewards * (1 - knobs.get("unlikeliness_beta", 0.25) * ranks.reshape(-1).to(rewards.dtype) / G)


@register_shaper("early_exit")
def early_exit(rewards, r, knobs):
    """S-GRPO-style decaying rewards: within a group, the k-th shortest correct response (k = 1, 2, ...) gets
    ``2^-(k-1)``; incorrect responses get 0 (earlier exits are rewarded more)."""
    G = r.group_size
    corr = grouped(_correct(r, rewards), G, "early-exit")
    L = grouped(_lengths(r), G, "early-exit")
    out = torch.zeros_like(L, dtype=rewards.dtype)
    for g in range(L.shape[0]):
        idx = torch.nonzero(corr[g]).reshape(-1)
        if idx.numel():
            order = idx[torch.argsort(L[g][idx], stable=True)]
            out[g, order] = 0.5 ** torch.arange(order.numel(), dtype=rewards.dtype)
    return out.reshape(-1)


@register_shaper("multi_objective")
def multi_objective(rewards, r, knobs):
    """(B, K) -> (B,): ``sum_then_normalize`` takes the weighted sum of the heads (multi-objective GRPO);
    ``normalize_then_sum`` group-normalizes each head first (GDPO)."""
    if rewards.dim() == 1:
        return rewards
    K = rewards.shape[1]
    w = knobs.get("reward_weights")
    w = torch.full((K,), 1.0 / K, dtype=rewards.dtype) if w is None else torch.as_tensor(w, dtype=rewards.dtype)
    if w.numel() != K:
        raise InvalidParameterError(f"The 'reward_weights' knob must have {K} entries (one per reward head). Got {w.numel()} instead.")
    mode = knobs.get("multi_objective_mode", "sum_then_normalize")
    if mode == "normalize_then_sum":
        heads = torch.stack([group_normalized(rewards[:, k], r.group_size) for k in range(K)], 1)
        return heads @ w
    if mode != "sum_then_normalize":
        raise InvalidParameterError(f"The 'multi_objective_mode' knob must be 'sum_then_normalize' or 'normalize_then_sum'. Got {mode!r}.")
    return rewards @ w


@register_shaper("cppo_advantage")
def cppo_advantage(rewards, r, knobs):
    """CPPO step 1: GRPO advantages on the full groups (before pruning; trained with advantage="given")."""
    return group_normalized(rewards, r.group_size, "group", knobs.get("adv_eps", 1e-6), knobs.get("std_ddof", 1))


@register_shaper("aapo_advantage")
def aapo_advantage(rewards, r, knobs):
    """AAPO: ``(r - mean_q)/(std_q + 1e-4) + clip(r - r_ref, -0.2, 0.28)``. ``r_ref`` per row from
    ``knobs['_state']['ref_rewards']`` (a reference-policy completion's reward, as in the authors' code)
    or, when absent, the self-normalized importance estimate of the reference policy's mean reward on the
    prompt, ``sum_j w_j r_j / sum_j w_j`` with ``w_j = pi_ref(o_j)/pi_old(o_j)`` (needs ref_logp)."""
    G = r.group_size
    a = group_normalized(rewards, G, "group", 1e-4, knobs.get("std_ddof", 1))
    st = knobs.get("_state") or {}
    ref = st.get("ref_rewards")
    if ref is None:
        if r.ref_logp is None:
            raise InvalidParameterError("AAPO needs reference rewards: knobs['_state']['ref_rewards'] or Rollouts.ref_logp.")
        lw = ((r.ref_logp - r.old_logp) * r.mask).sum(1).detach()
        w = torch.softmax(grouped(lw, G, "AAPO"), dim=1)
        ref = (w * grouped(rewards, G, "AAPO")).sum(1).repeat_interleave(G)
    lo, hi = knobs.get("aapo_clip", (-0.2, 0.28))
    return a + torch.clamp(rewards - torch.as_tensor(ref, dtype=rewards.dtype), lo, hi)


@register_shaper("astar_advantage")
def astar_advantage(rewards, r, knobs):
    """A*-PO stage 1 on the fly: ``V*(x) = beta1 log mean_n exp(r_n / beta1)`` from ``knobs['_state']
    ['vstar']`` (per row, precomputed from N reference samples) or, when absent, from the group itself;
    returns ``r - V*`` (stage 2 regresses ``beta2 log(pi/pi_ref)`` onto it)."""
    st = knobs.get("_state") or {}
    v = st.get("vstar")
    if v is None:
        if r.group_size < 2:
            raise InvalidParameterError("A*-PO needs V*(x): knobs['_state']['vstar'] (from special.astar_value on N "
                                        "reference samples per prompt) or a group size >= 2 to estimate it from the group.")
        b1 = knobs.get("astar_beta1", 0.5)
        g = grouped(rewards, r.group_size, "A*-PO")
        v = (b1 * (torch.logsumexp(g / b1, dim=1) - math.log(g.shape[1]))).repeat_interleave(g.shape[1])
    return rewards - torch.as_tensor(v, dtype=rewards.dtype)


@register_shaper("spo_tracker")
def spo_tracker(rewards, r, knobs):
    """Single-stream SPO: per-prompt Beta tracker baseline ``p = a/(a+b)``; returns ``r - p`` for each row
    (globally normalized in the loss) and updates ``a <- rho a + r``, ``b <- rho b + (1 - r)``. Prompt ids
    come from ``knobs['_state']['prompt_ids']`` (one per group); the tracker lives in
    ``knobs['_state']['spo']`` (dict id -> [a, b]), new prompts start at ``a = b = spo_init_n / 2``;
    ``rho = spo_rho`` (fixed forgetting; the paper's KL-adaptive rho needs the previous visit's log-probs)."""
    st = knobs.get("_state")
    if st is None or "prompt_ids" not in st:
        raise InvalidParameterError("Single-stream SPO needs knobs['_state']['prompt_ids'] (the dataset id of each group's prompt).")
    G = max(r.group_size, 1)
    ids = [int(i) for i in torch.as_tensor(st["prompt_ids"]).reshape(-1).tolist()]
    if len(ids) * G != rewards.shape[0]:
        raise InvalidParameterError(f"knobs['_state']['prompt_ids'] must have one id per group ({rewards.shape[0] // G}). Got {len(ids)}.")
    tracker = st.setdefault("spo", {})
    rho, n0 = knobs.get("spo_rho", 0.9), knobs.get("spo_init_n", 2.0)
    out = torch.empty_like(rewards)
    for gi, pid in enumerate(ids):
        a, b = tracker.get(pid, (n0 / 2, n0 / 2))
        rr = rewards[gi * G:(gi + 1) * G]
        out[gi * G:(gi + 1) * G] = rr - a / (a + b)
        for x in rr.tolist():
            a, b = rho * a + x, rho * b + (1 - x)
        tracker[pid] = (a, b)
    return out


@register_shaper("dcpo_smooth")
def dcpo_smooth(rewards, r, knobs):
    """DCPO smooth advantage standardization: per-prompt running mean/std over all past rollouts (in
    ``knobs['_state']['dcpo']``, keyed by ``['prompt_ids']``, one per group); with ``n`` visits,
    ``A1 = z_cum/n + (1 - 1/n) z_cur`` and ``A2 = z_cur/n + (1 - 1/n) z_cum``; the smaller |.| is used.
    A z-score with zero std counts as 0. Without prompt ids it falls back to the current-group z-score."""
    G = r.group_size
    check_group_size(G, rewards.shape[0], "DCPO")
    st = knobs.get("_state")
    gr = grouped(rewards, G, "DCPO")
    mu, sd = gr.mean(1, keepdim=True), gr.std(1, correction=1, keepdim=True)
    z_cur = torch.where(sd > 0, (gr - mu) / (sd + 1e-6), torch.zeros_like(gr))
    if st is None or "prompt_ids" not in st:
        return z_cur.reshape(-1)
    ids = [int(i) for i in torch.as_tensor(st["prompt_ids"]).reshape(-1).tolist()]
    hist = st.setdefault("dcpo", {})
    out = torch.empty_like(gr)
    for gi, pid in enumerate(ids):
        n, s1, s2 = hist.get(pid, (0, 0.0, 0.0))
        n, s1, s2 = n + 1, s1 + float(gr[gi].sum()), s2 + float((gr[gi] ** 2).sum())
        hist[pid] = (n, s1, s2)
        cnt = n * G
        m = s1 / cnt
        v = max(s2 / cnt - m * m, 0.0) * cnt / max(cnt - 1, 1)
        z_cum = (gr[gi] - m) / (math.sqrt(v) + 1e-6) if v > 0 else torch.zeros_like(gr[gi])
        a1 = z_cum / n + (1 - 1 / n) * z_cur[gi]
        a2 = z_cur[gi] / n + (1 - 1 / n) * z_cum
        out[gi] = torch.where(a1.abs() <= a2.abs(), a1, a2)
    return out.reshape(-1)
