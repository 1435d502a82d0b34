"""Per-token surrogates: ``fn(r, adv, knobs) -> (loss_tok, metrics)``.

``adv`` is the (B, T) token advantage (masked), ``loss_tok`` the (B, T) per-token loss to MINIMIZE
(aggregated afterwards, see :mod:`.aggregation`); sequence-level surrogates (GSPO, GMPO) put the
sequence's loss on each of its tokens, so ``seq_mean_token_mean`` gives their plain mean over sequences.
The ratio is ``rho = exp(logp - old_logp)``; ``sg`` below is ``.detach()``.
"""

from __future__ import annotations

import torch

from ._util import f, masked_mean, seq_mean

SURROGATES: dict = {}


def register_surrogate(name: str):
    """Decorator adding a surrogate to :data:`SURROGATES` under ``name``."""

    def deco(fn):
        SURROGATES[name] = fn
        return fn

    return deco


def _log_ratio(r):
    return (r.logp - r.old_logp.detach()).clamp(-20.0, 20.0)


def _bounds(knobs):
    el = knobs.get("clip_eps", 0.2)
    eh = knobs.get("clip_eps_high")
    return el, (el if eh is None else eh)


def clipped(ratio, adv, low, high, dual_clip=None):
    """PPO clip with (possibly per-token) bounds ``[low, high]`` on the ratio and optional dual clip ``c``:
    ``max(-rho A, -clip(rho, low, high) A)``, then ``min(., -c A)`` where ``A < 0``."""
    loss = torch.maximum(-adv * ratio, -adv * torch.minimum(torch.maximum(ratio, low), high))
    if dual_clip is not None:
        loss = torch.where(adv < 0, torch.minimum(loss, -adv * dual_clip), loss)
    return loss


def _ratio_metrics(ratio, adv, low, high, mask, dual_clip=None):
    m = {
        "ratio_mean": f(masked_mean(ratio.detach(), mask)),
        "ratio_max": f((ratio.detach() * mask).max()) if mask.any() else 1.0,
        "clip_frac_low": f(masked_mean(((ratio < low) & (adv < 0)).to(mask.dtype), mask)),
        "clip_frac_high": f(masked_mean(((ratio > high) & (adv > 0)).to(mask.dtype), mask)),
    }
    m["clip_frac"] = m["clip_frac_low"] + m["clip_frac_high"]
    if dual_clip is not None:
        m["clip_frac_dual"] = f(masked_mean(((ratio > dual_clip) & (adv < 0)).to(mask.dtype), mask))
    return m


@register_surrogate("clip")
def ppo_clip(r, adv, knobs):
    """PPO / GRPO / DAPO token surrogate; ``clip_eps_high`` > ``clip_eps`` is DAPO's clip-higher,
    ``dual_clip`` the dual-clip constant c (1912.09729), ``clip_delta`` INTELLECT-2's two-sided cap."""
    ratio = torch.exp(_log_ratio(r))
    el, eh = _bounds(knobs)
    low = torch.full_like(ratio, 1 - el)
    high = torch.full_like(ratio, 1 + eh)
    delta = knobs.get("clip_delta")
    rr = torch.clamp(ratio, max=delta) if delta is not None else ratio
    c = knobs.get("dual_clip")
    loss = clipped(rr, adv, low, high, c)
    return loss * r.mask, _ratio_metrics(ratio, adv, low, high, r.mask, c)


@register_surrogate("pg")
def policy_gradient(r, adv, knobs):
    """Vanilla policy gradient ``-A log pi`` (REINFORCE, RLOO, GPG, AAPO): no ratio, no clip."""
    return -adv * r.logp * r.mask, {}


@register_surrogate("gspo")
def gspo(r, adv, knobs):
    """GSPO (GSPO-token form): ``s_{i,t} = sg[s_i] pi/sg[pi]``, ``s_i = exp(mean_t log rho_{i,t})``,
    clipped with ``[1 - clip_eps, 1 + clip_eps_high]`` (paper: 3e-4, 4e-4)."""
    lr = _log_ratio(r)
    s = seq_mean(lr, r.mask).detach()
    tok = torch.exp((r.logp - r.logp.detach() + s[:, None]).clamp(max=10.0))
    el, eh = _bounds(knobs)
    low = torch.full_like(tok, 1 - el)
    high = torch.full_like(tok, 1 + eh)
    loss = clipped(tok, adv, low, high, knobs.get("dual_clip"))
    seq_ratio = torch.exp(s)[:, None].expand_as(tok)
    m = _ratio_metrics(seq_ratio, adv, low, high, r.mask)
    return loss * r.mask, m


