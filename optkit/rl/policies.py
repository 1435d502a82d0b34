"""Policies of the testbed: a tabular softmax policy (bandits) and a tiny decoder-only transformer.

Both answer the same three calls, which is all the trainer uses:

* ``sample(prompts, prompt_mask, num_samples=G, max_new_tokens=T, ...)`` -> :class:`Samples`: G responses
  per prompt (rows ``p*G .. p*G+G-1`` belong to prompt ``p``), right-padded after EOS;
* ``response_logits(prompts, prompt_mask, responses, num_samples=G)`` -> ``(logits (B, T, V), values)``,
  the next-token logits at each response position (with grad), ``values`` the value head's output or None;
* ``vocab_size``.

Prompts are left-padded ``(P, L)`` token tensors with a boolean mask (``pad_left`` builds them), so the
last prompt token is always in the last column; position ids skip the padding, so a prompt's outputs do
not depend on how much padding its batch needed.

:class:`TinyGPT` keeps a key/value cache while sampling (each new token costs one position instead of a
forward over the whole sequence); ``use_cache=False`` gives the plain loop, token for token the same draws.
Temperature scales the logits; ``top_p < 1`` samples from the smallest set of tokens whose probability
reaches ``top_p`` (nucleus sampling). Draws use one uniform number per row and step from ``generator``,
so a seed fixes the tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from optkit.core.errors import InvalidParameterError

__all__ = ["Samples", "TabularPolicy", "TinyGPT", "pad_left", "pick_tokens", "token_stats"]


@dataclass
class Samples:
    """Sampled responses: ``tokens`` (B, T) long (padding after the end), ``mask`` (B, T) float (1.0 on
    response tokens, EOS included), ``logp`` (B, T) their log-probabilities under the sampling
    distribution (temperature applied, top-p not), ``logits`` (B, T, V) when asked."""

    tokens: torch.Tensor
    mask: torch.Tensor
    logp: torch.Tensor
    logits: torch.Tensor | None = None


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidParameterError(f"{name} must be an int >= {low}; got {value!r}")
    return value


def pad_left(seqs, pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pad token lists into ``(tokens (N, L) long, mask (N, L) bool)``."""
    seqs = [list(s) for s in seqs]
    if not seqs or any(len(s) == 0 for s in seqs):
        raise InvalidParameterError("pad_left: expected a non-empty list of non-empty token sequences")
    width = max(len(s) for s in seqs)
    tokens = torch.full((len(seqs), width), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.bool)
    for i, s in enumerate(seqs):
        tokens[i, width - len(s):] = torch.as_tensor(s, dtype=torch.long)
        mask[i, width - len(s):] = True
    return tokens, mask


def pick_tokens(logits: torch.Tensor, u: torch.Tensor, temperature: float, top_p: float) -> torch.Tensor:
    """Draw one token per row of ``logits`` (N, V) from uniforms ``u`` (N,) (inverse CDF over the
    tokens sorted by probability); ``temperature == 0`` is greedy."""
    if temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    sorted_p, order = probs.sort(dim=-1, descending=True)
    if top_p < 1.0:
        before = sorted_p.cumsum(-1) - sorted_p  # mass of the tokens ranked above each token
        sorted_p = torch.where(before < top_p, sorted_p, torch.zeros_like(sorted_p))
    cdf = sorted_p.cumsum(-1)
    target = u.to(cdf.dtype) * cdf[:, -1]
    idx = torch.searchsorted(cdf, target[:, None], right=True).clamp_max(cdf.shape[1] - 1)
    return order.gather(1, idx).squeeze(1)


def token_stats(logits: torch.Tensor, tokens: torch.Tensor, temperature: float = 1.0):
    """``(logp of tokens, exact entropy)`` per position, both (B, T), from next-token ``logits`` (B, T, V)."""
    if temperature != 1.0 and temperature > 0:
        logits = logits / temperature
    logq = torch.log_softmax(logits, dim=-1)
    logp = logq.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    entropy = -(logq.exp() * logq).sum(-1)
    return logp, entropy


def _check_sampling(temperature, top_p, max_new_tokens, num_samples):
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0):
        raise InvalidParameterError(f"temperature must be a finite float >= 0; got {temperature!r}")
    if not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
        raise InvalidParameterError(f"top_p must be a float in (0, 1]; got {top_p!r}")
    _check_int("max_new_tokens", max_new_tokens, 1)
    _check_int("num_samples", num_samples, 1)


