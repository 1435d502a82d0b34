"""The loop every bilevel method shares: :class:`BilevelOptimizer`, an :class:`~optkit.Optimizer`
that runs on a :class:`~optkit.bilevel.BilevelProblem`.

A method implements

* ``_init_run(problem)``: its own variables at the first run (``self._x``, ``self._y`` are set);
* ``step_cost(problem) -> int``: the oracle calls one outer iteration may use (an upper bound; the
  loop stops when the next iteration would not fit in the budget, and checks the bound);
* ``_step(problem) -> (hypergradient estimate, or None)``: one outer iteration, updating ``self._x``
  (and its lower variables); a non-finite estimate or iterate stops the run with ``Status.FAILED``;
* ``_method_state()`` / ``_load_method_state(state)`` for what else it keeps.

The run's history has one row per outer iteration: the iterate ``x_t`` the iteration started from,
and the upper value ``f(x_t, y_t)`` at the lower iterate it used (uncounted, on all upper examples).
The :class:`~optkit.Result` has ``x`` = the last iterate, ``y`` = the last lower iterate, ``fun`` =
``F(x) = f(x, y*(x))`` (uncounted: the lower level is solved to high accuracy), ``nfev`` = oracle calls
used, ``nit`` = outer iterations, ``oracle_counts`` by kind. ``minimize`` again continues from where
the last run (or a loaded state) stopped.
"""

from __future__ import annotations

import abc
import time
from typing import ClassVar

import numpy as np

from optkit.core.errors import InvalidParameterError, StateError
from optkit.core.optimizer import LoopOnly, Optimizer
from optkit.core.params import Interval, Options, validate
from optkit.core.result import History, Status, make_result
from optkit.core.space import Box
from optkit.core.stochastic import BatchSampler

POSITIVE = Interval(float, 0, None, closed="neither")
COMMON_CONSTRAINTS: dict = {
    "batch_size": [Interval(int, 1, None), None],
    "upper_batch_size": [Interval(int, 1, None), None],
    "sampling": [Options(BatchSampler.MODES)],
}


