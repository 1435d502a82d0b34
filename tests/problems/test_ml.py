"""The finite-sum ML problems: exact gradients, HVPs and per-example gradients, and their optima."""

import numpy as np
import pytest

import optkit
from optkit.problems import ml

NAMES = ["logreg_breast_cancer", "logreg_breast_cancer_scaled", "softmax_digits", "ridge_diabetes", "mlp_digits",
         "least_squares", "least_squares_illcond"]


@pytest.mark.parametrize("name", NAMES)
def test_gradient_hvp_and_per_example_gradients_are_exact(name):
    p = optkit.problems.get(name)
    assert isinstance(p, optkit.StochasticProblem) and p.has_hvp
    rng = np.random.default_rng(1)
    w = p.w0 + 0.1 * rng.standard_normal(p.dim)
    v = rng.standard_normal(p.dim)
    idx = rng.choice(p.n_examples, 7, replace=False)
    f, g = p.loss_and_grad(w, idx)
    assert f == pytest.approx(p.loss(w, idx), rel=1e-14) and np.allclose(g, p.grad(w, idx), rtol=1e-14)
    e = 1e-6
    directional = (p.loss(w + e * v, idx) - p.loss(w - e * v, idx)) / (2 * e)
    assert directional == pytest.approx(g @ v, rel=1e-6, abs=1e-8)
    fd_hvp = (p.grad(w + e * v, idx) - p.grad(w - e * v, idx)) / (2 * e)
    np.testing.assert_allclose(p.hvp(w, v, idx), fd_hvp, rtol=1e-5, atol=1e-6 * np.abs(fd_hvp).max())
    np.testing.assert_allclose(p.per_example_grads(w, idx).mean(axis=0), g, rtol=1e-10, atol=1e-13)
    # the full batch is the mean of the examples
    assert p.objective(w) == pytest.approx(np.mean([p.loss(w, np.array([i])) for i in range(p.n_examples)]), rel=1e-10)


def test_logistic_optimum_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    p = optkit.problems.get("logreg_breast_cancer")
    assert np.linalg.norm(p.grad(p.x_opt)) < 1e-11
    m = ml._logistic_model("breast_cancer", 1e-3, 0.0)
    # sklearn: 1/2 ||w||^2 + C sum_i log(1 + exp(-y_i x_i w)) = n C (our objective) with l2 = 1 / (n C)
    clf = LogisticRegression(C=1.0 / (p.n_examples * 1e-3), fit_intercept=False, tol=1e-12, max_iter=10_000)
    clf.fit(m.X, m.y)
    assert p.objective(clf.coef_.ravel()) == pytest.approx(p.f_opt, abs=1e-9)
    assert p.f_opt == pytest.approx(0.0598294718818, abs=1e-11)
    rng = np.random.default_rng(0)
    assert all(p.objective(p.x_opt + 1e-3 * rng.standard_normal(p.dim)) > p.f_opt for _ in range(5))


def test_least_squares_has_the_chosen_condition_number_and_closed_form_optimum():
    p = ml.least_squares(n=60, dim=8, condition=1e3, seed=4)
    H = np.column_stack([p.hvp(p.w0, e) for e in np.eye(8)])
    ev = np.linalg.eigvalsh(H)
    assert ev.max() == pytest.approx(1.0, rel=1e-10) and ev.max() / ev.min() == pytest.approx(1e3, rel=1e-8)
    assert p.f_opt < 1e-25  # noise 0 interpolates: every example loss is 0 at the optimum
    q = ml.least_squares(n=60, dim=8, condition=1e3, noise=0.5, seed=4)
    A, b = ml._synthetic(60, 8, 1e3, 0.5, 4)
    x, *_ = np.linalg.lstsq(A, b, rcond=None)
    assert q.f_opt == pytest.approx(0.5 * np.mean((A @ x - b) ** 2), rel=1e-12) and q.f_opt > 0.05
    r = ml.least_squares(n=60, dim=8, condition=1e3, noise=0.5, l2=0.1, seed=4)
    assert np.linalg.norm(r.grad(r.x_opt)) < 1e-14 and r.f_opt > q.f_opt


def test_ridge_optimum_matches_scikit_learn():
    from sklearn.linear_model import Ridge

    p = optkit.problems.get("ridge_diabetes")
    assert p.dim == 11 and p.n_examples == 442
    m_X = ml._features(ml._raw("diabetes")[0], 0.0)
    y = ml._raw("diabetes")[1].astype(float)
    y = (y - y.mean()) / y.std()
    # sklearn's Ridge: ||Xw - y||^2 + alpha ||w||^2 = 2 n (our objective) with alpha = n l2
    w = Ridge(alpha=p.n_examples * 1e-2, fit_intercept=False, solver="cholesky").fit(m_X, y).coef_
    np.testing.assert_allclose(w, p.x_opt, atol=1e-10)


def test_badly_scaled_features_span_the_chosen_factor():
    X = ml._features(ml._raw("breast_cancer")[0], 3.0)
    sd = X[:, :-1].std(axis=0)
    assert sd.max() / sd.min() == pytest.approx(np.exp(6.0), rel=1e-10)
    assert np.all(X[:, -1] == 1.0)


def test_registry_of_problems_and_bad_input():
    assert set(NAMES) <= set(optkit.problems.available())
    assert optkit.problems.get("least_squares", 7).dim == 7
    with pytest.raises(optkit.InvalidParameterError, match="'dim' is fixed"):
        optkit.problems.get("logreg_breast_cancer", 5)
    with pytest.raises(optkit.InvalidParameterError, match="on_error"):
        optkit.problems.get("ridge_diabetes", on_error="skip")
    with pytest.raises(optkit.InvalidParameterError, match="'dataset'"):
        ml.logistic_regression("iris")
    with pytest.raises(optkit.InvalidParameterError, match="10 classes; expected 2"):
        ml.logistic_regression("digits")
    with pytest.raises(optkit.InvalidParameterError, match="'condition'"):
        ml.least_squares(condition=0.5)
    with pytest.raises(optkit.InvalidParameterError, match="'dim' must be <= 'n'"):
        ml.least_squares(n=5, dim=6)
    with pytest.raises(optkit.InvalidParameterError, match="'hidden'"):
        ml.mlp(hidden=0)
    assert optkit.problems.get("mlp_digits").f_opt is None


def test_problems_module_does_not_import_sklearn():
    import subprocess
    import sys

    code = "import optkit; optkit.problems.available(); import sys; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
