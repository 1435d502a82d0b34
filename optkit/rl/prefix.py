"""Shared-prefix forward (the Prefix Grouper idea; prefix sharing for DPO pairs).

A group's G responses share one prompt. The plain forward runs the B = P*G concatenated sequences
``prompt + response``, so every prompt token goes through every layer G times. The shared-prefix forward
runs the P prompts once, keeps each layer's keys and values (with grad), repeats them G times, and runs
only the response tokens, whose queries attend to the prompt's keys and to their own causal past. The
outputs are the same function of the weights, so logits and gradients equal the plain forward's
(tests/rl/test_rl_prefix.py checks both); the gain is the prompt work saved, (G-1)/G of it.
"""

from __future__ import annotations

import torch

__all__ = ["plain_logits", "shared_prefix_logits"]


def _outputs(model, hidden):
    values = model.value(hidden).squeeze(-1) if model.value is not None else None
    return model.head(hidden), values


def plain_logits(model, prompts, prompt_mask, responses, num_samples: int = 1):
    """Logits (B, T, V) predicting each response token, from one forward over the concatenated sequences."""
    toks = prompts.repeat_interleave(num_samples, 0)
    valid = prompt_mask.repeat_interleave(num_samples, 0)
    n, lp = toks.shape
    t = responses.shape[1]
    seq = torch.cat([toks, responses[:, :-1]], 1)
    key_valid = torch.cat([valid, torch.ones(n, t - 1, dtype=torch.bool)], 1)
    positions = (key_valid.long().cumsum(1) - 1).clamp_min(0)
    hidden, _ = model.trunk(seq, positions, model._mask(key_valid, 0, seq.shape[1]))
    return _outputs(model, hidden[:, lp - 1:])


def shared_prefix_logits(model, prompts, prompt_mask, responses, num_samples: int):
    """The same logits as :func:`plain_logits`, with each prompt encoded once for its ``num_samples``
    responses (rows ``p*G .. p*G+G-1`` of ``responses`` answer prompt ``p``)."""
    g = int(num_samples)
    p, lp = prompts.shape
    t = responses.shape[1]
    ppos = (prompt_mask.long().cumsum(1) - 1).clamp_min(0)
    hidden_p, kv = model.trunk(prompts, ppos, model._mask(prompt_mask, 0, lp))
    first = hidden_p[:, -1:].repeat_interleave(g, 0)
    if t == 1:
        return _outputs(model, first)
    past = [(k.repeat_interleave(g, 0), v.repeat_interleave(g, 0)) for k, v in kv]
    valid = prompt_mask.repeat_interleave(g, 0)
    plen = valid.long().sum(1, keepdim=True)
    positions = plen + torch.arange(t - 1)[None, :]
    key_valid = torch.cat([valid, torch.ones(p * g, t - 1, dtype=torch.bool)], 1)
    hidden_r, _ = model.trunk(responses[:, :-1], positions, model._mask(key_valid, lp, t - 1), past=past)
    return _outputs(model, torch.cat([first, hidden_r], 1))
