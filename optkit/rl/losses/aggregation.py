"""Loss aggregation ("loss_agg_mode"): ``fn(loss_tok, mask, knobs, r) -> scalar``.

With B responses, token losses l_{i,t} and lengths L_i:

- ``token_mean``            sum_{i,t} l / sum_i L_i                      (DAPO, verl default)
- ``seq_mean_token_mean``   (1/B) sum_i (1/L_i) sum_t l                  (original GRPO, GSPO)
- ``seq_mean_token_sum_norm`` sum_{i,t} l / (B * L)  with constant L    (Dr. GRPO; L = ``norm_length``,
  default the task's ``max_length``, else the padded width T)
- ``seq_mean_token_sum``    (1/B) sum_i sum_t l
- ``only_token_mean``       sum_i (1/L_i) sum_t l   (no 1/B)            (DCPO's OTM)
- ``delta_l``               (1/(B L_max)) sum_i w_i sum_t l, w_i = L_i^-a / mean_j L_j^-a  (ΔL normalization)
"""

from __future__ import annotations

from ._util import lengths_of

AGGREGATIONS: dict = {}


def register_aggregation(name: str):
    """Decorator adding an aggregator to :data:`AGGREGATIONS` under ``name``."""

    def deco(fn):
        AGGREGATIONS[name] = fn
        return fn

    return deco


@register_aggregation("token_mean")
def token_mean(loss_tok, mask, knobs=None, r=None):
    return (loss_tok * mask).sum() / mask.sum().clamp_min(1.0)


@register_aggregation("seq_mean_token_mean")
def seq_mean_token_mean(loss_tok, mask, knobs=None, r=None):
    per_seq = (loss_tok * mask).sum(1) / mask.sum(1).clamp_min(1.0)
    return per_seq.mean()


def _const_length(mask, knobs, r):
    L = (knobs or {}).get("norm_length")
    if L is None and r is not None and r.max_length is not None:
        L = r.max_length
    return float(mask.shape[1] if L is None else L)


@register_aggregation("seq_mean_token_sum_norm")
def seq_mean_token_sum_norm(loss_tok, mask, knobs=None, r=None):
    return (loss_tok * mask).sum() / (mask.shape[0] * _const_length(mask, knobs, r))


@register_aggregation("seq_mean_token_sum")
def seq_mean_token_sum(loss_tok, mask, knobs=None, r=None):
    return (loss_tok * mask).sum(1).mean()


@register_aggregation("only_token_mean")
def only_token_mean(loss_tok, mask, knobs=None, r=None):
    return ((loss_tok * mask).sum(1) / mask.sum(1).clamp_min(1.0)).sum()


@register_aggregation("delta_l")
def delta_l(loss_tok, mask, knobs=None, r=None):
    alpha = (knobs or {}).get("delta_l_alpha", 1.0)
    L = lengths_of(mask).clamp_min(1.0)
    w = L ** (-alpha)
    w = w / w.mean()
    return (w * (loss_tok * mask).sum(1)).sum() / (mask.shape[0] * _const_length(mask, knobs, r))
