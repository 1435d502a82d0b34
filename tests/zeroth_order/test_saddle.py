"""The perturbed two-point method leaves a strict saddle where plain ZO-SGD, started on it, stays."""

import numpy as np
import pytest

import optkit
from optkit import InvalidParameterError
from optkit.problems.zo import PROBLEMS, strict_saddle


def test_strict_saddle_problem():
    p = strict_saddle(4)  # two positive, two negative directions
    assert p.f_opt == -0.5 and p(p.x_opt) == -0.5 and p(np.zeros(4)) == 0.0
    x = np.array([0.3, -0.2, 0.7, -1.4])
    fd = np.array([(p(x + 1e-6 * e) - p(x - 1e-6 * e)) / 2e-6 for e in np.eye(4)])
    np.testing.assert_allclose(p.grad(x), fd, rtol=1e-6)
    H = p.fun.hessian(np.zeros(4))
    assert np.linalg.eigvalsh(H).min() == -1.0  # a strict saddle at the origin
    assert p.grad(np.zeros(4)).tolist() == [0.0] * 4
    assert PROBLEMS["strict_saddle"](3).dim == 3
    with pytest.raises(InvalidParameterError, match="'n_negative'"):
        strict_saddle(2, n_negative=3)
    with pytest.raises(InvalidParameterError, match="'dim'"):
        strict_saddle(0)


def test_plain_zo_sgd_started_on_the_saddle_stays_there():
    p = strict_saddle(2)
    for estimator in ("gaussian", "sphere"):
        opt = optkit.make("zo-sgd", p.space, x0=[0.0, 0.0], lr=0.1, estimator=estimator, n_directions=2, seed=0)
        res = opt.minimize(p, 800)
        # f is even: every antithetic difference f(mu u) - f(-mu u) is exactly 0, so is the estimate
        assert res.n_steps == 200 and np.array_equal(res.x_iterate, [0.0, 0.0])
        assert np.array_equal(opt.last_estimate_, [0.0, 0.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_zo_saddle_escapes_and_reaches_a_minimum(seed):
    p = strict_saddle(2)
    res = optkit.make("zo-saddle", p.space, x0=[0.0, 0.0], lr=0.1, seed=seed).minimize(p, 800)
    assert p(res.x_iterate) < p.f_opt + 1e-3
    assert abs(abs(res.x_iterate[1]) - 1.0) < 0.05 and abs(res.x_iterate[0]) < 0.05
    assert res.n_perturbed == res.n_steps == 400


def test_the_perturbed_step_by_hand():
    # central differences draw nothing from the generator: the perturbation is its first normal draw
    p = strict_saddle(3, n_negative=1)
    x0 = np.array([0.5, -0.25, 0.1])
    lr, r = 0.05, 0.3
    opt = optkit.make("zo-saddle", p.space, x0=x0, lr=lr, radius=r, estimator="central", seed=11)
    P = opt.ask()
    opt.tell(P, p.evaluate(P))
    z = np.random.default_rng(11).standard_normal(3)
    mu = opt.estimator_.smoothing
    g = p.grad(x0) + np.array([0.0, 0.0, x0[2]]) * mu**2  # central differences of x^4/4 - x^2/2: + mu^2 f''' / 6
    expected = x0 - lr * (g + r / np.sqrt(3) * z)
    np.testing.assert_allclose(opt.iterate, expected, rtol=1e-8)


def test_grad_threshold_perturbs_only_near_stationary_points():
    p = strict_saddle(2)
    opt = optkit.make("zo-saddle", p.space, x0=[1.5, 0.0], lr=0.05, grad_threshold=0.05, seed=0)
    res = opt.minimize(p, 1200)
    assert 0 < res.n_perturbed < res.n_steps
    assert p(res.x_iterate) < p.f_opt + 1e-3  # it still leaves the saddle (0, 0) it is attracted to


def test_bad_input():
    p = strict_saddle(2)
    with pytest.raises(InvalidParameterError, match="'radius'"):
        optkit.make("zo-saddle", p.space, radius=0.0)
    with pytest.raises(InvalidParameterError, match="'grad_threshold'"):
        optkit.make("zo-saddle", p.space, grad_threshold=-1.0)
    with pytest.raises(InvalidParameterError, match="'smoothing'"):
        optkit.make("zo-saddle", p.space, smoothing=-1e-3)
    with pytest.raises(InvalidParameterError, match="'x0'"):
        optkit.make("zo-saddle", p.space, x0=[0.0, 2.5])
