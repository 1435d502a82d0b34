"""Metrics of the testbed: unbiased pass@k, maj@k, exact entropy and KL, the sampled KL estimators,
degenerate groups.

* ``pass_at_k(n, c, k) = 1 - C(n-c, k) / C(n, k)``: the probability that at least one of k responses
  drawn without replacement from n (c of them correct) is correct; averaged over prompts it is the
  unbiased estimator of pass@k (Chen et al. 2021, arXiv 2107.03374).
* ``maj_at_k``: the probability that the most frequent answer among k of the n responses (ties broken
  by first appearance) is a correct one, averaged over the k-subsets (all of them when there are at most
  ``max_subsets``, else that many drawn at random).
* ``exact_kl(logits_p, logits_q)``: ``sum_v p(v) (log p(v) - log q(v))`` per position, the exact
  KL(pi || pi_ref) of the next-token distributions (the vocabulary is small enough to sum over);
  ``kl_estimates(logp, ref_logp)``: k1 = d, k2 = d^2 / 2, k3 = exp(-d) + d - 1 with d = logp - ref_logp on
  the sampled tokens (Schulman's estimators), whose means estimate the sequence KL per token.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from optkit.core.errors import InvalidParameterError

__all__ = ["pass_at_k", "maj_at_k", "exact_kl", "kl_estimates", "masked_mean", "group_stats"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``c`` are correct (``k <= n``).

    >>> pass_at_k(4, 1, 1), pass_at_k(4, 1, 2), pass_at_k(4, 0, 4), pass_at_k(5, 3, 3)
    (0.25, 0.5, 0.0, 1.0)
    """
    if not (0 <= c <= n) or not (1 <= k <= n):
        raise InvalidParameterError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


_SUBSETS: dict = {}


def _subsets(n: int, k: int, max_subsets: int, rng) -> np.ndarray:
    if math.comb(n, k) <= max_subsets:
        if (n, k) not in _SUBSETS:
            _SUBSETS[(n, k)] = np.array(list(itertools.combinations(range(n), k)), dtype=np.int64).reshape(-1, k)
        return _SUBSETS[(n, k)]
    rng = rng if rng is not None else np.random.default_rng(0)
    return np.argsort(rng.random((max_subsets, n)), axis=1)[:, :k]


def maj_at_k(answers, correct, k: int, *, max_subsets: int = 256, rng=None) -> float:
    """maj@k of one prompt from its ``n`` responses' ``answers`` (hashable, None = no answer) and
    ``correct`` flags: the share of k-subsets whose most frequent answer is a correct one (ties go to the
    answer that appears first among the n; a subset with no answer at all is a miss). All subsets when
    there are at most ``max_subsets``, else that many drawn at random.

    >>> maj_at_k(["1", "1", "2"], [True, True, False], 1)   # one draw: 2 of 3 are right
    0.6666666666666666
    >>> maj_at_k(["1", "2", "2"], [True, False, False], 3)
    0.0
    """
    n = len(answers)
    if len(correct) != n or not 1 <= k <= n:
        raise InvalidParameterError(f"maj_at_k needs len(correct) == len(answers) and 1 <= k <= n; got n={n}, k={k}")
    codes: dict = {}
    code = np.array([-1 if a is None else codes.setdefault(a, len(codes)) for a in answers], dtype=np.int64)
    if not codes:
        return 0.0
    good = np.zeros(len(codes), dtype=bool)
    for c, ok in zip(code, correct):
        if c >= 0 and ok:
            good[c] = True
    if len(codes) == 1 and (code >= 0).all():
        return float(good[0])
    onehot = np.zeros((n, len(codes)), dtype=np.int64)
    onehot[np.flatnonzero(code >= 0), code[code >= 0]] = 1
    votes = onehot[_subsets(n, k, max_subsets, rng)].sum(1)  # (subsets, answers)
    winner = votes.argmax(1)
    return float(np.mean(good[winner] & (votes.max(1) > 0)))


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean of ``x`` over the positions where ``mask`` is 1."""
    return float((x * mask).sum() / mask.sum().clamp_min(1))


def exact_kl(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    """Exact KL(p || q) per position between next-token distributions given by logits (..., V)."""
    lp = torch.log_softmax(logits_p, -1)
    lq = torch.log_softmax(logits_q, -1)
    return (lp.exp() * (lp - lq)).sum(-1)


def kl_estimates(logp: torch.Tensor, ref_logp: torch.Tensor, mask: torch.Tensor) -> dict:
    """Means over response tokens of the k1, k2 and k3 estimators of KL(pi || pi_ref)."""
    d = logp - ref_logp
    return {"kl_k1": masked_mean(d, mask), "kl_k2": masked_mean(0.5 * d * d, mask),
            "kl_k3": masked_mean(torch.exp(-d) + d - 1, mask)}


def group_stats(rewards: np.ndarray, correct: np.ndarray, answers: list, group_size: int, ks=(1, 4, 8)) -> dict:
    """Per-batch group metrics: degenerate-group fractions (all rewards equal; split all-correct /
    all-wrong), pass@k and maj@k for each ``k <= group_size`` averaged over the groups."""
    g = int(group_size)
    r = np.asarray(rewards, dtype=float).reshape(-1, g)
    c = np.asarray(correct, dtype=bool).reshape(-1, g)
    degenerate = np.ptp(r, axis=1) == 0
    out = {"degenerate_frac": float(degenerate.mean()),
           "degenerate_all_correct": float((degenerate & c.all(1)).mean()),
           "degenerate_all_wrong": float((degenerate & ~c.any(1)).mean())}
    for k in ks:
        if k <= g:
            out[f"pass@{k}"] = float(np.mean([pass_at_k(g, int(row.sum()), k) for row in c]))
            out[f"maj@{k}"] = float(np.mean([maj_at_k(answers[i * g:(i + 1) * g], list(c[i]), k) for i in range(len(c))]))
    return out


def decode_rows(task, tokens: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
    """The response token lists of a sampled batch (the padding after the end dropped)."""
    lengths = mask.sum(1).long().tolist()
    rows = tokens.tolist()
    return [row[:n] for row, n in zip(rows, lengths)]


@torch.no_grad()
def evaluate(policy, task, problems, *, temperature: float = 0.0, num_samples: int = 1, top_p: float = 1.0,
             seed: int = 0, ks=(1,), chunk: int = 256) -> dict:
    """Accuracy of ``policy`` on ``problems`` (greedy by default) and, with ``num_samples`` n > 1, the
    unbiased pass@k and maj@k for each ``k <= n`` in ``ks``."""
    from optkit.rl.policies import pad_left

    gen = torch.Generator().manual_seed(int(seed))
    correct, answers = [], []
    for i in range(0, len(problems), chunk):
        part = problems[i:i + chunk]
        prompts, pmask = pad_left([p.prompt for p in part], task.pad_id)
        s = policy.sample(prompts, pmask, num_samples=num_samples, max_new_tokens=task.max_new_tokens,
                          temperature=temperature, top_p=top_p, generator=gen, eos_id=task.eos_id, pad_id=task.pad_id)
        for j, resp in enumerate(decode_rows(task, s.tokens, s.mask)):
            prob = part[j // num_samples]
            correct.append(task.is_correct(prob, resp))
            answers.append(task.answer(resp))
    out = {"accuracy": float(np.mean(correct))}
    if num_samples > 1:
        out.update({k: v for k, v in group_stats(np.asarray(correct, float), np.asarray(correct), answers, num_samples,
                                                 ks).items() if "@" in k})
    return out

