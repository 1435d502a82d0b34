"""COSMOS: a hybrid adaptive optimizer for matrix-shaped parameters (Liu, Zhang, Liang et al.,
arXiv:2502.17410; github.com/lliu606/COSMOS, ``COSMOS.py``).

The problem's parameter vector is flat; ``shapes=`` lists its blocks in order (``(m, n)`` a matrix
stored row-major, ``(k,)`` a vector), e.g. ``[(64, 32), (32,), (32, 10), (10,)]`` for the MLP of
:func:`optkit.problems.ml.mlp`. Their sizes must add up to the dimension. ``shapes=None`` is one
vector block: COSMOS is then Adam.

For a matrix block with gradient ``G`` (m x n), momentum ``M <- b1 M + (1 - b1) G``, rank
``r = min(rank, m)`` and step ``t`` from 1 (bias corrections ``c_i = 1 - b_i^t``):

* **the leading eigensubspace** ``P`` (m x r, orthonormal), tracked as in the official code: at
  ``t = 1`` the top ``r`` eigenvectors of ``G G^T`` and ``S = (1 - b3) P^T G G^T P``; after,
  ``P' = qr(b3 P S + (1 - b3) G G^T P)``, ``S <- b3 (P^T P')^T S (P^T P') + (1 - b3) (G^T P')^T (G^T P')``;
* **SOAP-like (Adam in that basis)**: ``V <- b2 V + (1 - b2) (P^T G)^2`` (r x n) and
  ``A = (lr / c1) P [(P^T M) / (sqrt(V / c2) + eps)]``;
* **Muon-like on the rest**: ``N = NS5(M - P P^T M)``, the quintic Newton-Schulz orthogonalization
  (5 iterations, coefficients 3.4445, -4.7750, 2.0315), normalized to unit Frobenius norm;
* **the step**: ``D = A + s N`` with ``s = sqrt(m n) lr_ratio lr``, then
  ``W <- W - s D / (||D||_F + eps)`` (a step of Frobenius norm ``s``).

Vector blocks take Adam's step (``lr``, ``b1``, ``b2``, ``eps``). ``weight_decay`` adds the decoupled
``- lr weight_decay w`` to every block (the official code accepts a weight decay but does not apply
it; the default 0 matches it). Defaults are the official ``COSMOS_for_llama``'s: ``lr = 1e-3``,
betas ``(0.9, 0.96, 0.96)``, ``eps = 1e-8``, ``lr_ratio = 0.1``, ``rank = 64``. We compute in float64
(the official Newton-Schulz runs in bfloat16).
"""

from __future__ import annotations

import numpy as np

from optkit.core import transforms as tx
from optkit.core.errors import InvalidParameterError
from optkit.core.gradient import COMMON_CONSTRAINTS, POSITIVE, UNIT, GradientOptimizer
from optkit.core.params import Interval, Predicate
from optkit.core.registry import register

NS_COEFFS = (3.4445, -4.7750, 2.0315)


def _is_shapes(v) -> bool:
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(
        isinstance(s, (list, tuple)) and len(s) in (1, 2)
        and all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1 for k in s) for s in v)


SHAPES = Predicate(_is_shapes, "a non-empty list of block shapes, each (k,) or (m, n) with positive ints")


def newton_schulz5(G: np.ndarray, steps: int = 5, eps: float = 1e-7) -> np.ndarray:
    """Muon's quintic Newton-Schulz iteration towards the orthogonal factor ``U V^T`` of ``G = U S V^T``."""
    a, b, c = NS_COEFFS
    X = G / (np.linalg.norm(G) + eps)
    tall = G.shape[0] > G.shape[1]
    if tall:
        X = X.T
    for _ in range(steps):
        A = X @ X.T
        B = A @ X
        X = a * X + b * B + c * A @ B
    return X.T if tall else X


