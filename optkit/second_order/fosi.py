"""FOSI: hybrid first- and second-order optimization (Sivan, Gabel & Schuster, ICLR 2024;
arXiv:2302.08484), the meta-algorithm of the paper and its official code (github.com/hsivan/fosi).

Every ``refresh`` steps (the first after ``warmup``), the extreme spectrum estimation (ESE): Lanczos
with ``m = max(4 (k + s), 2 ln d)`` (at most ``d``) Hessian-vector products on the current minibatch,
from a random start, gives the ``k`` largest and ``s = n_smallest`` smallest Ritz pairs ``(lambda_i, v_i)``; ``V``
holds the ``v_i`` as rows. Each step, with ``g`` the minibatch gradient::

    g1 = V^T V g,  g2 = g - g1                          (split onto the subspace and its complement)
    q  <- momentum(g1, q)                               (Adam base: b1 q + (1-b1) g1; SGD: g1 + mu q)
    newton = V^T diag(1/|lambda_i|) V q                 (Newton step inside span(V))
    delta  = base(g2);  delta <- delta - V^T V delta    (the base optimizer's increment, kept off span(V))
    w <- w + c delta - alpha newton

with ``c = clip(lambda_max / lambda_k, 1, scale_clip)``: the base optimizer sees the complement,
whose largest curvature is about ``lambda_k``, so a base learning rate tuned for ``lambda_max`` may
grow by that ratio (``scale_clip`` 1 for Adam, 3 for SGD by default, as the official code). Before the
first ESE ``V`` is empty and FOSI is its base optimizer. The base is ``"adam"`` (Adam, ``lr``, ``b1``,
``b2``, ``eps``) or ``"sgd"`` (SGD with heavy-ball ``momentum``); defaults follow the official code:
``k = 5``, ``n_smallest = 0`` (the paper's ``l``), ``alpha = 0.1``, ``refresh = warmup = 100``.

A refresh step costs ``b (1 + m)`` oracle calls, the others ``b``.
"""

from __future__ import annotations

import math

import numpy as np

from optkit.core import transforms as tx
from optkit.core.gradient import COMMON_CONSTRAINTS, POSITIVE, UNIT
from optkit.core.params import Interval, Options
from optkit.core.registry import register
from optkit.core.stochastic import HVP_METHODS
from optkit.second_order._base import SecondOrderOptimizer, lanczos

HVP_METHODS.setdefault("fosi", "(always: its Lanczos eigen-estimation multiplies by the Hessian)")


def lanczos_order(k: int, s: int, d: int) -> int:
    """The number of Lanczos steps of one ESE: ``max(4 (k + s), 2 ln d)``, at most ``d``."""
    return min(d, max(4 * (k + s), int(2 * math.log(max(d, 1)))))


def extreme_eigenpairs(hvp, v0: np.ndarray, k: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Ritz values (ascending: the ``s`` smallest, then the ``k`` largest) and vectors (rows)."""
    Q, T = lanczos(hvp, v0, lanczos_order(k, s, v0.size))
    evals, evecs = np.linalg.eigh(T)
    n = evals.size
    top = list(range(max(n - k, 0), n))
    bottom = [i for i in range(min(s, n)) if i not in top]
    sel = bottom + top
    return evals[sel], (Q.T @ evecs[:, sel]).T


def scale_by_fosi(base: tx.Transform, momentum, k: int, s: int, alpha: float, refresh: int, warmup: int,
                  scale_clip: float) -> tx.Transform:
    def init(w):
        return {"base": base.init(w), "q": np.zeros_like(w), "V": np.zeros((0, w.size)), "lr": np.zeros(0),
                "scale": 1.0, "count": 0}

    def update(g, state, ctx):
        t = state["count"] + 1
        V, lrs, c = state["V"], state["lr"], state["scale"]
        if t >= warmup and (t - warmup) % refresh == 0:
            evals, V = extreme_eigenpairs(ctx.hvp, ctx.rng.standard_normal(g.size), k, s)
            lrs = 1.0 / np.maximum(np.abs(evals), 1e-12)
            c = float(np.clip(lrs[min(s, lrs.size - 1)] / lrs[-1], 1.0, scale_clip))
        g1 = V.T @ (V @ g)
        q = momentum(g1, state["q"])
        newton = V.T @ (lrs * (V @ q))
        delta, base_state = base.update(g - g1, state["base"], ctx)
        delta = delta - V.T @ (V @ delta)
        u = c * delta - alpha * newton
        return u, {"base": base_state, "q": q, "V": V, "lr": lrs, "scale": c, "count": t}

    return tx.Transform(init, update)


@register("fosi", family="second_order")
class FOSI(SecondOrderOptimizer):
    """FOSI around Adam or SGD: Newton on the extreme Hessian eigenspace, the base optimizer elsewhere."""

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "base": [Options(("adam", "sgd"))],
        "lr": [POSITIVE],
        "b1": [UNIT],
        "b2": [UNIT],
        "eps": [Interval(float, 0, None)],
        "momentum": [UNIT],
        "k": [Interval(int, 1, None)],
        "n_smallest": [Interval(int, 0, None)],
        "alpha": [POSITIVE],
        "refresh": [Interval(int, 1, None)],
        "warmup": [Interval(int, 1, None), None],
        "scale_clip": [Interval(float, 1, None), None],
    }

    def __init__(self, space, *, base: str = "adam", lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-8, momentum: float = 0.9, k: int = 5, n_smallest: int = 0, alpha: float = 0.1,
                 refresh: int = 100, warmup: int | None = None, scale_clip: float | None = None,
                 batch_size: int | None = 32, sampling: str = "shuffle", seed=None):
        super().__init__(space, base=base, lr=lr, b1=b1, b2=b2, eps=eps, momentum=momentum, k=k, n_smallest=n_smallest, alpha=alpha,
                         refresh=refresh, warmup=warmup, scale_clip=scale_clip, batch_size=batch_size,
                         sampling=sampling, seed=seed)

    @property
    def needs_hvp(self) -> bool:
        return True

    @property
    def _warmup(self) -> int:
        return self.refresh if self.warmup is None else self.warmup

    def oracle_cost(self, b: int, step: int) -> int:
        t = step + 1
        ese = t >= self._warmup and (t - self._warmup) % self.refresh == 0
        return b * (1 + lanczos_order(self.k, self.n_smallest, self.dim)) if ese else b

    def _build(self) -> tx.Transform:
        if self.base == "adam":
            base = tx.chain(tx.scale_by_adam(self.b1, self.b2, self.eps), tx.scale_by_learning_rate(self.lr))
            b1 = self.b1
            momentum = lambda g1, q: (1 - b1) * g1 + b1 * q  # noqa: E731
            clip = 1.0 if self.scale_clip is None else self.scale_clip
        else:
            base = tx.chain(tx.trace(self.momentum), tx.scale_by_learning_rate(self.lr))
            mu = self.momentum
            momentum = lambda g1, q: g1 + mu * q  # noqa: E731
            clip = 3.0 if self.scale_clip is None else self.scale_clip
        return scale_by_fosi(base, momentum, self.k, self.n_smallest, self.alpha, self.refresh, self._warmup, clip)
