"""Newton-CG (Hessian-free, truncated) and L-BFGS on a :class:`~optkit.StochasticProblem`.

Both run full batch by default (``batch_size=None``), where they are the classical deterministic
methods; with a minibatch every oracle of a step (gradient, Hessian-vector products, line-search
trials) uses the *same* minibatch, so a step is a deterministic step on that minibatch's loss.

**Newton-CG** (Nocedal & Wright, "Numerical Optimization", 2nd ed., algorithm 7.1; scipy's
``method="Newton-CG"``): solve ``H p = -g`` by conjugate gradients on Hessian-vector products, stopped
when ``||H p + g|| <= min(0.5, sqrt(||g||)) ||g||`` (superlinear local convergence), after ``max_cg``
iterations (default ``20 d``, scipy's), or at a direction of non-positive curvature (then the last iterate, or ``-g`` if that is
the first); then a line search from ``alpha = 1``.

**L-BFGS** (Liu & Nocedal 1989; Nocedal & Wright algorithms 7.4/7.5): ``p = -H_k g`` by the two-loop
recursion over the last ``memory`` pairs ``s = w+ - w``, ``y = g+ - g`` with ``H_0 = (s.y / y.y) I``;
a pair is stored only when ``s.y > 1e-10 ||s|| ||y||`` (curvature condition) and ``s.y > 1e-200``; a
direction that is not a finite descent direction restarts the memory. The first step (no pairs)
starts its line search at ``alpha = min(1, 1/||g||_1)`` (scipy's choice), later ones at 1.

Line search (``line_search=``): ``"strong-wolfe"`` (default; ``c1 = 1e-4``, ``c2 = 0.9``, the usual
quasi-Newton values, ``0 < c1 < c2 < 1``) or ``"armijo"`` (sufficient decrease only, backtracking by halves). When it fails within ``max_linesearch``
trials the step is 0 and L-BFGS forgets its pairs (it restarts from steepest descent).

Budget: a step's worst case is ``b (1 + max_cg + max_linesearch)`` (Newton-CG) or ``b (1 + max_linesearch)``
(L-BFGS) oracle calls, and it is charged what it used; a full-batch step reuses the accepted line-search
trial's gradient, so an L-BFGS iteration usually costs ``n``. A full-batch run steps while its cheapest
step (``3 n`` / ``2 n``) fits in the budget; a step that would pass the budget stops where it is, without
moving. A minibatch run reserves the worst case (its last minibatch shrinks to fit it).

Not ``"lbfgsb"``: that name is scipy's L-BFGS-B as an ask/tell optimizer on a black-box
:class:`~optkit.Problem` (gradients by finite differences, bounds handled by the active set, restarts).
``"lbfgs"`` here is our own L-BFGS on a :class:`~optkit.StochasticProblem` with exact gradients, a
budget in oracle calls and optional minibatches; bounds are only enforced by projecting the iterate.
"""

from __future__ import annotations

import numpy as np

from optkit.core import transforms as tx
from optkit.core.errors import InvalidParameterError
from optkit.core.gradient import COMMON_CONSTRAINTS
from optkit.core.params import Interval, Options
from optkit.core.registry import register
from optkit.core.stochastic import HVP_METHODS
from optkit.second_order._base import LINE_SEARCHES, SecondOrderOptimizer, line_search

HVP_METHODS.setdefault("newton-cg", "(always: its conjugate-gradient solve multiplies by the Hessian)")

_LS = {
    "line_search": [Options(LINE_SEARCHES)],
    "max_linesearch": [Interval(int, 1, None)],
    "c1": [Interval(float, 0, 1, closed="neither")],
    "c2": [Interval(float, 0, 1, closed="neither")],
}


def _check_c(c1, c2, owner) -> None:
    if isinstance(c1, (int, float)) and isinstance(c2, (int, float)) and not c1 < c2:
        raise InvalidParameterError(f"{owner}: the line-search constants need 'c1' < 'c2'; got c1={c1!r}, c2={c2!r}")


def _search(ctx, p, alpha0, kind, c1, c2, max_evals):
    return line_search(lambda a: ctx.evaluate(ctx.w + a * p), ctx.loss, ctx.grad, p, alpha0, kind=kind, c1=c1, c2=c2,
                       max_evals=max_evals)


def cg_direction(hvp, g: np.ndarray, max_iter: int) -> np.ndarray:
    """Truncated CG for ``H p = -g`` (the inner loop of Newton-CG; see the module docstring)."""
    gnorm = float(np.linalg.norm(g))
    tol = min(0.5, np.sqrt(gnorm)) * gnorm
    p = np.zeros_like(g)
    r = g.copy()  # residual H p + g
    d = -r
    rr = float(r @ r)
    for i in range(max_iter):
        if np.sqrt(rr) <= tol:
            break
        Hd = hvp(d)
        curv = float(d @ Hd)
        if curv <= 0:
            return -g if i == 0 else p
        a = rr / curv
        p = p + a * d
        r = r + a * Hd
        rr_new = float(r @ r)
        d = -r + (rr_new / rr) * d
        rr = rr_new
    return p if np.any(p) else -g