def _blocks(shapes) -> list[tuple[int, int, tuple]]:
    out, i = [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append((i, i + n, tuple(int(k) for k in s)))
        i += n
    return out


def scale_by_cosmos(shapes, lr, b1, b2, b3, eps, lr_ratio, rank, weight_decay) -> tx.Transform:
    blocks = _blocks(shapes)

    def init(w):
        state = {"m": np.zeros_like(w), "count": 0}
        for j, (_, _, s) in enumerate(blocks):
            if len(s) == 2:
                r = min(rank, s[0])
                state[f"P{j}"] = np.zeros((s[0], r))
                state[f"S{j}"] = np.zeros((r, r))
                state[f"V{j}"] = np.zeros((r, s[1]))
            else:
                state[f"V{j}"] = np.zeros(s)
        return state

    def update(g, state, ctx):
        t = state["count"] + 1
        c1, c2 = 1 - b1**t, 1 - b2**t
        m = b1 * state["m"] + (1 - b1) * g
        new = {"m": m, "count": t}
        u = np.empty_like(g)
        for j, (lo, hi, s) in enumerate(blocks):
            if len(s) == 1:
                v = b2 * state[f"V{j}"] + (1 - b2) * g[lo:hi] ** 2
                u[lo:hi] = -(lr / c1) * m[lo:hi] / (np.sqrt(v / c2) + eps)
                new[f"V{j}"] = v
                continue
            G, M = g[lo:hi].reshape(s), m[lo:hi].reshape(s)
            P, S = state[f"P{j}"], state[f"S{j}"]
            r = P.shape[1]
            if t == 1:
                W = G @ G.T
                evals, evecs = np.linalg.eigh(W)
                P = evecs[:, ::-1][:, :r]
                S = (1 - b3) * (P.T @ W @ P)
            else:
                Pn, _ = np.linalg.qr(b3 * P @ S + (1 - b3) * G @ (G.T @ P))
                R = P.T @ Pn
                GP = G.T @ Pn
                S = b3 * R.T @ S @ R + (1 - b3) * GP.T @ GP
                P = Pn
            V = b2 * state[f"V{j}"] + (1 - b2) * (P.T @ G) ** 2
            PM = P.T @ M
            A = (lr / c1) * P @ (PM / (np.sqrt(V / c2) + eps))
            N = newton_schulz5(M - P @ PM)
            N = N / (np.linalg.norm(N) + eps)
            scale = np.sqrt(s[0] * s[1]) * lr_ratio * lr
            D = A + scale * N
            u[lo:hi] = (-scale * D / (np.linalg.norm(D) + eps)).ravel()
            new[f"P{j}"], new[f"S{j}"], new[f"V{j}"] = P, S, V
        if weight_decay:
            u -= lr * weight_decay * ctx.w
        return u, new

    return tx.Transform(init, update)


@register("cosmos", family="first_order")
class COSMOS(GradientOptimizer):
    """COSMOS: SOAP on the leading eigensubspace of each matrix block, Muon on the rest, Adam on vectors."""

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "lr": [POSITIVE],
        "b1": [UNIT],
        "b2": [UNIT],
        "b3": [UNIT],
        "eps": [Interval(float, 0, None)],
        "lr_ratio": [POSITIVE],
        "rank": [Interval(int, 1, None)],
        "weight_decay": [Interval(float, 0, None)],
        "shapes": [SHAPES, None],
    }

    def __init__(self, space, *, shapes=None, lr: float = 1e-3, b1: float = 0.9, b2: float = 0.96, b3: float = 0.96,
                 eps: float = 1e-8, lr_ratio: float = 0.1, rank: int = 64, weight_decay: float = 0.0,
                 batch_size: int | None = 32, sampling: str = "shuffle", seed=None):
        super().__init__(space, shapes=shapes, lr=lr, b1=b1, b2=b2, b3=b3, eps=eps, lr_ratio=lr_ratio, rank=rank,
                         weight_decay=weight_decay, batch_size=batch_size, sampling=sampling, seed=seed)

    def _build(self) -> tx.Transform:
        shapes = [(self.dim,)] if self.shapes is None else [tuple(int(k) for k in s) for s in self.shapes]
        total = sum(int(np.prod(s)) for s in shapes)
        if total != self.dim:
            raise InvalidParameterError(
                f"COSMOS: the blocks of 'shapes' hold {total} parameters but the space has dimension {self.dim}; "
                f"expected shapes whose sizes add up to {self.dim}; got {shapes}")
        return scale_by_cosmos(shapes, self.lr, self.b1, self.b2, self.b3, self.eps, self.lr_ratio, self.rank,
                               self.weight_decay)
