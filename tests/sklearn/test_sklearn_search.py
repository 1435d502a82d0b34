"""OptkitSearchCV: RandomizedSearchCV's attributes and refit semantics, Pipeline and clone, n_jobs,
journal resume, successive halving, a known optimum, and the errors scikit-learn users expect."""

import numpy as np
import pytest
from scipy.stats import loguniform, randint, uniform
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError as SkInvalidParameterError

import optkit
from optkit.core.errors import JournalError
from optkit.sklearn import OptkitSearchCV

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
SPACE = {"C": loguniform(1e-2, 1e2), "kernel": ["rbf", "linear"], "degree": randint(1, 4)}


def _pair(**kw):
    """The same search by OptkitSearchCV (CMA-ES) and RandomizedSearchCV."""
    common = dict(n_iter=8, cv=3, random_state=0)
    common.update(kw)
    ours = OptkitSearchCV(SVC(), SPACE, method="cmaes", **common).fit(X_IRIS, Y_IRIS)
    theirs = RandomizedSearchCV(SVC(), SPACE, **common).fit(X_IRIS, Y_IRIS)
    return ours, theirs


def test_attribute_schema_matches_randomized_search():
    ours, theirs = _pair(return_train_score=True)
    assert set(ours.cv_results_) == set(theirs.cv_results_)
    for k, v in theirs.cv_results_.items():
        assert type(ours.cv_results_[k]) is type(v), k
        assert len(ours.cv_results_[k]) == 8
    i = ours.best_index_
    assert i == int(np.argmin(ours.cv_results_["rank_test_score"]))
    assert ours.best_score_ == ours.cv_results_["mean_test_score"][i] == ours.cv_results_["mean_test_score"].max()
    assert ours.best_params_ == ours.cv_results_["params"][i]
    assert ours.best_estimator_.get_params()["C"] == ours.best_params_["C"]
    assert type(ours.best_params_["degree"]) is int and ours.cv_results_["param_kernel"].dtype == object
    for attr in ("n_splits_", "refit_time_", "scorer_", "multimetric_", "classes_", "n_features_in_"):
        assert hasattr(ours, attr) and hasattr(theirs, attr), attr
    assert ours.score(X_IRIS, Y_IRIS) == ours.best_estimator_.score(X_IRIS, Y_IRIS)
    np.testing.assert_array_equal(ours.predict(X_IRIS), ours.best_estimator_.predict(X_IRIS))


def test_refit_false_and_callable_behave_like_sklearn():
    ours, theirs = _pair(refit=False)
    for s in (ours, theirs):
        assert not hasattr(s, "best_estimator_") and hasattr(s, "best_index_") and hasattr(s, "best_score_")
        with pytest.raises(AttributeError):
            s.predict(X_IRIS)

    def lowest_c(results):  # a refit rule of one's own: the smallest C within 0.01 of the best score
        ok = results["mean_test_score"] >= results["mean_test_score"].max() - 0.01
        return int(np.flatnonzero(ok)[np.argmin(np.asarray(results["param_C"], dtype=float)[ok])])

    ours, theirs = _pair(refit=lowest_c)
    for s in (ours, theirs):
        assert s.best_index_ == lowest_c(s.cv_results_) and not hasattr(s, "best_score_")
        assert s.best_params_ == s.cv_results_["params"][s.best_index_]
        assert hasattr(s, "best_estimator_")


def test_multi_metric_scoring_and_refit():
    scoring = {"acc": "accuracy", "bacc": "balanced_accuracy"}
    ours, theirs = _pair(scoring=scoring, refit="bacc")
    assert set(ours.cv_results_) == set(theirs.cv_results_)
    assert ours.best_score_ == ours.cv_results_["mean_test_bacc"][ours.best_index_]
    assert ours.multimetric_ and set(ours.scorer_) == {"acc", "bacc"}
    ours, theirs = _pair(scoring=["accuracy", "f1_macro"], refit=False)
    for s in (ours, theirs):
        assert not hasattr(s, "best_index_") and not hasattr(s, "best_params_")
    with pytest.raises(ValueError, match="multi-metric"):
        _pair(scoring=scoring, refit=True)


