"""``OptkitSearchCV``: scikit-learn's hyperparameter search driven by an optkit optimizer.

A drop-in for ``RandomizedSearchCV``: it subclasses scikit-learn's ``BaseSearchCV`` and implements its
``_run_search(evaluate_candidates)`` hook, so cross-validation, parallel fits (``n_jobs``, joblib),
scoring (multi-metric included), ``refit`` (a metric name, a callable or False), ``cv_results_``,
``best_*`` and the delegated ``predict``/``score``/... are scikit-learn's own. The hook asks an optkit
optimizer (``method``, any registry name: ``"bo"``, ``"cmaes"``, ``"cqr"``, ...) for a batch of
candidates, has scikit-learn cross-validate them, tells the optimizer the negated mean test score
(optkit minimizes), and repeats until ``n_iter`` candidates are done.

How the pieces fit:

* the folds are drawn once per ``fit`` and reused by every batch (scikit-learn would call
  ``cv.split`` again per batch, which reshuffles a randomized splitter between batches);
* the optimizer learns the refit metric (multi-metric: ``refit`` when it names a metric, else the
  first metric); a candidate whose fits all failed (score NaN under ``error_score=np.nan``) is told
  a value worse than every score seen;
* ``journal="search.sqlite"`` records every batch (the candidates and every fold's scores and
  times) in an optkit journal (:mod:`optkit.core.journal`). ``fit`` with the same journal, data and
  settings replays what it holds without fitting again (the optimizer is re-driven from the same
  seed and must ask the same candidates) and continues up to ``n_iter``, which may be raised to
  extend a finished search. A search killed during a batch loses that batch's fits;
* ``resource="n_samples"`` or ``resource="<estimator parameter>"`` (e.g. ``"n_estimators"``) runs
  successive halving: brackets of ``factor**K`` candidates evaluated with the smallest resource,
  the best ``1/factor`` promoted to ``factor`` times more, up to ``max_resources``. Each candidate is
  told at the value of the highest resource it reached (the rule of Salinas et al.'s CQR); an
  optimizer with ``tell_fidelity`` (``method="cqr"``) is told every rung as it finishes.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import warnings
from collections import defaultdict

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import get_scorer_names
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _num_samples

from optkit.core.errors import InvalidParameterError, JournalError, UnknownNameError, suggest
from optkit.core.journal import Journal
from optkit.core.space import SearchSpace
from optkit.sklearn._folds import FrozenFolds, SubsampledFolds
from optkit.sklearn._validation import ValidatedMixin
from optkit.sklearn.spaces import check_parameter_names, space_fingerprint, to_search_space

_LAYOUT_KEY = "sklearn_layout"
_HEAD = 3  # journal row: bracket, rung, resource, then one block per fold


class OptkitSearchCV(ValidatedMixin, BaseSearchCV):
    """Hyperparameter search over ``search_space`` by an optkit optimizer, with cross-validation.

    Parameters
    ----------
    estimator : estimator object
        Fitted once per candidate and fold (a clone with the candidate's parameters).
    search_space : dict or SearchSpace
        ``{parameter: distribution or list}`` as ``RandomizedSearchCV``'s ``param_distributions``
        (scipy.stats ``uniform``, ``loguniform``, ``randint``; a list is a set of categories), optkit
        ``Real``/``Integer``/``Categorical`` values, or an optkit ``SearchSpace``; see
        :mod:`optkit.sklearn.spaces`. Names may be nested (``"svc__C"`` in a ``Pipeline``).
    method : str
        The optkit optimizer (a registry name, ``optkit.available()``); default ``"bo"`` (GP-BO,
        needs torch: the ``bo`` extra).
    n_iter : int
        Number of candidates (configurations) evaluated; with ``resource``, configurations started.
    batch_size : int, optional
        Candidates asked and cross-validated together (their ``n_splits`` fits each run in parallel
        under ``n_jobs``); default: the optimizer's own batch (1 for ``bo`` and ``cqr``, the
        population size for ``cmaes``). The result does not depend on ``n_jobs``.
    method_params : dict, optional
        Hyperparameters of the optimizer (e.g. ``{"n_init": 8}``); unknown names are an error.
    scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, return_train_score
        As in ``RandomizedSearchCV``.
    random_state : int, RandomState or None
        Seeds the optimizer (and the subsampling of ``resource="n_samples"``); ``seed_`` holds the
        seed used.
    journal : str or path, optional
        SQLite file recording every evaluated batch; ``fit`` again to resume (see the module notes).
    resource : str, optional
        ``"n_samples"`` or an integer estimator parameter (``"n_estimators"``, ``"max_iter"``):
        successive halving over it. Default None: every candidate gets the full resource.
    min_resources, max_resources : int
        The resource's range; ``max_resources="auto"`` is the number of samples (``n_samples``
        only); ``min_resources`` defaults to ``max_resources // factor**2``.
    factor : int
        The halving rate: a rung keeps the best ``1/factor`` for ``factor`` times more resource.

    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_, best_index_, scorer_, n_splits_,
    refit_time_, multimetric_
        As in ``RandomizedSearchCV``. With ``resource``, ``cv_results_`` has one row per evaluation
        (a promoted candidate has a row per rung) with the columns ``bracket``, ``iter`` (the rung)
        and ``n_resources``, and the best is chosen among the rows at ``max_resources``.
    seed_ : int
        The optimizer's seed.
    optimizer_ : optkit.Optimizer
        The optimizer after the search (its model and ``state_dict()`` can be inspected).
    n_resources_ : list of int
        The rungs (resource levels) of a multi-fidelity search.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> X, y = load_iris(return_X_y=True)
    >>> search = OptkitSearchCV(SVC(), {"C": loguniform(1e-2, 1e2), "kernel": ["rbf", "linear"]},
    ...                         method="cmaes", n_iter=12, cv=3, random_state=0).fit(X, y)
    >>> len(search.cv_results_["params"]), sorted(search.best_params_)
    (12, ['C', 'kernel'])
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        "search_space": [dict, SearchSpace],
        "method": [str],
        "n_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "method_params": [dict, None],
        "random_state": ["random_state"],
        "journal": [str, os.PathLike, None],
        "resource": [str, None],
        "min_resources": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_resources": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "factor": [Interval(numbers.Integral, 2, None, closed="left")],
    }

    def __init__(self, estimator, search_space, *, method="bo", n_iter=10, batch_size=None, method_params=None,
                 scoring=None, n_jobs=None, refit=True, cv=None, verbose=0, pre_dispatch="2*n_jobs",
                 random_state=None, error_score=np.nan, return_train_score=False, journal=None, resource=None,
                 min_resources=None, max_resources="auto", factor=3):
        self.search_space = search_space
        self.method = method
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.method_params = method_params
        self.random_state = random_state
        self.journal = journal
        self.resource = resource
        self.min_resources = min_resources
        self.max_resources = max_resources
        self.factor = factor
        super().__init__(estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv, verbose=verbose,
                         pre_dispatch=pre_dispatch, error_score=error_score, return_train_score=return_train_score)

    # -- fit -------------------------------------------------------------------------------------
    def fit(self, X, y=None, **params):
        """Run the search (see ``RandomizedSearchCV.fit``; ``params`` go to the estimator's fit)."""
        _check_scoring_names(self.scoring)
        self._validate_params()
        space = to_search_space(self.search_space)
        check_parameter_names(space, self.estimator, reserved=self.resource)
        n_samples = _num_samples(X)
        rungs = self._resource_levels(n_samples)
        opt, seed = self._make_optimizer(space)
        runner = _Runner(self, opt, space, rungs, seed, n_samples)
        if self.journal is not None:
            runner.open_journal(self.journal, self._fingerprint(space, X, y), self._journal_params(seed, rungs))
        self._runner = runner
        try:
            super().fit(X, y, **params)
        finally:
            runner.close()
            del self._runner
        self.seed_ = runner.seed
        self.optimizer_ = runner.opt
        if rungs is not None:
            self.n_resources_ = list(rungs)
            self.min_resources_, self.max_resources_ = rungs[0], rungs[-1]
        return self

    def _run_search(self, evaluate_candidates):
        self._runner.run(evaluate_candidates)

    def _format_results(self, candidate_params, n_splits, out, more_results=None):
        # the runner holds every row of the search (fitted now, replayed from the journal, or of a batch
        # whose fits all failed); scikit-learn's lists hold only the rows it fitted in this call of fit
        runner = getattr(self, "_runner", None)
        if runner is None:
            return super()._format_results(candidate_params, n_splits, out, more_results)
        runner.add_fitted(candidate_params, out, more_results or {})
        return super()._format_results(list(runner.params), n_splits, list(runner.outs),
                                       {k: list(v) for k, v in runner.more.items()})

    @staticmethod
    def _select_best_index(refit, refit_metric, results):
        if "n_resources" not in results:
            return BaseSearchCV._select_best_index(refit, refit_metric, results)
        if callable(refit):
            return BaseSearchCV._select_best_index(refit, refit_metric, results)
        # successive halving: only the candidates evaluated with the full resource compete
        top = np.flatnonzero(results["n_resources"] == np.max(results["n_resources"]))
        ranks = np.asarray(results[f"rank_test_{refit_metric}"])[top]
        return int(top[np.argmin(ranks)])

    # -- set-up ----------------------------------------------------------------------------------
    def _make_optimizer(self, space):
        from optkit.core import registry

        cls = registry.get(self.method)
        seed = _seed_from(self.random_state)
        try:
            opt = registry.make(cls.name, space, seed=seed, **(self.method_params or {}))
        except UnknownNameError as exc:
            raise UnknownNameError(f"OptkitSearchCV: method_params: {exc}") from exc
        return opt, seed

    def _resource_levels(self, n_samples: int):
        if self.resource is None:
            for name, default in (("min_resources", None), ("max_resources", "auto")):
                if getattr(self, name) != default:
                    raise InvalidParameterError(f"OptkitSearchCV: {name!r} is only used with 'resource'; got {getattr(self, name)!r}")
            return None
        if self.resource == "n_samples":
            max_r = n_samples if self.max_resources == "auto" else int(self.max_resources)
            if max_r > n_samples:
                raise InvalidParameterError(f"OptkitSearchCV: 'max_resources' {max_r} exceeds the {n_samples} samples of X")
        else:
            valid = sorted(self.estimator.get_params(deep=True))
            if self.resource not in valid:
                raise UnknownNameError(
                    f"OptkitSearchCV: resource={self.resource!r} is neither 'n_samples' nor a parameter of "
                    f"{type(self.estimator).__name__}.{suggest(self.resource, valid)} Valid parameters are: {', '.join(valid)}"
                )
            if self.max_resources == "auto":
                raise InvalidParameterError(
                    f"OptkitSearchCV: max_resources='auto' means the number of samples; with resource={self.resource!r} "
                    "give max_resources as an int (the full value of that parameter)"
                )
            max_r = int(self.max_resources)
        min_r = self.min_resources if self.min_resources is not None else max(1, max_r // self.factor**2)
        if min_r > max_r:
            raise InvalidParameterError(f"OptkitSearchCV: 'min_resources' {min_r} exceeds 'max_resources' {max_r}")
        k = int(math.floor(math.log(max_r / min_r) / math.log(self.factor) + 1e-9))
        return sorted({max(min_r, int(round(max_r / self.factor ** (k - j)))) for j in range(k + 1)})

    def _fingerprint(self, space, X, y) -> dict:
        from joblib import hash as jhash

        return {
            "search": type(self).__name__,
            "estimator": jhash(self.estimator),
            "space": space_fingerprint(space),
            "X": jhash(X),
            "y": jhash(y),
            "cv": repr(self.cv),
            "scoring": _scoring_key(self.scoring),
            "return_train_score": bool(self.return_train_score),
        }

    def _journal_params(self, seed, rungs) -> dict:
        return {"seed": seed, "batch_size": self.batch_size, "method_params": self.method_params or {},
                "resource": self.resource, "rungs": rungs, "factor": self.factor if rungs else None}


class _Runner:
    """One ``fit``'s search: the optimizer, the journal, and the rows replayed from it."""

    def __init__(self, search: OptkitSearchCV, opt, space: SearchSpace, rungs, seed: int, n_samples: int):
        self.search, self.opt, self.space, self.rungs, self.seed = search, opt, space, rungs, seed
        self.n_samples = n_samples
        self.batch = search.batch_size or opt.batch_size
        self.jr: Journal | None = None
        self.asks: dict = {}
        self.evals: dict = {}
        self.layout: dict | None = None
        # every row of cv_results_ so far: candidate parameters, their folds' outputs, extra columns
        self.params: list = []
        self.outs: list = []
        self.more: dict = defaultdict(list)
        self.n_sklearn = 0  # rows that scikit-learn's evaluate_candidates has fitted in this fit
        self.new_outs: list = []
        self.failure: ValueError | None = None
        self.n_batches = 0
        self.n_fresh = 0
        self.seen: list = []  # every objective value told (for the failure penalty)
        self._cvs: dict = {}

    # -- journal ---------------------------------------------------------------------------------
    def open_journal(self, path, fingerprint: dict, params: dict) -> None:
        method = self.opt.name
        fresh = not os.path.exists(path) or os.path.getsize(path) == 0
        if fresh:
            self.jr = Journal.create(path, fingerprint=fingerprint, method=method, params=params, budget=self.search.n_iter)
            return
        jr = Journal.open(path)
        try:
            jr.check_problem(fingerprint)
            old = json.loads(jr.meta["params"])
            mine = dict(params, seed=old.get("seed") if self.search.random_state is None else params["seed"])
            if jr.meta.get("method") != method or old != json.loads(json.dumps(mine)):
                raise JournalError(
                    f"journal {str(path)!r} holds a search with method {jr.meta.get('method')!r} and settings {old!r}; "
                    f"this search has method {method!r} and settings {mine!r}: use another journal file"
                )
        except Exception:
            jr.close()
            raise
        if mine["seed"] != self.seed:  # random_state=None: continue with the journal's seed
            self.seed = int(mine["seed"])
            self.opt = type(self.opt)(self.space, seed=self.seed, **(self.search.method_params or {}))
            self.batch = self.search.batch_size or self.opt.batch_size
        jr.set_meta("budget", str(self.search.n_iter))
        self.jr = jr
        self.asks = jr.asks(self.space.dim)
        if _LAYOUT_KEY in jr.meta:
            self.layout = json.loads(jr.meta[_LAYOUT_KEY])
            self.evals = jr.evals(self.space.dim, self._width(self.layout))

    def close(self) -> None:
        if self.jr is not None:
            self.jr.close()
            self.jr = None

    @staticmethod
    def _width(layout: dict) -> int:
        m = len(layout["metrics"]) if layout["metrics"] else 1
        return _HEAD + layout["n_splits"] * (3 + m * (2 if layout["train"] else 1))

    def _row(self, outs: list, info: tuple) -> np.ndarray:
        vals = list(info)
        metrics = self.layout["metrics"]
        for o in outs:
            vals += [o["fit_time"], o["score_time"], o["n_test_samples"]]
            for key in ("test_scores", "train_scores") if self.layout["train"] else ("test_scores",):
                s = o[key]
                vals += [s[m] for m in metrics] if metrics else [s]
        return np.array(vals, dtype=np.float64)

    def _outs(self, row: np.ndarray) -> list:
        metrics, train, k = self.layout["metrics"], self.layout["train"], self.layout["n_splits"]
        m = len(metrics) if metrics else 1
        size = 3 + m * (2 if train else 1)
        outs = []
        for s in range(k):
            b = row[_HEAD + s * size: _HEAD + (s + 1) * size]
            o = {"fit_error": None, "fit_time": float(b[0]), "score_time": float(b[1]), "n_test_samples": int(b[2])}
            scores = [b[3: 3 + m]] + ([b[3 + m: 3 + 2 * m]] if train else [])
            for key, v in zip(("test_scores", "train_scores"), scores):
                o[key] = {n: float(x) for n, x in zip(metrics, v)} if metrics else float(v[0])
            outs.append(o)
        return outs

    # -- one batch -------------------------------------------------------------------------------
    def _cv(self, resource):
        if resource not in self._cvs:
            base = self._cvs.setdefault(None, FrozenFolds(self.search._checked_cv_orig))
            if resource is not None and self.search.resource == "n_samples":
                frac = resource / self.n_samples
                self._cvs[resource] = SubsampledFolds(base, frac, self.seed, is_classifier(self.search.estimator))
            else:
                self._cvs[resource] = base
        return self._cvs[resource]

    def _candidates(self, X: np.ndarray, resource) -> list:
        cands = [self.space.to_dict(x) for x in X]
        if resource is not None and self.search.resource != "n_samples":
            for c in cands:
                c[self.search.resource] = int(resource)
        return cands

    def evaluate(self, evaluate_candidates, X: np.ndarray, bracket: int = 0, rung: int = 0, asked=None) -> np.ndarray:
        """Cross-validate the candidates ``X`` (one batch; ``asked`` the whole batch asked, of which
        ``X`` are the first rows) or take them from the journal. Returns the objective (the negated
        mean test score of the optimized metric, NaN where every fit failed)."""
        asked = X if asked is None else asked
        b, n = self.n_batches, X.shape[0]
        self.n_batches += 1
        resource = None if self.rungs is None else self.rungs[rung]
        more = None if self.rungs is None else {"bracket": [bracket] * n, "iter": [rung] * n, "n_resources": [resource] * n}
        cands = self._candidates(X, resource)
        if b in self.asks and not np.array_equal(self.asks[b], asked):
            raise JournalError(
                f"resume: batch {b} asked other candidates than the journal {str(self.jr.path)!r} holds, so the search "
                "cannot be replayed: the optimizer is not deterministic under its seed, or (with 'resource') n_iter "
                "was raised after it cut a bracket short"
            )
        known = self.evals.get(b, {})
        k = 0
        while k < n and k in known:
            k += 1
        y = np.full(n, np.nan)
        for i in range(k):
            _, y[i], row, _, _ = known[i]
            self._add(cands[i], self._outs(row), {key: v[i] for key, v in (more or {}).items()})
        if k == n:
            return y
        rest = {key: v[k:] for key, v in more.items()} if more else None
        fresh = self._fit(evaluate_candidates, cands[k:], resource, rest)
        if fresh is None:
            return y
        outs, y[k:] = fresh
        if self.jr is not None:
            self._record(b, asked, k, X[k:], y[k:], outs, (bracket, rung, resource or 0))
        return y

    def _add(self, cand: dict, outs: list, more: dict) -> None:
        self.params.append(cand)
        self.outs.extend(outs)
        for key, v in more.items():
            self.more[key].append(v)

    def add_fitted(self, candidate_params, out, more_results: dict) -> None:
        """Called from ``_format_results``: the rows scikit-learn fitted since the last call."""
        k, new = self.search.n_splits_, list(candidate_params)[self.n_sklearn:]
        self.new_outs = list(out)[self.n_sklearn * k:]
        for i, cand in enumerate(new):
            self._add(cand, self.new_outs[i * k: (i + 1) * k], {key: v[self.n_sklearn + i] for key, v in more_results.items()})
        self.n_sklearn += len(new)

    def _fit(self, evaluate_candidates, cands: list, resource, more):
        """Cross-validate ``cands``: their folds' outputs and objective values. A batch whose fits all
        failed is kept as rows of ``error_score`` (scikit-learn raises only when every fit of the
        whole search failed, and so does this search, at its end)."""
        n = len(cands)
        try:
            results = evaluate_candidates(cands, cv=self._cv(resource), more_results=more)
        except ValueError as exc:
            if self.search.error_score == "raise" or "fits failed" not in str(exc):
                raise
            self.failure = exc
            warnings.warn(f"every fit of {n} candidate(s) failed; they are scored error_score={self.search.error_score!r}:"
                          f"{str(exc)[:2000]}", FitFailedWarning, stacklevel=2)
            outs = self._failed_outs(n)
            for i, cand in enumerate(cands):
                self._add(cand, outs[i * self.search.n_splits_: (i + 1) * self.search.n_splits_],
                          {key: v[i] for key, v in (more or {}).items()})
            if self.layout is None:
                return None  # nothing to record before the first success tells the layout
            return outs, np.full(n, np.nan)
        self.n_fresh += 1
        outs = self.new_outs
        if self.layout is None:
            first = outs[0]["test_scores"]
            self.layout = {"n_splits": self.search.n_splits_, "metrics": list(first) if isinstance(first, dict) else None,
                           "train": bool(self.search.return_train_score)}
        return outs, -np.asarray(results[f"mean_test_{self.metric()}"][-n:], dtype=np.float64)

    def _failed_outs(self, n: int) -> list:
        """Fold outputs of failed fits as scikit-learn writes them (scores error_score, times unknown: NaN)."""
        metrics = self.layout["metrics"] if self.layout else _metric_names(self.search.scoring)
        score = float(self.search.error_score)
        s = {m: score for m in metrics} if metrics else score
        o = {"fit_error": "failed", "test_scores": s, "n_test_samples": 0, "fit_time": np.nan, "score_time": np.nan}
        if self.search.return_train_score:
            o["train_scores"] = s
        return [dict(o) for _ in range(n * self.search.n_splits_)]

    def _record(self, b: int, asked: np.ndarray, start: int, X: np.ndarray, y: np.ndarray, outs: list, info: tuple) -> None:
        if _LAYOUT_KEY not in self.jr.meta:
            self.jr.set_meta(_LAYOUT_KEY, json.dumps(self.layout))
        k = self.layout["n_splits"]
        per = [outs[i * k: (i + 1) * k] for i in range(X.shape[0])]
        C = np.array([self._row(o, info) for o in per])
        errors = [next((o["fit_error"] for o in p if o.get("fit_error")), None) for p in per]
        seconds = [sum(o["fit_time"] + o["score_time"] for o in p) for p in per]
        if b not in self.asks:
            self.jr.record_ask(b, asked)
        self.jr.record_evals(b, start, X, y, C, errors, seconds)

    def metric(self) -> str:
        metrics = self.layout["metrics"]
        if not metrics:
            return "score"
        refit = self.search.refit
        return refit if isinstance(refit, str) and refit in metrics else metrics[0]

    def tell(self, X: np.ndarray, y: np.ndarray, resource=None) -> None:
        ok = np.isfinite(y)
        self.seen.extend(y[ok].tolist())
        if not ok.all():  # failed candidates: worse than everything seen
            worst, best = (max(self.seen), min(self.seen)) if self.seen else (0.0, 0.0)
            y = np.where(ok, y, worst + max(1.0, worst - best, abs(worst)))
        if resource is None:
            self.opt.tell(X, y)
        else:
            self.opt.tell_fidelity(X, y, resource)

    # -- the drivers -----------------------------------------------------------------------------
    def run(self, evaluate_candidates) -> None:
        if self.rungs is None:
            self._plain(evaluate_candidates)
        else:
            self._halving(evaluate_candidates)
        if self.n_fresh == 0 and self.failure is not None:
            raise self.failure  # every fit of the search failed, as RandomizedSearchCV reports it
        if self.n_fresh == 0:
            self._refresh_last(evaluate_candidates)

    def _plain(self, evaluate_candidates) -> None:
        done = 0
        while done < self.search.n_iter and not self.opt.stop_reason():
            # the whole batch is asked even when fewer candidates are left, so that a search extended
            # later (a larger n_iter on the same journal) asks the same batches
            asked = self.opt.ask(self.batch)
            X = asked[: self.search.n_iter - done]
            self.tell(X, self.evaluate(evaluate_candidates, X, asked=asked))
            done += X.shape[0]

    def _halving(self, evaluate_candidates) -> None:
        eta, K = self.search.factor, len(self.rungs) - 1
        fidelity = hasattr(self.opt, "tell_fidelity")
        started, bracket = 0, 0
        while started < self.search.n_iter and not self.opt.stop_reason():
            asked = self.opt.ask(eta**K)
            X = asked[: self.search.n_iter - started]
            started += X.shape[0]
            alive, last = np.arange(X.shape[0]), np.full(X.shape[0], np.nan)
            for rung in range(K + 1):
                y = self.evaluate(evaluate_candidates, X[alive], bracket, rung, asked=asked if rung == 0 else None)
                last[alive] = y
                if fidelity:
                    self.tell(X[alive], y, self.rungs[rung])
                if rung == K:
                    break
                keep = max(1, alive.size // eta)
                alive = alive[np.argsort(np.where(np.isfinite(y), y, np.inf), kind="stable")[:keep]]
            if not fidelity:
                self.tell(X, last)
            bracket += 1

    def _refresh_last(self, evaluate_candidates) -> None:
        """Everything came from the journal; scikit-learn's fit needs one fresh evaluation, so the
        last candidate is cross-validated again (its row is replaced by the new one)."""
        k = self.layout["n_splits"]
        cand = self.params.pop()
        del self.outs[-k:]
        more = {key: [v.pop()] for key, v in self.more.items()} or None
        resource = more["n_resources"][0] if more else None
        evaluate_candidates([cand], cv=self._cv(resource), more_results=more)


def _seed_from(random_state) -> int:
    """An optkit seed (non-negative int) from scikit-learn's random_state."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(random_state.randint(np.iinfo(np.int32).max))


def _scoring_key(scoring):
    if scoring is None or isinstance(scoring, str):
        return scoring
    if callable(scoring):
        return f"{getattr(scoring, '__module__', '')}.{getattr(scoring, '__qualname__', repr(scoring))}"
    if isinstance(scoring, dict):
        return {k: _scoring_key(v) for k, v in scoring.items()}
    return [_scoring_key(s) for s in scoring]


def _metric_names(scoring):
    """The metric names of a multi-metric ``scoring`` (None for a single metric)."""
    if isinstance(scoring, dict):
        return list(scoring)
    if isinstance(scoring, (list, tuple)):
        return list(scoring)
    return None


def _check_scoring_names(scoring) -> None:
    """An unknown scorer name is an :class:`~optkit.UnknownNameError` (a ``ValueError``) with the close names."""
    names = []
    if isinstance(scoring, str):
        names = [scoring]
    elif isinstance(scoring, (list, tuple)):
        names = [s for s in scoring if isinstance(s, str)]
    elif isinstance(scoring, dict):
        names = [s for s in scoring.values() if isinstance(s, str)]
    valid = get_scorer_names()
    for name in names:
        if name not in valid:
            raise UnknownNameError(
                f"OptkitSearchCV: scoring {name!r} is not a scikit-learn scorer name.{suggest(name, valid)} "
                "sklearn.metrics.get_scorer_names() lists the valid ones"
            )
