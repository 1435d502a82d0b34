"""Hypergradients by implicit differentiation (conjugate gradient, Neumann series) and by iterative
differentiation (reverse mode through unrolled lower-level steps), and the outer loop that uses them.

For a lower level strongly convex in ``y``, the implicit function theorem gives::

    grad F(x) = d_x f(x, y*) - (d^2 g/dx dy) v*,      (d^2 g/dy^2) v* = d_y f(x, y*)

(Pedregosa 2016; Lorraine et al. 2020; the ``custom_root`` implicit differentiation of jaxopt and
torchopt). The linear system is solved with Hessian-vector products only:

* ``"cg"``: ``solver_steps`` conjugate-gradient iterations (warm-started from the previous ``v``);
* ``"neumann"``: ``v = eta sum_{k<K} (I - eta H)^k d_y f`` with ``eta = lr_inner``, ``K = solver_steps``
  (converges for ``0 < eta < 2/L``; Lorraine et al. 2020, Ghadimi & Wang 2018);
* ``"unrolled"`` (the reference): run ``inner_steps`` lower steps ``y_{t+1} = y_t - eta d_y g(x, y_t)``
  and differentiate through them in reverse mode by the hand-written recursion::

      a_T = d_y f(x, y_T);  h = d_x f(x, y_T)
      for t = T-1, ..., 0:  h -= eta (d^2 g/dx dy)(x, y_t) a_{t+1};   a_t = a_{t+1} - eta (d^2 g/dy^2)(x, y_t) a_{t+1}

  (Franceschi et al. 2017, reverse-mode hypergradient; ``dy_0/dx = 0``). As ``T`` grows, it converges
  to the implicit hypergradient at a linear rate ``(1 - eta mu)^T``.

``bilevel-implicit`` (:class:`ImplicitBilevel`) is the outer loop: per iteration, ``inner_steps``
(stochastic) gradient steps on the lower level (warm-started), the hypergradient estimate on one
upper and one lower minibatch, and ``x <- proj(x - lr h)``; with ``hypergrad="unrolled"`` the inner
steps are the unrolled ones. Cost per iteration (oracle calls, ``b`` lower and ``b_u`` upper batch):
``T b + b_u + K b + b`` for cg/neumann, ``3 T b + b_u`` for unrolled.
"""

from __future__ import annotations

import numpy as np

from optkit.bilevel._base import COMMON_CONSTRAINTS, POSITIVE, BilevelOptimizer
from optkit.bilevel.problem import NotStronglyConvexError, conjugate_gradient
from optkit.core.errors import InvalidParameterError
from optkit.core.params import BOOL, Interval, Options
from optkit.core.registry import register

HYPERGRADS = ("cg", "neumann", "unrolled")


