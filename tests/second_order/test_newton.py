"""Newton-CG and L-BFGS: first steps by hand, the line searches, agreement with scipy.optimize to 1e-10."""

import numpy as np
import pytest
from scipy.optimize import minimize
from so_problems import quadratic, rotated_quadratic

import optkit
from optkit.core.stochastic import StochasticProblem
from optkit.problems.ml import least_squares
from optkit.second_order._base import line_search
from optkit.second_order.newton import two_loop


def _one_step(name, problem, **kw):
    return optkit.make(name, problem.space, **kw).minimize(problem, 1000, callback=lambda r: True)


def test_newton_cg_first_step_by_hand():
    # H = diag(1, 10), w0 = (1, 1): g = (1, 10), ||g|| = 10.05, CG tolerance 0.5 ||g||. One CG iteration
    # gives p = -(g.g / g.Hg) g with residual ||(0.899, -0.0899)|| = 0.90 < 5.02: CG stops; p is the exact
    # minimizer along -g, so the strong-Wolfe search accepts alpha = 1.
    p = quadratic([1.0, 10.0])
    g = np.array([1.0, 10.0])
    res = _one_step("newton-cg", p)
    np.testing.assert_allclose(res.x, np.ones(2) - (101 / 1001) * g, rtol=1e-14)
    assert res.nit == 1 and res.oracle_counts == {"loss": 0, "grad": 2, "hvp": 1, "per_example": 0}


def test_lbfgs_first_step_by_hand():
    # no pairs yet: p = -g, alpha0 = min(1, 1/||g||_1) = 1/11; phi'(1/11) = -101 + 1001/11 = -10, within
    # c2 |phi'(0)| = 90.9 (strong Wolfe) and with sufficient decrease: accepted
    p = quadratic([1.0, 10.0])
    res = _one_step("lbfgs", p)
    np.testing.assert_allclose(res.x, np.ones(2) - np.array([1.0, 10.0]) / 11, rtol=1e-14)
    assert res.nit == 1 and res.nfev == 2


def test_two_loop_equals_the_bfgs_matrix():
    rng = np.random.default_rng(0)
    d, k = 6, 4
    M = rng.standard_normal((d, d))
    H = M @ M.T + d * np.eye(d)
    S = rng.standard_normal((k, d))
    Y = S @ H
    g = rng.standard_normal(d)
    Hk = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) * np.eye(d)
    for s, y in zip(S, Y):
        r = 1 / (s @ y)
        V = np.eye(d) - r * np.outer(y, s)
        Hk = V.T @ Hk @ V + r * np.outer(s, s)
    np.testing.assert_allclose(two_loop(g, S, Y), Hk @ g, rtol=1e-10)


@pytest.mark.parametrize("kind", ["strong-wolfe", "armijo"])
def test_line_search_conditions(kind):
    # phi(a) = f(1 + a p) with f(x) = x^4 - 3 x, p = -f'(1) = -1 ... from x = 2: f'(2) = 29
    f = lambda x: x**4 - 3 * x  # noqa: E731
    df = lambda x: 4 * x**3 - 3  # noqa: E731
    x0, p = np.array([2.0]), np.array([-29.0])
    found = line_search(lambda a: (f(x0 + a * p)[0], df(x0 + a * p)), f(x0)[0], df(x0), p, 1.0, kind=kind)
    a, fa, ga = found
    d0 = float(df(x0) @ p)
    assert fa <= f(x0)[0] + 1e-4 * a * d0
    if kind == "strong-wolfe":
        assert abs(float(ga @ p)) <= 0.9 * abs(d0)


def test_line_search_backs_off_nan_trials():
    # f(x) = (x - 1)^2, NaN beyond x = 1.5; from x = 0 along p = 2: the trial alpha = 1 (x = 2) is NaN,
    # the zoom bisects to alpha = 0.5 (x = 1, the minimum)
    f = lambda x: np.nan if x > 1.5 else (x - 1) ** 2  # noqa: E731
    found = line_search(lambda a: (f(2 * a), np.array([2 * (2 * a - 1)])), 1.0, np.array([-2.0]), np.array([2.0]), 1.0)
    assert found is not None and found[0] == 0.5 and found[1] == 0.0


