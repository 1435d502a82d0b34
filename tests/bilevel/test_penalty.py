"""The first-order penalty method: its direction, its schedule, and the solutions it reaches."""

import numpy as np
import pytest
from test_implicit import _flat_direction_problem

import optkit
from optkit.bilevel import problems as P
from optkit.bilevel.penalty import PenaltyBilevel


def test_sigma_is_driven_to_its_target():
    opt = PenaltyBilevel(optkit.Box(-1, 1, dim=1), sigma=0.01, sigma0=1.0, sigma_decay=1.0)
    assert [opt.sigma_at(k) for k in (0, 1, 3, 99, 1000)] == [1.0, 0.5, 0.25, 0.01, 0.01]
    with pytest.raises(optkit.InvalidParameterError, match="'sigma0'"):
        PenaltyBilevel(optkit.Box(-1, 1, dim=1), sigma=0.1, sigma0=0.01)
    with pytest.raises(optkit.InvalidParameterError, match="'sigma'"):
        PenaltyBilevel(optkit.Box(-1, 1, dim=1), sigma=0.0)


def test_direction_is_the_gradient_of_the_penalty_function():
    """With converged inner loops the step is grad psi_sigma(x), checked against finite differences of
    psi_sigma(x) = (min_y [sigma f + g] - min_y g) / sigma in closed form on the toy."""
    p = P.toy_quadratic()
    m = p._f.__self__
    sigma = 0.05

    def psi(x):
        y_s = np.linalg.solve(sigma * np.eye(5) + m.A, sigma * m.t + m.B @ x)
        z = np.linalg.solve(m.A, m.B @ x)
        return (sigma * p.upper_value(x, y_s) + p._g(x, y_s, None) - p._g(x, z, None)) / sigma

    x = np.array([0.2, -0.4, 0.1])
    e = 1e-6
    fd = np.array([(psi(x + e * u) - psi(x - e * u)) / (2 * e) for u in np.eye(3)])
    opt = PenaltyBilevel(p.space, lr=1e-6, lr_inner=0.5, inner_steps=400, sigma=sigma, sigma0=sigma, sigma_decay=0.0)
    opt._x = x.copy()
    opt._y, opt._z, opt._d = p.y0, p.y0, np.zeros(3)
    res = opt.minimize(p, opt.step_cost(p))
    assert res.nit == 1
    d = (x - opt._x) / 1e-6
    np.testing.assert_allclose(d, fd, rtol=1e-5)
    # and psi_sigma's gradient is O(sigma)-close to the true hypergradient
    assert np.linalg.norm(fd - p.exact_hypergradient(x)) < 5 * sigma * np.linalg.norm(p.exact_hypergradient(x))


@pytest.mark.parametrize("inner_steps,lr", [(5, 0.15), (1, 0.02)])  # double loop, and the single loop
def test_reaches_the_toy_solution(inner_steps, lr):
    p = P.toy_quadratic()
    res = optkit.make("bilevel-penalty", p.space, lr=lr, lr_inner=0.5, inner_steps=inner_steps, sigma=1e-3,
                      sigma_decay=2.0, seed=0).minimize(p, 600_000)
    assert res.sigma == 1e-3
    assert res.fun - p.f_opt < 1e-5
    assert np.linalg.norm(res.x - p.x_opt) < 5e-3


def test_stochastic_penalty_gets_close():
    p = P.toy_quadratic()
    res = optkit.make("bilevel-penalty", p.space, lr=0.05, lr_inner=0.5, inner_steps=3, sigma=1e-2, batch_size=16,
                      upper_batch_size=16, seed=0).minimize(p, 300_000)
    assert res.fun - p.f_opt < 0.05 * (p.upper_objective(p.x0) - p.f_opt)


def test_lower_level_without_strong_convexity():
    """g flat in y2: implicit differentiation is refused, the penalty method reaches x_sigma = 1/(2 + sigma)."""
    p = _flat_direction_problem(declared=False)
    with pytest.raises(optkit.bilevel.NotStronglyConvexError):
        optkit.make("bilevel-implicit", p.space).minimize(p, 1000)
    res = optkit.make("bilevel-penalty", p.space, lr=0.2, lr_inner=0.5, inner_steps=5, sigma=1e-3, seed=0).minimize(p, 20_000)
    assert abs(res.x[0] - 1 / (2 + 1e-3)) < 1e-6
    assert abs(res.y[1]) < 1e-6  # the optimistic lower solution: y2 = 0 minimizes f among the lower minimizers
