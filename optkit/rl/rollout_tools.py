"""Trainer-side state some presets need, kept out of the trainer's main loop.

* :func:`prompt_ids`: a stable id per prompt (CRC-32 of its text), for per-prompt trackers (SPO, DCPO,
  GRESO, the replay buffer, A*-PO's V*);
* :class:`VStarCache`: A*-PO stage 1, ``V*(x) = beta1 log mean_n exp(r_n / beta1)`` from N samples of the
  frozen reference per prompt, computed once per prompt;
* :class:`Replay`: RePO's replay: stores each sampled response with its behaviour log-probs and reward,
  and builds the off-policy :class:`~optkit.rl.batch.Rollouts` (current log-probs with grad, stored
  behaviour log-probs as ``old_logp``) for prompts that have enough stored responses;
* :func:`build_pairs`: preference pairs from scored groups (chosen = a best response, rejected = a worst
  one, all-equal groups dropped) with labels flipped at ``flip_rate``.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch

from optkit.rl.batch import Rollouts
from optkit.rl.policies import pad_left

__all__ = ["prompt_ids", "VStarCache", "Replay", "build_pairs"]


def prompt_ids(problems) -> list[int]:
    return [zlib.crc32(p.text.encode()) for p in problems]


class VStarCache:
    """A*-PO's optimal-value estimates per prompt, from ``n_samples`` reference responses each."""

    def __init__(self, n_samples: int = 8):
        self.n = int(n_samples)
        self.values: dict[int, float] = {}

    def rows(self, trainer, problems, group_size: int, beta1: float) -> torch.Tensor:
        """(P * G,) V* per row (computing the prompts not seen yet)."""
        from optkit.rl.losses.special import astar_value
        from optkit.rl.metrics import decode_rows

        ids = prompt_ids(problems)
        todo = [(i, p) for i, p in zip(ids, problems) if i not in self.values]
        if todo:
            prompts, pmask = pad_left([p.prompt for _, p in todo], trainer.task.pad_id)
            s = trainer.reference.sample(prompts, pmask, num_samples=self.n, max_new_tokens=trainer.task.max_new_tokens,
                                         temperature=trainer.temperature, top_p=trainer.top_p, generator=trainer.gen,
                                         eos_id=trainer.task.eos_id, pad_id=trainer.task.pad_id)
            trainer.tokens += int(s.mask.sum())
            rows = decode_rows(trainer.task, s.tokens, s.mask)
            rw = torch.tensor([trainer.task.reward(todo[j // self.n][1], resp) for j, resp in enumerate(rows)],
                              dtype=torch.float32).reshape(len(todo), self.n)
            for (pid, _), v in zip(todo, astar_value(rw, beta1).tolist()):
                self.values[pid] = v
        return torch.tensor([self.values[i] for i in ids]).repeat_interleave(group_size)


class Replay:
    """RePO's replay buffer (``optkit.rl.losses.special.ReplayBuffer``) plus the off-policy batch builder."""

    def __init__(self, capacity_per_prompt: int = 64):
        from optkit.rl.losses.special import ReplayBuffer

        self.buffer = ReplayBuffer(capacity_per_prompt)

    def add(self, problems, tokens, mask, old_logp, rewards, group_size: int) -> None:
        for gi, (pid, prob) in enumerate(zip(prompt_ids(problems), problems)):
            items, rws = [], []
            for j in range(gi * group_size, (gi + 1) * group_size):
                n = int(mask[j].sum())
                items.append((prob.prompt, tokens[j, :n].tolist(), old_logp[j, :n].tolist(), float(rewards[j])))
                rws.append(float(rewards[j]))
            self.buffer.add(pid, items, rws)

    def batch(self, trainer, problems, k: int, strategy: str) -> Rollouts | None:
        """Off-policy Rollouts of ``k`` stored responses for each prompt of ``problems`` with at least ``k``
        stored (groups of k), or None."""
        groups = []
        for pid in dict.fromkeys(prompt_ids(problems)):
            if len(self.buffer.data.get(pid, [])) >= k:
                groups.append(self.buffer.sample(pid, k, strategy, trainer.gen))
        if not groups or k < 2:
            return None
        prompts, pmask = pad_left([g[0][0] for g in groups], trainer.task.pad_id)
        items = [it for g in groups for it in g]
        width = max(len(it[1]) for it in items)
        tokens = torch.full((len(items), width), trainer.task.pad_id, dtype=torch.long)
        mask, old = torch.zeros(len(items), width), torch.zeros(len(items), width)
        for j, (_, toks, lps, _) in enumerate(items):
            tokens[j, :len(toks)] = torch.as_tensor(toks)
            mask[j, :len(toks)] = 1.0
            old[j, :len(lps)] = torch.as_tensor(lps)
        rewards = torch.tensor([it[3] for it in items], dtype=torch.float32)
        _, logp, ent, values = trainer._forward(trainer.policy, prompts, pmask, tokens, k)
        return Rollouts(logp=logp, old_logp=old, mask=mask, rewards=rewards,
                        group=torch.arange(len(groups)).repeat_interleave(k), group_size=k, entropy=ent,
                        lengths=mask.sum(1).long(), max_length=trainer.task.max_new_tokens, step=trainer.step_count)


def build_pairs(rewards: np.ndarray, group_size: int, rng: np.random.Generator, flip_rate: float):
    """``(pairs, n_flipped)``: one ``(group, chosen_row, rejected_row)`` per group whose rewards differ."""
    r = np.asarray(rewards, dtype=float).reshape(-1, group_size)
    pairs, flips = [], 0
    for i in range(r.shape[0]):
        if r[i].max() == r[i].min():
            continue
        w = i * group_size + int(rng.choice(np.flatnonzero(r[i] == r[i].max())))
        lo = i * group_size + int(rng.choice(np.flatnonzero(r[i] == r[i].min())))
        if rng.random() < flip_rate:
            w, lo, flips = lo, w, flips + 1
        pairs.append((i, w, lo))
    return pairs, flips
