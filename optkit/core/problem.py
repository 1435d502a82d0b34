"""The :class:`Problem`: an objective, its space, optional black-box constraints and a known optimum.

``problem(x)`` and ``problem.evaluate(X)`` return the objective as the user wrote it. The optimization
loop instead calls :meth:`Problem.evaluate_records`, which catches failures, flips the sign once for
``maximize=True`` (so every optimizer minimizes) and times each evaluation.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.space import SearchSpace, Space, as_points, as_space

ON_ERROR = ("raise", "penalize", "skip")


@dataclass
class Records:
    """The outcome of evaluating a batch, in the minimization convention.

    ``y`` (n,) holds the objective (NaN where it failed), ``C`` (n, m) the constraint values (or None
    when the problem has none), ``error`` a message per point (None when fine), ``seconds`` the wall
    time per point.
    """

    y: np.ndarray
    C: np.ndarray | None
    error: list
    seconds: np.ndarray

    @property
    def failed(self) -> np.ndarray:
        return np.array([e is not None for e in self.error], dtype=bool)


def _short_error(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


class Problem:
    """An optimization problem: minimize ``fun`` over ``space`` subject to ``g(x) <= 0``.

    Parameters
    ----------
    fun : callable
        The objective. With a :class:`Box` it receives a float64 array (d,) and returns a number;
        with a :class:`SearchSpace` it receives a ``{name: value}`` dict. With ``vectorized=True`` it
        receives the batch (n, d) (numeric, categories as indices) and returns (n,).
    space : Box, SearchSpace, dict or sequence of (low, high) pairs
    constraints : sequence of callables, optional
        Black-box constraints, each ``g(x) -> float``, feasible when ``g(x) <= 0``; with
        ``vectorized=True`` each maps (n, d) to (n,).
    grad : callable, optional
        Gradient ``grad(x) -> (d,)`` for methods that use one.
    vectorized : bool
        Whether ``fun`` and ``constraints`` take whole batches.
    f_opt, x_opt : optional
        The known optimal value and one optimal point (used by benchmarks for the gap to optimum).
    maximize : bool
        Maximize ``fun`` instead; optimizers then minimize ``-fun`` and results report ``fun``.
    name : str, optional
    on_error : {"raise", "penalize", "skip"}
        What the optimization loop does when ``fun`` raises or returns NaN/inf: stop with an
        :class:`~optkit.ObjectiveError`; tell the optimizer a penalty worse than every value seen so
        far; or tell the optimizer nothing about that point. In every case the failure is recorded in
        the history and the journal with its message.
    """

    def __init__(
        self,
        fun: Callable,
        space,
        *,
        constraints: Sequence[Callable] | None = None,
        grad: Callable | None = None,
        vectorized: bool = False,
        f_opt: float | None = None,
        x_opt=None,
        maximize: bool = False,
        name: str | None = None,
        on_error: str = "raise",
    ):
        if not callable(fun):
            raise InvalidParameterError(f"Problem: 'fun' must be callable; got {fun!r:.80}")
        self.fun = fun
        self.space: Space = as_space(space)
        if constraints is None:
            constraints = []
        elif callable(constraints):
            constraints = [constraints]
        constraints = list(constraints)
        for i, g in enumerate(constraints):
            if not callable(g):
                raise InvalidParameterError(f"Problem: 'constraints[{i}]' must be callable; got {g!r:.80}")
        self.constraints = constraints
        if grad is not None and not callable(grad):
            raise InvalidParameterError(f"Problem: 'grad' must be callable or None; got {grad!r:.80}")
        self.grad = grad
        self.vectorized = bool(vectorized)
        self.f_opt = None if f_opt is None else float(f_opt)
        self.x_opt = None if x_opt is None else np.asarray(x_opt, dtype=np.float64).reshape(self.dim)
        self.maximize = bool(maximize)
        if on_error not in ON_ERROR:
            raise InvalidParameterError(f"Problem: 'on_error' must be one of {ON_ERROR}; got {on_error!r}")
        self.on_error = on_error
        self.name = name if name is not None else getattr(fun, "__name__", type(fun).__name__)

    # -- plain evaluation, as the user wrote the objective -------------------------------------
    @property
    def dim(self) -> int:
        return self.space.dim

    @property
    def n_constraints(self) -> int:
        return len(self.constraints)

    @property
    def sign(self) -> float:
        """+1 for minimization, -1 for maximization: minimized value = sign * fun."""
        return -1.0 if self.maximize else 1.0

    def _arg(self, x: np.ndarray):
        if isinstance(self.space, SearchSpace):
            return self.space.to_dict(x)
        return x

    def __call__(self, x) -> float:
        """The objective at one point (d,)."""
        X = as_points(x, self.dim, "x")
        if X.shape[0] != 1:
            raise InvalidParameterError(f"Problem(x): 'x' must be one point of shape ({self.dim},); got {X.shape}")
        return float(self.evaluate(X)[0])

    def evaluate(self, X) -> np.ndarray:
        """The objective on a batch (n, d) -> (n,). Exceptions propagate; NaN is returned as is."""
        X = as_points(X, self.dim)
        if self.vectorized:
            y = np.asarray(self.fun(X), dtype=np.float64).reshape(-1)
            if y.shape != (X.shape[0],):
                raise InvalidParameterError(f"Problem {self.name!r}: vectorized 'fun' must return shape ({X.shape[0]},); got {y.shape}")
            return y
        return np.array([float(self.fun(self._arg(x))) for x in X])

    def evaluate_constraints(self, X) -> np.ndarray:
        """Constraint values (n, m); feasible where every entry is <= 0."""
        X = as_points(X, self.dim)
        if not self.constraints:
            return np.zeros((X.shape[0], 0))
        if self.vectorized:
            cols = [np.asarray(g(X), dtype=np.float64).reshape(-1) for g in self.constraints]
        else:
            cols = [np.array([float(g(self._arg(x))) for x in X]) for g in self.constraints]
        return np.column_stack(cols)

    # -- guarded evaluation for the optimization loop ------------------------------------------
    def evaluate_records(self, X) -> Records:
        """Evaluate a batch for an optimizer: failures caught and described, sign applied."""
        X = as_points(X, self.dim)
        if self.vectorized:
            return self._records_vectorized(X)
        n, m = X.shape[0], self.n_constraints
        y = np.full(n, np.nan)
        C = np.full((n, m), np.nan) if m else None
        errors: list = [None] * n
        seconds = np.empty(n)
        clock = time.perf_counter
        for i in range(n):
            t0 = clock()
            try:
                arg = self._arg(X[i])
                v = self.fun(arg)
                y[i] = v if type(v) is float else _as_float(v, "the objective")
                for j, g in enumerate(self.constraints):
                    C[i, j] = _as_float(g(arg), f"constraint {j}")
            except Exception as exc:  # the policy decides later; the message is kept
                errors[i] = _short_error(exc)
            seconds[i] = clock() - t0
            if errors[i] is None and not (math.isfinite(y[i]) and (m == 0 or np.all(np.isfinite(C[i])))):
                errors[i] = _nonfinite_message(y[i], C[i] if m else ())
        if self.maximize:
            y = -y
        return Records(y, C, errors, seconds)

    def evaluate_one(self, x: np.ndarray) -> Records:
        """One point as a 1-row :class:`Records` (the unit of work sent to an executor)."""
        t0 = time.perf_counter()
        m = self.n_constraints
        err = None
        y, c = np.nan, np.full(m, np.nan)
        try:
            arg = self._arg(np.asarray(x, dtype=np.float64))
            y = _as_float(self.fun(arg), "the objective")
            if m:
                c = np.array([_as_float(g(arg), f"constraint {i}") for i, g in enumerate(self.constraints)])
        except Exception as exc:  # the policy decides later; the message is kept
            err = _short_error(exc)
        seconds = time.perf_counter() - t0
        if err is None:
            err = _nonfinite_message(y, c)
        return Records(np.array([self.sign * y]), c[None, :] if m else None, [err], np.array([seconds]))

    def _records_vectorized(self, X: np.ndarray) -> Records:
        n, m = X.shape[0], self.n_constraints
        t0 = time.perf_counter()
        try:
            y = self.evaluate(X)
            C = self.evaluate_constraints(X) if m else None
            errors = [_nonfinite_message(y[i], C[i] if m else ()) for i in range(n)]
        except Exception as exc:
            y, C = np.full(n, np.nan), (np.full((n, m), np.nan) if m else None)
            errors = [_short_error(exc)] * n
        seconds = np.full(n, (time.perf_counter() - t0) / max(n, 1))
        return Records(self.sign * y, C, errors, seconds)

    def fingerprint(self) -> dict:
        """What identifies this problem in a journal: name, space, constraint count, direction."""
        return {
            "name": self.name,
            "space": self.space.to_json(),
            "n_constraints": self.n_constraints,
            "maximize": self.maximize,
        }

    def __repr__(self) -> str:
        extra = f", constraints={self.n_constraints}" if self.constraints else ""
        return f"Problem({self.name!r}, {self.space!r}{extra})"


def _as_float(value, what: str) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise TypeError(f"{what} must return one number; got an array of shape {arr.shape}")
    return float(arr.reshape(()))


def _nonfinite_message(y: float, c) -> str | None:
    if not np.isfinite(y):
        return f"non-finite objective value {y!r}"
    c = np.asarray(c, dtype=np.float64)
    if c.size and not np.all(np.isfinite(c)):
        return f"non-finite constraint values {c.tolist()!r}"
    return None


def merge_records(parts: Sequence[Records], m: int) -> Records:
    """Stack 1-row (or n-row) :class:`Records` in order."""
    y = np.concatenate([p.y for p in parts]) if parts else np.zeros(0)
    C = np.vstack([p.C for p in parts]) if (m and parts) else (np.zeros((0, m)) if m else None)
    errors = [e for p in parts for e in p.error]
    seconds = np.concatenate([p.seconds for p in parts]) if parts else np.zeros(0)
    return Records(y, C, errors, seconds)
