"""Differential evolution (Storn & Price 1997): DE/rand/1/bin, DE/best/1/bin, DE/current-to-best/1/bin.

A population of ``popsize`` points X (uniform in the box, with ``x0`` as its first member if given)
evolves by generations. Each generation builds one trial vector per member ``x_i``:

    mutation    rand/1:            v_i = x_r1 + F (x_r2 - x_r3)
                best/1:            v_i = x_best + F (x_r1 - x_r2)
                current-to-best/1: v_i = x_i + F (x_best - x_i) + F (x_r1 - x_r2)
    crossover   (binomial)         u_ij = v_ij if rand_ij < CR or j = j_rand(i), else x_ij
    selection   (one-to-one)       x_i <- u_i if f(u_i) <= f(x_i)

with r1, r2, r3 distinct indices different from i, drawn anew for every member, and j_rand a
random coordinate that guarantees the trial differs from its parent. The whole population of trials
is sampled, then evaluated (so ``ask()`` returns ``popsize`` points, evaluable in parallel), then
selected against the parents.

Box handling (as in JADE, Zhang & Sanderson 2009, sec. IV): a mutant coordinate outside the box is
replaced by the midpoint between the parent's coordinate and the violated bound, before crossover;
trials are therefore always inside the box and evaluated where they were sampled. DE needs finite
bounds (the initial population is uniform in the box).

Batches asked ahead. ``ask(n)`` may ask for more points than one generation before telling any: a
generation asked before the previous one is told is built from the population known at that time,
and its trials compete with the current occupants of their target slots when they are told (an
asynchronous DE). Batches asked before the initial population is told are uniform random points,
competing one-to-one in the same way. A generation asked and told in turn is the textbook algorithm.

This module also holds the pieces JADE and SHADE share (``optkit.population.shade``): the
population with its one-to-one selection and its state, the index draws, the binomial crossover, the
midpoint repair and the stopping rules.

Reference: R. Storn, K. Price, "Differential evolution - a simple and efficient heuristic for global
optimization over continuous spaces", Journal of Global Optimization 11:341-359, 1997.
"""

from __future__ import annotations

import math

import numpy as np

import optkit_native.population_kernels  # noqa: F401  (registers the kernels)
from optkit.core.params import POINT, Interval, Options
from optkit.core.registry import register
from optkit.population._base import PopulationOptimizer
from optkit_native import kernel

STRATEGIES = ("rand/1/bin", "best/1/bin", "current-to-best/1/bin")


# -- operators (pure functions of their inputs and the generator) -------------------------------
def distinct_indices(rng: np.random.Generator, n: int, k: int, exclude: np.ndarray) -> np.ndarray:
    """(m, k) indices in range(n), distinct within a row and different from that row's ``exclude`` (m, e).

    Each row is a uniformly random ordered draw without replacement from range(n) minus the row's
    excluded values (which must be distinct within the row).
    """
    exclude = np.asarray(exclude, dtype=np.int64).reshape(len(exclude), -1)
    m = exclude.shape[0]
    out = np.empty((m, k), dtype=np.int64)
    taken = exclude
    for j in range(k):
        r = rng.integers(0, n - taken.shape[1], size=m)
        for e in np.sort(taken, axis=1).T:            # shift past each excluded value, smallest first
            r = r + (r >= e)
        out[:, j] = r
        taken = np.concatenate([taken, r[:, None]], axis=1)
    return out


def binomial_crossover(rng: np.random.Generator, X: np.ndarray, V: np.ndarray, CR) -> np.ndarray:
    """Trials u_ij = v_ij where rand_ij < CR_i or j = j_rand(i), else x_ij (CR a scalar or (n,)).

    The optimizers run this step fused with the mutation and :func:`repair_midpoint` in
    ``optkit_native.population_kernels`` (``de_bin_trials``, ``de_pbest_trials``), with the same draws.
    """
    n, d = X.shape
    CR = np.broadcast_to(np.asarray(CR, dtype=np.float64), (n,))
    mask = rng.random((n, d)) < CR[:, None]
    mask[np.arange(n), rng.integers(0, d, size=n)] = True
    return np.where(mask, V, X)


