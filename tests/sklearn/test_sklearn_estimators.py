"""The estimators fitted by optkit optimizers: scikit-learn's estimator checks, and known answers
(QuantileRegressor's linear program, least squares and its KKT conditions, the privacy budget)."""

import numpy as np
import pytest
from scipy.stats import kendalltau
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, QuantileRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import optkit
from optkit.sklearn import DPLogisticRegression, FrankWolfeLasso, OptkitSearchCV, ZerothOrderRegressor


@parametrize_with_checks([ZerothOrderRegressor(max_evals=600), FrankWolfeLasso(), DPLogisticRegression(random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _heavy_tailed(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 10.0, 0.1]  # badly scaled features: standardization matters
    return X, X @ [2.0, -0.1, 5.0] + 0.5 + rng.standard_t(2, n)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_quantile_loss_matches_the_linear_program(q):
    """QuantileRegressor(alpha=0) solves the same pinball-loss problem exactly (HiGHS)."""
    X, y = _heavy_tailed()
    ours = ZerothOrderRegressor(quantile=q, random_state=0).fit(X, y)
    lp = QuantileRegressor(quantile=q, alpha=0.0).fit(X, y)

    def pinball(pred):
        r = y - pred
        return np.mean(np.maximum(q * r, (q - 1) * r))

    assert pinball(ours.predict(X)) <= pinball(lp.predict(X)) * (1 + 1e-7)
    np.testing.assert_allclose(ours.coef_, lp.coef_, rtol=1e-4, atol=1e-5)
    assert ours.intercept_ == pytest.approx(lp.intercept_, abs=1e-4)
    absolute = ZerothOrderRegressor(loss="absolute", random_state=0).fit(X, y)
    if q == 0.5:
        np.testing.assert_allclose(absolute.coef_, ours.coef_, atol=1e-6)


def test_other_derivative_free_methods_and_the_penalty():
    X, y = _heavy_tailed(200, seed=1)
    lp = QuantileRegressor(quantile=0.5, alpha=0.0).fit(X, y)
    de = ZerothOrderRegressor(method="de", max_evals=6000, random_state=0).fit(X, y)
    np.testing.assert_allclose(de.coef_, lp.coef_, atol=0.05)
    shrunk = ZerothOrderRegressor(alpha=1.0, random_state=0).fit(X, y)  # a strong l2 pull toward 0
    assert np.linalg.norm(shrunk.coef_ * X.std(axis=0)) < 0.6 * np.linalg.norm(lp.coef_ * X.std(axis=0))
    with pytest.raises(optkit.InvalidParameterError, match="needs gradients"):
        ZerothOrderRegressor(method="adam").fit(X, y)
    with pytest.raises(optkit.UnknownNameError):
        ZerothOrderRegressor(method="cmaez").fit(X, y)
    with pytest.raises(ValueError, match="'loss' parameter"):
        ZerothOrderRegressor(loss="huber").fit(X, y)


def test_ranking_loss_recovers_the_order():
    """y a monotone transform of X w: the ranking hinge recovers w's direction, whatever the transform."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 3))
    w = np.array([1.0, -2.0, 0.5])
    m = ZerothOrderRegressor(loss="ranking", random_state=0).fit(X, np.exp(X @ w))
    cos = m.coef_ @ w / (np.linalg.norm(m.coef_) * np.linalg.norm(w))
    assert cos > 0.9995
    assert kendalltau(m.predict(X), X @ w).statistic > 0.98


def _constrained_least_squares(X, y, r):
    """The reference: min (1/2n)||Xc w - yc||^2 s.t. ||w||_1 <= r, as a QP in w = u - v, u, v >= 0."""
    from scipy.optimize import minimize

    Xc, yc = X - X.mean(0), y - y.mean()
    n, d = X.shape
    A = np.hstack([Xc, -Xc])

    def f(z):
        res = A @ z - yc
        return 0.5 * res @ res / n, A.T @ res / n

    out = minimize(f, np.zeros(2 * d), jac=True, method="SLSQP", bounds=[(0, None)] * (2 * d),
                   constraints=[{"type": "ineq", "fun": lambda z: r - z.sum(), "jac": lambda z: -np.ones(2 * d)}],
                   options={"ftol": 1e-14, "maxiter": 500})
    return out.x[:d] - out.x[d:]


@pytest.mark.parametrize("variant", ["pairwise", "away", "vanilla"])
def test_frank_wolfe_lasso_matches_the_constrained_least_squares(variant):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 6))
    y = X @ [2.0, 0.0, -1.0, 0.0, 0.0, 0.5] + 1.0 + 0.1 * rng.normal(size=80)
    r = 1.5  # the least-squares solution has ||w||_1 ~ 3.5: the constraint is active
    m = FrankWolfeLasso(radius=r, variant=variant, max_iter=5000).fit(X, y)
    ref = _constrained_least_squares(X, y, r)
    np.testing.assert_allclose(m.coef_, ref, atol=1e-3 if variant == "vanilla" else 1e-5)
    assert np.abs(m.coef_).sum() <= r * (1 + 1e-9)
    assert m.intercept_ == pytest.approx(y.mean() - X.mean(0) @ m.coef_)
    # a radius past the least-squares solution: ordinary least squares
    big = FrankWolfeLasso(radius=10.0, variant="pairwise", max_iter=5000).fit(X, y)
    ols = LinearRegression().fit(X, y)
    np.testing.assert_allclose(big.coef_, ols.coef_, atol=1e-5)
    assert big.intercept_ == pytest.approx(ols.intercept_, abs=1e-5)


def test_dp_logistic_regression_spends_at_most_its_budget():
    from optkit.privacy import noise_multiplier_for

    rng = np.random.default_rng(4)
    X = rng.normal(size=(3000, 4))
    y = np.where(X @ [1.0, -1.0, 0.5, 0.0] + 0.3 > 0, "yes", "no")
    clfs = {eps: DPLogisticRegression(epsilon=eps, delta=1e-5, random_state=0).fit(X, y) for eps in (0.3, 3.0)}
    for eps, clf in clfs.items():
        assert 0.5 * eps < clf.epsilon_spent_ <= eps and clf.delta_ == 1e-5
        assert clf.noise_multiplier_ == pytest.approx(noise_multiplier_for(eps, 1e-5, 64 / 3000, int(np.ceil(20 / (64 / 3000)))))
        assert list(clf.classes_) == ["no", "yes"] and clf.coef_.shape == (1, 4)
        proba = clf.predict_proba(X)
        np.testing.assert_allclose(proba.sum(1), 1.0)
        assert np.array_equal(clf.predict(X), clf.classes_[(proba[:, 1] > 0.5).astype(int)])
    assert clfs[0.3].noise_multiplier_ > clfs[3.0].noise_multiplier_
    assert clfs[3.0].score(X, y) > 0.9
    with pytest.raises(ValueError, match="Only binary"):
        DPLogisticRegression().fit(X, rng.integers(0, 3, 3000))
    with pytest.raises(optkit.InvalidParameterError, match="'epsilon' parameter"):
        DPLogisticRegression(epsilon=0.0).fit(X, y)


def test_estimators_inside_a_search_and_a_pipeline():
    X, y = _heavy_tailed(150, seed=5)
    search = OptkitSearchCV(make_pipeline(StandardScaler(), FrankWolfeLasso()),
                            {"frankwolfelasso__radius": optkit.Real(0.01, 20.0, log=True)}, method="cmaes", n_iter=8,
                            cv=3, random_state=0)
    search.fit(X, y)
    assert search.best_params_["frankwolfelasso__radius"] > 1.0  # a tight l1 ball underfits this data
    assert clone(search).get_params()["estimator__frankwolfelasso__radius"] == 1.0
