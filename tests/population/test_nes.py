"""xNES and SNES: hand-derived updates, default rates, known optima, bound handling, bad input."""

import math

import numpy as np
import pytest
import scipy.linalg

import optkit
from optkit.population.nes import SNES, XNES, nes_utilities, snes_rates, xnes_rates
from optkit.problems.bbob import bbob

BIG = optkit.Box(-1e6, 1e6, dim=3)  # no sample leaves it: the update sees exactly the samples


def _utilities_by_hand(lam):
    raw = [max(0.0, math.log(lam / 2 + 1) - math.log(k)) for k in range(1, lam + 1)]
    return [r / sum(raw) - 1 / lam for r in raw]


def test_utilities_match_the_formula_and_sum_to_zero():
    # lambda = 4: ln 3 - ln k for k = 1, 2 is positive, k = 3 gives 0, k = 4 is cut at 0
    raw = [math.log(3), math.log(3) - math.log(2), 0.0, 0.0]
    expected = [r / sum(raw) - 0.25 for r in raw]
    np.testing.assert_allclose(nes_utilities(4), expected, rtol=0, atol=1e-15)
    for lam in (2, 6, 10, 23):
        u = nes_utilities(lam)
        np.testing.assert_allclose(u, _utilities_by_hand(lam), rtol=0, atol=1e-15)
        assert abs(u.sum()) < 1e-14 and np.all(np.diff(u) <= 0)


def test_default_learning_rates_and_popsize():
    d = 10
    eta = 3 * (3 + math.log(10)) / (5 * 10 * math.sqrt(10))
    assert xnes_rates(d) == pytest.approx((1.0, eta, eta), rel=1e-15)
    assert snes_rates(d) == pytest.approx((1.0, (3 + math.log(10)) / (5 * math.sqrt(10))), rel=1e-15)
    opt = optkit.make("xnes", optkit.Box(-1, 1, dim=d))
    assert opt.popsize_ == 4 + int(3 * math.log(d)) == 10
    assert (opt.eta_mu_, opt.eta_sigma_, opt.eta_B_) == pytest.approx((1.0, eta, eta))


def _fun(X):
    return np.sum(np.array([1.0, 4.0, 9.0]) * (X - 0.3) ** 2, axis=1) + X[:, 0] * X[:, 1]


def _xnes_step_by_hand(m, sigma, B, z, y, eta_mu, eta_sigma, eta_B):
    """One xNES update written out term by term (Glasmachers et al. 2010, Algorithm 1)."""
    lam, d = z.shape
    u_sorted = _utilities_by_hand(lam)
    order = sorted(range(lam), key=lambda k: y[k])  # best first
    g_delta = np.zeros(d)
    g_M = np.zeros((d, d))
    for rank, k in enumerate(order):
        g_delta += u_sorted[rank] * z[k]
        g_M += u_sorted[rank] * (np.outer(z[k], z[k]) - np.eye(d))
    g_sigma = np.trace(g_M) / d
    g_B = g_M - g_sigma * np.eye(d)
    m_new = m + eta_mu * sigma * B @ g_delta
    sigma_new = sigma * math.exp(eta_sigma / 2 * g_sigma)
    B_new = B @ scipy.linalg.expm(eta_B / 2 * g_B)
    return m_new, sigma_new, B_new


def test_xnes_two_updates_by_hand():
    x0, sigma0, seed, lam = np.array([0.5, -1.0, 2.0]), 0.7, 3, 6
    opt = XNES(BIG, x0=x0, sigma0=sigma0, popsize=lam, seed=seed)
    rng = np.random.default_rng(seed)  # the optimizer's own stream: x0 given, so the first draws are the samples
    m, sigma, B = x0.copy(), sigma0, np.eye(3)
    e_mu, e_s, e_b = opt.eta_mu_, opt.eta_sigma_, opt.eta_B_
    for _ in range(2):
        z = rng.standard_normal((lam, 3))
        X = opt.ask()
        np.testing.assert_allclose(X, m + sigma * z @ B.T, rtol=1e-13, atol=1e-13)
        y = _fun(X)
        opt.tell(X, y)
        m, sigma, B = _xnes_step_by_hand(m, sigma, B, z, y, e_mu, e_s, e_b)
        np.testing.assert_allclose(opt.mean_, m, rtol=1e-12, atol=1e-12)
        assert opt.sigma_ == pytest.approx(sigma, rel=1e-12)
        np.testing.assert_allclose(opt.B_, B, rtol=1e-11, atol=1e-12)
        assert np.linalg.det(opt.B_) == pytest.approx(1.0, rel=1e-12)
    assert not np.allclose(B, np.eye(3))  # the second step really used a non-trivial B


