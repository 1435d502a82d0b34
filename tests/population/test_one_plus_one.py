"""(1+1)-CMA-ES and the (1+1)-ES with the 1/5th rule: hand-checked updates, the success rules'
published behaviour on the sphere, known optima, bad input."""

import math

import numpy as np
import pytest

import optkit


def sphere(x):
    return float(np.asarray(x) @ np.asarray(x))


def make(d, **kw):
    kw.setdefault("seed", 0)
    return optkit.make("one-plus-one-cmaes", optkit.Box(-100, 100, dim=d), **kw)


def test_first_point_is_x0_then_success_and_failure_by_hand():
    d, sigma0 = 4, 0.5
    x0 = np.array([1.0, 2.0, -1.0, 0.5])
    opt = make(d, x0=x0, sigma0=sigma0, seed=4)
    X = opt.ask()
    assert np.array_equal(X[0], x0)               # the parent is evaluated first
    opt.tell(X, [10.0])
    z = np.random.default_rng(4).standard_normal(d)
    X1 = opt.ask()
    assert np.allclose(X1[0], x0 + sigma0 * z)    # A = I at the start
    opt.tell(X1, [5.0])                           # success
    # p_succ = (11/12)(2/11) + 1/12 = 1/4; (p_succ - 2/11)/(1 - 2/11) = 1/12; damping 1 + d/2 = 3
    assert opt.p_succ_ == pytest.approx(0.25)
    assert opt.sigma_ == pytest.approx(sigma0 * math.exp(1 / 36), rel=1e-14)
    assert np.array_equal(opt.x_, X1[0]) and opt.f_ == 5.0
    # p_succ < 0.44: p_c = sqrt(c_c (2 - c_c)) z with c_c = 2/(d + 2) = 1/3; C' = (1 - c_cov) I + c_cov p_c p_c^T
    p_c = math.sqrt(5) / 3 * z
    assert np.allclose(opt.p_c_, p_c, rtol=1e-12)
    C = (10 / 11) * np.eye(d) + (1 / 11) * np.outer(p_c, p_c)   # c_cov = 2/(d^2 + 6) = 1/11
    assert np.allclose(opt.A_ @ opt.A_.T, C, atol=1e-14)
    assert np.allclose(opt.Ainv_ @ opt.A_, np.eye(d), atol=1e-14)
    A1 = opt.A_.copy()
    X2 = opt.ask()
    opt.tell(X2, [99.0])                          # failure: only p_succ and sigma change
    # p_succ = (11/12)(1/4) = 11/48; (11/48 - 2/11)/(9/11)/3 = 25/1296
    assert opt.p_succ_ == pytest.approx(11 / 48)
    assert opt.sigma_ == pytest.approx(sigma0 * math.exp(1 / 36 + 25 / 1296), rel=1e-14)
    assert np.array_equal(opt.x_, X1[0]) and np.array_equal(opt.A_, A1)


def test_one_fifth_rule_multipliers():
    opt = make(3, x0=np.zeros(3), sigma0=1.0, covariance=False)
    opt.tell(opt.ask(), [1.0])
    opt.tell(opt.ask(), [0.5])                    # success: * exp(1/3)
    assert opt.sigma_ == pytest.approx(math.exp(1 / 3), rel=1e-14)
    opt.tell(opt.ask(), [2.0])                    # failure: * exp(-1/12) = exp(1/3)^(-1/4)
    assert opt.sigma_ == pytest.approx(math.exp(1 / 3 - 1 / 12), rel=1e-14)
    # stationary at success rate 1/5: one success and four failures leave sigma unchanged
    s = opt.sigma_
    opt.tell(opt.ask(), [0.1])
    for _ in range(4):
        opt.tell(opt.ask(), [5.0])
    assert opt.sigma_ == pytest.approx(s, rel=1e-12)


def run_sphere(d, covariance, seed, n):
    """Parent distance and step size after each of n steps on the sphere from x0 = (1, ..., 1)."""
    opt = make(d, x0=np.ones(d), sigma0=0.5, covariance=covariance, seed=seed, tolx=0.0, tolfun=0.0)
    opt.tell(opt.ask(), [float(d)])
    dist, step = np.empty(n), np.empty(n)
    for t in range(n):
        X = opt.ask()
        opt.tell(X, [sphere(X[0])])
        dist[t] = np.linalg.norm(opt.x_)
        spread = 1.0 if not covariance else math.sqrt(np.sum(opt.A_**2) / d)   # rms std of A z
        step[t] = opt.sigma_ * spread
    return dist, step


