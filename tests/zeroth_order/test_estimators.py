"""Gradient estimators against known answers: smoothed gradients in closed form, exact differences, costs."""

import numpy as np
import pytest

from optkit import InvalidParameterError
from optkit.zeroth_order import (
    CGE,
    CentralDifference,
    ForwardDifference,
    GaussianTwoPoint,
    SphereTwoPoint,
    make_estimator,
)

# f(x) = sum a_i x_i^3 + b.x (a cubic: smoothing changes its gradient by a known amount)
A = np.array([1.0, 2.0, -1.0])
B = np.array([0.5, 0.0, -0.5])
X = np.array([0.2, -0.1, 0.3])


def cubic(P):
    P = np.atleast_2d(P)
    return (P**3) @ A + P @ B


def grad_cubic(x):
    return 3 * A * x**2 + B


def samples(est, f, x, n, seed=0):
    rng = np.random.default_rng(seed)
    out = np.empty((n, x.size))
    fx = float(f(x)[0])
    for i in range(n):
        P = est.directions(rng, x)
        out[i] = est.estimate(x, fx, P, f(P))
    return out


def assert_mean(G, expected, z=5.0):
    """The Monte Carlo mean equals ``expected`` within z standard errors (from the samples' variance)."""
    se = G.std(axis=0, ddof=1) / np.sqrt(G.shape[0])
    err = np.abs(G.mean(axis=0) - expected)
    assert np.all(err <= z * se), (G.mean(axis=0), expected, se)


@pytest.mark.parametrize("antithetic", [True, False])
def test_gaussian_expectation_is_the_gaussian_smoothed_gradient_of_a_cubic(antithetic):
    mu = 0.5
    G = samples(GaussianTwoPoint(mu, antithetic=antithetic), cubic, X, 20000)
    # E (x + mu u)^3 = x^3 + 3 mu^2 x for u ~ N(0, 1): grad f_mu = grad f + 3 mu^2 a
    smoothed = grad_cubic(X) + 3 * mu**2 * A
    assert_mean(G, smoothed)
    assert np.max(np.abs(G.mean(axis=0) - grad_cubic(X))) > 0.5  # the test tells the two apart


def test_sphere_expectation_is_the_ball_smoothed_gradient_of_a_cubic():
    mu, d = 0.5, X.size
    G = samples(SphereTwoPoint(mu, n_directions=2), cubic, X, 20000)
    # E v_i^2 = 1/(d+2) for v uniform in the unit ball: grad = grad f + 3 mu^2 a / (d + 2)
    assert_mean(G, grad_cubic(X) + 3 * mu**2 * A / (d + 2))


def test_random_estimators_are_unbiased_on_a_quadratic():
    H = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 3.0]])
    f = lambda P: 0.5 * np.einsum("ni,ij,nj->n", np.atleast_2d(P), H, np.atleast_2d(P))  # noqa: E731
    for est in (GaussianTwoPoint(0.3), SphereTwoPoint(0.3, n_directions=3), GaussianTwoPoint(0.3, antithetic=False)):
        assert_mean(samples(est, f, X, 10000, seed=1), H @ X)


@pytest.mark.parametrize("cls,factor", [(GaussianTwoPoint, lambda d: d + 1), (SphereTwoPoint, lambda d: d - 1)])
def test_variance_on_a_linear_function_matches_the_formula(cls, factor):
    d, m = 6, 3
    g = np.arange(1.0, d + 1)
    G = samples(cls(1e-3, n_directions=m), lambda P: np.atleast_2d(P) @ g, np.zeros(d), 20000, seed=2)
    trace = G.var(axis=0, ddof=1).sum()
    expected = factor(d) * (g @ g) / m
    assert abs(trace / expected - 1) < 0.05, (trace, expected)


def test_forward_and_central_differences_on_a_cubic_are_exact_polynomials_in_mu():
    mu = 0.1
    rng = np.random.default_rng(0)
    for est, expected in (
        (ForwardDifference(mu), 3 * A * X**2 + 3 * A * X * mu + A * mu**2 + B),  # f_i + mu f_ii / 2 + mu^2 f_iii / 6
        (CentralDifference(mu), 3 * A * X**2 + A * mu**2 + B),                    # f_i + mu^2 f_iii / 6
    ):
        P = est.directions(rng, X)
        g = est.estimate(X, float(cubic(X)[0]), P, cubic(P))
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-12)


def test_central_differences_are_exact_on_a_quadratic():
    H = np.diag([1.0, 4.0, 9.0]) + 0.5
    f = lambda P: 0.5 * np.einsum("ni,ij,nj->n", np.atleast_2d(P), H, np.atleast_2d(P)) + np.atleast_2d(P) @ B  # noqa: E731
    est = CentralDifference(0.7)  # any mu: the third derivative is 0
    P = est.directions(np.random.default_rng(0), X)
    np.testing.assert_allclose(est.estimate(X, np.nan, P, f(P)), H @ X + B, rtol=1e-12, atol=1e-13)