def test_known_optimum_of_a_constant_predictor():
    """DummyRegressor(constant=c) under the MSE: the mean CV score is best at c = mean(y) (equal folds)."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(90, 2)), rng.normal(1.3, 1.0, 90)
    s = OptkitSearchCV(DummyRegressor(strategy="constant"), {"constant": uniform(-5, 10)}, method="cmaes", n_iter=60,
                       cv=KFold(3), scoring="neg_mean_squared_error", random_state=0).fit(X, y)
    assert abs(s.best_params_["constant"] - y.mean()) < 0.05
    assert s.best_score_ == pytest.approx(-np.mean((y - y.mean()) ** 2), abs=5e-3)


def test_pipeline_and_clone():
    space = {"svc__C": loguniform(1e-2, 1e2), "svc__gamma": loguniform(1e-3, 1e1)}
    search = OptkitSearchCV(make_pipeline(StandardScaler(), SVC()), space, method="cmaes", n_iter=6, cv=3, random_state=1)
    twin = clone(search)
    assert twin.get_params()["search_space"].keys() == space.keys() and twin.method == "cmaes"
    a, b = search.fit(X_IRIS, Y_IRIS), twin.fit(X_IRIS, Y_IRIS)
    assert a.cv_results_["params"] == b.cv_results_["params"]
    outer = make_pipeline(StandardScaler(), OptkitSearchCV(SVC(), {"C": loguniform(1e-2, 1e2)}, method="random",
                                                           n_iter=4, cv=3, random_state=0))
    outer.fit(X_IRIS, Y_IRIS)
    assert outer.score(X_IRIS, Y_IRIS) > 0.9
    assert clone(outer).steps[1][1].get_params()["n_iter"] == 4


def test_n_jobs_does_not_change_the_result():
    kw = dict(method="cmaes", n_iter=6, cv=3, random_state=3)
    one = OptkitSearchCV(LogisticRegression(max_iter=200), {"C": loguniform(1e-3, 1e2)}, n_jobs=1, **kw).fit(X_IRIS, Y_IRIS)
    two = OptkitSearchCV(LogisticRegression(max_iter=200), {"C": loguniform(1e-3, 1e2)}, n_jobs=2, **kw).fit(X_IRIS, Y_IRIS)
    assert one.cv_results_["params"] == two.cv_results_["params"]
    np.testing.assert_array_equal(one.cv_results_["mean_test_score"], two.cv_results_["mean_test_score"])
    assert one.best_params_ == two.best_params_


def test_journal_resume_continues_without_refitting(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    space = {"C": loguniform(1e-2, 1e2), "gamma": loguniform(1e-5, 1e-1)}
    kw = dict(method="cmaes", cv=3, random_state=0)
    path = tmp_path / "search.sqlite"
    first = OptkitSearchCV(SVC(), space, n_iter=7, journal=str(path), **kw).fit(X, y)
    more = OptkitSearchCV(SVC(), space, n_iter=15, journal=path, **kw).fit(X, y)
    fresh = OptkitSearchCV(SVC(), space, n_iter=15, **kw).fit(X, y)
    assert more.cv_results_["params"] == fresh.cv_results_["params"]
    np.testing.assert_allclose(more.cv_results_["mean_test_score"], fresh.cv_results_["mean_test_score"])
    # the first 7 rows come from the journal: the very same fit times, not new fits
    np.testing.assert_array_equal(more.cv_results_["mean_fit_time"][:7], first.cv_results_["mean_fit_time"])
    assert more.best_score_ == fresh.best_score_
    # random_state=None continues with the journal's seed; a finished search is rebuilt
    again = OptkitSearchCV(SVC(), space, n_iter=15, journal=path, method="cmaes", cv=3).fit(X, y)
    assert again.seed_ == 0 and again.cv_results_["params"] == fresh.cv_results_["params"]
    np.testing.assert_array_equal(again.cv_results_["mean_fit_time"][:14], more.cv_results_["mean_fit_time"][:14])
    with pytest.raises(JournalError, match="another problem"):
        OptkitSearchCV(SVC(), space, n_iter=15, journal=path, **kw).fit(X[:300], y[:300])
    with pytest.raises(JournalError, match="method"):
        OptkitSearchCV(SVC(), space, n_iter=15, journal=path, cv=3, random_state=0, method="random").fit(X, y)


def test_successive_halving_over_samples():
    X, y = load_breast_cancer(return_X_y=True)
    s = OptkitSearchCV(make_pipeline(StandardScaler(), LogisticRegression()), {"logisticregression__C": loguniform(1e-3, 1e2)},
                       method="cmaes", n_iter=9, cv=3, random_state=0, resource="n_samples", min_resources=60, factor=3)
    s.fit(X, y)
    assert s.n_resources_ == [63, 190, 569] and s.max_resources_ == 569
    r = s.cv_results_
    # one bracket of 9: 9 at the lowest rung, the best 3 at the middle one, the best 1 at the top
    np.testing.assert_array_equal(r["iter"], [0] * 9 + [1] * 3 + [2])
    np.testing.assert_array_equal(r["n_resources"], [63] * 9 + [190] * 3 + [569])
    low = -r["mean_test_score"][:9]
    promoted = [r["params"][:9].index(p) for p in r["params"][9:12]]
    assert sorted(promoted) == sorted(np.argsort(low, kind="stable")[:3].tolist())
    assert s.best_index_ == 12 and s.best_params_ == r["params"][12]


def test_successive_halving_over_an_estimator_parameter_with_cqr():
    X, y = load_iris(return_X_y=True)
    est = GradientBoostingClassifier(random_state=0)  # no OpenMP: quick on a loaded machine
    s = OptkitSearchCV(est, {"learning_rate": loguniform(1e-2, 1), "max_depth": randint(1, 4)}, method="cqr",
                       n_iter=6, cv=3, random_state=0, resource="n_estimators", max_resources=12, min_resources=3, factor=2,
                       method_params={"n_estimators": 10, "n_candidates": 100, "n_init": 2})
    s.fit(X, y)
    assert s.n_resources_ == [3, 6, 12]
    # brackets of 4: 4 -> 2 -> 1, then the 2 candidates left: 2 -> 1 -> 1
    np.testing.assert_array_equal(s.cv_results_["n_resources"], [3, 3, 3, 3, 6, 6, 12, 3, 3, 6, 12])
    assert s.best_params_["n_estimators"] == 12 and s.cv_results_["n_resources"][s.best_index_] == 12
    assert s.best_estimator_.n_estimators == 12
    # CQR was told every rung: 6 trials, 11 reports, each trial fitted at the highest resource it reached
    X_t, _, reached = s.optimizer_.training_data()
    assert s.optimizer_.n_trials == 6 and sorted(reached.tolist()) == [3, 3, 3, 6, 12, 12]


def test_failed_fits_are_scored_nan_and_the_search_goes_on():
    space = {"strategy": ["constant", "prior", "uniform"]}  # "constant" without a constant: those fits fail
    with pytest.warns(UserWarning):
        s = OptkitSearchCV(DummyClassifier(random_state=0), space, method="random", n_iter=8, cv=3,
                           random_state=0).fit(X_IRIS, Y_IRIS)
    failed = np.array([p["strategy"] == "constant" for p in s.cv_results_["params"]])
    assert failed.any() and np.isnan(s.cv_results_["mean_test_score"][failed]).all()
    assert not np.isnan(s.best_score_) and s.best_params_["strategy"] != "constant"
    with pytest.raises(ValueError, match="fits failed"), pytest.warns(FitFailedWarning):  # all failed: as sklearn
        OptkitSearchCV(DummyClassifier(), {"strategy": ["constant"]}, method="random", n_iter=2, cv=3).fit(X_IRIS, Y_IRIS)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"n_iter": 0}, SkInvalidParameterError, "n_iter"),
    ({"scoring": "acurracy"}, optkit.UnknownNameError, "Did you mean 'accuracy'"),
    ({"scoring": ["accuracy", "f2"]}, optkit.UnknownNameError, "'f2'"),
    ({"search_space": {"gama": [1.0]}}, optkit.UnknownNameError, "Valid parameters are: C, break_ties"),
    ({"search_space": {"C": loguniform(1, 1)}}, optkit.InvalidParameterError, "empty"),
    ({"method": "cmaez"}, optkit.UnknownNameError, "cmaes"),
    ({"method_params": {"popsize_": 3}}, optkit.UnknownNameError, "popsize"),
    ({"resource": "n_estimators"}, optkit.UnknownNameError, "neither 'n_samples' nor a parameter"),
    ({"min_resources": 5}, optkit.InvalidParameterError, "only used with 'resource'"),
])
def test_bad_input_raises_value_errors(kwargs, error, words):
    kw = dict(search_space={"C": [1.0, 2.0]}, method="cmaes", n_iter=2, cv=3)
    kw.update(kwargs)
    with pytest.raises(error, match=words) as info:
        OptkitSearchCV(SVC(), **kw).fit(X_IRIS, Y_IRIS)
    assert isinstance(info.value, ValueError) and isinstance(info.value, optkit.OptkitError)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_bayesian_optimization_runs_through_the_search():
    pytest.importorskip("torch")
    s = OptkitSearchCV(SVC(), {"C": loguniform(1e-2, 1e2), "kernel": ["rbf", "linear"]}, method="bo", n_iter=7, cv=3,
                       random_state=0, method_params={"n_init": 4, "raw_samples": 128, "n_restarts": 2}).fit(X_IRIS, Y_IRIS)
    assert len(s.cv_results_["params"]) == 7 and s.best_score_ >= 0.95


_FITS_LEFT = [None]  # fits before the "crash" (None: never)


class _Crashy(LogisticRegression):
    """LogisticRegression whose fit raises KeyboardInterrupt (not caught by error_score) after a set number of fits."""

    def fit(self, X, y, sample_weight=None):
        if _FITS_LEFT[0] is not None:
            if _FITS_LEFT[0] == 0:
                raise KeyboardInterrupt
            _FITS_LEFT[0] -= 1
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("method, resource", [("cmaes", None), ("cqr", "n_samples")])
def test_a_search_killed_midway_resumes_where_it_stopped(tmp_path, method, resource):
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    kw = dict(method=method, n_iter=9, cv=3, random_state=0, resource=resource)
    if method == "cqr":
        kw.update(method_params={"n_estimators": 10, "n_candidates": 100, "n_init": 3}, min_resources=60)
    path = tmp_path / "killed.sqlite"
    _FITS_LEFT[0] = 3 * 6 + 1  # dies in the 7th candidate evaluation
    with pytest.raises(KeyboardInterrupt):
        OptkitSearchCV(_Crashy(), {"C": loguniform(1e-3, 1e2)}, journal=path, **kw).fit(X, y)
    _FITS_LEFT[0] = None
    resumed = OptkitSearchCV(_Crashy(), {"C": loguniform(1e-3, 1e2)}, journal=path, **kw).fit(X, y)
    fresh = OptkitSearchCV(_Crashy(), {"C": loguniform(1e-3, 1e2)}, **kw).fit(X, y)
    assert resumed.cv_results_["params"] == fresh.cv_results_["params"]
    np.testing.assert_allclose(resumed.cv_results_["mean_test_score"], fresh.cv_results_["mean_test_score"])
    assert resumed.best_params_ == fresh.best_params_