@register_surrogate("gmpo")
def gmpo(r, adv, knobs):
    """GMPO: geometric mean of token ratios clipped in log space to ``[-clip_eps, clip_eps_high]``
    (paper 0.4, 0.4) in the direction of ``sgn A``; loss ``-A_i * exp(mean_t clipped log rho)``."""
    lr = _log_ratio(r)
    el, eh = _bounds(knobs)
    sgn = torch.sign(adv)
    lc = sgn * torch.minimum(sgn * lr, sgn * lr.clamp(-el, eh))
    geo = torch.exp(seq_mean(lc, r.mask))
    a_seq = seq_mean(adv, r.mask)
    loss = (-a_seq * geo)[:, None].expand_as(lr)
    clipped_tok = ((lr < -el) & (adv < 0)) | ((lr > eh) & (adv > 0))
    return loss * r.mask, {"clip_frac": f(masked_mean(clipped_tok.to(r.mask.dtype), r.mask)),
                           "ratio_mean": f(masked_mean(torch.exp(lr).detach(), r.mask))}


@register_surrogate("simple")
def simple_po(r, adv, knobs):
    """Simple Policy Optimization (2401.16025): ``-(rho A - |A|/(2 eps) (rho - 1)^2)``; per-sample optimum
    at ``rho = 1 + sgn(A) eps``."""
    ratio = torch.exp(_log_ratio(r))
    eps = knobs.get("clip_eps", 0.2)
    loss = -(ratio * adv - adv.abs() / (2 * eps) * (ratio - 1) ** 2)
    out = ((ratio - 1).abs() > eps).to(r.mask.dtype)
    return loss * r.mask, {"ratio_mean": f(masked_mean(ratio.detach(), r.mask)), "outside_frac": f(masked_mean(out, r.mask))}


@register_surrogate("ce_gppo")
def ce_gppo(r, adv, knobs):
    """CE-GPPO: like PPO clip, but clipped tokens keep a scaled gradient via ``rho / sg[rho]``:
    ``A<0, rho<1-el: -b1 (1-el) (rho/sg rho) A``; ``A>0, rho>1+eh: -b2 (1+eh) (rho/sg rho) A``."""
    ratio = torch.exp(_log_ratio(r))
    el, eh = _bounds(knobs)
    b1, b2 = knobs.get("gppo_beta1", 0.75), knobs.get("gppo_beta2", 1.0)
    unit = ratio / ratio.detach()
    low_mask = (adv < 0) & (ratio < 1 - el)
    high_mask = (adv > 0) & (ratio > 1 + eh)
    loss = torch.where(low_mask, -b1 * (1 - el) * unit * adv, torch.where(high_mask, -b2 * (1 + eh) * unit * adv, -ratio * adv))
    c = knobs.get("dual_clip")
    if c is not None:
        loss = torch.where(adv < 0, torch.minimum(loss, -adv * c), loss)
    low = torch.full_like(ratio, 1 - el)
    high = torch.full_like(ratio, 1 + eh)
    return loss * r.mask, _ratio_metrics(ratio, adv, low, high, r.mask, c)


def dcpo_bounds(q, eps_low=0.2, eps_high=0.28, cap=10.0):
    """DCPO dynamic-adaptive ratio bounds for token prior ``q = pi_old(token)``:
    ``[1/2 + 1/2 sqrt(max(1 - 4 el / q, 0)), min(1/2 + 1/2 sqrt(1 + 4 eh / q), cap)]``."""
    q = q.clamp_min(1e-12)
    low = 0.5 + 0.5 * torch.sqrt(torch.clamp(1 - 4 * eps_low / q, min=0.0))
    high = torch.clamp(0.5 + 0.5 * torch.sqrt(1 + 4 * eps_high / q), max=cap)
    return low, high


@register_surrogate("dcpo")
def dcpo(r, adv, knobs):
    """DCPO: PPO clip with token-prior-dependent bounds (:func:`dcpo_bounds`), dual clip kept."""
    ratio = torch.exp(_log_ratio(r))
    el, eh = _bounds(knobs)
    low, high = dcpo_bounds(torch.exp(r.old_logp.detach()), el, eh, knobs.get("dcpo_cap", 10.0))
    c = knobs.get("dual_clip")
    return clipped(ratio, adv, low, high, c) * r.mask, _ratio_metrics(ratio, adv, low, high, r.mask, c)


