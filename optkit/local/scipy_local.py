"""scipy's local methods as ask/tell optimizers with restarts inside the box.

scipy.optimize.minimize calls the objective itself; here each local run lives in a worker thread
whose objective hands the point to ``ask`` and waits for ``tell`` (an inversion of control with one
outstanding point per run). The runs work in the box normalized to the unit cube, so the initial
simplex (Nelder-Mead), the directions (Powell) and the finite-difference steps (L-BFGS-B) are
scaled to the box. When a run ends (converged, or its ``local_budget`` spent), the next one starts
from a uniformly random point; ``ask(n)`` with ``n > 1`` runs ``n`` local searches side by side
(a parallel multistart).

State: every local run is deterministic given its start and the values it receives, so the state is
each run's start and the values told to it; loading replays them into fresh threads.
"""

from __future__ import annotations

import abc
import queue
import threading
import weakref

import numpy as np

from optkit.core.optimizer import Optimizer
from optkit.core.params import POINT, Interval
from optkit.core.registry import register


class _Abort(Exception):
    """Ends a local run's thread."""


_ABORT = object()


class _LocalRun:
    """One scipy.optimize.minimize call in a thread, driven point by point."""

    def __init__(self, method: str, u0: np.ndarray, options: dict, replay: list[tuple[np.ndarray, float]]):
        self.u0 = u0
        self.told: list[tuple[np.ndarray, float]] = []
        self._replay = list(replay)
        self._to_opt: queue.Queue = queue.Queue()
        self._from_opt: queue.Queue = queue.Queue()
        self.outstanding: np.ndarray | None = None
        self.done = False
        self._thread = threading.Thread(target=self._main, args=(method, options), daemon=True)
        self._thread.start()

    def _fun(self, u: np.ndarray) -> float:
        u = np.array(u, dtype=np.float64)
        if self._replay:
            ur, yr = self._replay.pop(0)
            self.told.append((ur, yr))
            return yr
        self._from_opt.put(("eval", u))
        y = self._to_opt.get()
        if y is _ABORT:
            raise _Abort
        return y

    def _main(self, method: str, options: dict) -> None:
        from scipy.optimize import minimize

        d = self.u0.size
        kw = dict(options)
        if method == "Nelder-Mead":
            simplex = np.tile(self.u0, (d + 1, 1))
            for i in range(d):
                step = 0.1 if self.u0[i] <= 0.9 else -0.1
                simplex[i + 1, i] += step
            kw["initial_simplex"] = simplex
        try:
            minimize(self._fun, self.u0, method=method, bounds=[(0.0, 1.0)] * d, options=kw)
        except _Abort:
            return
        except Exception as exc:  # a scipy failure ends this local run; the optimizer restarts
            self._from_opt.put(("done", f"{type(exc).__name__}: {exc}"))
            return
        self._from_opt.put(("done", None))

    def request(self) -> np.ndarray | None:
        """The next point this run wants evaluated, or None when the run has ended."""
        if self.done:
            return None
        kind, payload = self._from_opt.get()
        if kind == "done":
            self.done = True
            return None
        self.outstanding = payload
        return payload

    def provide(self, y: float) -> None:
        u = self.outstanding
        self.outstanding = None
        self.told.append((u, y))
        self._to_opt.put(y)

    def abort(self) -> None:
        if not self.done and self._thread.is_alive():
            self._to_opt.put(_ABORT)


def _abort_all(runs: list) -> None:
    for r in runs:
        r.abort()