class TabularPolicy(nn.Module):
    """A softmax over ``n_actions`` for each of ``n_contexts`` contexts: ``pi(a | c) = softmax(theta[c])_a``.

    Prompts are ``(P, 1)`` context ids, responses one action token. ``init_logits`` (n_contexts, n_actions)
    sets the starting table (zeros: the uniform policy); ``value_head`` adds a value per context (PPO).
    """

    def __init__(self, n_contexts: int, n_actions: int, *, init_logits=None, value_head: bool = False):
        super().__init__()
        self.n_contexts = _check_int("n_contexts", n_contexts, 1)
        self.vocab_size = _check_int("n_actions", n_actions, 2)
        table = torch.zeros(n_contexts, n_actions)
        if init_logits is not None:
            init = torch.as_tensor(init_logits, dtype=torch.float32)
            if init.shape != table.shape or not torch.isfinite(init).all():
                raise InvalidParameterError(f"init_logits must be finite with shape {tuple(table.shape)}; got "
                                            f"shape {tuple(init.shape)}")
            table = init.clone()
        self.logits_table = nn.Parameter(table)
        self.has_value_head = bool(value_head)
        self.value_table = nn.Parameter(torch.zeros(n_contexts)) if value_head else None

    def config(self) -> dict:
        return {"kind": "tabular", "n_contexts": self.n_contexts, "n_actions": self.vocab_size,
                "value_head": self.has_value_head}

    def _contexts(self, prompts: torch.Tensor) -> torch.Tensor:
        ctx = prompts[:, -1]
        if ctx.min() < 0 or ctx.max() >= self.n_contexts:
            raise InvalidParameterError(f"prompts must be context ids in [0, {self.n_contexts}); got values in "
                                        f"[{int(ctx.min())}, {int(ctx.max())}]")
        return ctx

    def probs(self) -> torch.Tensor:
        """The (n_contexts, n_actions) table of action probabilities."""
        return torch.softmax(self.logits_table, dim=-1)

    @torch.no_grad()
    def sample(self, prompts, prompt_mask=None, *, num_samples: int = 1, max_new_tokens: int = 1,
               temperature: float = 1.0, top_p: float = 1.0, generator=None, eos_id=None, pad_id: int = 0,
               use_cache: bool = True, return_logits: bool = False) -> Samples:
        _check_sampling(temperature, top_p, max_new_tokens, num_samples)
        ctx = self._contexts(prompts).repeat_interleave(num_samples)
        logits = self.logits_table[ctx]
        u = torch.rand(len(ctx), generator=generator)
        a = pick_tokens(logits, u, temperature, top_p)
        t = temperature if temperature > 0 else 1.0
        logp = torch.log_softmax(logits / t, -1).gather(1, a[:, None])
        return Samples(a[:, None], torch.ones(len(a), 1), logp, logits[:, None] if return_logits else None)

    def response_logits(self, prompts, prompt_mask, responses, *, num_samples: int = 1, shared_prefix: bool = True):
        ctx = self._contexts(prompts).repeat_interleave(num_samples)
        if responses.shape != (len(ctx), 1):
            raise InvalidParameterError(f"responses must have shape ({len(ctx)}, 1); got {tuple(responses.shape)}")
        values = self.value_table[ctx][:, None] if self.value_table is not None else None
        return self.logits_table[ctx][:, None, :], values


class _Block(nn.Module):
    def __init__(self, d: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))


