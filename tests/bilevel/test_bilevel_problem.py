"""BilevelProblem: oracles against finite differences on every bundled problem, counting, validation."""

import pickle

import numpy as np
import pytest

import optkit
from optkit.bilevel import BilevelProblem
from optkit.bilevel import problems as P

CASES = {
    "toy": lambda: P.toy_quadratic(),
    "ridge": lambda: P.ridge_hpo(),
    "logreg": lambda: P.logreg_hpo(),
    "clean_binary": lambda: P.hyper_cleaning(n_train=120, n_val=100),
    "clean_softmax": lambda: P.hyper_cleaning(classes="softmax", n_train=120, n_val=100),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("batch", [None, np.array([0, 3, 7, 11])])
def test_oracles_match_finite_differences(name, batch):
    p = CASES[name]()
    rng = np.random.default_rng(1)
    x = p.x0 + 0.3 * rng.standard_normal(p.dim)
    y = 0.1 * rng.standard_normal(p.dim_lower)
    u, v = rng.standard_normal(p.dim), rng.standard_normal(p.dim_lower)
    e = 1e-6

    def close(a, b):
        assert abs(a - b) <= 1e-6 * max(1.0, abs(b)), (a, b)

    gx, gy = p.grad_g(x, y, batch)
    close(gx @ u, (p.g(x + e * u, y, batch) - p.g(x - e * u, y, batch)) / (2 * e))
    close(gy @ v, (p.g(x, y + e * v, batch) - p.g(x, y - e * v, batch)) / (2 * e))
    fx, fy = p.grad_f(x, y, batch)
    close(fx @ u, (p.f(x + e * u, y, batch) - p.f(x - e * u, y, batch)) / (2 * e))
    close(fy @ v, (p.f(x, y + e * v, batch) - p.f(x, y - e * v, batch)) / (2 * e))
    # HVP: d/dy of d_y g along v; JVP: d/dx of <d_y g, v> along u
    fd_h = (p.grad_g(x, y + e * v, batch)[1] - p.grad_g(x, y - e * v, batch)[1]) / (2 * e)
    np.testing.assert_allclose(p.hvp(x, y, v, batch), fd_h, atol=1e-6 * max(1.0, np.abs(fd_h).max()))
    fd_j = (p.grad_g(x + e * u, y, batch)[1] - p.grad_g(x - e * u, y, batch)[1]) / (2 * e) @ v
    close(p.jvp(x, y, v, batch) @ u, fd_j)


@pytest.mark.parametrize("name", ["toy", "ridge", "logreg"])
def test_exact_hypergradient_matches_finite_differences_of_F(name):
    p = CASES[name]()
    rng = np.random.default_rng(2)
    x = p.x0 + 0.2 * rng.standard_normal(p.dim)
    u = rng.standard_normal(p.dim)
    e = 1e-5
    fd = (p.upper_objective(x + e * u) - p.upper_objective(x - e * u)) / (2 * e)
    h = p.exact_hypergradient(x)
    assert abs(h @ u - fd) <= 1e-7 * max(1.0, abs(fd))
    # the generic path (Newton-CG lower solve, CG on HVPs) agrees with the problem's closed forms
    generic = p.view()
    generic._solution = generic._hypergradient = None
    np.testing.assert_allclose(generic.exact_hypergradient(x), h, rtol=1e-8, atol=1e-12)


def test_toy_solution_is_stationary_and_optimal():
    p = P.toy_quadratic()
    np.testing.assert_allclose(p.exact_hypergradient(p.x_opt), 0.0, atol=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(5):
        assert p.upper_objective(p.x_opt + 0.1 * rng.standard_normal(p.dim)) > p.f_opt


def test_counts_follow_the_ifo_convention():
    p = P.toy_quadratic(n=10)
    x, y, v, idx = np.zeros(3), np.zeros(5), np.ones(5), np.array([1, 2, 3])
    p.grad_g(x, y, idx)
    p.grad_f(x, y)
    p.hvp(x, y, v, idx)
    p.jvp(x, y, v, None)
    p.g(x, y, idx)
    p.f(x, y, idx)
    assert p.counts == {"f": 3, "grad_f": 10, "g": 3, "grad_g": 3, "hvp": 3, "jvp": 10} and p.calls == 32
    p.upper_objective(x)
    p.exact_hypergradient(x)
    assert p.calls == 32, "the monitoring helpers must not be counted"
    view = p.view()
    view.grad_g(x, y, idx)
    assert p.calls == 32 and view.calls == 3
    p.add_counts(view.counts)
    assert p.calls == 35
    q = pickle.loads(pickle.dumps(p))
    assert q.calls == 35 and np.allclose(q.exact_hypergradient(x), p.exact_hypergradient(x))


def test_bad_input_is_rejected_with_clear_errors():
    p = P.toy_quadratic()
    f, g = p._f, p._g
    with pytest.raises(optkit.InvalidParameterError, match="'upper'"):
        BilevelProblem(None, g, p._gf, p._gg, x0=[0.0], y0=[0.0])
    with pytest.raises(optkit.InvalidParameterError, match="'x0'"):
        BilevelProblem(f, g, p._gf, p._gg, x0=[np.nan], y0=[0.0])
    with pytest.raises(optkit.InvalidParameterError, match="'n_lower'"):
        BilevelProblem(f, g, p._gf, p._gg, x0=[0.0], y0=[0.0], n_lower=0)
    with pytest.raises(optkit.InvalidParameterError, match="'x'"):
        p.grad_g(np.zeros(4), np.zeros(5))
    with pytest.raises(optkit.InvalidParameterError, match="'idx'"):
        p.grad_g(np.zeros(3), np.zeros(5), np.array([64]))
    with pytest.raises(optkit.InvalidParameterError, match="'bounds'"):
        BilevelProblem(f, g, p._gf, p._gg, x0=np.zeros(3), y0=np.zeros(5), bounds=[(0, 1)] * 2)
    first_order = BilevelProblem(f, g, p._gf, p._gg, x0=np.zeros(3), y0=np.zeros(5), n_upper=64, n_lower=64)
    with pytest.raises(optkit.InvalidParameterError, match="lower_hvp"):
        first_order.hvp(np.zeros(3), np.zeros(5), np.zeros(5))
    with pytest.raises(optkit.InvalidParameterError, match="bilevel-penalty"):
        optkit.make("bilevel-implicit", first_order.space).minimize(first_order, 10_000)
    with pytest.raises(optkit.InvalidParameterError, match="'classes'"):
        P.hyper_cleaning(classes="ternary")
    with pytest.raises(optkit.InvalidParameterError, match="'L'"):
        P.toy_quadratic(mu=1.0, L=0.5)
