"""Adaptive differential evolution: JADE (Zhang & Sanderson 2009) and SHADE / L-SHADE (Tanabe & Fukunaga).

Both build trials with current-to-pbest/1 and binomial crossover, each member i with its own F_i and
CR_i:

    v_i = x_i + F_i (x_pbest - x_i) + F_i (x_r1 - x~_r2)
    u_ij = v_ij if rand_ij < CR_i or j = j_rand(i), else x_ij

where x_pbest is a random member among the max(2, round(p * NP)) best, x_r1 a random member other
than x_i, and x~_r2 a random point of the population joined with the external archive, other than
x_i and x_r1. The archive keeps parents that lost to their trial (random ones are dropped when it
exceeds its capacity); it widens the differences without slowing convergence. F_i is drawn from a
Cauchy distribution with scale 0.1 (redrawn while <= 0, truncated to 1), CR_i from a normal with
standard deviation 0.1 (clipped to [0, 1]). A trial replaces its parent when f(u) <= f(x); it is a
*success* when f(u) < f(x), and the successful F_i and CR_i (S_F, S_CR) drive the adaptation:

JADE: one location each, mu_F and mu_CR (starting at 0.5), updated every generation with S non-empty:

    mu_CR <- (1 - c) mu_CR + c * mean(S_CR),   mu_F <- (1 - c) mu_F + c * lehmer(S_F)

with lehmer(S) = sum S^2 / sum S, c = 0.1, p = 0.05; the archive holds at most NP points.

SHADE: memories M_CR, M_F of H entries (all 0.5); member i draws r_i uniform in 1..H and uses
locations M_CR[r_i], M_F[r_i], and its own p_i uniform in [2/NP, 0.2]. After a generation with
successes, with weights w_k = |f(u_k) - f(x_k)| / sum |f(u) - f(x)| (the improvements), the entry k
(cycling through 1..H) becomes

    M_CR[k] = sum w S_CR,   M_F[k] = sum w S_F^2 / sum w S_F     (weighted mean, weighted Lehmer mean)

The archive holds at most ``archive_rate * NP`` points (SHADE: NP).

L-SHADE (``population_reduction=True``, Tanabe & Fukunaga 2014): the population shrinks linearly
with the evaluations used, from NP_init to NP_min = 4 at ``max_evals``,

    NP_{g+1} = round(NP_init + (NP_min - NP_init) * nfe / max_evals),

dropping the worst members; the archive capacity follows. L-SHADE also uses the weighted Lehmer mean
for M_CR, with a terminal value: once a memory entry is updated with max(S_CR) = 0 it stays
"terminal" and the members that draw it use CR = 0. Its defaults: NP_init = 18 d, H = 6,
archive_rate = 2.6, p = 0.11 (the paper's; the authors' later code uses archive_rate = 1.4, H = 5).

Box handling: mutant coordinates outside the box are set to the midpoint between the parent's
coordinate and the violated bound (JADE's rule), so every trial is evaluated where it was sampled.
Batches asked ahead are handled as in ``optkit.population.de``.

References: J. Zhang, A. C. Sanderson, "JADE: adaptive differential evolution with optional external
archive", IEEE Trans. Evolutionary Computation 13(5):945-958, 2009. R. Tanabe, A. Fukunaga,
"Success-history based parameter adaptation for differential evolution", IEEE CEC 2013, pp. 71-78.
R. Tanabe, A. Fukunaga, "Improving the search performance of SHADE using linear population size
reduction", IEEE CEC 2014, pp. 1658-1665.
"""

from __future__ import annotations

import numpy as np

import optkit_native.population_kernels  # noqa: F401  (registers the kernels)
from optkit.core.errors import InvalidParameterError
from optkit.core.params import BOOL, POINT, Interval
from optkit.core.registry import register
from optkit.population._base import PopulationOptimizer
from optkit.population.de import (
    DEPopulation,
    de_default_popsize,
    distinct_indices,
    lehmer_mean,
    repair_midpoint,
)
from optkit_native import kernel

#: memory value meaning L-SHADE's "terminal" crossover rate (members drawing it use CR = 0)
TERMINAL = -1.0


