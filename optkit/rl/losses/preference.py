"""Preference losses on :class:`~optkit.rl.batch.PreferencePairs`: ``fn(p, knobs) -> (loss, metrics)``.

Notation (per pair): summed log-probs ``lw, ll`` (policy), ``rw, rl`` (reference), lengths ``nw, nl``;
implicit rewards ``uw = lw - rw``, ``ul = ll - rl``; DPO margin ``h = uw - ul``; average log-probs
``aw = lw/nw``, ``al = ll/nl``; ``s`` = logistic. Every function returns the batch loss (a scalar;
per-pair losses are averaged unless the method itself defines the batch reduction) and float metrics.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from optkit.core.errors import InvalidParameterError

from ..batch import LossOutput, PreferencePairs
from ._util import f, part

PREFERENCE_LOSSES: dict = {}
REFERENCE_FREE = {"simpo", "orpo", "repo_relu", "asft"}


def register_preference(name: str, reference_free: bool = False):
    """Decorator adding a preference loss to :data:`PREFERENCE_LOSSES` under ``name``."""

    def deco(fn):
        PREFERENCE_LOSSES[name] = fn
        if reference_free:
            REFERENCE_FREE.add(name)
        return fn

    return deco


class _Terms:
    """Sequence-level quantities of a pair batch (computed once per loss call)."""

    def __init__(self, p: PreferencePairs, need_ref: bool):
        self.p = p
        self.lw = (p.chosen_logp * p.chosen_mask).sum(1)
        self.ll = (p.rejected_logp * p.rejected_mask).sum(1)
        self.nw = p.chosen_mask.sum(1).clamp_min(1.0)
        self.nl = p.rejected_mask.sum(1).clamp_min(1.0)
        self.aw, self.al = self.lw / self.nw, self.ll / self.nl
        if need_ref:
            if p.ref_chosen_logp is None or p.ref_rejected_logp is None:
                raise InvalidParameterError("This preference loss needs ref_chosen_logp and ref_rejected_logp (the reference "
                                            "policy's log-probs); they are None.")
            self.rw = (p.ref_chosen_logp.detach() * p.chosen_mask).sum(1)
            self.rl = (p.ref_rejected_logp.detach() * p.rejected_mask).sum(1)
            self.uw, self.ul = self.lw - self.rw, self.ll - self.rl
            self.h = self.uw - self.ul


def _scores(p, name):
    if p.chosen_reward is None or p.rejected_reward is None:
        raise InvalidParameterError(f"The {name!r} loss needs PreferencePairs.chosen_reward and rejected_reward; they are None.")
    return p.chosen_reward.detach().to(p.chosen_logp.dtype), p.rejected_reward.detach().to(p.chosen_logp.dtype)


def _log1mexp(x):
    """log(1 - exp(x)) for x < 0, stable."""
    x = x.clamp(max=-1e-7)
    return torch.where(x > -math.log(2.0), torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def _dpo_metrics(t: _Terms, beta: float) -> dict:
    m = {"chosen_logp": f(t.lw), "rejected_logp": f(t.ll)}
    if hasattr(t, "h"):
        m.update({"reward_accuracy": f((t.h > 0).float()), "margin": f(beta * t.h),
                  "chosen_reward": f(beta * t.uw), "rejected_reward": f(beta * t.ul)})
    else:
        m.update({"reward_accuracy": f((t.aw > t.al).float()), "margin": f(t.aw - t.al)})
    return m


@register_preference("dpo")
def dpo(p, knobs):
    """DPO: ``-log s(beta h)``."""
    t, b = _Terms(p, True), knobs.get("beta", 0.1)
    return (-F.logsigmoid(b * t.h)).mean(), _dpo_metrics(t, b)


@register_preference("ipo")
def ipo(p, knobs):
    """IPO: ``(hbar - 1/(2 tau))^2`` with length-averaged log-ratios (TRL ``ipo``), ``tau`` = beta."""
    t, tau = _Terms(p, True), knobs.get("beta", 0.1)
    hbar = t.uw / t.nw - t.ul / t.nl
    return ((hbar - 1.0 / (2 * tau)) ** 2).mean(), _dpo_metrics(t, tau)


@register_preference("cdpo")
def cdpo(p, knobs):
    """Conservative DPO: ``-(1-eps) log s(beta h) - eps log s(-beta h)``, eps = ``label_smoothing``."""
    t, b, e = _Terms(p, True), knobs.get("beta", 0.1), knobs.get("label_smoothing", 0.1)
    return (-(1 - e) * F.logsigmoid(b * t.h) - e * F.logsigmoid(-b * t.h)).mean(), _dpo_metrics(t, b)


@register_preference("rdpo")
def rdpo(p, knobs):
    """Robust DPO (unbiased under flip rate eps < 1/2):
    ``[(1-eps)(-log s(beta h)) - eps(-log s(-beta h))] / (1 - 2 eps)``."""
    t, b, e = _Terms(p, True), knobs.get("beta", 0.1), knobs.get("label_smoothing", 0.1)
    if not 0 <= e < 0.5:
        raise InvalidParameterError(f"The 'label_smoothing' knob of rDPO must be a float in [0, 0.5). Got {e!r} instead.")
    loss = ((1 - e) * -F.logsigmoid(b * t.h) - e * -F.logsigmoid(-b * t.h)) / (1 - 2 * e)
    return loss.mean(), _dpo_metrics(t, b)


@register_preference("simpo", reference_free=True)
def simpo(p, knobs):
    """SimPO (no reference): ``-log s(beta (aw - al) - gamma)``."""
    t, b, g = _Terms(p, False), knobs.get("beta", 2.5), knobs.get("simpo_gamma", 1.375)
    return (-F.logsigmoid(b * (t.aw - t.al) - g)).mean(), _dpo_metrics(t, b)


@register_preference("orpo", reference_free=True)
def orpo(p, knobs):
    """ORPO: ``-aw - lambda log s(log odds(yw) - log odds(yl))``, ``log odds = a - log(1 - e^a)``."""
    t, lam = _Terms(p, False), knobs.get("orpo_lambda", 0.1)
    lo = (t.aw - _log1mexp(t.aw)) - (t.al - _log1mexp(t.al))
    loss = -t.aw - lam * F.logsigmoid(lo)
    m = _dpo_metrics(t, 1.0)
    m["log_odds_ratio"] = f(lo)
    return loss.mean(), m


@register_preference("beta_dpo")
def beta_dpo(p, knobs):
    """beta-DPO (authors' code): the implicit margin ``M = h`` of each pair updates EMAs (momentum 0.9,
    starting at 0, kept in ``knobs['_state']``) of its batch mean ``M0`` and std ``s0`` FIRST; then
    ``(1 - rho)`` of the pairs are sampled without replacement with weights ``exp(-((M - M0)/s0)^2 / 2)``
    and ``beta_b = max(beta0 (1 + a (mean_sel M - M0)), 1e-3)``; DPO with ``beta_b`` on the selected pairs."""
    t = _Terms(p, True)
    b0, a, rho = knobs.get("beta", 0.1), knobs.get("beta_dpo_a", 0.6), knobs.get("beta_dpo_rho", 0.2)
    st = knobs.get("_state")
    st = {} if st is None else st
    M = t.h.detach()
    s_b = float(M.std()) if M.numel() > 1 else 0.0
    M0 = 0.9 * st.get("beta_dpo_m0", 0.0) + 0.1 * float(M.mean())
    s0 = 0.9 * st.get("beta_dpo_s0", 0.0) + 0.1 * s_b
    st["beta_dpo_m0"], st["beta_dpo_s0"] = M0, s0
    w = torch.exp(-0.5 * ((M - M0) / max(s0, 1e-12)) ** 2)
    k = max(1, int(M.numel() * (1 - rho)))
    if k < M.numel():
        idx = torch.multinomial(w + 1e-300, k, replacement=False)
    else:
        idx = torch.arange(M.numel())
    beta_b = max(b0 * (1 + a * (float(M[idx].mean()) - M0)), 1e-3)
    loss = (-F.logsigmoid(beta_b * t.h[idx])).mean()
    m = _dpo_metrics(t, b0)
    m.update({"beta_batch": beta_b, "kept_frac": k / M.numel()})
    return loss, m


@register_preference("dr_dpo")
def dr_dpo(p, knobs):
    """Dr. DPO: ``-beta' log mean_i exp(-l_i^DPO / beta')`` over the batch."""
    t, b, bp = _Terms(p, True), knobs.get("beta", 0.1), knobs.get("dr_dpo_beta_prime", 1.0)
    li = -F.logsigmoid(b * t.h)
    loss = -bp * (torch.logsumexp(-li / bp, dim=0) - math.log(li.numel()))
    return loss, _dpo_metrics(t, b)


@register_preference("odpo")
def odpo(p, knobs):
    """DPO with an offset: ``-log s(beta h - alpha log(s_w - s_l))`` (authors' code, ``ratio=False``;
    ``odpo_ratio=True`` uses ``log(s_w / s_l)``); scores from chosen_reward / rejected_reward."""
    t, b, al = _Terms(p, True), knobs.get("beta", 0.1), knobs.get("odpo_alpha", 1.0)
    sw, sl = _scores(p, "odpo")
    gap = sw / sl if knobs.get("odpo_ratio", False) else sw - sl
    if bool((gap <= 0).any()):
        raise InvalidParameterError("ODPO needs chosen_reward > rejected_reward (ratio: both > 0) for every pair.")
    off = al * torch.log(gap)
    m = _dpo_metrics(t, b)
    m["offset"] = f(off)
    return (-F.logsigmoid(b * t.h - off)).mean(), m


@register_preference("repo_relu", reference_free=True)
def repo_relu(p, knobs):
    """RePO (ReLU): ``max(0, gamma - (aw - al))`` (SimPO's beta -> infinity limit)."""
    t, g = _Terms(p, False), knobs.get("repo_gamma", 0.5)
    return F.relu(g - (t.aw - t.al)).mean(), _dpo_metrics(t, 1.0)


@register_preference("kto")
def kto(p, knobs):
    """KTO with chosen = desirable, rejected = undesirable: ``lD (1 - s(beta (uw - z0)))`` +
    ``lU (1 - s(beta (z0 - ul)))`` averaged; ``z0`` = detached ``max(0, mean over all responses of u)``
    (the batch's KL(pi || ref) estimate; TRL uses mismatched prompt/response pairs, see docs)."""
    t, b = _Terms(p, True), knobs.get("beta", 0.1)
    lD, lU = knobs.get("kto_desirable_weight", 1.0), knobs.get("kto_undesirable_weight", 1.0)
    z0 = torch.clamp(torch.cat([t.uw, t.ul]).detach().mean(), min=0.0)
    loss = torch.cat([lD * (1 - torch.sigmoid(b * (t.uw - z0))), lU * (1 - torch.sigmoid(b * (z0 - t.ul)))]).mean()
    m = _dpo_metrics(t, b)
    m["kto_z0"] = f(z0)
    return loss, m


@register_preference("exo")
def exo(p, knobs):
    """EXO (pairwise): ``KL(q || p_eps)`` with ``q = (s(beta h), s(-beta h))``, ``p_eps = (1 - eps, eps)``."""
    t, b, e = _Terms(p, True), knobs.get("beta", 0.1), knobs.get("exo_eps", 1e-3)
    z = b * t.h
    loss = torch.sigmoid(z) * (F.logsigmoid(z) - math.log1p(-e)) + torch.sigmoid(-z) * (F.logsigmoid(-z) - math.log(e))
    return loss.mean(), _dpo_metrics(t, b)


@register_preference("asft", reference_free=True)
def asft(p, knobs):
    """ASFT (pointwise, reference-free): ``-aw - lambda [log s(log odds(yw)) + log s(-log odds(yl))]``
    = ``-aw - lambda [log P_w + log(1 - P_l)]`` with ``P = exp(a)`` (length-averaged probability)."""
    t, lam = _Terms(p, False), knobs.get("asft_lambda", 0.1)
    lw_odds = t.aw - _log1mexp(t.aw)
    ll_odds = t.al - _log1mexp(t.al)
    loss = -t.aw - lam * (F.logsigmoid(lw_odds) + F.logsigmoid(-ll_odds))
    return loss.mean(), _dpo_metrics(t, 1.0)


@register_preference("mappo")
def mappo(p, knobs):
    """MaPPO (DPO plug-in): ``-log s(beta uw - dr beta ul)``, ``dr = s_w - s_l`` in [0, 1] from the
    prior scores (chosen_reward / rejected_reward, clamped to [0, 1]); dr = 1 gives DPO."""
    t, b = _Terms(p, True), knobs.get("beta", 0.1)
    sw, sl = _scores(p, "mappo")
    dr = (sw - sl).clamp(0.0, 1.0)
    m = _dpo_metrics(t, b)
    m["mappo_dr"] = f(dr)
    return (-F.logsigmoid(b * t.uw - dr * b * t.ul)).mean(), m


@register_preference("sppo")
def sppo(p, knobs):
    """SPPO (hard labels, TRL ``sppo_hard``): ``(uw - 1/(2 beta))^2 + (ul + 1/(2 beta))^2`` with the
    reference = the previous iterate pi_t (the trainer refreshes it each iteration)."""
    t, b = _Terms(p, True), knobs.get("beta", 0.1)
    loss = (t.uw - 0.5 / b) ** 2 + (t.ul + 0.5 / b) ** 2
    return loss.mean(), _dpo_metrics(t, b)


@register_preference("dno")
def dno(p, knobs):
    """DNO (Prct): DPO against the previous iterate on on-policy pairs whose score gap is at least
    ``dno_margin`` (pairs below it are dropped; all kept when no scores are given)."""
    t, b = _Terms(p, True), knobs.get("beta", 0.1)
    li = -F.logsigmoid(b * t.h)
    keep = torch.ones_like(li)
    if p.chosen_reward is not None and p.rejected_reward is not None:
        keep = ((p.chosen_reward - p.rejected_reward) >= knobs.get("dno_margin", 0.0)).to(li.dtype)
    m = _dpo_metrics(t, b)
    m["kept_frac"] = f(keep)
    return (li * keep).sum() / keep.sum().clamp_min(1.0), m


@register_preference("rpo")
def rpo(p, knobs):
    """Iterative RPO: ``-log s(beta h) + alpha * NLL(yw)/|yw|``."""
    t, b, a = _Terms(p, True), knobs.get("beta", 0.1), knobs.get("rpo_alpha", 1.0)
    return (-F.logsigmoid(b * t.h) - a * t.aw).mean(), _dpo_metrics(t, b)


@register_preference("wpo")
def wpo(p, knobs):
    """WPO: DPO per pair weighted by ``w(yw) w(yl)``, ``w(y) = exp(mean_t log pi(y_t))`` (detached; the
    paper's sampled-token form — its "weight alignment" needs the full next-token distribution)."""
    t, b = _Terms(p, True), knobs.get("beta", 0.1)
    w = torch.exp(t.aw.detach() + t.al.detach())
    m = _dpo_metrics(t, b)
    m["wpo_weight"] = f(w)
    return (w * -F.logsigmoid(b * t.h)).mean(), m


@register_preference("tgdpo")
def tgdpo(p, knobs):
    """TGDPO: ``-log s(beta sum_t (1 + alpha beta rw_t) u_t(yw) - beta sum_t (1 - alpha beta rl_t) u_t(yl))``
    with token rewards ``r_t`` from a guide policy: ``knobs['_state']['tg_chosen']`` / ``['tg_rejected']``
    ((B, T) per-token log-ratios of a previously trained DPO policy) or, when absent, the detached
    current per-token log-ratios (self-guidance)."""
    t, b, a = _Terms(p, True), knobs.get("beta", 0.1), knobs.get("tgdpo_alpha", 1.0)
    st = knobs.get("_state") or {}
    uw_t = (p.chosen_logp - p.ref_chosen_logp.detach()) * p.chosen_mask
    ul_t = (p.rejected_logp - p.ref_rejected_logp.detach()) * p.rejected_mask
    rw = st.get("tg_chosen", uw_t.detach())
    rl = st.get("tg_rejected", ul_t.detach())
    z = b * ((1 + a * b * rw) * uw_t).sum(1) - b * ((1 - a * b * rl) * ul_t).sum(1)
    return (-F.logsigmoid(z)).mean(), _dpo_metrics(t, b)


@register_preference("modpo")
def modpo(p, knobs):
    """MODPO (two objectives): ``-log s((beta / w0) h - (w1 / w0)(s_w - s_l))`` where ``h`` is the
    preference margin for objective 0 and ``s`` the other objective's scores (chosen_reward /
    rejected_reward), ``w0 = modpo_weight``, ``w1 = 1 - w0``."""
    t, b, w0 = _Terms(p, True), knobs.get("beta", 0.1), knobs.get("modpo_weight", 0.5)
    sw, sl = _scores(p, "modpo")
    return (-F.logsigmoid(b / w0 * t.h - (1 - w0) / w0 * (sw - sl))).mean(), _dpo_metrics(t, b)


@register_preference("hinge")
def hinge(p, knobs):
    """SLiC hinge: ``max(0, 1 - beta h)``."""
    t, b = _Terms(p, True), knobs.get("beta", 0.1)
    return F.relu(1 - b * t.h).mean(), _dpo_metrics(t, b)


def preference_loss(p: PreferencePairs, knobs: dict) -> LossOutput:
    """Dispatch on ``knobs['pref_loss']`` with shape checks."""
    B, T = p.chosen_logp.shape
    for name in ("rejected_logp", "chosen_mask", "rejected_mask"):
        if getattr(p, name).shape[0] != B:
            raise InvalidParameterError(f"PreferencePairs.{name} must have {B} rows. Got {tuple(getattr(p, name).shape)} instead.")
    name = knobs.get("pref_loss", "dpo")
    loss, m = part(PREFERENCE_LOSSES, name, "pref_loss")(p, knobs)
    m["loss"] = f(loss)
    return LossOutput(loss=loss, metrics=m)