class _ScipyLocal(Optimizer):
    """Shared machinery for the three scipy methods (see the module docstring)."""

    family = "local"
    _method = ""
    _parameter_constraints = {
        "x0": [None, POINT],
        "local_budget": [None, Interval(int, 1, None)],
        "xtol": [Interval(float, 0, None, closed="neither")],
        "ftol": [Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, space, *, x0=None, local_budget=None, xtol=1e-10, ftol=1e-12, seed=None):
        super().__init__(space, seed=seed, x0=x0, local_budget=local_budget, xtol=xtol, ftol=ftol)
        self._lo, self._span = self.space.encoded_lower, self.space.encoded_upper - self.space.encoded_lower
        if x0 is not None:
            x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
            if x0.size != self.dim:
                from optkit.core.errors import InvalidParameterError

                raise InvalidParameterError(f"{type(self).__name__}: 'x0' must have {self.dim} entries; got {x0.size}")
            self.x0 = x0.tolist()
        self._runs: list[_LocalRun] = []
        self.n_restarts = 0
        self._finalizer = weakref.finalize(self, _abort_all, self._runs)

    @abc.abstractmethod
    def _options(self) -> dict:
        """scipy's options for one local run."""

    def _start_point(self) -> np.ndarray:
        if self.n_restarts == 0 and self.x0 is not None:
            u = (self.space.encode(np.asarray(self.x0))[0] - self._lo) / self._span
            return np.clip(u, 0.0, 1.0)
        if self.n_restarts == 0:
            return np.full(self.dim, 0.5)
        return self.rng.random(self.dim)

    def _new_run(self, u0: np.ndarray, replay=()) -> _LocalRun:
        self.n_restarts += 1
        run = _LocalRun(self._method, u0, self._options(), list(replay))
        self._runs.append(run)
        return run

    def _ask(self, n: int) -> np.ndarray:
        out = []
        for run in list(self._runs):
            if len(out) == n:
                break
            if run.outstanding is None:
                u = run.request()
                while u is None:  # this run has ended: start the next one in its place
                    self._runs.remove(run)
                    run = self._new_run(self._start_point())
                    u = run.request()
                out.append(u)
        while len(out) < n:
            run = self._new_run(self._start_point())
            u = run.request()
            while u is None:
                self._runs.remove(run)
                run = self._new_run(self._start_point())
                u = run.request()
            out.append(u)
        return self._lo + np.array(out) * self._span

    def _tell(self, Z, y, C) -> None:
        U = (Z - self._lo) / self._span
        for u, v in zip(U, y):
            self._route(u, float(v))

    def _discard(self, Z) -> None:
        for u in (Z - self._lo) / self._span:
            self._route(u, np.inf)

    def _route(self, u: np.ndarray, v: float) -> None:
        for run in self._runs:
            if run.outstanding is not None and np.allclose(run.outstanding, u, rtol=0, atol=1e-12):
                run.provide(v)
                return

    def _get_state(self) -> dict:
        return {
            "n_restarts": self.n_restarts,
            "runs": [
                {"u0": r.u0, "U": np.array([t[0] for t in r.told]).reshape(-1, self.dim),
                 "y": np.array([t[1] for t in r.told]), "outstanding": r.outstanding is not None}
                for r in self._runs
            ],
        }

    def _set_state(self, state: dict) -> None:
        _abort_all(self._runs)
        self._runs.clear()
        for r in state["runs"]:
            replay = list(zip(np.asarray(r["U"]), np.asarray(r["y"], dtype=float).tolist()))
            run = self._new_run(np.asarray(r["u0"], dtype=np.float64), replay)
            if r["outstanding"]:
                run.request()
        self.n_restarts = int(state["n_restarts"])


_DOC_PARAMS = """
    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    x0 : array (d,), optional
        Start of the first local run (default: the centre of the box); later runs start at
        uniformly random points.
    local_budget : int, optional
        Evaluations per local run before a restart (default: until the method converges).
    xtol, ftol : float
        Convergence tolerances of a local run, in the box normalized to the unit cube and in
        function value.
    seed : int, optional
"""


@register("nelder-mead", family="local")
class NelderMead(_ScipyLocal):
    __doc__ = "scipy's Nelder-Mead simplex method (bounded), restarted from random points.\n" + _DOC_PARAMS
    _method = "Nelder-Mead"

    def _options(self) -> dict:
        opts = {"xatol": self.xtol, "fatol": self.ftol, "adaptive": self.dim > 4}
        opts["maxfev"] = self.local_budget or 10**9
        opts["maxiter"] = 10**9
        return opts


@register("powell", family="local")
class Powell(_ScipyLocal):
    __doc__ = "scipy's Powell conjugate-direction method (bounded), restarted from random points.\n" + _DOC_PARAMS
    _method = "Powell"

    def _options(self) -> dict:
        return {"xtol": self.xtol, "ftol": self.ftol, "maxfev": self.local_budget or 10**9, "maxiter": 10**9}


@register("lbfgsb", family="local")
class LBFGSB(_ScipyLocal):
    __doc__ = ("scipy's L-BFGS-B with finite-difference gradients (d + 1 evaluations each), restarted "
               "from random points.\n" + _DOC_PARAMS)
    _method = "L-BFGS-B"

    def _options(self) -> dict:
        return {"ftol": self.ftol, "gtol": self.xtol, "maxfun": self.local_budget or 10**9, "maxiter": 10**9, "eps": 1e-8}