def _scipy_answer(p):
    r = minimize(lambda w: p.loss_and_grad(w), p.w0, jac=True, hessp=lambda w, v: p.hvp(w, v), method="trust-krylov",
                 options={"gtol": 1e-13})
    return r.x


@pytest.mark.parametrize("name", ["newton-cg", "lbfgs"])
@pytest.mark.parametrize("line", ["strong-wolfe", "armijo"])
def test_logistic_regression_matches_scipy(name, line):
    p = optkit.problems.get("logreg_breast_cancer")
    x_scipy = _scipy_answer(p)
    p.reset_counts()
    res = optkit.make(name, p.space, line_search=line).minimize(p, 150 * p.n_examples)
    assert res.fun - p.f_opt < 1e-10
    np.testing.assert_allclose(res.x, x_scipy, atol=1e-5)
    assert res.nfev <= 150 * p.n_examples and res.nfev % p.n_examples == 0  # full batch: whole passes only


@pytest.mark.parametrize("name", ["newton-cg", "lbfgs"])
def test_ill_conditioned_least_squares_to_1e10(name):
    p = least_squares(n=300, dim=30, condition=1e4, noise=0.1, seed=1)
    res = optkit.make(name, p.space).minimize(p, 400 * p.n_examples)
    assert res.fun - p.f_opt < 1e-10  # ||x - x_opt|| may still be ~1e-3 along the 1e-4 eigenvalue


def test_newton_cg_negative_curvature_falls_back_to_steepest_descent():
    p, _ = rotated_quadratic([-1.0, 2.0, 3.0])  # indefinite: CG meets d^T H d <= 0 and must still descend
    res = optkit.make("newton-cg", p.space).minimize(p, 100)
    assert res.fun < p.objective(p.w0)


@pytest.mark.parametrize("name", ["newton-cg", "lbfgs", "poly-krylov"])
def test_nan_gradient_stops_naming_the_iteration(name):
    base = least_squares(n=40, dim=3, condition=10.0, seed=3)
    calls = []

    def grad(w, idx):
        calls.append(1)
        return base._grad(w, idx) * (np.nan if len(calls) == 3 else 1.0)

    p = StochasticProblem(base._loss, grad, 40, base.w0, hvp=base._hvp)
    res = optkit.make(name, p.space, batch_size=4, seed=0).minimize(p, 1000)
    # iteration 0: gradient (call 1), one accepted trial (call 2); iteration 1's gradient is the NaN
    assert res.status == optkit.Status.FAILED and "iteration 1" in res.message and res.nit == 1


def test_budget_is_respected_and_a_full_batch_step_is_never_shrunk():
    p = optkit.problems.get("logreg_breast_cancer")
    for budget in (2 * 569, 7 * 569 + 100, 10_000):
        p.reset_counts()
        res = optkit.make("lbfgs", p.space).minimize(p, budget)
        assert res.nfev == p.calls <= budget and res.nfev % 569 == 0


@pytest.mark.parametrize("name,cls", [("newton-cg", "NewtonCG"), ("fosi", "FOSI"), ("poly-krylov", "PolyKrylov")])
def test_methods_that_need_hvp_say_so(name, cls):
    from optkit.core.stochastic import HVP_METHODS, HVPUnavailableError

    p = quadratic([1.0, 2.0], hvp=False)
    with pytest.raises(HVPUnavailableError, match=cls):
        optkit.make(name, p.space).minimize(p, 1000)
    assert name in HVP_METHODS  # listed in the problem's own error message
    with pytest.raises(HVPUnavailableError, match=name):
        p.hvp(p.w0, p.w0)
    res = optkit.make("lbfgs", p.space).minimize(p, 200)  # L-BFGS needs none
    assert res.fun < 1e-12