class TinyGPT(nn.Module):
    """A decoder-only transformer: learned token and position embeddings, ``n_layers`` pre-LayerNorm blocks
    (causal multi-head attention, GELU MLP of width 4d), a final LayerNorm and a linear head to the
    vocabulary; optionally a scalar value head on the same trunk (PPO with GAE).

    Sizes for the testbed: 2-4 layers, ``d_model`` 64-128, vocabulary 16-64 (50k-600k parameters).
    ``seed`` fixes the initial weights. ``attention`` ("sdpa", default, or "math") picks the attention
    kernel; "math" is slower but twice differentiable (the trainer switches to it for TRPO).
    """

    def __init__(self, vocab_size: int, *, d_model: int = 64, n_layers: int = 2, n_heads: int = 4, max_len: int = 64,
                 value_head: bool = False, seed: int = 0):
        super().__init__()
        self.vocab_size = _check_int("vocab_size", vocab_size, 2)
        _check_int("d_model", d_model, 4)
        _check_int("n_layers", n_layers, 1)
        _check_int("n_heads", n_heads, 1)
        _check_int("max_len", max_len, 2)
        if d_model % n_heads:
            raise InvalidParameterError(f"d_model must be divisible by n_heads; got d_model={d_model}, n_heads={n_heads}")
        self.d_model, self.n_layers, self.n_heads, self.max_len = d_model, n_layers, n_heads, max_len
        self.has_value_head = bool(value_head)
        self.attention = "sdpa"  # or "math" (double backward works; torch's CPU SDPA kernel has none)
        g = torch.Generator().manual_seed(int(seed))
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList(_Block(d_model, n_heads) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        self.value = nn.Linear(d_model, 1) if value_head else None
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.dim() >= 2:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.02)
                    if name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                        p.mul_(1 / math.sqrt(2 * n_layers))
                elif "ln" not in name:
                    p.zero_()

    def config(self) -> dict:
        return {"kind": "tinygpt", "vocab_size": self.vocab_size, "d_model": self.d_model, "n_layers": self.n_layers,
                "n_heads": self.n_heads, "max_len": self.max_len, "value_head": self.has_value_head}

    # ------------------------------------------------------------------ the trunk
    def trunk(self, tokens, positions, attn_mask, *, past=None, cache=None, start: int = 0):
        """Hidden states (N, L, d) of ``tokens`` (N, L) at ``positions`` (N, L); ``attn_mask`` (N, 1, L, K)
        bool over the K = past + L keys. ``past``: per layer (k, v) of earlier positions (with grad; the
        shared-prefix forward); ``cache``: per layer preallocated (k, v) buffers written at ``start``.
        Returns ``(hidden, kv)`` with kv the per-layer keys/values over all K positions."""
        if int(positions.max()) >= self.max_len:
            raise InvalidParameterError(f"sequence too long for max_len={self.max_len}: position {int(positions.max())}")
        n, length = tokens.shape
        h, dh = self.n_heads, self.d_model // self.n_heads
        x = self.tok(tokens) + self.pos(positions)
        kv = []
        for i, blk in enumerate(self.blocks):
            q, k, v = blk.qkv(blk.ln1(x)).view(n, length, 3, h, dh).permute(2, 0, 3, 1, 4)
            if cache is not None:
                ck, cv = cache[i]
                ck[:, :, start:start + length] = k
                cv[:, :, start:start + length] = v
                k, v = ck[:, :, :start + length], cv[:, :, :start + length]
            elif past is not None:
                k, v = torch.cat([past[i][0], k], 2), torch.cat([past[i][1], v], 2)
            kv.append((k, v))
            if self.attention == "sdpa":
                a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
            else:  # plain matmul-softmax attention: twice differentiable (TRPO's Fisher-vector products)
                scores = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
                a = torch.softmax(scores.masked_fill(~attn_mask, float("-inf")), -1) @ v
            x = x + blk.proj(a.transpose(1, 2).reshape(n, length, self.d_model))
            x = x + blk.mlp(blk.ln2(x))
        return self.ln_f(x), kv

    @staticmethod
    def _mask(key_valid: torch.Tensor, start: int, length: int) -> torch.Tensor:
        """(N, 1, L, K) bool: query ``start + i`` sees valid keys ``j <= start + i`` (and always itself)."""
        k = key_valid.shape[1]
        kpos = torch.arange(k)
        qpos = torch.arange(start, start + length)
        causal = kpos[None, :] <= qpos[:, None]
        mask = causal[None] & key_valid[:, None, :]
        mask = mask | (kpos[None, :] == qpos[:, None])[None]
        return mask[:, None]

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None):
        """Logits (N, L, V) (and values (N, L) or None) for left-padded ``tokens`` with validity ``mask``."""
        if mask is None:
            mask = torch.ones_like(tokens, dtype=torch.bool)
        positions = (mask.long().cumsum(1) - 1).clamp_min(0)
        hidden, _ = self.trunk(tokens, positions, self._mask(mask, 0, tokens.shape[1]))
        values = self.value(hidden).squeeze(-1) if self.value is not None else None
        return self.head(hidden), values

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(self, prompts, prompt_mask=None, *, num_samples: int = 1, max_new_tokens: int = 8,
               temperature: float = 1.0, top_p: float = 1.0, generator=None, eos_id=None, pad_id: int = 0,
               use_cache: bool = True, return_logits: bool = False) -> Samples:
        _check_sampling(temperature, top_p, max_new_tokens, num_samples)
        if prompt_mask is None:
            prompt_mask = torch.ones_like(prompts, dtype=torch.bool)
        toks = prompts.repeat_interleave(num_samples, 0)
        valid = prompt_mask.repeat_interleave(num_samples, 0)
        n, lp = toks.shape
        width = lp + max_new_tokens
        key_valid = torch.cat([valid, torch.ones(n, max_new_tokens, dtype=torch.bool)], 1)
        pos_all = (key_valid.long().cumsum(1) - 1).clamp_min(0)
        seq = torch.cat([toks, torch.full((n, max_new_tokens), int(pad_id), dtype=torch.long)], 1)
        out = torch.full((n, max_new_tokens), int(pad_id), dtype=torch.long)
        logps = torch.zeros(n, max_new_tokens)
        alive = torch.ones(n, dtype=torch.bool)
        out_mask = torch.zeros(n, max_new_tokens)
        all_logits = [] if return_logits else None
        t_scale = temperature if temperature > 0 else 1.0
        cache = None
        if use_cache:
            h, dh = self.n_heads, self.d_model // self.n_heads
            cache = [(torch.zeros(n, h, width, dh), torch.zeros(n, h, width, dh)) for _ in self.blocks]
            hidden, _ = self.trunk(toks, pos_all[:, :lp], self._mask(key_valid[:, :lp], 0, lp), cache=cache, start=0)
            last = hidden[:, -1]
        for t in range(max_new_tokens):
            cur = lp + t
            if not use_cache:
                hidden, _ = self.trunk(seq[:, :cur], pos_all[:, :cur], self._mask(key_valid[:, :cur], 0, cur))
                last = hidden[:, -1]
            logits = self.head(last)
            u = torch.rand(n, generator=generator)
            nxt = pick_tokens(logits, u, temperature, top_p)
            lp_t = torch.log_softmax(logits / t_scale, -1).gather(1, nxt[:, None]).squeeze(1)
            nxt = torch.where(alive, nxt, torch.full_like(nxt, int(pad_id)))
            out[:, t] = nxt
            logps[:, t] = torch.where(alive, lp_t, torch.zeros_like(lp_t))
            out_mask[:, t] = alive.float()
            if return_logits:
                all_logits.append(logits)
            seq[:, cur] = nxt
            if eos_id is not None:
                alive = alive & (nxt != eos_id)
            if not bool(alive.any()) or t == max_new_tokens - 1:
                break
            if use_cache:
                hidden, _ = self.trunk(nxt[:, None], pos_all[:, cur:cur + 1], self._mask(key_valid[:, :cur + 1], cur, 1),
                                       cache=cache, start=cur)
                last = hidden[:, -1]
        used = int(out_mask.sum(0).nonzero().max()) + 1
        logits_t = torch.stack(all_logits, 1)[:, :used] if return_logits else None
        return Samples(out[:, :used], out_mask[:, :used], logps[:, :used], logits_t)

    # ------------------------------------------------------------------ training forward
    def response_logits(self, prompts, prompt_mask, responses, *, num_samples: int = 1, shared_prefix: bool = True):
        """Next-token logits (B, T, V) at each response position (and values (B, T) or None), with grad.

        ``shared_prefix=True`` encodes each prompt once and reuses its keys/values for its G responses
        (:func:`optkit.rl.prefix.shared_prefix_logits`); ``False`` runs the plain forward on the B
        concatenated sequences. Both give the same outputs and gradients.
        """
        from optkit.rl.prefix import plain_logits, shared_prefix_logits

        if prompt_mask is None:
            prompt_mask = torch.ones_like(prompts, dtype=torch.bool)
        if responses.shape[0] != prompts.shape[0] * num_samples:
            raise InvalidParameterError(f"responses must have {prompts.shape[0]} x {num_samples} rows; got "
                                        f"{responses.shape[0]}")
        fn = shared_prefix_logits if (shared_prefix and num_samples > 1) else plain_logits
        return fn(self, prompts, prompt_mask, responses, num_samples)
