"""Private-GSD: differentially private synthetic data by a genetic algorithm (Liu, Vietri, Steinke,
Ullman & Wu 2023, "Generating Private Synthetic Data with Genetic Algorithms").

The data are ``n`` rows of ``c`` categorical columns (``domain[j]`` values each; :func:`load_tabular`
discretizes a real table that scikit-learn ships). The statistics to preserve are *k-way marginals*:
for each set of ``k`` columns, the fraction of rows in each cell of their joint domain. Private-GSD
never differentiates them: it measures them privately, then searches for a synthetic table whose
marginals match the noisy answers with a genetic algorithm (zeroth-order: any query works).

Privacy (zero-concentrated DP, converted from the ``(epsilon, delta)`` target by
``epsilon = rho + 2 sqrt(rho log(1/delta))``, Bun & Steinke 2016), ``n`` treated as public:

* ``rounds=None`` (non-adaptive): all ``M`` marginals measured once with the Gaussian mechanism. Adding
  or removing a row changes one cell count in each marginal: L2 sensitivity ``sqrt(M)``, so the noisy
  counts get ``N(0, M / (2 rho))`` (rho-zCDP).
* ``rounds=R`` (the adaptive loop of the paper): each round spends ``rho / R``; half selects
  ``per_round`` not-yet-measured marginals one by one with the exponential mechanism (score: the L1
  error of the current synthetic data on the marginal, in counts, sensitivity 1; an ``e``-DP selection
  is ``e^2 / 8``-zCDP), half measures them with the Gaussian mechanism; then the GA refits the
  synthetic data to every measurement so far.

The GA (its own operators; families do not share code): a population of ``elite`` synthetic tables
of ``n_synthetic`` rows. Each generation makes ``pop_size`` children, each one parent with one row
changed in one column, by *mutation* (a uniformly random value) or *crossover* (the value of a random
row of another elite table); a child's marginals are updated incrementally (only the cells of the old
and new row move, by ``1 / n_synthetic``), its fitness is the squared error to the noisy answers over
the measured marginals, and the best ``elite`` of parents and children survive.

>>> D, domain, names = load_tabular("breast_cancer", n_columns=6, bins=3)
>>> res = private_gsd(D, domain, epsilon=1.0, delta=1e-6, generations=300, seed=0)
>>> bool(res.epsilon <= 1.0), bool(res.error_mean < res.baseline_error_mean)
(True, True)
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.privacy.accountant import check_delta, check_positive


def load_tabular(dataset: str = "breast_cancer", *, n_columns: int = 8, bins: int = 4) -> tuple[np.ndarray, np.ndarray, list]:
    """A real scikit-learn table discretized: the first ``n_columns`` features cut at their quantiles into
    ``bins`` values, plus the class label. Returns ``(D (n, c) ints, domain (c,), column names)``.

    The bin edges are taken from the data and treated as public (as a domain's natural bins would be):
    they are not covered by the privacy guarantee.
    """
    from sklearn import datasets

    loaders = {"breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine, "iris": datasets.load_iris}
    if dataset not in loaders:
        raise InvalidParameterError(f"load_tabular: 'dataset' must be one of {sorted(loaders)}; got {dataset!r}")
    data = loaders[dataset]()
    X, y = np.asarray(data.data, dtype=np.float64), np.asarray(data.target)
    if isinstance(n_columns, bool) or not isinstance(n_columns, int) or not 1 <= n_columns <= X.shape[1]:
        raise InvalidParameterError(f"load_tabular: 'n_columns' must be an int in [1, {X.shape[1]}]; got {n_columns!r}")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise InvalidParameterError(f"load_tabular: 'bins' must be an int >= 2; got {bins!r}")
    cols = []
    for j in range(n_columns):
        edges = np.quantile(X[:, j], np.linspace(0, 1, bins + 1)[1:-1])
        cols.append(np.searchsorted(edges, X[:, j], side="right"))
    labels = np.unique(y, return_inverse=True)[1]
    D = np.column_stack(cols + [labels]).astype(np.int64)
    domain = np.array([bins] * n_columns + [int(labels.max()) + 1])
    names = [str(n) for n in data.feature_names[:n_columns]] + ["target"]
    return D, domain, names


class Marginals:
    """The k-way marginal queries of a domain, answered as one flat vector (each marginal's cells in a block)."""

    def __init__(self, domain, k: int = 2):
        self.domain = np.asarray(domain, dtype=np.int64)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.domain.size:
            raise InvalidParameterError(f"Marginals: 'k' must be an int in [1, {self.domain.size}]; got {k!r}")
        self.workloads = list(itertools.combinations(range(self.domain.size), k))
        sizes = [int(np.prod(self.domain[list(w)])) for w in self.workloads]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.size = int(self.offsets[-1])
        self._cols = np.array(self.workloads)                       # (M, k)
        strides = []
        for w in self.workloads:
            dims = self.domain[list(w)]
            strides.append(np.concatenate([np.cumprod(dims[::-1])[::-1][1:], [1]]))
        self._strides = np.array(strides)                           # (M, k)

    def cells(self, rows: np.ndarray) -> np.ndarray:
        """(r, M) flat cell index of each row in each marginal."""
        rows = np.atleast_2d(rows)
        return self.offsets[:-1] + np.sum(rows[:, self._cols] * self._strides, axis=2)

    def counts(self, D: np.ndarray) -> np.ndarray:
        return np.bincount(self.cells(D).ravel(), minlength=self.size).astype(np.float64)

    def block(self, m: int) -> slice:
        return slice(int(self.offsets[m]), int(self.offsets[m + 1]))


def rho_from_epsilon(epsilon: float, delta: float) -> float:
    """The rho-zCDP whose (epsilon, delta) conversion ``rho + 2 sqrt(rho log(1/delta))`` equals ``epsilon``."""
    a = math.log(1 / delta)
    rho = (math.sqrt(a + epsilon) - math.sqrt(a)) ** 2
    while rho + 2 * math.sqrt(rho * a) > epsilon:  # never above the target after rounding
        rho = math.nextafter(rho, 0.0)
    return rho


@dataclass
class GSDResult:
    """Synthetic data and its quality: errors are on the normalized answers of *all* the marginals,
    against the true data (an evaluation, not a private release)."""

    synthetic: np.ndarray
    error_max: float
    error_mean: float
    baseline_error_mean: float
    epsilon: float
    delta: float
    rho: float
    measured: list
    history: list = field(default_factory=list)


class _GA:
    """The genetic search over synthetic tables (see the module docstring)."""

    def __init__(self, Q: Marginals, n_rows: int, elite: int, pop_size: int, crossover: float, rng):
        self.Q, self.N, self.elite, self.pop, self.cx, self.rng = Q, n_rows, elite, pop_size, crossover, rng
        dom = Q.domain
        self.tables = np.stack([np.column_stack([rng.integers(0, d, n_rows) for d in dom]) for _ in range(elite)])
        self.answers = np.stack([Q.counts(T) / n_rows for T in self.tables])

    def run(self, target: np.ndarray, mask: np.ndarray, generations: int) -> list:
        rng, Q, N, dom = self.rng, self.Q, self.N, self.Q.domain
        err = np.array([np.sum(((a - target) * mask) ** 2) for a in self.answers])
        trace = []
        for _ in range(generations):
            parents = rng.integers(0, self.elite, self.pop)
            rows = rng.integers(0, N, self.pop)
            cols = rng.integers(0, dom.size, self.pop)
            new_rows = self.tables[parents, rows].copy()
            donors = rng.integers(0, self.elite, self.pop)
            values = np.where(rng.random(self.pop) < self.cx, self.tables[donors, rng.integers(0, N, self.pop), cols],
                              rng.integers(0, dom[cols]))
            new_rows[np.arange(self.pop), cols] = values
            old_cells = Q.cells(self.tables[parents, rows])           # (pop, M)
            new_cells = Q.cells(new_rows)
            resid = (self.answers[parents] - target) * mask               # (pop, S)
            idx = np.arange(self.pop)[:, None]
            moved = old_cells != new_cells
            # squared error change: the old cells lose 1/N, the new cells gain 1/N (distinct within a marginal)
            r_old, r_new = resid[idx, old_cells], resid[idx, new_cells]
            m_old, m_new = mask[old_cells], mask[new_cells]
            d_old = ((r_old - m_old / N) ** 2 - r_old**2) * moved
            d_new = ((r_new + m_new / N) ** 2 - r_new**2) * moved
            child_err = err[parents] + d_old.sum(axis=1) + d_new.sum(axis=1)
            pool_err = np.concatenate([err, child_err])
            keep = np.argsort(pool_err, kind="stable")[: self.elite]
            tables, answers = [], []
            for j in keep:
                if j < self.elite:
                    tables.append(self.tables[j])
                    answers.append(self.answers[j])
                else:
                    c = j - self.elite
                    T = self.tables[parents[c]].copy()
                    T[rows[c]] = new_rows[c]
                    a = self.answers[parents[c]].copy()
                    a[old_cells[c]] -= moved[c] / N
                    a[new_cells[c]] += moved[c] / N
                    tables.append(T)
                    answers.append(a)
            self.tables, self.answers, err = np.stack(tables), np.stack(answers), pool_err[keep]
            trace.append(float(err[0]))
        return trace


def private_gsd(D, domain, *, epsilon: float | None, delta: float = 1e-6, k: int = 2, rounds: int | None = None,
                per_round: int = 5, n_synthetic: int = 300, elite: int = 8, pop_size: int = 64, crossover: float = 0.5,
                generations: int = 2000, seed=None) -> GSDResult:
    """Private synthetic data for ``D`` (n, c) over ``domain`` (c,) matching its ``k``-way marginals.

    ``epsilon=None`` runs without privacy (exact answers: the GA alone). ``generations`` is per round
    in the adaptive mode. See the module docstring for the mechanism and the GA.
    """
    D = np.asarray(D)
    domain = np.asarray(domain, dtype=np.int64)
    if D.ndim != 2 or D.shape[1] != domain.size or D.shape[0] < 1 or np.any(D < 0) or np.any(D >= domain):
        raise InvalidParameterError(f"private_gsd: 'D' must be an (n, {domain.size}) int array with D[:, j] in "
                                    f"[0, domain[j]); got shape {D.shape}")
    delta = check_delta("private_gsd", delta)
    for name, v, lo in (("n_synthetic", n_synthetic, 1), ("elite", elite, 1), ("pop_size", pop_size, 1),
                        ("generations", generations, 1), ("per_round", per_round, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise InvalidParameterError(f"private_gsd: {name!r} must be an int >= {lo}; got {v!r}")
    if rounds is not None and (isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1):
        raise InvalidParameterError(f"private_gsd: 'rounds' must be None or an int >= 1; got {rounds!r}")
    rng = np.random.default_rng(seed)
    n = D.shape[0]
    Q = Marginals(domain, k)
    M = len(Q.workloads)
    true = Q.counts(D) / n
    rho = math.inf if epsilon is None else rho_from_epsilon(check_positive("private_gsd", "epsilon", epsilon), delta)
    ga = _GA(Q, n_synthetic, elite, pop_size, crossover, rng)
    baseline = float(np.mean(np.abs(ga.answers[0] - true)))
    target, mask, measured, history = np.zeros(Q.size), np.zeros(Q.size), [], []
    if rounds is None:
        scale = 0.0 if epsilon is None else math.sqrt(M / (2 * rho)) / n
        target = true + scale * rng.standard_normal(Q.size)
        mask[:] = 1.0
        measured = list(range(M))
        history += ga.run(target, mask, generations)
    else:
        if rounds * per_round > M:
            raise InvalidParameterError(f"private_gsd: rounds * per_round = {rounds * per_round} exceeds the {M} marginals")
        rho_round = rho / rounds
        for _ in range(rounds):
            eps_sel = math.inf if epsilon is None else math.sqrt(8 * (rho_round / 2) / per_round)
            scale = 0.0 if epsilon is None else math.sqrt(per_round / (2 * (rho_round / 2))) / n
            for _ in range(per_round):
                left = [m for m in range(M) if m not in measured]
                score = np.array([n * np.abs(ga.answers[0][Q.block(m)] - true[Q.block(m)]).sum() for m in left])
                if math.isinf(eps_sel):
                    pick = left[int(np.argmax(score))]
                else:
                    logits = eps_sel * score / 2
                    p = np.exp(logits - logits.max())
                    pick = left[int(rng.choice(len(left), p=p / p.sum()))]
                measured.append(pick)
                b = Q.block(pick)
                target[b] = true[b] + scale * rng.standard_normal(b.stop - b.start)
                mask[b] = 1.0
            history += ga.run(target, mask, generations)
    best = ga.answers[0]
    err = np.abs(best - true)
    eps_out = 0.0 if epsilon is None else rho + 2 * math.sqrt(rho * math.log(1 / delta))
    return GSDResult(ga.tables[0].copy(), float(err.max()), float(err.mean()), baseline,
                     math.inf if epsilon is None else eps_out, delta, rho, [Q.workloads[m] for m in measured], history)


__all__ = ["GSDResult", "Marginals", "load_tabular", "private_gsd", "rho_from_epsilon"]