def test_cge_mask_and_random_coordinates():
    d = 6
    g_true = np.arange(1.0, d + 1)
    f = lambda P: np.atleast_2d(P) @ g_true  # noqa: E731
    x = np.zeros(d)
    est = CGE(1e-3, mask=[1, 4])
    assert est is not None and isinstance(est, ForwardDifference) and est.cost(d) == 3
    P = est.directions(np.random.default_rng(0), x)
    g = est.estimate(x, 0.0, P, f(P))
    np.testing.assert_allclose(g, [0, 2, 0, 0, 5, 0], atol=1e-9)
    # a boolean mask selects the same coordinates; n_coordinates=1 draws one and scales by 2: unbiased
    est = ForwardDifference(1e-3, mask=np.isin(np.arange(d), [1, 4]), n_coordinates=1)
    assert est.cost(d) == 2
    G = samples(est, f, x, 4000)
    assert set(np.unique(np.count_nonzero(G, axis=1))) == {1}
    np.testing.assert_allclose(G.mean(axis=0), [0, 2, 0, 0, 5, 0], atol=0.3)
    assert_mean(G[:, [1, 4]], np.array([2.0, 5.0]))


def test_points_stay_in_the_box_and_estimates_use_the_steps_taken():
    lo, hi = np.zeros(3), np.ones(3)
    x = np.array([1.0, 0.5, 0.0])  # on the upper bound in coordinate 0, the lower in 2
    g_true = np.array([3.0, -1.0, 2.0])
    f = lambda P: np.atleast_2d(P) @ g_true  # noqa: E731
    rng = np.random.default_rng(0)
    for est in (ForwardDifference(0.1), CentralDifference(0.1), GaussianTwoPoint(0.1, n_directions=4),
                SphereTwoPoint(0.1, antithetic=False)):
        P = est.directions(rng, x, lo, hi)
        assert P.shape == (est.n_points(3), 3) and np.all((P >= lo) & (P <= hi))
        g = est.estimate(x, float(f(x)[0]), P, f(P))
        if isinstance(est, (ForwardDifference, CentralDifference)):
            np.testing.assert_allclose(g, g_true, rtol=1e-10)  # one-sided differences are exact on a linear f
    P = ForwardDifference(0.1).directions(rng, x, lo, hi)
    assert P[0, 0] == pytest.approx(0.9)  # backwards at the upper bound


def test_missing_values_leave_out_their_terms():
    est = GaussianTwoPoint(1e-3, n_directions=2)
    g_true = np.array([1.0, -2.0, 0.5])
    rng = np.random.default_rng(3)
    P = est.directions(rng, X)
    v = P @ g_true
    full = est.estimate(X, np.nan, P, v)
    v[1] = np.nan  # the + point of direction 2: only direction 1 is left
    only_first = GaussianTwoPoint(1e-3).estimate(X, np.nan, P[[0, 2]], v[[0, 2]])
    np.testing.assert_allclose(est.estimate(X, np.nan, P, v), only_first)
    assert not np.allclose(full, only_first)
    assert np.all(est.estimate(X, np.nan, P, np.full(4, np.nan)) == 0)
    assert np.all(ForwardDifference(0.1).estimate(X, np.nan, X + 0.1 * np.eye(3), np.ones(3)) == 0)


def test_costs():
    d = 10
    assert GaussianTwoPoint(0.1).cost(d) == 2
    assert SphereTwoPoint(0.1, n_directions=4).cost(d) == 8
    assert GaussianTwoPoint(0.1, n_directions=4, antithetic=False).cost(d) == 5
    assert ForwardDifference(0.1).cost(d) == d + 1
    assert CentralDifference(0.1).cost(d) == 2 * d
    assert CentralDifference(0.1, mask=[0, 3, 5], n_coordinates=2).cost(d) == 4


@pytest.mark.parametrize("bad", [0, 0.0, -1e-3, float("nan"), "0.1", None])
def test_smoothing_must_be_positive(bad):
    for cls in (GaussianTwoPoint, SphereTwoPoint, ForwardDifference, CentralDifference):
        with pytest.raises(InvalidParameterError, match="'smoothing'"):
            cls(bad)


def test_bad_input():
    with pytest.raises(InvalidParameterError, match="'n_directions'"):
        GaussianTwoPoint(0.1, n_directions=0)
    with pytest.raises(InvalidParameterError, match="'mask'"):
        ForwardDifference(0.1, mask=[1, 1])
    with pytest.raises(InvalidParameterError, match="'mask'"):
        ForwardDifference(0.1, mask=[False, False])
    with pytest.raises(InvalidParameterError, match="'mask'"):
        ForwardDifference(0.1, mask=[True, False]).check_dim(3)
    with pytest.raises(InvalidParameterError, match="'mask'"):
        ForwardDifference(0.1, mask=[0, 7]).cost(5)
    with pytest.raises(InvalidParameterError, match="'n_coordinates'"):
        CentralDifference(0.1, mask=[0, 1], n_coordinates=3).cost(5)
    with pytest.raises(InvalidParameterError, match="'name'"):
        make_estimator("spsa", 0.1)
    with pytest.raises(InvalidParameterError, match="'mask'"):
        make_estimator("gaussian", 0.1, mask=[0])
    with pytest.raises(InvalidParameterError, match="'n_directions'"):
        make_estimator("central", 0.1, n_directions=3)
    with pytest.raises(InvalidParameterError, match="shape"):
        GaussianTwoPoint(0.1).estimate(X, np.nan, np.zeros((3, 3)), np.zeros(3))
