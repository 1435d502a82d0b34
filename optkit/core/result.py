"""The :class:`Result` of a run (a scipy ``OptimizeResult``), its :class:`Status` and :class:`History`."""

from __future__ import annotations

import enum
import functools

import numpy as np


class Status(enum.IntEnum):
    """Why a run ended. Compare against these, never parse ``message``."""

    CONVERGED = 0
    BUDGET_EXHAUSTED = 1
    STOPPED_BY_CALLBACK = 2
    INFEASIBLE = 3
    FAILED = 4


class History:
    """Every evaluation of a run, in order, as columns.

    ``X`` (n, d) points in the user's space; ``fun`` (n,) objective values as the user defined them
    (NaN where the evaluation failed); ``constraints`` (n, m); ``error`` the failure message or None;
    ``seconds`` wall time of each evaluation; ``batch`` the index of the ``ask`` each point came from;
    ``feasible`` whether the point evaluated and satisfied every constraint.
    """

    def __init__(self, dim: int, n_constraints: int, sign: float = 1.0):
        self.dim, self.n_constraints, self.sign = dim, n_constraints, sign
        self._X, self._y, self._C, self._s, self._b = [], [], [], [], []
        self.error: list = []

    def append(self, X, y_min, C, errors, seconds, batch: int) -> None:
        """Add rows; ``y_min`` in the minimization convention (sign applied)."""
        n = len(errors)
        self._X.append(np.asarray(X, dtype=np.float64).reshape(n, self.dim))
        self._y.append(self.sign * np.asarray(y_min, dtype=np.float64).reshape(n))
        self._C.append(np.zeros((n, 0)) if C is None else np.asarray(C, dtype=np.float64).reshape(n, self.n_constraints))
        self._s.append(np.asarray(seconds, dtype=np.float64).reshape(n))
        self._b.append(np.full(n, batch, dtype=np.int64))
        self.error.extend(errors)

    def _cat(self, parts, shape):
        return np.concatenate(parts) if parts else np.zeros(shape)

    @property
    def X(self) -> np.ndarray:
        return self._cat(self._X, (0, self.dim))

    @property
    def fun(self) -> np.ndarray:
        return self._cat(self._y, (0,))

    @property
    def constraints(self) -> np.ndarray:
        return self._cat(self._C, (0, self.n_constraints))

    @property
    def seconds(self) -> np.ndarray:
        return self._cat(self._s, (0,))

    @property
    def batch(self) -> np.ndarray:
        return self._cat(self._b, (0,))

    @property
    def feasible(self) -> np.ndarray:
        ok = np.array([e is None for e in self.error], dtype=bool)
        C = self.constraints
        if C.shape[1]:
            ok &= np.all(C <= 0, axis=1)
        return ok

    def __len__(self) -> int:
        return len(self.error)

    def best_so_far(self) -> np.ndarray:
        """(n,) the best feasible value after each evaluation (in the user's convention), NaN before any."""
        y = self.sign * self.fun
        y = np.where(self.feasible, y, np.inf)
        best = np.minimum.accumulate(y) if y.size else y
        return np.where(np.isfinite(best), self.sign * best, np.nan)

    def best_index(self) -> int | None:
        """Index of the best feasible point; if none is feasible, of the least-violating evaluated one."""
        if not len(self):
            return None
        y = self.sign * self.fun
        feas = self.feasible
        if feas.any():
            return int(np.flatnonzero(feas)[np.argmin(y[feas])])
        evaluated = np.array([e is None for e in self.error])
        if not evaluated.any():
            return None
        C = self.constraints
        viol = np.where(evaluated, np.sum(np.maximum(C, 0), axis=1), np.inf)
        return int(np.argmin(viol))


_RESULT_DOC = """The outcome of a run: the same fields for every optimizer (a ``scipy.optimize.OptimizeResult``).

    Attributes
    ----------
    x : ndarray (d,)
        The best feasible point evaluated (the least-violating one when none was feasible).
    fun : float
        The objective at ``x``, as the user defined it (the maximum when ``maximize=True``).
    constraints : ndarray (m,)
        The constraint values at ``x``.
    nfev, nit : int
        Evaluations of the objective (failed ones included) and ``ask`` rounds.
    status : Status
    success : bool
        The run ended normally (converged, budget used up, or stopped by the callback) with a
        feasible point.
    message : str
    history : History
    best_so_far : ndarray (nfev,)
    method : str
        The registry name of the optimizer.
    wall_time : float
        Seconds for the whole run.
    """


@functools.cache
def _result_class() -> type:
    # scipy.optimize costs ~0.3 s to import, so the class is made on first use, not at import optkit
    from scipy.optimize import OptimizeResult

    return type("Result", (OptimizeResult,), {"__doc__": _RESULT_DOC, "__module__": __name__})


def __getattr__(name):
    if name == "Result":
        return _result_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_result(history: History, status: Status, message: str, nit: int, method: str, wall_time: float, **extra):
    """Assemble a :class:`Result` from a run's history."""
    i = history.best_index()
    if i is None:
        x = np.full(history.dim, np.nan)
        fun, cons = np.nan, np.full(history.n_constraints, np.nan)
        if status != Status.STOPPED_BY_CALLBACK:
            status = Status.FAILED
    else:
        x = history.X[i]
        fun = float(history.fun[i])
        cons = history.constraints[i]
        if not history.feasible[i] and status in (Status.CONVERGED, Status.BUDGET_EXHAUSTED):
            status = Status.INFEASIBLE
            message = message + "; no feasible point was found"
    success = status in (Status.CONVERGED, Status.BUDGET_EXHAUSTED, Status.STOPPED_BY_CALLBACK) and i is not None
    return _result_class()(
        x=x,
        fun=fun,
        constraints=cons,
        nfev=len(history),
        nit=nit,
        status=status,
        success=bool(success),
        message=message,
        history=history,
        best_so_far=history.best_so_far(),
        method=method,
        wall_time=wall_time,
        **extra,
    )