class BilevelOptimizer(LoopOnly, Optimizer):
    """Base of the bilevel methods (see the module docstring)."""

    family = "bilevel"
    needs_bounds = False
    _parameter_constraints: ClassVar[dict] = COMMON_CONSTRAINTS
    #: whether ``minimize`` accepts an ``executor`` (the decentralized method runs its agents on it)
    uses_executor: ClassVar[bool] = False

    def __init__(self, space, *, seed=None, **params):
        super().__init__(space, seed=seed, **params)
        if not isinstance(self.space, Box):
            raise InvalidParameterError(
                f"{type(self).__name__}: bilevel methods work on a real vector space for x (an optkit.Box, e.g. "
                f"problem.space); got {type(self.space).__name__}"
            )
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None
        self._t = 0
        self._samplers: dict | None = None
        self._sampler_state: dict | None = None

    # -- what a method provides ----------------------------------------------------------------
    @abc.abstractmethod
    def step_cost(self, problem) -> int:
        """Oracle calls of one outer iteration on ``problem`` (an upper bound)."""

    @abc.abstractmethod
    def _step(self, problem, executor=None) -> np.ndarray | None:
        """One outer iteration; returns the hypergradient estimate it used (or None)."""

    def _init_run(self, problem) -> None:
        """Set the method's own variables before its first iteration."""

    def _check_problem(self, problem, owner: str) -> None:
        """Method-specific requirements (oracles, strong convexity)."""

    def _method_state(self) -> dict:
        return {}

    def _load_method_state(self, state: dict) -> None:
        pass

    def result_extras(self) -> dict:
        return {}

    # -- minibatches ---------------------------------------------------------------------------
    def _batch(self, level: str, problem) -> np.ndarray | None:
        """The next minibatch of the ``"upper"`` or ``"lower"`` level (None: the full level)."""
        return self._samplers[level].next(self.rng)

    def _b(self, level: str, problem) -> int:
        n = problem.n_upper if level == "upper" else problem.n_lower
        b = self.upper_batch_size if level == "upper" else self.batch_size
        return n if b is None else min(b, n)

    _loop_kind, _loop_call = "bilevel method", "minimize(BilevelProblem, budget)"  # ask/tell refused (LoopOnly)

    # -- the loop ------------------------------------------------------------------------------
    def minimize(self, problem, budget: int, *, callback=None, progress: bool = False, journal=None, executor=None):
        """Run on ``problem`` (a :class:`~optkit.bilevel.BilevelProblem`) for at most ``budget`` oracle calls.

        ``callback(result)`` is called after every outer iteration with the run so far (``x`` the
        current iterate, ``fun`` the monitored upper value); returning True or raising
        ``StopIteration`` stops the run. ``journal`` is not supported (must be None); ``executor``
        only by methods that run agents on it (``bilevel-decentralized``).
        """
        from optkit.bilevel.problem import BilevelProblem

        owner = f"{type(self).__name__}.minimize"
        if not isinstance(problem, BilevelProblem):
            raise InvalidParameterError(
                f"{owner}: 'problem' must be an optkit.bilevel.BilevelProblem (upper f(x, y), lower g(x, y)); got "
                f"{type(problem).__name__}"
            )
        if problem.dim != self.dim:
            raise InvalidParameterError(f"{owner}: the problem's x has dimension {problem.dim} but the optimizer was built for {self.dim}")
        validate(owner, "budget", budget, [Interval(int, 1, None)])
        if callback is not None and not callable(callback):
            raise InvalidParameterError(f"{owner}: 'callback' must be callable or None; got {callback!r}")
        if journal is not None:
            raise InvalidParameterError(f"{owner}: 'journal' is not supported by bilevel methods; got {journal!r}, expected None")
        if executor is not None and not self.uses_executor:
            raise InvalidParameterError(f"{owner}: 'executor' is not supported by {type(self).__name__}; got {executor!r}, expected None")
        for level, n, b in (("lower", problem.n_lower, self.batch_size), ("upper", problem.n_upper, self.upper_batch_size)):
            if b is not None and b > n:
                arg = "batch_size" if level == "lower" else "upper_batch_size"
                raise InvalidParameterError(f"The {arg!r} of {type(self).__name__} is {b} but the {level} level has only "
                                            f"{n} examples; expected an int in [1, {n}] (or None for the full batch)")
        self._check_problem(problem, owner)
        cost = self.step_cost(problem)
        if cost > budget:
            raise InvalidParameterError(f"{owner}: 'budget' must cover one outer iteration ({cost} oracle calls); got {budget}")
        self._samplers = {
            "lower": BatchSampler(problem.n_lower, self.batch_size and min(self.batch_size, problem.n_lower), self.sampling),
            "upper": BatchSampler(problem.n_upper, self.upper_batch_size and min(self.upper_batch_size, problem.n_upper),
                                  self.sampling),
        }
        if self._sampler_state is not None and self._sampler_state.get("n") == [problem.n_lower, problem.n_upper]:
            self._samplers["lower"].load(self._sampler_state["lower"])
            self._samplers["upper"].load(self._sampler_state["upper"])
        if self._x is None:
            self._x = self._project(problem.x0)
            self._y = problem.y0
            self._init_run(problem)
        history = History(self.dim, 0)
        start = problem.calls
        self._counts0 = dict(problem.counts)  # oracle_counts reports this run's calls, like nfev
        status, message, nit = Status.BUDGET_EXHAUSTED, f"used the budget of {budget} oracle calls", 0
        bar = None
        if progress:
            from optkit.core.loop import _progress_bar

            bar = _progress_bar(budget, 0)
        t0 = time.perf_counter()
        try:
            while problem.calls - start + cost <= budget:
                tic, before, x_t = time.perf_counter(), problem.calls, self._x.copy()
                snapshot = (self._y.copy(), self._method_state())
                h = self._step(problem, executor)
                spent = problem.calls - before
                if spent > cost:
                    raise StateError(f"{type(self).__name__}: an outer iteration used {spent} oracle calls, more than "
                                     f"its declared cost {cost}")
                bad = (h is not None and not np.all(np.isfinite(h))) or not np.all(np.isfinite(self._x))
                value = problem.upper_value(x_t, self._lower_for_monitor()) if not bad else float("nan")
                err = None
                if bad or not np.isfinite(value):
                    err = f"non-finite hypergradient estimate or iterate at iteration {self._t}"
                history.append(x_t[None, :], [value], None, [err], [time.perf_counter() - tic], self._t)
                if err is not None:  # the failed iteration is not kept: a state_dict continues from x_t
                    self._x, self._y = x_t, snapshot[0]
                    self._load_method_state(snapshot[1])
                    status, message = Status.FAILED, err
                    break
                self._t += 1
                nit += 1
                if bar is not None:
                    bar.update(spent)
                if callback is not None and _call(callback, self._result(problem, history, status, "running", nit, start, t0, final=False)):
                    status, message = Status.STOPPED_BY_CALLBACK, "stopped by the callback"
                    break
        finally:
            if bar is not None:
                bar.close()
            self._sampler_state = {"n": [problem.n_lower, problem.n_upper], "lower": self._samplers["lower"].state(),
                                   "upper": self._samplers["upper"].state()}
        return self._result(problem, history, status, message, nit, start, t0, final=True)

    def _lower_for_monitor(self) -> np.ndarray:
        return self._y

    def _project(self, x) -> np.ndarray:
        return np.clip(np.asarray(x, dtype=np.float64), self.space.lower, self.space.upper)

    def _result(self, problem, history, status, message, nit, start, t0, final: bool):
        res = make_result(history, status, message, nit, self.name, time.perf_counter() - t0)
        x = self._x.copy()
        if final and np.all(np.isfinite(x)):
            fun = problem.upper_objective(x, self._lower_for_monitor())
        elif history.fun.size:
            fun = float(history.fun[-1])
        else:
            fun = float("nan")
        calls = problem.calls - start
        res.update(x=x, y=self._lower_for_monitor().copy(), fun=fun, nfev=calls,
                   oracle_counts={k: v - self._counts0.get(k, 0) for k, v in problem.counts.items()},
                   **self.result_extras())
        if status != Status.FAILED and not np.isfinite(fun):
            res.update(status=Status.FAILED, success=False, message=message + f"; the final upper objective is {fun!r}")
        return res

    # -- state ---------------------------------------------------------------------------------
    def _get_state(self) -> dict:
        return {
            "x": None if self._x is None else self._x.copy(),
            "y": None if self._y is None else self._y.copy(),
            "t": self._t,
            "sampler": self._sampler_state,
            "own": self._method_state() if self._x is not None else None,
        }

    def _set_state(self, state: dict) -> None:
        self._x = None if state["x"] is None else np.asarray(state["x"], dtype=np.float64)
        self._y = None if state["y"] is None else np.asarray(state["y"], dtype=np.float64)
        self._t = int(state["t"])
        self._sampler_state = state["sampler"]
        if state["own"] is not None:
            self._load_method_state(state["own"])


def _call(callback, result) -> bool:
    try:
        return bool(callback(result))
    except StopIteration:
        return True