def sample_F(rng: np.random.Generator, loc: np.ndarray) -> np.ndarray:
    """F_i ~ Cauchy(loc_i, 0.1), redrawn while <= 0, truncated to 1."""
    loc = np.asarray(loc, dtype=np.float64)
    F = loc + 0.1 * np.tan(np.pi * (rng.random(loc.size) - 0.5))
    bad = F <= 0
    while bad.any():
        F[bad] = loc[bad] + 0.1 * np.tan(np.pi * (rng.random(int(bad.sum())) - 0.5))
        bad = F <= 0
    return np.minimum(F, 1.0)


def sample_CR(rng: np.random.Generator, loc: np.ndarray) -> np.ndarray:
    """CR_i ~ N(loc_i, 0.1) clipped to [0, 1]; 0 where loc_i is L-SHADE's terminal value."""
    loc = np.asarray(loc, dtype=np.float64)
    CR = np.clip(rng.normal(loc, 0.1), 0.0, 1.0)
    return np.where(loc == TERMINAL, 0.0, CR)


def current_to_pbest(rng: np.random.Generator, X: np.ndarray, f: np.ndarray, archive: np.ndarray, F: np.ndarray,
                     n_top, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Mutants of current-to-pbest/1 with archive (module docstring), repaired into the box.

    ``n_top`` (a scalar or one per member) is how many of the best members x_pbest is drawn from.
    """
    pbest, r1, r2 = pbest_indices(rng, f, len(archive), n_top)
    union = np.concatenate([X, archive]) if len(archive) else X
    V = X + F[:, None] * (X[pbest] - X + X[r1] - union[r2])
    return repair_midpoint(V, X, lower, upper)


def pbest_indices(rng: np.random.Generator, f: np.ndarray, n_archive: int, n_top):
    """The indices of current-to-pbest/1: x_pbest among the ``n_top`` best (by ``f``), r1 a member other
    than i, r2 a row of the population joined with the archive (``n_archive`` rows after the
    population's) other than i and r1. Returns (pbest, r1, r2), each (n,)."""
    n = len(f)
    order = np.argsort(f, kind="stable")
    n_top = np.broadcast_to(np.asarray(n_top, dtype=np.int64), (n,))
    pbest = order[np.minimum((rng.random(n) * n_top).astype(np.int64), n_top - 1)]
    me = np.arange(n)[:, None]
    r1 = distinct_indices(rng, n, 1, me)[:, 0]
    r2 = distinct_indices(rng, n + n_archive, 1, np.concatenate([me, r1[:, None]], axis=1))[:, 0]
    return pbest, r1, r2


def pbest_trials(rng: np.random.Generator, pop, archive: np.ndarray, F: np.ndarray, CR: np.ndarray, n_top) -> np.ndarray:
    """The trials of JADE and SHADE: current-to-pbest/1 with archive, midpoint repair, binomial crossover.

    Draws as :func:`current_to_pbest` followed by :func:`~optkit.population.de.binomial_crossover`,
    then builds the trials in one pass (numba, or the numpy twin
    ``optkit_native.population_kernels.de_pbest_trials``).
    """
    pbest, r1, r2 = pbest_indices(rng, pop.f, len(archive), n_top)
    n, d = pop.X.shape
    R = rng.random((n, d))
    jrand = rng.integers(0, d, size=n)
    return kernel("de_pbest_trials")(pop.X, archive, pbest, r1, r2, F, R, CR, jrand, pop.lower, pop.upper)


def n_best(p, popsize: int):
    """max(2, round(p * NP)) (at most NP): how many best members x_pbest is drawn from."""
    return np.minimum(np.maximum(2, np.rint(np.asarray(p) * popsize).astype(np.int64)), popsize)


def add_to_archive(rng: np.random.Generator, archive: np.ndarray, points: np.ndarray, capacity: int) -> np.ndarray:
    """The archive with ``points`` added, randomly thinned to ``capacity``."""
    A = np.concatenate([archive, points]) if len(points) else archive
    if len(A) > capacity:
        A = A[np.sort(rng.permutation(len(A))[:capacity])]
    return A


_COMMON = {
    "popsize": [None, Interval(int, 4, None)],
    "x0": [None, POINT],
    "tolx": [Interval(float, 0, None)],
    "tolfun": [Interval(float, 0, None)],
}


@register("jade", family="population")
class JADE(PopulationOptimizer):
    """JADE: adaptive DE with current-to-pbest/1 mutation and an optional archive (Zhang & Sanderson 2009).

    When to use: as ``de``, without tuning F and CR: the adaptation learns them while it runs, and
    the greedier current-to-pbest mutation converges much faster than DE/rand/1 on unimodal and
    moderately multimodal problems. For the most robust DE, see ``shade``.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    popsize : int, optional
        Population size NP (default ``min(10 d, 100)``, at least 5; the paper uses 100 at d = 30).
    p : float
        Greediness: x_pbest is drawn among the max(2, round(p NP)) best members.
    c : float
        Learning rate of mu_F and mu_CR.
    archive : bool
        Keep the external archive of defeated parents (at most NP points).
    x0 : array (d,), optional
        A point inserted into the initial population (DE takes no initial step size).
    tolx : float
        Stop when the population's range is below ``tolx`` times the box width in every coordinate.
    tolfun : float
        Stop when the population's values and the best values of the last ``10 + ceil(30 d / NP)``
        generations lie within ``tolfun`` (absolute).
    seed : int, optional

    Box handling: mutant coordinates outside the box are set to the midpoint between the parent's
    coordinate and the violated bound (JADE's rule).

    Reference: J. Zhang, A. C. Sanderson, IEEE Trans. Evolutionary Computation 13(5):945-958, 2009.

    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float(x @ x), [(-5, 5)] * 3, method="jade", budget=3000, seed=0)
    >>> bool(res.fun < 1e-8)
    True
    """

    needs_bounds = True
    _parameter_constraints = {
        **_COMMON,
        "p": [Interval(float, 0, 1, closed="right")],
        "c": [Interval(float, 0, 1, closed="right")],
        "archive": [BOOL],
    }

    def __init__(self, space, *, popsize=None, p=0.05, c=0.1, archive=True, x0=None, tolx=1e-12, tolfun=1e-12,
                 seed=None):
        super().__init__(space, seed=seed, popsize=popsize, p=p, c=c, archive=archive, x0=x0, tolx=tolx, tolfun=tolfun)
        self.popsize_ = int(popsize or de_default_popsize(self.dim))
        self.x0_ = None if x0 is None else self._initial_mean(x0)
        self.pop_ = DEPopulation(self.space.encoded_lower, self.space.encoded_upper, self.popsize_)
        self.archive_ = np.zeros((0, self.dim))
        self.mu_F_ = 0.5
        self.mu_CR_ = 0.5
        self._stop: str | None = None

    def _sample(self) -> np.ndarray:
        pop = self.pop_
        X = pop.start(self.rng, self.x0_)
        if X is not None:
            return X
        n = pop.popsize
        F = sample_F(self.rng, np.full(n, self.mu_F_))
        CR = sample_CR(self.rng, np.full(n, self.mu_CR_))
        U = pbest_trials(self.rng, pop, self.archive_, F, CR, n_best(self.p, n))
        pop.push("trial", F=F, CR=CR)
        return U

    def _update(self, Z, Zeval, y, C) -> None:
        batch, won, old, gain = self.pop_.tell(Zeval, y)
        if self.archive and len(won):
            self.archive_ = add_to_archive(self.rng, self.archive_, old, self.pop_.popsize)
        if batch["kind"] == "trial" and len(won):
            self.mu_F_, self.mu_CR_ = jade_adapt(self.mu_F_, self.mu_CR_, batch["F"][won], batch["CR"][won], self.c)
        self._stop = self.pop_.stop_reason(self.tolx, self.tolfun)

    def stop_reason(self) -> str | None:
        return self._stop

    def _state(self) -> dict:
        return {"pop": self.pop_.state(), "archive": self.archive_, "mu_F": self.mu_F_, "mu_CR": self.mu_CR_,
                "stop": self._stop}

    def _load(self, state: dict) -> None:
        self.pop_.load(state["pop"])
        self.archive_ = np.asarray(state["archive"], dtype=np.float64).reshape(-1, self.dim)
        self.mu_F_, self.mu_CR_ = float(state["mu_F"]), float(state["mu_CR"])
        self._stop = state["stop"]


def jade_adapt(mu_F: float, mu_CR: float, S_F: np.ndarray, S_CR: np.ndarray, c: float) -> tuple[float, float]:
    """JADE's update: mu_F <- (1 - c) mu_F + c lehmer(S_F), mu_CR <- (1 - c) mu_CR + c mean(S_CR)."""
    if len(S_F) == 0:
        return mu_F, mu_CR
    return (1 - c) * mu_F + c * lehmer_mean(S_F), (1 - c) * mu_CR + c * float(np.mean(S_CR))


def shade_memory_update(M_F: np.ndarray, M_CR: np.ndarray, k: int, S_F: np.ndarray, S_CR: np.ndarray,
                        gain: np.ndarray, lehmer_cr: bool) -> int:
    """Write entry ``k`` of the memories (in place) from the successes; returns the next position.

    Weights are the improvements |f(u) - f(x)| normalized to sum 1; M_F[k] is the weighted Lehmer mean
    of S_F, M_CR[k] the weighted mean of S_CR (SHADE) or, with ``lehmer_cr`` (L-SHADE), its weighted
    Lehmer mean, or the terminal value once the entry is terminal or max(S_CR) = 0. Nothing changes
    without successes.
    """
    if len(S_F) == 0:
        return k
    w = np.asarray(gain, dtype=np.float64)
    w = w / w.sum()
    M_F[k] = lehmer_mean(S_F, w)
    if not lehmer_cr:
        M_CR[k] = float(np.sum(w * S_CR))
    elif M_CR[k] == TERMINAL or np.max(S_CR) == 0:
        M_CR[k] = TERMINAL
    else:
        M_CR[k] = lehmer_mean(S_CR, w)
    return (k + 1) % len(M_F)


@register("shade", family="population")
class SHADE(PopulationOptimizer):
    """SHADE: success-history based adaptive DE; L-SHADE with ``population_reduction=True``.

    When to use: the most robust DE here, for multimodal continuous problems with finite bounds and
    budgets of thousands of evaluations per dimension (L-SHADE won the CEC 2014 competition). With
    ``population_reduction=True`` and ``max_evals`` set to the run's budget it explores with a large
    population first and converges with a small one by the end of the budget.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    popsize : int, optional
        Population size NP (initial NP for L-SHADE). Default ``min(10 d, 100)`` (at least 5; the
        SHADE paper uses 100), or ``round(18 d)`` with population reduction.
    memory_size : int, optional
        H, entries of the success-history memories (default 100 = the SHADE paper's; 6 for L-SHADE).
    archive_rate : float, optional
        The archive holds at most ``archive_rate * NP`` points (default 1; 2.6 for L-SHADE; 0 turns
        the archive off).
    p : float, optional
        Greediness: x_pbest is drawn among the max(2, round(p NP)) best. Default: SHADE's p_i drawn
        uniformly in [2/NP, 0.2] for every member and generation (2/NP when NP <= 10); 0.11 for
        L-SHADE.
    population_reduction : bool
        L-SHADE: shrink the population linearly from NP to ``min_popsize`` at ``max_evals``
        evaluations, and use its M_CR update (weighted Lehmer mean with a terminal value).
    max_evals : int, optional
        The evaluation budget the reduction schedule ends at (required with
        ``population_reduction=True``); the method stops when it is used up.
    min_popsize : int
        The final population size of L-SHADE (at least 4).
    x0 : array (d,), optional
        A point inserted into the initial population (DE takes no initial step size).
    tolx : float
        Stop when the population's range is below ``tolx`` times the box width in every coordinate.
    tolfun : float
        Stop when the population's values and the best values of the last ``10 + ceil(30 d / NP)``
        generations lie within ``tolfun`` (absolute).
    seed : int, optional

    Box handling: mutant coordinates outside the box are set to the midpoint between the parent's
    coordinate and the violated bound (JADE's rule).

    References: R. Tanabe, A. Fukunaga, IEEE CEC 2013, pp. 71-78 (SHADE); IEEE CEC 2014,
    pp. 1658-1665 (L-SHADE).

    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float(x @ x), [(-5, 5)] * 3, method="shade", budget=3000, seed=0)
    >>> bool(res.fun < 1e-8)
    True
    """

    needs_bounds = True
    _parameter_constraints = {
        **_COMMON,
        "memory_size": [None, Interval(int, 1, None)],
        "archive_rate": [None, Interval(float, 0, None)],
        "p": [None, Interval(float, 0, 1, closed="right")],
        "population_reduction": [BOOL],
        "max_evals": [None, Interval(int, 1, None)],
        "min_popsize": [Interval(int, 4, None)],
    }

    def __init__(self, space, *, popsize=None, memory_size=None, archive_rate=None, p=None, population_reduction=False,
                 max_evals=None, min_popsize=4, x0=None, tolx=1e-12, tolfun=1e-12, seed=None):
        super().__init__(space, seed=seed, popsize=popsize, memory_size=memory_size, archive_rate=archive_rate, p=p,
                         population_reduction=population_reduction, max_evals=max_evals, min_popsize=min_popsize, x0=x0,
                         tolx=tolx, tolfun=tolfun)
        d, lshade = self.dim, bool(population_reduction)
        if lshade and max_evals is None:
            raise InvalidParameterError(
                "The 'max_evals' parameter of SHADE must be given (an int >= 1, the run's evaluation budget) when "
                "population_reduction=True: L-SHADE's population schedule ends at max_evals. Got None instead."
            )
        self.popsize_ = int(popsize or (max(int(round(18 * d)), min_popsize) if lshade else de_default_popsize(d)))
        if lshade and min_popsize > self.popsize_:
            raise InvalidParameterError(
                f"The 'min_popsize' parameter of SHADE must be at most popsize = {self.popsize_}. Got {min_popsize!r} instead."
            )
        self.init_popsize_ = self.popsize_
        H = int(memory_size or (6 if lshade else 100))
        self.archive_rate_ = float(archive_rate if archive_rate is not None else (2.6 if lshade else 1.0))
        self.p_ = p if p is not None else (0.11 if lshade else None)
        self.x0_ = None if x0 is None else self._initial_mean(x0)
        self.pop_ = DEPopulation(self.space.encoded_lower, self.space.encoded_upper, self.popsize_)
        self.archive_ = np.zeros((0, d))
        self.M_F_ = np.full(H, 0.5)
        self.M_CR_ = np.full(H, 0.5)
        self.k_ = 0
        self._stop: str | None = None

    def _sample(self) -> np.ndarray:
        pop = self.pop_
        X = pop.start(self.rng, self.x0_)
        if X is not None:
            return X
        n = pop.popsize
        r = self.rng.integers(0, len(self.M_F_), size=n)
        CR = sample_CR(self.rng, self.M_CR_[r])
        F = sample_F(self.rng, self.M_F_[r])
        p = self.p_ if self.p_ is not None else self.rng.uniform(2.0 / n, max(0.2, 2.0 / n), size=n)
        U = pbest_trials(self.rng, pop, self.archive_, F, CR, n_best(p, n))
        pop.push("trial", F=F, CR=CR)
        return U

    def _archive_capacity(self) -> int:
        return int(round(self.archive_rate_ * self.pop_.popsize))

    def _update(self, Z, Zeval, y, C) -> None:
        pop = self.pop_
        batch, won, old, gain = pop.tell(Zeval, y)
        if len(won):
            self.archive_ = add_to_archive(self.rng, self.archive_, old, self._archive_capacity())
        if batch["kind"] == "trial":
            self.k_ = shade_memory_update(self.M_F_, self.M_CR_, self.k_, batch["F"][won], batch["CR"][won], gain,
                                          lehmer_cr=self.population_reduction)
        if self.population_reduction:
            plan = int(round(self.init_popsize_ + (self.min_popsize - self.init_popsize_) * pop.nfe / self.max_evals))
            plan = max(plan, self.min_popsize)
            if plan < pop.popsize:
                pop.shrink(plan)
                self.popsize_ = plan
                self.archive_ = add_to_archive(self.rng, self.archive_, self.archive_[:0], self._archive_capacity())
        self._stop = self._check_stop()

    def _check_stop(self) -> str | None:
        if self.population_reduction and self.pop_.nfe >= self.max_evals:
            return f"max_evals: L-SHADE's population schedule ended after {self.max_evals} evaluations"
        return self.pop_.stop_reason(self.tolx, self.tolfun)

    def stop_reason(self) -> str | None:
        return self._stop

    def _state(self) -> dict:
        return {"pop": self.pop_.state(), "archive": self.archive_, "M_F": self.M_F_, "M_CR": self.M_CR_, "k": self.k_,
                "popsize": self.popsize_, "stop": self._stop}

    def _load(self, state: dict) -> None:
        self.pop_.load(state["pop"])
        self.archive_ = np.asarray(state["archive"], dtype=np.float64).reshape(-1, self.dim)
        self.M_F_ = np.asarray(state["M_F"], dtype=np.float64).copy()
        self.M_CR_ = np.asarray(state["M_CR"], dtype=np.float64).copy()
        self.k_ = int(state["k"])
        self.popsize_ = int(state["popsize"])
        self._stop = state["stop"]