def test_snes_two_updates_by_hand():
    x0, sigma0, seed, lam = np.array([0.5, -1.0, 2.0]), 0.7, 11, 7
    opt = SNES(BIG, x0=x0, sigma0=sigma0, popsize=lam, seed=seed)
    rng = np.random.default_rng(seed)
    m, s = x0.copy(), np.full(3, sigma0)
    eta_sigma = (3 + math.log(3)) / (5 * math.sqrt(3))
    u_sorted = _utilities_by_hand(lam)
    for _ in range(2):
        z = rng.standard_normal((lam, 3))
        X = opt.ask()
        np.testing.assert_allclose(X, m + s * z, rtol=1e-13, atol=1e-13)
        y = _fun(X)
        opt.tell(X, y)
        g_mu, g_s = np.zeros(3), np.zeros(3)
        for rank, k in enumerate(np.argsort(y)):
            g_mu += u_sorted[rank] * z[k]
            g_s += u_sorted[rank] * (z[k] ** 2 - 1)
        m = m + s * g_mu
        s = s * np.exp(eta_sigma / 2 * g_s)
        np.testing.assert_allclose(opt.mean_, m, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(opt.sigma_, s, rtol=1e-12)


def test_xnes_solves_the_rotated_ellipsoid_to_1e_10():
    p = bbob(10, 5, 1)  # BBOB f10: rotated ellipsoid, condition 1e6
    res = optkit.make("xnes", p.space, seed=2).minimize(p, 8000)
    assert res.fun - p.f_opt <= 1e-10
    assert res.status == optkit.Status.CONVERGED  # stopped by tolfun/tolx, not by the budget


def test_snes_solves_the_separable_ellipsoid_in_20d():
    p = bbob(2, 20, 1)  # BBOB f2: separable ellipsoid, condition 1e6
    res = optkit.make("snes", p.space, seed=0).minimize(p, 20000)
    assert res.fun - p.f_opt <= 1e-10


def test_snes_cannot_learn_a_rotation_but_xnes_can():
    p = bbob(10, 5, 1)
    snes = optkit.make("snes", p.space, seed=2).minimize(p, 8000)
    assert snes.fun - p.f_opt > 1.0  # diagonal NES on a rotated ellipsoid: documented limitation


@pytest.mark.parametrize("name", ["xnes", "snes"])
def test_optimum_on_the_bound_is_found_inside_the_box(name):
    box = optkit.Box(0.0, 1.0, dim=4)
    # the gradient 1 + 2 (x - 0.2) > 0 on the box: the minimum is the corner x = 0, f = 4 * 0.2^2 = 0.16
    prob = optkit.Problem(lambda x: float(np.sum(x) + np.sum((x - 0.2) ** 2)), box)
    opt = optkit.make(name, box, seed=1, x0=[0.6] * 4, sigma0=0.2)
    res = opt.minimize(prob, 4000)
    assert np.all(box.contains(res.history.X))
    assert res.fun - 0.16 < 1e-6
    assert np.all(np.abs(opt.mean_) < 0.05)  # the penalty pulled the mean to the corner, not beyond


@pytest.mark.parametrize("name", ["xnes", "snes"])
def test_generations_asked_ahead_still_converge(name):
    box = optkit.Box(-3, 3, dim=4)
    opt = optkit.make(name, box, seed=5)
    lam = opt.batch_size
    for _ in range(150):
        X = opt.ask(2 * lam + 1)  # one and a bit generations ahead of what is told
        opt.tell(X, np.sum((X - 1.0) ** 2, axis=1))
    assert np.all(np.isfinite(opt.mean_))
    np.testing.assert_allclose(opt.mean_, 1.0, atol=1e-4)


def test_unbounded_space_with_x0_and_sigma0():
    box = optkit.Box(-np.inf, np.inf, dim=3)
    prob = optkit.Problem(lambda x: float(np.sum((x - 7) ** 2)), box)
    res = optkit.make("xnes", box, x0=[0.0] * 3, sigma0=1.0, seed=0).minimize(prob, 4000)
    assert res.fun < 1e-10
    with pytest.raises(optkit.InvalidParameterError, match="x0"):
        optkit.make("snes", box)


@pytest.mark.parametrize("name,param,value", [
    ("xnes", "popsize", 1), ("xnes", "eta_B", 0.0), ("xnes", "sigma0", -1.0), ("snes", "eta_sigma", -0.1),
    ("snes", "tolcondition", 0.5), ("xnes", "x0", [0.0, float("nan"), 0.0]),
])
def test_bad_hyperparameters_are_rejected(name, param, value):
    with pytest.raises(optkit.InvalidParameterError, match=repr(param)):
        optkit.make(name, optkit.Box(-1, 1, dim=3), **{param: value})
    with pytest.raises(optkit.InvalidParameterError, match="x0"):
        optkit.make("xnes", optkit.Box(-1, 1, dim=3), x0=[0.0, 0.0])