def _centred_cov(r, adv):
    m = r.mask.bool()
    lp = r.logp.detach()
    cov = torch.zeros_like(lp)
    if m.any():
        cov[m] = (lp[m] - lp[m].mean()) * (adv[m] - adv[m].mean())
    return cov


@register_surrogate("clip_cov")
def clip_cov(r, adv, knobs):
    """Clip-Cov: among tokens with centred covariance ``(log pi - mean)(A - mean)`` in
    ``(cov_low, cov_high)``, pick ``max(int(ratio N), 1)`` at random and stop their gradient; the rest
    get the PPO clip (recipe: clip 1/1, i.e. bounds [0, 2])."""
    ratio = torch.exp(_log_ratio(r))
    el, eh = _bounds(knobs)
    low = torch.full_like(ratio, 1 - el)
    high = torch.full_like(ratio, 1 + eh)
    loss = clipped(ratio, adv, low, high, knobs.get("dual_clip"))
    cov = _centred_cov(r, adv)
    m = r.mask.bool()
    cand = m & (cov > knobs.get("cov_low", 1.0)) & (cov < knobs.get("cov_high", 5.0))
    n = int(m.sum())
    k = max(int(knobs.get("clip_cov_ratio", 2e-4) * n), 1)
    idx = torch.nonzero(cand.reshape(-1)).reshape(-1)
    sel = torch.zeros(m.numel(), dtype=torch.bool)
    if idx.numel():
        pick = idx[torch.randperm(idx.numel())[: min(k, idx.numel())]]
        sel[pick] = True
    sel = sel.reshape(m.shape)
    loss = torch.where(sel, torch.zeros_like(loss), loss)
    met = _ratio_metrics(ratio, adv, low, high, r.mask)
    met["cov_masked_frac"] = f(sel.sum() / max(n, 1))
    return loss * r.mask, met


@register_surrogate("kl_cov")
def kl_cov(r, adv, knobs):
    """KL-Cov: the top ``max(int(kl_cov_ratio N), 1)`` tokens by centred covariance get
    ``-rho A + kl_cov_coef |log rho|``; all others ``-rho A`` (no clip)."""
    lr = _log_ratio(r)
    ratio = torch.exp(lr)
    loss = -adv * ratio
    cov = _centred_cov(r, adv)
    m = r.mask.bool()
    n = int(m.sum())
    k = min(max(int(knobs.get("kl_cov_ratio", 2e-3) * n), 1), max(n, 1))
    sel = torch.zeros(m.numel(), dtype=torch.bool)
    if n:
        flat = torch.where(m, cov, torch.full_like(cov, -float("inf"))).reshape(-1)
        sel[torch.topk(flat, k).indices] = True
    sel = sel.reshape(m.shape) & m
    loss = torch.where(sel, loss + knobs.get("kl_cov_coef", 1.0) * lr.abs(), loss)
    return loss * r.mask, {"ratio_mean": f(masked_mean(ratio.detach(), r.mask)), "cov_penalized_frac": f(sel.sum() / max(n, 1))}


@register_surrogate("cispo")
def cispo(r, adv, knobs):
    """CISPO (MiniMax-M1): ``-sg[clip(rho, 1 - el, 1 + eh)] A log pi``."""
    ratio = torch.exp(_log_ratio(r))
    el, eh = _bounds(knobs)
    w = ratio.detach().clamp(1 - el, 1 + eh)
    return -w * adv * r.logp * r.mask, {"ratio_mean": f(masked_mean(ratio.detach(), r.mask))}


@register_surrogate("sapo")
def sapo(r, adv, knobs):
    """SAPO soft gate: ``-(4/tau) sigmoid(tau (rho - 1)) A``, tau = ``sapo_tau_pos`` / ``sapo_tau_neg`` by sgn A."""
    ratio = torch.exp(_log_ratio(r))
    tau = torch.where(adv >= 0, torch.full_like(adv, knobs.get("sapo_tau_pos", 1.0)),
                      torch.full_like(adv, knobs.get("sapo_tau_neg", 1.05)))
    return -(4.0 / tau) * torch.sigmoid(tau * (ratio - 1)) * adv * r.mask, {"ratio_mean": f(masked_mean(ratio.detach(), r.mask))}


@register_surrogate("trpo")
def trpo_surrogate(r, adv, knobs):
    """TRPO's unclipped importance-sampled surrogate ``-rho A`` (the trust region is a constraint)."""
    ratio = torch.exp(_log_ratio(r))
    return -ratio * adv * r.mask, {"ratio_mean": f(masked_mean(ratio.detach(), r.mask))}
