"""The :class:`BilevelProblem`: an upper objective ``f(x, y)``, a lower objective ``g(x, y)``, and oracles.

The problem is::

    min_x  F(x) = f(x, y*(x))      s.t.  y*(x) = argmin_y g(x, y)        (x in the box ``space``)

Both levels may be finite sums: ``f`` an average over ``n_upper`` examples (validation data), ``g``
over ``n_lower`` examples (training data). Every oracle takes a minibatch ``idx`` (a 1-D int array
of example indices of *its* level, or ``None`` for all of them) and returns the minibatch average:

``f(x, y, idx)``, ``g(x, y, idx)``      values
``grad_f(x, y, idx)``                    ``(d_x f, d_y f)``, shapes ``(dx,)`` and ``(dy,)``
``grad_g(x, y, idx)``                    ``(d_x g, d_y g)``
``hvp(x, y, v, idx)``                    ``d^2 g / dy^2 . v``, shape ``(dy,)`` (Hessian-vector product)
``jvp(x, y, v, idx)``                    ``d^2 g / dx dy . v = d/dx <d_y g(x, y), v>``, shape ``(dx,)``

Second derivatives are only ever applied to vectors: nothing here forms a Hessian or Jacobian matrix.
Oracle calls (the budget of bilevel methods) follow the IFO convention of
:mod:`optkit.core.stochastic`: **one call is one example through one oracle**, so a gradient, HVP or
JVP on ``b`` examples costs ``b``. :attr:`BilevelProblem.calls` is the total and
:attr:`BilevelProblem.counts` the split by oracle kind. The monitoring helpers
(:meth:`~BilevelProblem.upper_objective`, :meth:`~BilevelProblem.lower_argmin`,
:meth:`~BilevelProblem.exact_hypergradient`) are not counted: optimizers never call them.

Implicit differentiation and decentralized methods need ``g(x, .)`` strongly convex in ``y``
(``lower_strongly_convex=True``, the default claim); a problem built with
``lower_strongly_convex=False`` is refused by them with :class:`NotStronglyConvexError`, and the
penalty method (which needs only an error bound) accepts it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from optkit.core.errors import InvalidParameterError, OptkitError
from optkit.core.space import Box

_KINDS = ("f", "grad_f", "g", "grad_g", "hvp", "jvp")


class NotStronglyConvexError(OptkitError, ValueError):
    """A method that needs a strongly convex lower level met one that is not (or declared not to be)."""


class BilevelProblem:
    """A bilevel problem with counted first-order, HVP and JVP oracles (see the module docstring).

    Parameters
    ----------
    upper, lower : callable ``(x, y, idx) -> float``
        ``f`` and ``g``: the average over the examples ``idx`` of their level (None: all of them).
    upper_grad, lower_grad : callable ``(x, y, idx) -> (gx, gy)``
        Their partial gradients.
    x0, y0 : arrays
        Initial upper and lower variables (their lengths are ``dx`` and ``dy``).
    lower_hvp : callable ``(x, y, v, idx) -> (dy,)``, optional
        ``d^2 g / dy^2 v``. Needed by implicit differentiation and the decentralized method.
    lower_jvp : callable ``(x, y, v, idx) -> (dx,)``, optional
        ``d^2 g / dx dy v`` (the gradient in ``x`` of ``<d_y g, v>``).
    n_upper, n_lower : int
        Examples in each level (1 for a deterministic level).
    bounds : Box or sequence of (low, high), optional
        Box of the upper variable ``x`` (default all of R^dx); methods project ``x`` onto it.
    lower_strongly_convex : bool
        Whether ``g(x, .)`` is strongly convex in ``y`` for every ``x`` (see the module docstring).
    lower_solution : callable ``x -> y*(x)``, optional
        A closed form of the lower solution (used by the uncounted monitoring helpers; default: a
        Newton-CG solve with the HVP, or L-BFGS without one).
    hypergradient : callable ``x -> grad F(x)``, optional
        An analytic hypergradient (for tests and benchmarks).
    x_opt, f_opt : optional
        A known solution of the bilevel problem and ``F(x_opt)``.
    metrics : callable ``(x, y) -> dict``, optional
        Problem-specific reporting (test accuracy, ...), uncounted.
    name : str, optional
    """

    def __init__(
        self,
        upper: Callable,
        lower: Callable,
        upper_grad: Callable,
        lower_grad: Callable,
        *,
        x0,
        y0,
        lower_hvp: Callable | None = None,
        lower_jvp: Callable | None = None,
        n_upper: int = 1,
        n_lower: int = 1,
        bounds=None,
        lower_strongly_convex: bool = True,
        lower_solution: Callable | None = None,
        hypergradient: Callable | None = None,
        x_opt=None,
        f_opt: float | None = None,
        metrics: Callable | None = None,
        name: str | None = None,
    ):
        owner = "BilevelProblem"
        for arg, fn in (("upper", upper), ("lower", lower), ("upper_grad", upper_grad), ("lower_grad", lower_grad)):
            if not callable(fn):
                raise InvalidParameterError(f"{owner}: {arg!r} must be callable; got {fn!r:.80}")
        for arg, fn in (("lower_hvp", lower_hvp), ("lower_jvp", lower_jvp), ("lower_solution", lower_solution),
                        ("hypergradient", hypergradient), ("metrics", metrics)):
            if fn is not None and not callable(fn):
                raise InvalidParameterError(f"{owner}: {arg!r} must be callable or None; got {fn!r:.80}")
        for arg, n in (("n_upper", n_upper), ("n_lower", n_lower)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise InvalidParameterError(f"{owner}: {arg!r} must be a positive int; got {n!r}")
        x0 = np.array(x0, dtype=np.float64, ndmin=1)
        y0 = np.array(y0, dtype=np.float64, ndmin=1)
        for arg, v in (("x0", x0), ("y0", y0)):
            if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
                raise InvalidParameterError(f"{owner}: {arg!r} must be a finite non-empty 1-D array; got shape {v.shape}")
        if not isinstance(lower_strongly_convex, (bool, np.bool_)):
            raise InvalidParameterError(f"{owner}: 'lower_strongly_convex' must be a bool; got {lower_strongly_convex!r}")
        self._f, self._g, self._gf, self._gg = upper, lower, upper_grad, lower_grad
        self._hvp, self._jvp = lower_hvp, lower_jvp
        self._solution, self._hypergradient, self._metrics = lower_solution, hypergradient, metrics
        self.n_upper, self.n_lower = int(n_upper), int(n_lower)
        self._x0, self._y0 = x0, y0
        self.lower_strongly_convex = bool(lower_strongly_convex)
        if bounds is None:
            self.space = Box(-np.inf, np.inf, dim=x0.size)
        else:
            from optkit.core.space import as_space

            self.space = as_space(bounds)
            if not isinstance(self.space, Box) or self.space.dim != x0.size:
                raise InvalidParameterError(f"{owner}: 'bounds' must be a Box of dimension {x0.size}; got {bounds!r:.80}")
        self.x_opt = None if x_opt is None else np.asarray(x_opt, dtype=np.float64).reshape(x0.size)
        self.f_opt = None if f_opt is None else float(f_opt)
        self.name = name or "bilevel"
        self.counts = dict.fromkeys(_KINDS, 0)
        self._lock = threading.Lock()

    # -- description ---------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """The dimension ``dx`` of the upper variable (what optimizers are built for)."""
        return self._x0.size

    @property
    def dim_lower(self) -> int:
        return self._y0.size

    @property
    def x0(self) -> np.ndarray:
        return self._x0.copy()

    @property
    def y0(self) -> np.ndarray:
        return self._y0.copy()

    @property
    def has_hvp(self) -> bool:
        return self._hvp is not None

    @property
    def has_jvp(self) -> bool:
        return self._jvp is not None

    @property
    def calls(self) -> int:
        """Oracle calls so far (examples through oracles)."""
        return sum(self.counts.values())

    def reset_counts(self) -> None:
        self.counts = dict.fromkeys(_KINDS, 0)

    def view(self) -> BilevelProblem:
        """A copy sharing the data and oracles but with its own zeroed counters (one per agent/task)."""
        other = object.__new__(BilevelProblem)
        other.__dict__.update(self.__dict__)
        other.counts = dict.fromkeys(_KINDS, 0)
        other._lock = threading.Lock()
        return other

    def add_counts(self, counts: dict) -> None:
        """Add the oracle calls a :meth:`view` made (thread-safe)."""
        with self._lock:
            for k in _KINDS:
                self.counts[k] += int(counts.get(k, 0))

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def require_second_order(self, owner: str) -> None:
        """Raise unless the problem has both the HVP and the JVP oracle."""
        missing = [a for a, ok in (("lower_hvp", self.has_hvp), ("lower_jvp", self.has_jvp)) if not ok]
        if missing:
            raise InvalidParameterError(
                f"{owner} needs Hessian- and Jacobian-vector products of the lower level; problem {self.name!r} has no "
                f"{' and no '.join(repr(m) for m in missing)}: give BilevelProblem(..., lower_hvp=..., lower_jvp=...), "
                "or use method='bilevel-penalty' (gradients only)"
            )

    def require_strongly_convex(self, owner: str) -> None:
        if not self.lower_strongly_convex:
            raise NotStronglyConvexError(
                f"{owner} needs a lower level g(x, .) that is strongly convex in y (its hypergradient solves a linear "
                f"system with d^2 g/dy^2); problem {self.name!r} was declared lower_strongly_convex=False. Use "
                "method='bilevel-penalty', which needs only a proximal error bound on the lower level"
            )

    # -- validation ----------------------------------------------------------------------------
    def _index(self, idx, n: int) -> tuple[np.ndarray | None, int]:
        if idx is None:
            return None, n
        arr = np.asarray(idx)
        if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
            raise InvalidParameterError(f"{self.name}: 'idx' must be None or a non-empty 1-D int array; got {idx!r:.80}")
        if arr.min() < 0 or arr.max() >= n:
            raise InvalidParameterError(f"{self.name}: 'idx' must lie in [0, {n}); got values in [{arr.min()}, {arr.max()}]")
        return arr, arr.size

    def _vec(self, v, size: int, what: str) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64)
        if v.shape != (size,):
            raise InvalidParameterError(f"{self.name}: {what} has shape {v.shape}; expected ({size},)")
        return v

    def _xy(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        return self._vec(x, self.dim, "'x'"), self._vec(y, self.dim_lower, "'y'")

    def _count(self, kind: str, b: int) -> None:
        with self._lock:
            self.counts[kind] += b

    def _pair(self, out, what: str) -> tuple[np.ndarray, np.ndarray]:
        try:
            gx, gy = out
        except (TypeError, ValueError):
            raise InvalidParameterError(f"{self.name}: {what} must return a pair (gx, gy); got {type(out).__name__}") from None
        return self._vec(gx, self.dim, f"the x-part of {what}"), self._vec(gy, self.dim_lower, f"the y-part of {what}")

    # -- the counted oracles -------------------------------------------------------------------
    def f(self, x, y, idx=None) -> float:
        """Upper objective on the upper minibatch ``idx``. Costs ``|idx|`` calls."""
        idx, b = self._index(idx, self.n_upper)
        self._count("f", b)
        return float(self._f(*self._xy(x, y), idx))

    def g(self, x, y, idx=None) -> float:
        """Lower objective on the lower minibatch ``idx``. Costs ``|idx|`` calls."""
        idx, b = self._index(idx, self.n_lower)
        self._count("g", b)
        return float(self._g(*self._xy(x, y), idx))

    def grad_f(self, x, y, idx=None) -> tuple[np.ndarray, np.ndarray]:
        """``(d_x f, d_y f)`` on the upper minibatch. Costs ``|idx|`` calls."""
        idx, b = self._index(idx, self.n_upper)
        self._count("grad_f", b)
        return self._pair(self._gf(*self._xy(x, y), idx), "upper_grad")

    def grad_g(self, x, y, idx=None) -> tuple[np.ndarray, np.ndarray]:
        """``(d_x g, d_y g)`` on the lower minibatch. Costs ``|idx|`` calls."""
        idx, b = self._index(idx, self.n_lower)
        self._count("grad_g", b)
        return self._pair(self._gg(*self._xy(x, y), idx), "lower_grad")

    def hvp(self, x, y, v, idx=None) -> np.ndarray:
        """``d^2 g/dy^2 v`` on the lower minibatch. Costs ``|idx|`` calls."""
        if self._hvp is None:
            self.require_second_order("hvp")
        idx, b = self._index(idx, self.n_lower)
        self._count("hvp", b)
        x, y = self._xy(x, y)
        return self._vec(self._hvp(x, y, self._vec(v, self.dim_lower, "'v'"), idx), self.dim_lower, "lower_hvp's output")

    def jvp(self, x, y, v, idx=None) -> np.ndarray:
        """``d^2 g/dx dy v`` (shape ``(dx,)``) on the lower minibatch. Costs ``|idx|`` calls."""
        if self._jvp is None:
            self.require_second_order("jvp")
        idx, b = self._index(idx, self.n_lower)
        self._count("jvp", b)
        x, y = self._xy(x, y)
        return self._vec(self._jvp(x, y, self._vec(v, self.dim_lower, "'v'"), idx), self.dim, "lower_jvp's output")

    # -- uncounted helpers (monitoring, references) -------------------------------------------
    def upper_value(self, x, y) -> float:
        """``f(x, y)`` on all upper examples; uncounted (for monitoring)."""
        return float(self._f(*self._xy(x, y), None))

    def lower_argmin(self, x, y0=None, *, tol: float = 1e-10) -> np.ndarray:
        """``y*(x)``: the closed form if given, else damped Newton-CG on the exact HVP to a gradient norm
        below ``tol`` (L-BFGS without an HVP); uncounted."""
        x = self._vec(x, self.dim, "'x'")
        if self._solution is not None:
            return self._vec(self._solution(x), self.dim_lower, "lower_solution's output")
        y = self.y0 if y0 is None else self._vec(y0, self.dim_lower, "'y0'").copy()

        def fun(yy):
            return float(self._g(x, yy, None)), np.asarray(self._gg(x, yy, None)[1], dtype=np.float64)

        if self._hvp is None:
            from scipy.optimize import minimize

            return minimize(fun, y, jac=True, method="L-BFGS-B", options={"gtol": tol, "ftol": 0.0, "maxiter": 10000}).x
        # damped Newton-CG with an Armijo backtracking line search on g(x, .)
        val, gy = fun(y)
        for _ in range(100):
            if np.linalg.norm(gy) <= tol:
                break
            try:
                step = conjugate_gradient(lambda v, y=y: self._hvp(x, y, v, None), gy, steps=10 * y.size, rtol=1e-10)[0]
            except NotStronglyConvexError:
                step = gy
            t = 1.0
            while True:
                val_new, g_new = fun(y - t * step)
                if val_new <= val - 1e-4 * t * float(gy @ step) or t < 1e-12:
                    break
                t *= 0.5
            y, val, gy = y - t * step, val_new, g_new
        return y

    def upper_objective(self, x, y0=None) -> float:
        """``F(x) = f(x, y*(x))`` on all upper examples; uncounted (solves the lower level)."""
        return self.upper_value(x, self.lower_argmin(x, y0))

    def exact_hypergradient(self, x, y0=None) -> np.ndarray:
        """``grad F(x)``: the analytic one if given, else implicit differentiation at ``y*(x)`` by CG to
        a relative residual of 1e-13 on the exact oracles; uncounted."""
        x = self._vec(x, self.dim, "'x'")
        if self._hypergradient is not None:
            return self._vec(self._hypergradient(x), self.dim, "hypergradient's output")
        self.require_second_order("exact_hypergradient")
        y = self.lower_argmin(x, y0)
        gx, gy = self._pair(self._gf(x, y, None), "upper_grad")
        v, _ = conjugate_gradient(lambda u: self._hvp(x, y, u, None), gy, steps=20 * y.size, rtol=1e-13)
        return gx - np.asarray(self._jvp(x, y, v, None), dtype=np.float64)

    def metrics(self, x, y) -> dict:
        """Problem-specific reporting at ``(x, y)`` (empty unless the problem defines it); uncounted."""
        return {} if self._metrics is None else dict(self._metrics(*self._xy(x, y)))

    def fingerprint(self) -> dict:
        return {"name": self.name, "dim": self.dim, "dim_lower": self.dim_lower, "n_upper": self.n_upper,
                "n_lower": self.n_lower}

    def __repr__(self) -> str:
        return (f"BilevelProblem({self.name!r}, dx={self.dim}, dy={self.dim_lower}, n_upper={self.n_upper}, "
                f"n_lower={self.n_lower})")


def conjugate_gradient(matvec: Callable, b: np.ndarray, *, steps: int, rtol: float = 1e-10, x0=None,
                       owner: str = "conjugate_gradient") -> tuple[np.ndarray, int]:
    """Solve ``H v = b`` for a symmetric positive definite ``H`` given as ``matvec``; at most ``steps``
    products. Returns ``(v, products used)``. A direction of curvature ``p^T H p <= 0`` raises
    :class:`NotStronglyConvexError` (H is then not positive definite: the lower level is not strongly
    convex at this point)."""
    b = np.asarray(b, dtype=np.float64)
    v = np.zeros_like(b) if x0 is None else np.array(x0, dtype=np.float64)
    used = 0
    if x0 is None:
        r = b.copy()
    else:
        r = b - matvec(v)
        used += 1
    p = r.copy()
    rr = float(r @ r)
    stop = (rtol * float(np.linalg.norm(b))) ** 2
    while used < steps and rr > stop:
        Hp = np.asarray(matvec(p), dtype=np.float64)
        used += 1
        curv = float(p @ Hp)
        if not curv > 0:
            raise NotStronglyConvexError(
                f"{owner}: the lower-level Hessian d^2 g/dy^2 has a direction of curvature {curv:.3g} <= 0, so g(x, .) is "
                "not strongly convex here and implicit differentiation is undefined. Regularize the lower level, or use "
                "method='bilevel-penalty'"
            )
        a = rr / curv
        v += a * p
        r -= a * Hp
        rr_new = float(r @ r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return v, used
