"""A real-coded genetic algorithm with type-aware operators for mixed spaces.

One generation: binary tournaments pick parents from the population; pairs are recombined with
probability ``crossover_prob``; every gene of a child mutates with probability ``mutation_prob``
(default 1/d). ``popsize`` children are evaluated; the ``n_elite`` best members of the population
survive unchanged and replace the ``n_elite`` worst children (generational replacement with
elitism).

Operators by dimension type (a :class:`~optkit.Box` is all reals; a :class:`~optkit.SearchSpace`
says per dimension), all in the encoded space (the box, or the unit cube of a SearchSpace):

* real: simulated binary crossover (SBX, Deb & Agrawal 1995) in its bounded form (the one of Deb's
  NSGA-II C code, revision 1.1.6): each variable is crossed with probability 1/2, the spread factor
  beta_q is drawn from the polynomial density of index ``eta_c`` truncated so that both children
  stay in the box, and the two children are swapped with probability 1/2. Mutation: bounded
  polynomial mutation (Deb & Goyal 1996, the same code's form) of index ``eta_m``.
* integer: the same SBX and polynomial mutation on the encoded value, then rounded to the nearest
  admissible integer (the encoded bucket of that integer). A mutation that rounds back to the same
  integer becomes a +-1 step (reflected at the bounds), so a mutated integer always changes.
* categorical: uniform crossover (each gene swapped between the two children with probability 1/2)
  and random-reset mutation to one of the *other* categories, uniformly.

Bounds: both operators are bounded, so every child lies in the box and is evaluated as sampled.

References: K. Deb, R. B. Agrawal, "Simulated binary crossover for continuous search space", Complex
Systems 9:115-148, 1995; K. Deb, M. Goyal, "A combined genetic adaptive search (GeneAS) for
engineering design", Computer Science and Informatics 26(4):30-45, 1996; K. Deb, "An efficient
constraint handling method for genetic algorithms", CMAME 186:311-338, 2000 (binary tournament,
the real-coded GA with SBX and polynomial mutation); the bounded operator forms follow Deb's NSGA-II
code (K. Deb, A. Pratap, S. Agarwal, T. Meyarivan, IEEE TEC 6(2):182-197, 2002).
"""

from __future__ import annotations

import math

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.params import POINT, Interval
from optkit.core.registry import register
from optkit.core.space import SearchSpace
from optkit.population._base import PopulationOptimizer
from optkit_native import kernel
from optkit_native.population_kernels import polynomial_mutation, sbx  # noqa: F401  (the operators, re-exported)


