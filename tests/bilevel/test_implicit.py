"""Hypergradients: CG, Neumann and unrolled against the analytic one; the bilevel-implicit loop."""

import numpy as np
import pytest

import optkit
from optkit.bilevel import BilevelProblem, NotStronglyConvexError
from optkit.bilevel import problems as P
from optkit.bilevel.implicit import implicit_hypergradient, neumann, unrolled_hypergradient


@pytest.fixture
def toy():
    return P.toy_quadratic()


def test_cg_and_neumann_match_the_analytic_hypergradient(toy):
    x = np.array([0.3, -0.2, 0.5])
    y = toy.lower_argmin(x)
    exact = toy._hypergradient(x)  # M^T (M x - t) + rho x, M = A^-1 B
    h_cg, v = implicit_hypergradient(toy, x, y, method="cg", steps=5)  # dy = 5: CG is exact in 5 steps
    np.testing.assert_allclose(h_cg, exact, rtol=1e-10)
    np.testing.assert_allclose(toy.hvp(x, y, v), toy.grad_f(x, y)[1], rtol=1e-10)
    # Neumann with eta = 1/L = 0.5: the error contracts by (1 - eta mu) = 0.75 per term
    errs = [np.linalg.norm(implicit_hypergradient(toy, x, y, method="neumann", steps=k, lr=0.5)[0] - exact) for k in (10, 20, 40)]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-4 * np.linalg.norm(exact)
    assert errs[1] / errs[0] < 0.75**10 * 3  # geometric, at the predicted rate (up to a constant)


def test_unrolled_reference_by_hand_and_in_the_limit(toy):
    x = np.array([0.3, -0.2, 0.5])
    y0 = np.ones(5)
    eta = 0.5
    # one step by hand: y1 = y0 - eta (A y0 - B x); h = d_x f(x, y1) + (dy1/dx)^T d_y f(x, y1), dy1/dx = eta B
    m = toy._f.__self__
    y1 = y0 - eta * (m.A @ y0 - m.B @ x)
    h1, yT = unrolled_hypergradient(toy, x, y0, steps=1, lr=eta)
    np.testing.assert_allclose(yT, y1, rtol=1e-14)
    np.testing.assert_allclose(h1, m.rho * x + eta * m.B.T @ (y1 - m.t), rtol=1e-12)
    # many steps: converges to the implicit hypergradient at y*(x)
    h, yT = unrolled_hypergradient(toy, x, y0, steps=150, lr=eta)
    np.testing.assert_allclose(yT, toy.lower_argmin(x), atol=1e-12)
    np.testing.assert_allclose(h, toy._hypergradient(x), rtol=1e-9)


def test_cg_neumann_unrolled_agree_on_ridge_hpo():
    p = P.ridge_hpo()
    x = np.full(p.dim, -1.0)
    y = p.lower_argmin(x)
    exact = p.exact_hypergradient(x)
    h_cg = implicit_hypergradient(p, x, y, method="cg", steps=60)[0]
    h_nm = implicit_hypergradient(p, x, y, method="neumann", steps=3000, lr=0.2)[0]
    h_un = unrolled_hypergradient(p, x, y, steps=3000, lr=0.2)[0]
    scale = np.linalg.norm(exact)
    for h in (h_cg, h_nm, h_un):
        assert np.linalg.norm(h - exact) <= 1e-6 * scale


def test_non_strongly_convex_lower_level_is_refused():
    # declared: implicit differentiation refuses before any oracle call
    flat = P.toy_quadratic(mu=-0.5)
    assert not flat.lower_strongly_convex
    for name in ("bilevel-implicit", "bilevel-decentralized"):
        with pytest.raises(NotStronglyConvexError, match="strongly convex"):
            optkit.make(name, flat.space).minimize(flat, 10_000)
    assert flat.calls == 0
    # undeclared: CG meets the direction of zero curvature and says so
    p = _flat_direction_problem(declared=True)
    with pytest.raises(NotStronglyConvexError, match="curvature"):
        implicit_hypergradient(p, np.array([0.3]), np.array([0.3, 1.0]), method="cg", steps=5)
    # Neumann with a step beyond 2/L diverges: a clear error, not a silent blow-up
    with pytest.raises(NotStronglyConvexError, match="diverges"):
        neumann(lambda v: 3.0 * v, np.ones(2), steps=100, lr=1.0)


def _flat_direction_problem(declared: bool) -> BilevelProblem:
    """g = 1/2 (y1 - x)^2 (flat in y2), f = 1/2 (y1 - 1)^2 + 1/2 y2^2 + 1/2 x^2: the optimistic solution is x = 1/2."""
    return BilevelProblem(
        lambda x, y, i: 0.5 * (y[0] - 1) ** 2 + 0.5 * y[1] ** 2 + 0.5 * x[0] ** 2,
        lambda x, y, i: 0.5 * (y[0] - x[0]) ** 2,
        lambda x, y, i: (x.copy(), np.array([y[0] - 1, y[1]])),
        lambda x, y, i: (np.array([x[0] - y[0]]), np.array([y[0] - x[0], 0.0])),
        lower_hvp=lambda x, y, v, i: np.array([v[0], 0.0]),
        lower_jvp=lambda x, y, v, i: np.array([-v[0]]),
        x0=[0.0], y0=[0.0, 1.0], lower_strongly_convex=declared, lower_solution=lambda x: np.array([x[0], 0.0]),
    )


@pytest.mark.parametrize("hypergrad,kw,tol", [
    ("cg", {"inner_steps": 2, "solver_steps": 3}, 1e-12),
    ("neumann", {"inner_steps": 5, "solver_steps": 40}, 1e-6),
    ("unrolled", {"inner_steps": 40}, 1e-6),
])
def test_bilevel_implicit_reaches_the_toy_solution(hypergrad, kw, tol):
    p = P.toy_quadratic()
    res = optkit.make("bilevel-implicit", p.space, hypergrad=hypergrad, lr=0.15, lr_inner=0.5, seed=0, **kw).minimize(p, 300_000)
    assert res.fun - p.f_opt <= tol
    assert np.linalg.norm(res.x - p.x_opt) <= 10 * np.sqrt(tol)


def test_stochastic_implicit_gets_close_and_counts_its_budget():
    p = P.toy_quadratic()
    opt = optkit.make("bilevel-implicit", p.space, lr=0.1, lr_inner=0.5, inner_steps=3, solver_steps=5, batch_size=16,
                      upper_batch_size=16, seed=0)
    res = opt.minimize(p, 100_000)
    assert res.nfev == p.calls <= 100_000 and 100_000 - res.nfev < opt.step_cost(p)
    assert res.fun - p.f_opt < 0.1 * (p.upper_objective(p.x0) - p.f_opt)
