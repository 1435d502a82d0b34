"""CQR: conformalized quantile regression as the surrogate of a hyperparameter search.

Salinas, Golebiowski, Klein, Seeger, Archambeau, "Optimizing Hyperparameters with Conformal
Quantile Regression", ICML 2023 (the method behind Syne Tune's ``CQR`` and ``ASHACQR``).

The surrogate: ``K`` (odd) gradient-boosted quantile regressors (scikit-learn's
``GradientBoostingRegressor(loss="quantile")``, as in the paper's code), one per level
``j / (K + 1)``, fitted on every trial's value. Once there are more than ``min_conformalize``
trials, a fraction ``valid_fraction`` of them is held out and each symmetric pair of levels
``(a, 1 - a)`` is widened by the split-conformal correction of Romano, Patterson and Candes
(2019)::

    E_i = max(q_lo(x_i) - y_i, y_i - q_hi(x_i))            on the n held-out trials
    Q   = the ceil((n + 1)(1 - 2a))-th smallest E_i        (the largest E_i when that exceeds n)
    q_lo <- q_lo - Q,   q_hi <- q_hi + Q                   (the median is not corrected)

so that ``P(q_lo(x) <= y <= q_hi(x)) >= 1 - 2a`` for a new exchangeable trial, whatever the
regressor. (Syne Tune takes ``numpy.quantile(E, (1 - 2a) / (1 + 1 / n))``, which is slightly
below the level that the finite-sample guarantee needs; optkit keeps the guarantee.)

The acquisition is Thompson-like: ``n_candidates`` points drawn uniformly in the space; each gets
one of its ``K`` corrected quantiles picked at random; the argmin is the next point
(``acquisition="thompson"``). ``acquisition="lcb"`` takes the lowest corrected quantile instead (an
optimistic lower confidence bound). Until ``n_init`` trials have values, points are random.

Multi-fidelity (the paper's Section 4): a trial reports values at several resource levels
(epochs, data size) through :meth:`CQR.tell_fidelity`; the model is fitted on the value at the
**highest resource each trial has reached** (its last report under a successive-halving schedule),
one data point per trial. Trials stopped early keep their low-resource value, which is already
bad, so the ranking signal is kept while every trial counts. :meth:`CQR.minimize_fidelity` drives
the search with asynchronous successive halving (ASHA, Li et al. 2020) run by one worker, as the
paper's ``ASHA-CQR``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from optkit.core.errors import InvalidParameterError, StateError
from optkit.core.optimizer import Optimizer, _key
from optkit.core.params import Interval, Options, Predicate, validate
from optkit.core.registry import register
from optkit.core.space import Box, Categorical, as_points

ODD_LEVELS = Predicate(lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 3 and v % 2 == 1,
                       "an odd int >= 3")


def quantile_levels(k: int) -> np.ndarray:
    """The ``k`` quantile levels ``j / (k + 1)``, j = 1..k (k odd, so 0.5 is among them)."""
    return np.arange(1, k + 1, dtype=np.float64) / (k + 1)


def conformal_correction(lower: np.ndarray, upper: np.ndarray, y: np.ndarray, coverage: float) -> float:
    """The symmetric split-conformal correction ``Q`` of one quantile band (Romano et al. 2019).

    ``lower``, ``upper``: the band's predictions at the held-out points; ``y``: their values;
    ``coverage``: the band's nominal coverage ``1 - 2a``. ``[lower - Q, upper + Q]`` then covers a new
    exchangeable point with probability at least ``coverage``. ``Q`` is negative when the band is
    too wide (it shrinks).
    """
    E = np.maximum(np.asarray(lower, dtype=np.float64) - y, np.asarray(y, dtype=np.float64) - upper)
    n = E.size
    if n == 0:
        return 0.0
    k = math.ceil((n + 1) * coverage - 1e-12)
    return float(np.sort(E)[min(max(k, 1), n) - 1])


class ConformalQuantileModel:
    """``k`` gradient-boosted quantile regressors with the symmetric split-conformal correction.

    ``fit(F, y, rng)`` with features F (n, p); ``predict(F)`` gives (m, k) corrected quantiles,
    columns in increasing level, each row sorted (the rearrangement that removes quantile
    crossings). ``corrections`` holds Q per band, lowest level first (zeros before conformalizing).
    """

    def __init__(self, k: int = 5, *, valid_fraction: float = 0.1, min_conformalize: int = 32,
                 n_estimators: int = 100, max_depth: int = 3, learning_rate: float = 0.1):
        self.levels = quantile_levels(k)
        self.valid_fraction, self.min_conformalize = valid_fraction, min_conformalize
        self.tree_params = {"n_estimators": n_estimators, "max_depth": max_depth, "learning_rate": learning_rate}
        self.corrections = np.zeros(k // 2)
        self.models: list = []

    def fit(self, F: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> ConformalQuantileModel:
        from sklearn.ensemble import GradientBoostingRegressor

        n = y.size
        train = np.arange(n)
        valid = np.zeros(0, dtype=np.int64)
        if n > self.min_conformalize:
            perm = rng.permutation(n)
            n_val = max(1, math.ceil(self.valid_fraction * n))
            valid, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        seed = int(rng.integers(2**31 - 1))
        self.models = [GradientBoostingRegressor(loss="quantile", alpha=float(a), random_state=seed,
                                                 **self.tree_params).fit(F[train], y[train]) for a in self.levels]
        self.corrections = np.zeros(self.levels.size // 2)
        if valid.size:
            raw = self._raw(F[valid])
            k = self.levels.size
            for j in range(k // 2):
                self.corrections[j] = conformal_correction(raw[:, j], raw[:, k - 1 - j], y[valid],
                                                           1.0 - 2.0 * self.levels[j])
        return self

    def _raw(self, F: np.ndarray) -> np.ndarray:
        return np.column_stack([m.predict(F) for m in self.models])

    def predict(self, F: np.ndarray) -> np.ndarray:
        Q = self._raw(F)
        k = self.levels.size
        for j, c in enumerate(self.corrections):
            Q[:, j] -= c
            Q[:, k - 1 - j] += c
        return np.sort(Q, axis=1)


@register("cqr", family="bayesopt")
class CQR(Optimizer):
    """Conformalized quantile regression (gradient-boosted trees) for hyperparameter search.

    When to use: tuning a model's hyperparameters (mixed real / log-real / integer / categorical
    spaces), tens to a few thousand evaluations, noisy or heavy-tailed scores, and no torch: the
    surrogate is scikit-learn's gradient boosting, it makes no Gaussian-noise assumption, and it
    handles categories without relaxation. With a resource (epochs, data size), use
    :meth:`minimize_fidelity` (ASHA with this model). Not for smooth low-dimensional functions that
    must be solved to high precision: trees are piecewise constant, use ``bo``.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    n_init : int
        Random points before the first model (Syne Tune's default 5).
    n_candidates : int
        Random candidates scored by the acquisition at every ``ask`` (the paper's 2000).
    quantiles : int
        Number of quantile regressors, odd (levels ``j / (quantiles + 1)``; default 5).
    acquisition : {"thompson", "lcb"}
        ``"thompson"``: each candidate scored by one of its corrected quantiles drawn at random
        (the paper); ``"lcb"``: by its lowest corrected quantile.
    valid_fraction : float
        Fraction of trials held out to calibrate the bands.
    min_conformalize : int
        Bands are conformalized only with more trials than this (default 32, the paper's code);
        below, the raw quantiles are used.
    n_estimators, max_depth, learning_rate
        Of each ``GradientBoostingRegressor`` (scikit-learn's defaults 100, 3, 0.1).
    seed : int, optional

    Notes
    -----
    Categorical dimensions are one-hot features of the trees; real and integer ones their
    unit-cube coordinates (log-scaled dimensions on the log scale). ``ask(n)`` scores the same
    candidates ``n`` times with fresh quantile draws and returns ``n`` distinct points. Constraint
    values told with ``tell`` are not modelled. Candidates equal to an evaluated or pending point
    are skipped (this matters in discrete spaces).

    Examples
    --------
    >>> import optkit
    >>> space = optkit.SearchSpace({"lr": optkit.Real(1e-4, 1.0, log=True), "layers": optkit.Integer(1, 4),
    ...                             "act": optkit.Categorical(["relu", "tanh"])})
    >>> f = lambda p: (p["lr"] - 0.01) ** 2 + 0.1 * p["layers"] + (p["act"] == "tanh")
    >>> res = optkit.minimize(f, space, method="cqr", budget=15, seed=0, n_estimators=20)
    >>> res.nfev, space.to_dict(res.x)["act"]
    (15, 'relu')
    """

    needs_bounds = True
    _parameter_constraints = {
        "n_init": [Interval(int, 2, None)],
        "n_candidates": [Interval(int, 1, None)],
        "quantiles": [ODD_LEVELS],
        "acquisition": [Options({"thompson", "lcb"})],
        "valid_fraction": [Interval(float, 0, 1, closed="neither")],
        "min_conformalize": [Interval(int, 0, None)],
        "n_estimators": [Interval(int, 1, None)],
        "max_depth": [Interval(int, 1, None)],
        "learning_rate": [Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, space, *, n_init: int = 5, n_candidates: int = 2000, quantiles: int = 5,
                 acquisition: str = "thompson", valid_fraction: float = 0.1, min_conformalize: int = 32,
                 n_estimators: int = 100, max_depth: int = 3, learning_rate: float = 0.1, seed=None):
        super().__init__(space, seed=seed, n_init=n_init, n_candidates=n_candidates, quantiles=quantiles,
                         acquisition=acquisition, valid_fraction=valid_fraction, min_conformalize=min_conformalize,
                         n_estimators=n_estimators, max_depth=max_depth, learning_rate=learning_rate)
        d = self.dim
        self._lo = np.asarray(self.space.encoded_lower, dtype=np.float64)
        self._width = np.asarray(self.space.encoded_upper, dtype=np.float64) - self._lo
        dims = [] if isinstance(self.space, Box) else list(self.space.params.values())
        self._cats = {j: len(p.choices) for j, p in enumerate(dims) if isinstance(p, Categorical)}
        self._model_seed = int(self.rng.integers(2**31 - 1))
        # trials: one row per configuration told (its point, unit coordinates, the value used to fit)
        self._X = np.zeros((0, d))
        self._U = np.zeros((0, d))
        # observations: (trial, resource, value) of every report; plain tell() reports resource inf
        self._obs = np.zeros((0, 3))
        self._cache: tuple | None = None

    # -- encoding --------------------------------------------------------------------------------
    def _to_unit(self, Z: np.ndarray) -> np.ndarray:
        return (np.asarray(Z, dtype=np.float64) - self._lo) / self._width

    def _snap(self, U: np.ndarray) -> np.ndarray:
        """Unit points moved to what ``ask`` would return (canonical integer and category codes)."""
        Z = self._lo + np.clip(U, 0.0, 1.0) * self._width
        return self._to_unit(self.space.encode(self.space.decode(Z)))

    def features(self, U: np.ndarray) -> np.ndarray:
        """The trees' inputs: unit coordinates, a categorical column replaced by its one-hot code."""
        U = np.atleast_2d(U)
        cols = []
        for j in range(self.dim):
            if j in self._cats:
                k = self._cats[j]
                idx = np.clip(np.floor(U[:, j] * k), 0, k - 1).astype(np.int64)
                cols.append(np.eye(k)[idx])
            else:
                cols.append(U[:, j : j + 1])
        return np.hstack(cols)

    # -- data ------------------------------------------------------------------------------------
    @property
    def n_trials(self) -> int:
        """Configurations with at least one reported value."""
        return self._X.shape[0]

    def training_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, y, resource)``: one row per trial, its value at the highest resource it reported
        (the latest report among equal resources), as the model is fitted (the paper's rule)."""
        T = self.n_trials
        y, r = np.full(T, np.nan), np.full(T, -np.inf)
        for t, res, v in self._obs:
            t = int(t)
            if res >= r[t]:
                r[t], y[t] = res, v
        return self._X.copy(), y, r

    def _new_trial(self, x: np.ndarray, z: np.ndarray) -> int:
        self._X = np.vstack([self._X, x[None, :]])
        self._U = np.vstack([self._U, self._to_unit(z)[None, :]])
        return self.n_trials - 1

    def _report(self, trial: int, resource: float, value: float) -> None:
        self._obs = np.vstack([self._obs, [[trial, resource, value]]])
        self._cache = None

    def _tell(self, Z, y, C) -> None:
        X = self.space.decode(Z)
        for x, z, v in zip(X, Z, y):
            self._report(self._new_trial(x, z), math.inf, float(v))

    def tell_fidelity(self, X, y, resource) -> None:
        """Report values ``y`` (n,) of asked points ``X`` (n, d) reached at ``resource`` (a positive
        number, or one per point): an epoch count, a data size. A point may be reported at several
        resources (successive halving promotes it); the model uses each trial's value at the
        highest resource it reached. The first report of a point takes it off the pending list;
        later reports find it among the trials (the latest trial with that point)."""
        owner = type(self).__name__ + ".tell_fidelity"
        X = as_points(X, self.dim)
        n = X.shape[0]
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if y.shape != (n,) or not np.all(np.isfinite(y)):
            raise InvalidParameterError(f"{owner}: 'y' must hold {n} finite values; got {y.tolist()!r:.80}")
        try:
            r = np.broadcast_to(np.asarray(resource, dtype=np.float64), (n,))
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(f"{owner}: 'resource' must be a number or {n} numbers; got {resource!r:.80}") from exc
        if not np.all(np.isfinite(r) & (r > 0)):
            raise InvalidParameterError(f"{owner}: 'resource' must be finite and > 0; got {r.tolist()!r:.80}")
        trials = {}
        for t in range(self.n_trials):
            trials[_key(self._X[t])] = t
        # check everything before changing anything: a pending copy of x starts a new trial, else
        # the report goes to the latest trial with that point (one started in this call included)
        plan, claimed, fresh = [], {}, set()
        for i, x in enumerate(X):
            k = _key(x)
            if len(self._pending.get(k, ())) > claimed.get(k, 0):
                claimed[k] = claimed.get(k, 0) + 1
                fresh.add(k)
                plan.append(True)
            elif k in trials or k in fresh:
                plan.append(False)
            else:
                raise StateError(f"{owner}: point {i} ({x.tolist()!r:.80}) was never asked; report only points "
                                 "returned by ask()")
        for i, (x, new) in enumerate(zip(X, plan)):
            if new:
                z = self._claim(x[None, :], owner)[0]
                trials[_key(x)] = self._new_trial(x, z)
            self._report(trials[_key(x)], float(r[i]), float(y[i]))
        self.n_told += n

    # -- ask -------------------------------------------------------------------------------------
    def model(self) -> ConformalQuantileModel | None:
        """The conformalized quantile model fitted on the trials so far (None before ``n_init``)."""
        T = self.n_trials
        if T < self.n_init:
            return None
        if self._cache is not None and self._cache[0] == self._obs.shape[0]:
            return self._cache[1]
        _, y, _ = self.training_data()
        rng = np.random.default_rng([self._model_seed, self._obs.shape[0]])
        m = ConformalQuantileModel(self.quantiles, valid_fraction=self.valid_fraction,
                                   min_conformalize=self.min_conformalize, n_estimators=self.n_estimators,
                                   max_depth=self.max_depth, learning_rate=self.learning_rate)
        m.fit(self.features(self._U), y, rng)
        self._cache = (self._obs.shape[0], m)
        return m

    def _candidates(self, m: int, n: int) -> np.ndarray:
        """``m`` uniform random points (unit, snapped), duplicates and points already evaluated or
        pending removed while at least ``n`` remain."""
        C = self._snap(self.rng.random((m, self.dim)))
        _, first = np.unique(C, axis=0, return_index=True)
        if first.size >= n:
            C = C[np.sort(first)]
        seen = {_key(u) for u in self._U}
        seen.update(_key(self._to_unit(z)) for zs in self._pending.values() for z in zs)
        fresh = np.array([_key(c) not in seen for c in C])
        return C[fresh] if fresh.sum() >= n else C

    def _ask(self, n: int) -> np.ndarray:
        model = self.model()
        if model is None:
            C = self._candidates(max(n, 64), n)
            return self._lo + C[:n] * self._width
        C = self._candidates(self.n_candidates, n)
        Q = model.predict(self.features(C))
        chosen: list[int] = []
        for _ in range(n):
            if self.acquisition == "lcb":
                score = Q[:, 0].copy()
            else:
                score = Q[np.arange(C.shape[0]), self.rng.integers(0, Q.shape[1], C.shape[0])]
            score[chosen] = np.inf
            if len(chosen) >= C.shape[0]:  # fewer candidates than points asked
                chosen.append(int(self.rng.integers(C.shape[0])))
            else:
                chosen.append(int(np.argmin(score)))
        return self._lo + C[chosen] * self._width

    # -- multi-fidelity driver -------------------------------------------------------------------
    def minimize_fidelity(self, fun, budget: float, *, min_resource: float, max_resource: float, eta: int = 3,
                          callback=None):
        """Minimize ``fun(x, resource)`` by ASHA (asynchronous successive halving, one worker) with
        this model choosing the new configurations (the paper's ASHA-CQR).

        Rungs are ``max_resource / eta**k`` down to at least ``min_resource``. Each step promotes a
        trial that is in the best ``1/eta`` of its rung and not yet promoted (the highest rung
        first), or else asks the model for a new configuration and evaluates it at the lowest rung.
        Each evaluation costs its resource (no resuming from checkpoints); the run stops before the
        spent resource would exceed ``budget``. With ``min_resource == max_resource`` it is the
        single-fidelity search at the same cost per evaluation.

        Returns a :class:`~optkit.Result`: ``x`` / ``fun`` the best configuration evaluated at the
        highest rung reached and its value there; ``history`` every evaluation, with ``resource``
        (n,) the resource of each and ``rungs`` the levels; ``best_so_far`` over top-rung values;
        ``total_resource`` the resource spent. ``callback(result)`` after each evaluation may return
        True (or raise ``StopIteration``) to stop. An evaluation that raises or returns a non-finite
        value is recorded and its trial stopped.
        """
        from optkit.core.result import History, Status, make_result

        owner = type(self).__name__ + ".minimize_fidelity"
        if not callable(fun):
            raise InvalidParameterError(f"{owner}: 'fun' must be callable as fun(x, resource); got {fun!r:.80}")
        validate(owner, "budget", budget, [Interval(float, 0, None, closed="neither")])
        validate(owner, "min_resource", min_resource, [Interval(float, 0, None, closed="neither")])
        validate(owner, "max_resource", max_resource, [Interval(float, min_resource, None)])
        validate(owner, "eta", eta, [Interval(int, 2, None)])
        rungs = _rungs(min_resource, max_resource, eta)
        if budget < rungs[0]:
            raise InvalidParameterError(f"{owner}: 'budget' {budget!r} is below one evaluation at the lowest rung {rungs[0]!r}")
        history, resources = History(self.dim, 0), []
        rung_of: list[list[tuple[float, int]]] = [[] for _ in rungs]  # rung -> [(value, run trial id)]
        promoted: list[set] = [set() for _ in rungs]
        points: list[np.ndarray] = []
        spent, status, message = 0.0, Status.BUDGET_EXHAUSTED, f"used the resource budget of {budget:g}"
        t0, nit = time.perf_counter(), 0
        while True:
            job = _promotion(rung_of, promoted, eta)
            if job is None:
                k, x = 0, None
            else:
                k, t = job
            if spent + rungs[k] > budget * (1 + 1e-12):
                break
            if job is None:
                x = self.ask(1)[0]
                points.append(x)
                t = len(points) - 1
                nit += 1
            else:
                x = points[t]
                promoted[k - 1].add(t)
            err, t1 = None, time.perf_counter()
            try:
                v = float(fun(np.array(x), rungs[k]))
                if not math.isfinite(v):
                    err = f"non-finite value {v!r}"
            except Exception as exc:  # the objective's failure is recorded, the trial stopped
                err, v = f"{type(exc).__name__}: {exc}", math.nan
            spent += rungs[k]
            history.append(x[None, :], [v if err is None else math.nan], None, [err], [time.perf_counter() - t1], k)
            resources.append(rungs[k])
            if err is None:
                self.tell_fidelity(x[None, :], [v], rungs[k])
                rung_of[k].append((v, t))
            elif job is None:
                self.forget(x[None, :])
            res = _fidelity_result(make_result, history, resources, rungs, spent, status, message, nit, self.name,
                                   time.perf_counter() - t0)
            if callback is not None:
                try:
                    stop = callback(res)
                except StopIteration:
                    stop = True
                if stop:
                    status, message = Status.STOPPED_BY_CALLBACK, "stopped by the callback"
                    break
        return _fidelity_result(make_result, history, resources, rungs, spent, status, message, nit, self.name,
                                time.perf_counter() - t0)

    # -- state -----------------------------------------------------------------------------------
    def _get_state(self) -> dict:
        return {"X": self._X.copy(), "U": self._U.copy(), "obs": self._obs.copy(), "model_seed": self._model_seed}

    def _set_state(self, state: dict) -> None:
        self._X = np.asarray(state["X"], dtype=np.float64).reshape(-1, self.dim)
        self._U = np.asarray(state["U"], dtype=np.float64).reshape(-1, self.dim)
        self._obs = np.asarray(state["obs"], dtype=np.float64).reshape(-1, 3)
        self._model_seed = int(state["model_seed"])
        self._cache = None


def _rungs(min_resource: float, max_resource: float, eta: int) -> list:
    """Rung resources ``max / eta**k`` (k = K..0) with ``max / eta**K >= min``; ints when both are ints."""
    K = int(math.floor(math.log(max_resource / min_resource) / math.log(eta) + 1e-9))
    rungs = [max_resource / eta ** (K - k) for k in range(K + 1)]
    if isinstance(min_resource, int) and isinstance(max_resource, int):
        rungs = sorted({max(min_resource, int(round(r))) for r in rungs})
    return rungs


def _promotion(rung_of: list, promoted: list, eta: int):
    """ASHA's next promotion ``(rung to run, trial)``, highest rung first, or None."""
    for k in range(len(rung_of) - 2, -1, -1):
        done = rung_of[k]
        n_top = len(done) // eta
        if n_top == 0:
            continue
        for _, t in sorted(done)[:n_top]:
            if t not in promoted[k]:
                return k + 1, t
    return None


def _fidelity_result(make_result, history, resources, rungs, spent, status, message, nit, method, wall):
    r = np.asarray(resources, dtype=np.float64)
    ok = np.array([e is None for e in history.error], dtype=bool)
    res = make_result(history, status, message, nit, method, wall, resource=r, rungs=list(rungs),
                      total_resource=float(spent))
    if ok.any():
        top = r[ok].max()
        at_top = ok & (r == top)
        y = np.where(at_top, history.fun, np.inf)
        i = int(np.argmin(y))
        res.x, res.fun = history.X[i], float(history.fun[i])
        best = np.minimum.accumulate(np.where(ok & (r == rungs[-1]), history.fun, np.inf))
        res.best_so_far = np.where(np.isfinite(best), best, np.nan)
    return res