@pytest.mark.parametrize("covariance,rate_lo,rate_hi", [(False, 0.13, 0.21), (True, 0.10, 0.18)])
def test_sphere_linear_convergence_at_the_success_rule_rate(covariance, rate_lo, rate_hi):
    # Rechenberg (1973): the (1+1)-ES on the sphere progresses at best c/d in log-distance per
    # evaluation with c = 0.202 (d -> inf, normalized step sigma d / ||x|| = 1.224); a success rule
    # keeps the normalized step constant, so log ||x|| falls linearly at a rate a bit below c/d.
    # Measured here (d = 20, 5 seeds): 0.16-0.18 for the 1/5th rule, 0.13-0.14 for the (1+1)-CMA-ES
    # (which also spends its steps learning C).
    d, n = 20, 3000
    dist, step = run_sphere(d, covariance, seed=1, n=n)
    t = np.arange(n // 4, n)
    slope = np.polyfit(t, np.log(dist[t]), 1)[0]
    assert rate_lo < -slope * d < rate_hi
    # the step size stays proportional to the distance: the normalized step sigma d / ||x|| has the same
    # median in the second quarter and in the last quarter of the run, while ||x|| fell by ~e^-20
    ratio = step * d / dist
    early, late = np.median(ratio[n // 4 : n // 2]), np.median(ratio[-n // 4 :])
    assert dist[-1] / dist[n // 4] < 1e-6
    assert 0.7 < late / early < 1.4
    assert 1.0 < late < 4.0


def test_known_optima():
    res = optkit.minimize(sphere, [(-5, 5)] * 5, method="one-plus-one-cmaes", budget=1500, seed=0)
    assert res.fun < 1e-8
    ell = lambda x: float(np.sum(10 ** (6 * np.arange(5) / 4) * np.asarray(x) ** 2))   # noqa: E731
    res = optkit.minimize(ell, [(-5, 5)] * 5, method="one-plus-one-cmaes", budget=3000, seed=0)
    assert res.fun < 1e-8                          # measured 1,300-1,550 evaluations
    p = optkit.problems.bbob(10, dim=5, instance=1)   # rotated ellipsoid: needs the covariance
    res = optkit.make("one-plus-one-cmaes", p.space, seed=0).minimize(p, 4000)
    assert res.fun - p.f_opt <= 1e-8


def test_box_corner_and_projected_parent():
    res = optkit.minimize(lambda x: float(np.sum((x - 6.0) ** 2)), [(-5, 5)] * 3, method="one-plus-one-cmaes",
                          budget=3000, seed=0)
    assert res.fun - 3.0 <= 1e-8


def test_cholesky_factor_stays_consistent():
    # after thousands of rank-one updates, A^{-1} is still the inverse of A (it is refreshed every d updates)
    opt = make(6, x0=np.ones(6), sigma0=0.5, seed=2, tolx=0.0, tolfun=0.0)
    f = lambda x: float(np.sum(10 ** (3 * np.arange(6) / 5) * x**2))  # noqa: E731
    for _ in range(3000):
        X = opt.ask()
        opt.tell(X, [f(X[0])])
    assert opt.n_updates_ > 100
    assert np.allclose(opt.Ainv_ @ opt.A_, np.eye(6), atol=1e-9)


def test_forgotten_offspring_is_a_failure():
    opt = make(3, x0=np.zeros(3), sigma0=1.0)
    opt.tell(opt.ask(), [5.0])
    X = opt.ask()
    opt.forget(X)
    assert np.array_equal(opt.x_, np.zeros(3)) and opt.f_ == 5.0
    assert opt.p_succ_ == pytest.approx((11 / 12) * (2 / 11))


def test_popsize_is_one_or_none():
    assert make(3, popsize=1).batch_size == 1
    with pytest.raises(optkit.InvalidParameterError, match="'popsize'"):
        make(3, popsize=2)


@pytest.mark.parametrize("bad", [{"covariance": "yes"}, {"sigma0": 0.0}, {"tolconditioncov": 0.5}])
def test_bad_input(bad):
    with pytest.raises(optkit.InvalidParameterError, match=repr(next(iter(bad)))):
        make(3, **bad)
