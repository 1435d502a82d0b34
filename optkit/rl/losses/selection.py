"""Sample selection: ``fn(r, knobs) -> (B,) bool`` rows to train on (``Preset.select``), plus the GRESO
pre-rollout filter the trainer calls before sampling.
"""

from __future__ import annotations

import math

import torch

from optkit.core.errors import InvalidParameterError

from ._util import grouped

SELECTORS: dict = {}


def register_selector(name: str):
    """Decorator adding a selector to :data:`SELECTORS` under ``name``."""

    def deco(fn):
        SELECTORS[name] = fn
        return fn

    return deco


def _signal(r):
    return r.correct.to(r.mask.dtype) if r.correct is not None else r.rewards if r.rewards.dim() == 1 else r.rewards.sum(1)


@register_selector("none")
def keep_all(r, knobs):
    return torch.ones(r.mask.shape[0], dtype=torch.bool)


def informative_groups(r) -> torch.Tensor:
    """(P,) bool: groups whose verifier outcome (or reward when ``correct`` is None) is not all equal."""
    g = grouped(_signal(r), r.group_size, "dynamic sampling")
    return (g.max(1).values - g.min(1).values) > 0


@register_selector("dynamic_sampling")
def dynamic_sampling(r, knobs):
    """DAPO dynamic sampling: drop whole groups that are all-correct or all-wrong."""
    return informative_groups(r).repeat_interleave(r.group_size)


@register_selector("overlong_filter")
def overlong_filter(r, knobs):
    """DAPO overlong filtering: drop responses that hit the length cap (``lengths >= max_length``)."""
    if r.max_length is None:
        raise InvalidParameterError("Overlong filtering needs Rollouts.max_length; it is None.")
    L = r.lengths if r.lengths is not None else r.mask.sum(1)
    return L < r.max_length


@register_selector("cppo")
def cppo_prune(r, knobs):
    """CPPO: keep the ``k = max(1, round(G (1 - prune_rate)))`` responses with the largest |advantage| per group
    (|GRPO advantage| order is the same for raw rewards or already-normalized ones)."""
    G = r.group_size
    a = grouped(_signal(r) if r.rewards.dim() != 1 else r.rewards, G, "CPPO")
    a = (a - a.mean(1, keepdim=True)).abs()
    k = max(1, int(round(G * (1 - knobs.get("prune_rate", 0.5)))))
    keep = torch.zeros_like(a, dtype=torch.bool)
    idx = torch.argsort(a, dim=1, descending=True, stable=True)[:, :k]
    keep.scatter_(1, idx, True)
    return keep.reshape(-1)


@register_selector("greso")
def greso_select(r, knobs):
    """GRESO, post-rollout part (authors' code): record each prompt's group success rate in
    ``knobs['_state']['greso']`` (needs ``['prompt_ids']``), adapt the exploration probabilities
    ``greso_p_easy`` / ``greso_p_hard`` by +-``greso_step`` towards the targets (all-correct groups:
    ``target/3``, all-wrong: ``2 target/3`` of the batch; bounds [``greso_p_min``, 0.95]) and drop degenerate
    groups (as dynamic sampling). The trainer calls :func:`greso_pre_filter` before sampling."""
    info = informative_groups(r)
    st = knobs.get("_state")
    if st is not None and "prompt_ids" in st:
        rate = grouped(_signal(r), r.group_size, "GRESO").mean(1)
        hist = st.setdefault("greso", {})
        for pid, v in zip(torch.as_tensor(st["prompt_ids"]).reshape(-1).tolist(), rate.tolist()):
            hist.setdefault(int(pid), []).append(float(v))
        easy = float((rate >= 0.98).float().mean())
        hard = float((rate <= 0.11).float().mean())
        target, step = knobs.get("greso_target_zero", 0.25), knobs.get("greso_step", 0.01)
        lo, hi = knobs.get("greso_p_min", 0.05), 0.95
        pe = st.get("greso_p_easy", knobs.get("greso_p0", 0.5))
        ph = st.get("greso_p_hard", knobs.get("greso_p0", 0.5))
        pe = max(pe - step, lo) if easy >= target / 3 else min(pe + step, hi)
        ph = max(ph - step, lo) if hard >= 2 * target / 3 else min(ph + step, hi)
        st["greso_p_easy"], st["greso_p_hard"] = pe, ph
    return info.repeat_interleave(r.group_size)


def _streak(h, test):
    k = 0
    for v in reversed(h):
        if not test(v):
            break
        k += 1
    return k


def greso_pre_filter(state: dict, prompt_ids, knobs: dict, generator: torch.Generator | None = None) -> torch.Tensor:
    """GRESO pre-rollout filter: a prompt whose last ``k`` recorded groups were all-correct (rate >= 0.98) is
    sampled with probability ``max(p_easy**k, 0.01)``; one whose last ``k`` were all-wrong (rate <= 0.11), with
    ``max(p_hard**k, 0.01)``; others always. Returns a (len(prompt_ids),) bool mask of prompts to sample."""
    hist = state.get("greso", {})
    pe = state.get("greso_p_easy", knobs.get("greso_p0", 0.5))
    ph = state.get("greso_p_hard", knobs.get("greso_p0", 0.5))
    out = []
    for pid in torch.as_tensor(prompt_ids).reshape(-1).tolist():
        h = hist.get(int(pid), [])
        ke, kh = _streak(h, lambda v: v >= 0.98), _streak(h, lambda v: v <= 0.11)
        p = max(pe**ke, 0.01) if ke else (max(ph**kh, 0.01) if kh else 1.0)
        out.append(p >= 1.0 or float(torch.rand((), generator=generator)) < p)
    return torch.tensor(out, dtype=torch.bool)


__all__ = ["SELECTORS", "register_selector", "dynamic_sampling", "overlong_filter", "cppo_prune", "greso_select",
           "greso_pre_filter", "informative_groups", "math"]