def implicit_hypergradient(problem, x, y, *, method: str = "cg", steps: int = 20, lr: float | None = None,
                           upper_idx=None, lower_idx=None, v0=None, rtol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """The implicit hypergradient at ``(x, y)`` (``y`` ~ ``y*(x)``) with ``steps`` HVPs; returns ``(h, v)``.

    ``method="cg"`` (``v0`` warm start, stops early at relative residual ``rtol``) or ``"neumann"``
    (``lr`` = the series' step ``eta``, required). Counted oracle calls: ``grad_f`` on ``upper_idx``, at most
    ``steps`` HVPs and one JVP on ``lower_idx``.
    """
    if method not in ("cg", "neumann"):
        raise InvalidParameterError(f"implicit_hypergradient: 'method' must be 'cg' or 'neumann'; got {method!r}")
    gx, gy = problem.grad_f(x, y, upper_idx)

    def H(u):
        return problem.hvp(x, y, u, lower_idx)

    if method == "cg":
        v, _ = conjugate_gradient(H, gy, steps=steps, rtol=rtol, x0=v0, owner="implicit_hypergradient(method='cg')")
    else:
        v = neumann(H, gy, steps=steps, lr=lr)
    return gx - problem.jvp(x, y, v, lower_idx), v


def neumann(matvec, b: np.ndarray, *, steps: int, lr: float | None) -> np.ndarray:
    """``lr sum_{k<steps} (I - lr H)^k b`` (``steps - 1`` products): the truncated Neumann series of ``H^{-1} b``."""
    if lr is None or not lr > 0:
        raise InvalidParameterError(f"neumann: 'lr' (the series' step eta) must be > 0; got {lr!r}")
    p = np.array(b, dtype=np.float64)
    total = p.copy()
    scale = float(np.linalg.norm(b)) or 1.0
    for k in range(1, steps):
        p = p - lr * np.asarray(matvec(p), dtype=np.float64)
        size = float(np.linalg.norm(p))
        if not np.isfinite(size) or size > 1e6 * scale:
            raise NotStronglyConvexError(
                f"neumann: the series diverges (term {k} has norm {size:.3g} vs {scale:.3g} for the first): it needs "
                f"0 < lr < 2/L and a strongly convex lower level (all eigenvalues of d^2 g/dy^2 in (0, 2/lr)); lr={lr!r}"
            )
        total += p
    return lr * total


def unrolled_hypergradient(problem, x, y0, *, steps: int, lr: float, upper_idx=None,
                           lower_idx=None) -> tuple[np.ndarray, np.ndarray]:
    """Reverse-mode differentiation through ``steps`` lower gradient steps of size ``lr`` from ``y0``.

    ``lower_idx`` is one minibatch for all steps, or a list of ``steps`` minibatches (None entries:
    full batch). Returns ``(h, y_T)``. Costs ``steps`` lower gradients, HVPs and JVPs, and one upper gradient.
    """
    batches = lower_idx if isinstance(lower_idx, list) else [lower_idx] * steps
    ys = [np.array(y0, dtype=np.float64)]
    for t in range(steps):
        ys.append(ys[-1] - lr * problem.grad_g(x, ys[-1], batches[t])[1])
    h, a = problem.grad_f(x, ys[-1], upper_idx)
    h = h.copy()
    for t in range(steps - 1, -1, -1):
        h -= lr * problem.jvp(x, ys[t], a, batches[t])
        a = a - lr * problem.hvp(x, ys[t], a, batches[t])
    return h, ys[-1]


@register("bilevel-implicit", family="bilevel")
class ImplicitBilevel(BilevelOptimizer):
    """Approximate implicit differentiation (AID) / iterative differentiation (ITD) gradient descent on ``x``.

    Parameters
    ----------
    hypergrad : {"cg", "neumann", "unrolled"}
        How the hypergradient is estimated (see the module docstring).
    lr : float
        Outer step size on ``x``.
    lr_inner : float
        Lower-level gradient step (also the Neumann series' ``eta``); must be below ``2/L_g``.
    inner_steps : int
        Lower-level steps per outer iteration (``T``; warm-started from the previous ``y``).
    solver_steps : int
        CG iterations or Neumann terms (``K``); unused by ``"unrolled"``.
    warm_start : bool
        Start CG from the previous solution ``v`` (and, for all, the lower loop from the previous ``y``;
        without it the lower loop restarts from ``problem.y0`` every iteration).
    batch_size, upper_batch_size : int or None
        Lower and upper minibatch sizes (None: full batches, the deterministic method).
    """

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "hypergrad": [Options(HYPERGRADS)],
        "lr": [POSITIVE],
        "lr_inner": [POSITIVE],
        "inner_steps": [Interval(int, 1, None)],
        "solver_steps": [Interval(int, 1, None)],
        "warm_start": [BOOL],
    }

    def __init__(self, space, *, hypergrad: str = "cg", lr: float = 0.1, lr_inner: float = 0.1, inner_steps: int = 10,
                 solver_steps: int = 10, warm_start: bool = True, batch_size: int | None = None,
                 upper_batch_size: int | None = None, sampling: str = "shuffle", seed=None):
        super().__init__(space, hypergrad=hypergrad, lr=lr, lr_inner=lr_inner, inner_steps=inner_steps,
                         solver_steps=solver_steps, warm_start=warm_start, batch_size=batch_size,
                         upper_batch_size=upper_batch_size, sampling=sampling, seed=seed)
        self._v: np.ndarray | None = None

    def _check_problem(self, problem, owner: str) -> None:
        problem.require_second_order(owner)
        problem.require_strongly_convex(owner)

    def step_cost(self, problem) -> int:
        b, bu = self._b("lower", problem), self._b("upper", problem)
        if self.hypergrad == "unrolled":
            return 3 * self.inner_steps * b + bu
        return self.inner_steps * b + bu + self.solver_steps * b + b

    def _init_run(self, problem) -> None:
        self._y0 = problem.y0
        self._v = np.zeros(problem.dim_lower)

    def _step(self, problem, executor=None):
        x = self._x
        y = self._y if self.warm_start else self._y0.copy()
        if self.hypergrad == "unrolled":
            batches = [self._batch("lower", problem) for _ in range(self.inner_steps)]
            h, y = unrolled_hypergradient(problem, x, y, steps=self.inner_steps, lr=self.lr_inner,
                                          upper_idx=self._batch("upper", problem), lower_idx=batches)
        else:
            for _ in range(self.inner_steps):
                y = y - self.lr_inner * problem.grad_g(x, y, self._batch("lower", problem))[1]
            h, v = implicit_hypergradient(problem, x, y, method=self.hypergrad, steps=self.solver_steps, lr=self.lr_inner,
                                          upper_idx=self._batch("upper", problem), lower_idx=self._batch("lower", problem),
                                          v0=self._v if self.warm_start else None)
            self._v = v
        self._y = y
        self._x = self._project(x - self.lr * h)
        return h

    def _method_state(self) -> dict:
        return {"v": self._v.copy(), "y0": self._y0.copy()}

    def _load_method_state(self, state: dict) -> None:
        self._v = np.asarray(state["v"], dtype=np.float64)
        self._y0 = np.asarray(state["y0"], dtype=np.float64)