def scale_by_newton_cg(max_cg: int, kind: str, c1: float, c2: float, max_ls: int) -> tx.Transform:
    def update(g, state, ctx):
        if not np.any(g):
            return np.zeros_like(g), {"alpha": 0.0}
        p = cg_direction(ctx.hvp, g, max_cg)
        found = _search(ctx, p, 1.0, kind, c1, c2, max_ls)
        if found is None:
            return np.zeros_like(g), {"alpha": 0.0}
        return found[0] * p, {"alpha": float(found[0])}

    return tx.Transform(lambda w: {"alpha": 0.0}, update)


def two_loop(g: np.ndarray, S: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``H_k g`` by the L-BFGS two-loop recursion over pairs ``S[i], Y[i]`` (oldest first)."""
    q = g.copy()
    k = S.shape[0]
    rho = 1.0 / np.einsum("ij,ij->i", S, Y)
    a = np.zeros(k)
    for i in range(k - 1, -1, -1):
        a[i] = rho[i] * (S[i] @ q)
        q -= a[i] * Y[i]
    if k:
        q *= (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1])
    for i in range(k):
        b = rho[i] * (Y[i] @ q)
        q += (a[i] - b) * S[i]
    return q


def scale_by_lbfgs(memory: int, kind: str, c1: float, c2: float, max_ls: int) -> tx.Transform:
    def init(w):
        return {"S": np.zeros((0, w.size)), "Y": np.zeros((0, w.size))}

    def update(g, state, ctx):
        S, Y = state["S"], state["Y"]
        if not np.any(g):
            return np.zeros_like(g), state
        with np.errstate(all="ignore"):
            p = -two_loop(g, S, Y)
        if not np.all(np.isfinite(p)) or not p @ g < 0:  # degenerate pairs: restart from steepest descent
            S, Y, p = S[:0], Y[:0], -g
        alpha0 = 1.0 if S.shape[0] else min(1.0, 1.0 / float(np.sum(np.abs(g))))
        found = _search(ctx, p, alpha0, kind, c1, c2, max_ls)
        if found is None:
            return np.zeros_like(g), init(g)
        a, _, g_new = found
        s, y = a * p, g_new - g
        sy = float(s @ y)
        if sy > 1e-10 * np.linalg.norm(s) * np.linalg.norm(y) and sy > 1e-200:  # curvature condition, no underflow
            S, Y = np.vstack([S, s])[-memory:], np.vstack([Y, y])[-memory:]
        return s, {"S": S, "Y": Y}

    return tx.Transform(init, update)


@register("newton-cg", family="second_order")
class NewtonCG(SecondOrderOptimizer):
    """Hessian-free truncated Newton with a line search (full batch by default)."""

    _parameter_constraints = {**COMMON_CONSTRAINTS, "max_cg": [Interval(int, 1, None), None], **_LS}

    def __init__(self, space, *, max_cg: int | None = None, line_search: str = "strong-wolfe", max_linesearch: int = 20,
                 c1: float = 1e-4, c2: float = 0.9, batch_size: int | None = None, sampling: str = "shuffle",
                 seed=None):
        _check_c(c1, c2, "NewtonCG")
        super().__init__(space, max_cg=max_cg, line_search=line_search, max_linesearch=max_linesearch, c1=c1, c2=c2,
                         batch_size=batch_size, sampling=sampling, seed=seed)

    @property
    def needs_hvp(self) -> bool:
        return True

    @property
    def _max_cg(self) -> int:
        return 20 * self.dim if self.max_cg is None else self.max_cg

    def oracle_cost(self, b: int, step: int) -> int:
        return b * (1 + self._max_cg + self.max_linesearch)

    def min_cost(self, b: int, step: int) -> int:
        return 3 * b  # gradient, one Hessian-vector product, one line-search trial

    def _build(self) -> tx.Transform:
        return scale_by_newton_cg(self._max_cg, self.line_search, self.c1, self.c2, self.max_linesearch)


@register("lbfgs", family="second_order")
class LBFGS(SecondOrderOptimizer):
    """Limited-memory BFGS with a strong-Wolfe or Armijo line search (full batch by default)."""

    _parameter_constraints = {**COMMON_CONSTRAINTS, "memory": [Interval(int, 1, None)], **_LS}

    def __init__(self, space, *, memory: int = 10, line_search: str = "strong-wolfe", max_linesearch: int = 20,
                 c1: float = 1e-4, c2: float = 0.9, batch_size: int | None = None, sampling: str = "shuffle",
                 seed=None):
        _check_c(c1, c2, "LBFGS")
        super().__init__(space, memory=memory, line_search=line_search, max_linesearch=max_linesearch, c1=c1, c2=c2,
                         batch_size=batch_size, sampling=sampling, seed=seed)

    def oracle_cost(self, b: int, step: int) -> int:
        return b * (1 + self.max_linesearch)

    def min_cost(self, b: int, step: int) -> int:
        return 2 * b  # gradient, one line-search trial

    def _build(self) -> tx.Transform:
        return scale_by_lbfgs(self.memory, self.line_search, self.c1, self.c2, self.max_linesearch)