def binary_tournament(rng: np.random.Generator, fitness: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` winners of binary tournaments (two uniform draws, the lower value wins)."""
    i = rng.integers(0, len(fitness), size=(n, 2))
    return np.where(fitness[i[:, 0]] <= fitness[i[:, 1]], i[:, 0], i[:, 1])


@register("ga", family="population")
class GA(PopulationOptimizer):
    """Real-coded genetic algorithm (SBX + polynomial mutation) that also handles integer and
    categorical dimensions with their own operators.

    When to use: mixed spaces of reals, integers and categories (e.g. configurations and
    hyperparameters) with a cheap objective and a budget of thousands of evaluations; problems with
    many local optima where a diverse population helps. On purely continuous smooth problems CMA-ES
    or PSO converge much faster.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    popsize : int, optional
        Population size N (default ``min(100, max(20, 10 d))``: Deb's usual 100 caps it, and 10
        members per dimension keep small problems from spending most of the budget on one
        generation).
    n_elite : int, optional
        Best members copied unchanged into the next generation, in place of the worst children
        (default ``max(1, round(N / 10))``).
    crossover_prob : float
        Probability that a pair of parents is recombined (Deb's 0.9).
    eta_c : float
        SBX distribution index (larger: children closer to their parents).
    eta_m : float
        Polynomial mutation distribution index.
    mutation_prob : float, optional
        Per-gene mutation probability (default 1/d).
    x0 : array (d,), optional
        If given, member 0 of the first population is ``x0`` and the others are uniform in the box
        intersected with x0 +- 2 sigma0 (default: the whole box).
    sigma0 : float, optional
        Size of that initial region (used only with ``x0``; default 0.3 of the box's mean width).
    patience : int, optional
        Stop (status converged) after this many generations without improvement of the best value
        (None: never).
    seed : int, optional

    Examples
    --------
    >>> import optkit
    >>> space = optkit.SearchSpace({"x": optkit.Real(-1, 1), "k": optkit.Integer(0, 9),
    ...                             "c": optkit.Categorical(["a", "b", "c"])})
    >>> f = lambda v: (v["x"] - 0.3) ** 2 + (v["k"] - 4) ** 2 + float(v["c"] != "b")
    >>> res = optkit.minimize(f, space=space, method="ga", budget=3000, seed=0)
    >>> space.to_dict(res.x)["k"], space.to_dict(res.x)["c"]
    (4, 'b')
    """

    needs_bounds = True
    _parameter_constraints = {
        "popsize": [None, Interval(int, 4, None)],
        "n_elite": [None, Interval(int, 0, None)],
        "crossover_prob": [Interval(float, 0, 1)],
        "eta_c": [Interval(float, 0, None)],
        "eta_m": [Interval(float, 0, None)],
        "mutation_prob": [None, Interval(float, 0, 1)],
        "x0": [None, POINT],
        "sigma0": [None, Interval(float, 0, None, closed="neither")],
        "patience": [None, Interval(int, 1, None)],
    }

    def __init__(self, space, *, popsize=None, n_elite=None, crossover_prob=0.9, eta_c=15.0, eta_m=20.0,
                 mutation_prob=None, x0=None, sigma0=None, patience=100, seed=None):
        super().__init__(space, seed=seed, popsize=popsize, n_elite=n_elite, crossover_prob=crossover_prob,
                         eta_c=eta_c, eta_m=eta_m, mutation_prob=mutation_prob, x0=x0, sigma0=sigma0,
                         patience=patience)
        self.popsize_ = popsize or min(100, max(20, 10 * self.dim))
        self.n_elite_ = max(1, round(self.popsize_ / 10)) if n_elite is None else n_elite
        if self.n_elite_ >= self.popsize_:
            raise InvalidParameterError(
                f"The 'n_elite' parameter of GA must be smaller than popsize = {self.popsize_}. Got {n_elite!r} instead."
            )
        self.pm_ = 1.0 / self.dim if mutation_prob is None else mutation_prob
        kinds = [p.kind for p in self.space.params.values()] if isinstance(self.space, SearchSpace) else ["real"] * self.dim
        self.kinds_ = np.array(kinds)
        self.ncat_ = np.array([len(p.choices) if p.kind == "categorical" else 0 for p in self.space.params.values()]
                              if isinstance(self.space, SearchSpace) else [0] * self.dim)
        self.lo_, self.hi_ = self.space.encoded_lower, self.space.encoded_upper
        a, b = self.lo_.copy(), self.hi_.copy()
        self.x0_ = None
        if x0 is not None:
            self.x0_ = self._initial_mean(x0)
            s = self._initial_sigma(sigma0)
            a, b = np.maximum(a, self.x0_ - 2 * s), np.minimum(b, self.x0_ + 2 * s)
        self.init_low_, self.init_high_ = a, b
        self.pop_ = self.fit_ = None
        self.best_ = math.inf
        self.stall_ = 0

    # -- operators -----------------------------------------------------------------------------
    def _snap(self, Z: np.ndarray) -> np.ndarray:
        """Integer and categorical genes moved to the centre of their value's bucket."""
        disc = self.kinds_ != "real"
        if disc.any():
            Z = Z.copy()
            Z[:, disc] = self.space.encode(self.space.decode(Z))[:, disc]
        return Z

    def _vary(self, P1: np.ndarray, P2: np.ndarray) -> np.ndarray:
        """Children (2 per pair, stacked) of parents P1, P2 (pairs, d)."""
        rng, n, d = self.rng, P1.shape[0], self.dim
        num = self.kinds_ != "categorical"
        cat = ~num
        crossed = rng.random(n) < self.crossover_prob
        # SBX on reals and integers: each variable with probability 1/2, children swapped with probability 1/2
        # (numba kernel, or its numpy twin optkit_native.population_kernels.ga_crossover)
        u = rng.random((n, d))
        do = crossed[:, None] & num & (rng.random((n, d)) < 0.5)
        swap = rng.random((n, d)) < 0.5
        C1, C2 = kernel("ga_crossover")(P1, P2, self.lo_, self.hi_, self.eta_c, u, do, swap)
        # uniform crossover on categories
        ex = crossed[:, None] & cat & (rng.random((n, d)) < 0.5)
        C1, C2 = np.where(ex, P2, C1), np.where(ex, P1, C2)
        kids = self._snap(np.vstack([C1, C2]))
        return self._mutate(kids)

    def _mutate(self, K: np.ndarray) -> np.ndarray:
        rng = self.rng
        mut = rng.random(K.shape) < self.pm_
        if not mut.any():
            return K
        real = self.kinds_ == "real"
        intg = self.kinds_ == "integer"
        cat = self.kinds_ == "categorical"
        # polynomial mutation of the real and integer genes drawn (numba kernel, or its numpy twin)
        out = kernel("ga_mutation")(K, self.lo_, self.hi_, self.eta_m, rng.random(K.shape), mut & (real | intg))
        if intg.any() or cat.any():
            out = self._snap(out)
            X_old, X_new = self.space.decode(K), self.space.decode(out)
            for j in np.flatnonzero(intg):
                p = self.space.params[self.space.names[j]]
                same = np.flatnonzero(mut[:, j] & (X_new[:, j] == X_old[:, j]))
                if same.size:  # rounded back to the same integer: a +-1 step, reflected at the bounds
                    step = rng.choice([-1.0, 1.0], size=same.size)
                    v = X_old[same, j] + step
                    v = np.where((v < p.low) | (v > p.high), X_old[same, j] - step, v)
                    out[same, j] = p.to_unit(v)
            for j in np.flatnonzero(cat):
                k = int(self.ncat_[j])
                rows = np.flatnonzero(mut[:, j])
                if k > 1 and rows.size:
                    new = (X_old[rows, j] + rng.integers(1, k, size=rows.size)) % k
                    out[rows, j] = (new + 0.5) / k
        return out

    # -- generations ---------------------------------------------------------------------------
    def _sample(self) -> np.ndarray:
        if self.pop_ is None:  # the initial population
            a, b = self.init_low_, self.init_high_
            Z = a + self.rng.random((self.popsize_, self.dim)) * (b - a)
            if self.x0_ is not None:
                Z[0] = self.x0_
            return self._snap(Z)
        pairs = (self.popsize_ + 1) // 2
        w = binary_tournament(self.rng, self.fit_, 2 * pairs)
        kids = self._vary(self.pop_[w[:pairs]], self.pop_[w[pairs:]])
        return kids[: self.popsize_]

    def _update(self, Z, Zeval, y, C) -> None:
        order = np.argsort(y, kind="stable")
        if self.pop_ is None:
            keep = order[: self.popsize_]
            pop, fit = Zeval[keep], y[keep]
        else:  # the elites replace the worst children
            keep = order[: max(0, self.popsize_ - self.n_elite_)]
            pop = np.vstack([self.pop_[: self.n_elite_], Zeval[keep]])
            fit = np.concatenate([self.fit_[: self.n_elite_], y[keep]])
        order = np.argsort(fit, kind="stable")  # the population is kept sorted, best first
        self.pop_, self.fit_ = pop[order].copy(), fit[order].copy()
        best = float(self.fit_[0])
        if best < self.best_:
            self.best_, self.stall_ = best, 0
        else:
            self.stall_ += 1

    def stop_reason(self) -> str | None:
        if self.patience is not None and self.stall_ >= self.patience:
            return f"no improvement of the best value in {self.stall_} generations (patience = {self.patience})"
        return None

    # -- state ---------------------------------------------------------------------------------
    def _state(self) -> dict:
        state = {"best": self.best_, "stall": self.stall_}
        if self.pop_ is not None:
            state.update(pop=self.pop_, fit=self.fit_)
        return state

    def _load(self, state: dict) -> None:
        self.best_, self.stall_ = float(state["best"]), int(state["stall"])
        if "pop" in state:
            self.pop_ = np.asarray(state["pop"], dtype=np.float64)
            self.fit_ = np.asarray(state["fit"], dtype=np.float64)
        else:
            self.pop_ = self.fit_ = None