def repair_midpoint(V: np.ndarray, X: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Mutant coordinates outside [lower, upper] set to the midpoint of the parent's and the violated bound."""
    V = np.where(V < lower, 0.5 * (lower + X), V)
    return np.where(V > upper, 0.5 * (upper + X), V)


def lehmer_mean(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """sum w v^2 / sum w v (the (weighted) Lehmer mean of JADE and SHADE; plain when weights is None)."""
    v = np.asarray(values, dtype=np.float64)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64)
    return float(np.sum(w * v * v) / np.sum(w * v))


class DEPopulation:
    """The population of a DE: points, values, one-to-one selection, the batches in flight, state.

    ``slots_`` are stable names of the population's places (a trial remembers the slot it targets,
    which survives reorderings and population size reductions); ``pending_`` holds one dict per
    batch asked and not yet told (oldest first): its kind ("init", "random" or "trial"), its target
    slots and whatever the method stored with it (F, CR, memory indices).
    """

    def __init__(self, lower: np.ndarray, upper: np.ndarray, popsize: int):
        self.lower, self.upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
        self.popsize = int(popsize)
        self.X = np.zeros((0, self.lower.size))
        self.f = np.zeros(0)
        self.slots_ = np.arange(self.popsize)
        self.initialized = False
        self.pending_: list[dict] = []
        self.generation = 0
        self.nfe = 0
        self.best_hist = np.zeros(0)

    def start(self, rng: np.random.Generator, x0: np.ndarray | None) -> np.ndarray | None:
        """The next batch when it is not a generation of trials (the caller then builds and pushes those).

        The first batch is the initial population, uniform in the box with ``x0`` (encoded) as its
        first member; batches asked before it is told are uniform random points; None afterwards.
        """
        if self.initialized:
            return None
        kind = "random" if self.pending_ else "init"
        X = self.lower + rng.random((len(self.slots_), self.lower.size)) * (self.upper - self.lower)
        if kind == "init" and x0 is not None:
            X[0] = x0
        self.push(kind)
        return X

    def push(self, kind: str, **extra) -> None:
        """Remember a batch asked (oldest first) with the slots it targets and the method's extras."""
        self.pending_.append({"kind": kind, "slots": self.slots_.copy(), **extra})

    def tell(self, U: np.ndarray, fu: np.ndarray):
        """The oldest batch, told: the initial population is stored, other batches are selected.

        Returns (the batch's dict, then as :meth:`select`: trial indices that strictly improved,
        their targets' old points, the improvements).
        """
        batch = self.pending_.pop(0)
        if batch["kind"] == "init":
            self.X, self.f, self.initialized = U.copy(), fu.copy(), True
            won, old, gain = np.zeros(0, dtype=np.int64), np.zeros((0, self.lower.size)), np.zeros(0)
        else:
            won, old, gain = self.select(U, fu, batch["slots"])
        self.nfe += len(fu)
        self.generation += 1
        self.best_hist = np.append(self.best_hist, float(np.min(self.f)))[-(11 + 30 * self.lower.size):]
        return batch, won, old, gain

    def select(self, U: np.ndarray, fu: np.ndarray, slots: np.ndarray):
        """One-to-one selection of trials ``U`` against the current occupants of ``slots``.

        A trial replaces its target when ``f(u) <= f(x)`` (ties move the population across plateaus).
        Returns (trial indices that strictly improved, their targets' old points, improvements
        f(x) - f(u) > 0); trials whose slot no longer exists (population reduction) are dropped.
        """
        n = len(self.slots_)                                   # slots_ stays sorted (shrink keeps the order)
        idx = np.minimum(np.searchsorted(self.slots_, slots), n - 1)
        idx = np.where(self.slots_[idx] == slots, idx, -1)
        live = np.flatnonzero(idx >= 0)
        tgt = idx[live]
        better = fu[live] < self.f[tgt]
        replace = fu[live] <= self.f[tgt]
        won, won_tgt = live[better], tgt[better]
        old = self.X[won_tgt].copy()
        gain = self.f[won_tgt] - fu[won]
        self.X[tgt[replace]] = U[live[replace]]
        self.f[tgt[replace]] = fu[live[replace]]
        return won, old, gain

    def shrink(self, new_size: int) -> np.ndarray:
        """Keep the ``new_size`` best members (worst removed first); returns the kept positions."""
        keep = np.sort(np.argsort(self.f, kind="stable")[:new_size])
        self.X, self.f, self.slots_ = self.X[keep], self.f[keep], self.slots_[keep]
        self.popsize = int(new_size)
        return keep

    def stop_reason(self, tolx: float, tolfun: float) -> str | None:
        """tolx: the population's range is below ``tolx`` times the box width in every coordinate;
        tolfun: the population's values and the best values of the last ``10 + ceil(30 d / popsize)``
        generations all lie within ``tolfun``."""
        if not self.initialized:
            return None
        d = self.lower.size
        if np.all(np.ptp(self.X, axis=0) <= tolx * (self.upper - self.lower)):
            return f"tolx: the population's range is below {tolx:g} times the box width in every coordinate"
        window = 10 + math.ceil(30 * d / max(self.popsize, 1))
        if tolfun > 0 and self.best_hist.size >= window and np.ptp(self.f) < tolfun \
                and np.ptp(self.best_hist[-window:]) < tolfun:
            return f"tolfun: the population's values and the best of the last {window} generations lie within {tolfun:g}"
        return None

    def state(self) -> dict:
        return {"X": self.X, "f": self.f, "slots": self.slots_, "initialized": self.initialized, "popsize": self.popsize,
                "pending": self.pending_, "generation": self.generation, "nfe": self.nfe, "best_hist": self.best_hist}

    def load(self, state: dict) -> None:
        d = self.lower.size
        self.X = np.asarray(state["X"], dtype=np.float64).reshape(-1, d)
        self.f = np.asarray(state["f"], dtype=np.float64).reshape(-1)
        self.slots_ = np.asarray(state["slots"], dtype=np.int64).reshape(-1)
        self.initialized = bool(state["initialized"])
        self.popsize = int(state["popsize"])
        self.generation, self.nfe = int(state["generation"]), int(state["nfe"])
        self.best_hist = np.asarray(state["best_hist"], dtype=np.float64).reshape(-1)
        self.pending_ = []
        for p in state["pending"]:
            q = {k: (np.asarray(v) if isinstance(v, (list, np.ndarray)) else v) for k, v in p.items()}
            q["slots"] = np.asarray(q["slots"], dtype=np.int64).reshape(-1)
            self.pending_.append(q)


def de_default_popsize(d: int) -> int:
    """min(10 d, 100), at least 5 (rand/1 needs NP >= 4): Storn & Price's NP = 10 d, capped (see DE's docstring)."""
    return max(5, min(10 * d, 100))


@register("de", family="population")
class DE(PopulationOptimizer):
    """Classic differential evolution, DE/rand/1/bin by default (Storn & Price 1997).

    When to use: multimodal continuous problems with finite bounds and a generous budget
    (thousands of evaluations per dimension), objectives evaluated in parallel batches, and
    separable problems (with a low CR); it needs no gradient, step size or starting point. On smooth,
    ill-conditioned non-separable problems it is much slower than CMA-ES or xNES; its adaptive
    successors ``jade`` and ``shade`` are more robust and need no tuning of F and CR.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    popsize : int, optional
        Population size NP (default ``min(10 d, 100)``, at least 5). Storn & Price recommend
        NP = 10 d; beyond d = 10 the cap keeps generations affordable, and a larger NP helps on
        highly multimodal problems when the budget allows.
    F : float
        Differential weight (mutation scale factor), in (0, 2].
    CR : float
        Crossover probability of the binomial crossover, in [0, 1].
    strategy : {"rand/1/bin", "best/1/bin", "current-to-best/1/bin"}
        Mutation strategy (module docstring). "best" variants converge faster on unimodal problems
        and lose diversity sooner on multimodal ones.
    x0 : array (d,), optional
        A point inserted into the initial population (DE takes no initial step size).
    tolx : float
        Stop when the population's range is below ``tolx`` times the box width in every coordinate.
    tolfun : float
        Stop when the population's values and the best values of the last ``10 + ceil(30 d / NP)``
        generations lie within ``tolfun`` (absolute).
    seed : int, optional

    Box handling: mutant coordinates outside the box are set to the midpoint between the parent's
    coordinate and the violated bound (JADE's rule), so every trial is inside the box.

    Reference: R. Storn, K. Price, J. Global Optimization 11:341-359, 1997.

    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float(x @ x), [(-5, 5)] * 3, method="de", budget=4000, seed=0)
    >>> bool(res.fun < 1e-8)
    True
    """

    needs_bounds = True
    _parameter_constraints = {
        "popsize": [None, Interval(int, 4, None)],
        "F": [Interval(float, 0, 2, closed="right")],
        "CR": [Interval(float, 0, 1)],
        "strategy": [Options(STRATEGIES)],
        "x0": [None, POINT],
        "tolx": [Interval(float, 0, None)],
        "tolfun": [Interval(float, 0, None)],
    }

    def __init__(self, space, *, popsize=None, F=0.5, CR=0.9, strategy="rand/1/bin", x0=None, tolx=1e-12, tolfun=1e-12,
                 seed=None):
        super().__init__(space, seed=seed, popsize=popsize, F=F, CR=CR, strategy=strategy, x0=x0, tolx=tolx,
                         tolfun=tolfun)
        self.popsize_ = int(popsize or de_default_popsize(self.dim))
        self.x0_ = None if x0 is None else self._initial_mean(x0)
        self.pop_ = DEPopulation(self.space.encoded_lower, self.space.encoded_upper, self.popsize_)
        self._stop: str | None = None

    def _sample(self) -> np.ndarray:
        X = self.pop_.start(self.rng, self.x0_)
        if X is None:
            X = self._trials()
            self.pop_.push("trial")
        return X

    def _trials(self) -> np.ndarray:
        X, f, n = self.pop_.X, self.pop_.f, self.pop_.popsize
        me = np.arange(n)[:, None]
        if self.strategy == "rand/1/bin":
            i0, i1, i2 = distinct_indices(self.rng, n, 3, me).T
        else:
            i1, i2 = distinct_indices(self.rng, n, 2, me).T
            i0 = np.full(n, int(np.argmin(f)))
        # the draws of binomial_crossover, then mutation, repair_midpoint and crossover in one pass
        # (numba, or its numpy twin: optkit_native.population_kernels.de_bin_trials)
        R = self.rng.random((n, self.dim))
        jrand = self.rng.integers(0, self.dim, size=n)
        return kernel("de_bin_trials")(X, i0, i1, i2, self.F, self.strategy == "current-to-best/1/bin", R,
                                       np.full(n, self.CR), jrand, self.pop_.lower, self.pop_.upper)

    def _update(self, Z, Zeval, y, C) -> None:
        self.pop_.tell(Zeval, y)
        self._stop = self.pop_.stop_reason(self.tolx, self.tolfun)

    def stop_reason(self) -> str | None:
        return self._stop

    def _state(self) -> dict:
        return {"pop": self.pop_.state(), "stop": self._stop}

    def _load(self, state: dict) -> None:
        self.pop_.load(state["pop"])
        self._stop = state["stop"]
