"""sep-CMA-ES: known optima, a hand-derived update, its learning rate, its stop rules, bad input."""

import math

import numpy as np
import pytest

import optkit
from optkit.population._es_common import chi_mean


def sep_ellipsoid(x):
    x = np.asarray(x)
    d = x.size
    return float(np.sum(10 ** (6 * np.arange(d) / (d - 1)) * x**2))


def first_hit(res, target):
    hit = np.flatnonzero(res.best_so_far <= target)
    return int(hit[0]) + 1 if hit.size else None


def test_separable_ellipsoid_d10_to_1e8():
    # condition 1e6, axis-parallel: sep-CMA-ES learns the 10 scales (measured ~2,600-3,100 evaluations)
    for seed in (0, 1):
        res = optkit.minimize(sep_ellipsoid, [(-5, 5)] * 10, method="sep-cmaes", budget=6000, seed=seed)
        assert first_hit(res, 1e-8) is not None, res.fun


def test_bbob_f2_d10():
    p = optkit.problems.bbob(2, dim=10, instance=1)
    res = optkit.make("sep-cmaes", p.space, seed=3).minimize(p, 8000)
    assert res.fun - p.f_opt <= 1e-8


def test_optimum_on_the_box_corner():
    # minimizer of sum (x - 6)^2 on [-5, 5]^4 is the corner x = 5 with value 4: the bound penalty must
    # pull the mean onto the corner, not let it drift outside
    res = optkit.minimize(lambda x: float(np.sum((x - 6.0) ** 2)), [(-5, 5)] * 4, method="sep-cmaes",
                          budget=4000, seed=0)
    assert res.fun - 4.0 <= 1e-8
    assert np.allclose(res.x, 5.0, atol=1e-6)


def test_learning_rate_is_scaled_by_d_plus_2_over_3():
    # d = 10: lambda = 10, mu = 5, mu_eff = 3.1673; Hansen & Kern's c_cov = 2/(mu_eff (d + sqrt 2)^2)
    # + (1 - 1/mu_eff) min(1, (2 mu_eff - 1)/((d + 2)^2 + mu_eff)) = 0.029651; times (d + 2)/3 = 4 -> 0.118603
    opt = optkit.make("sep-cmaes", optkit.Box(-1, 1, dim=10), seed=0)
    assert (opt.popsize_, opt.mu_) == (10, 5)
    assert opt.mu_eff_ == pytest.approx(3.1672993, rel=1e-7)
    assert opt.c_cov_ == pytest.approx(0.1186026, rel=1e-6)


def test_one_generation_by_hand():
    d, lam, sigma0 = 3, 4, 0.5
    m0 = np.array([1.0, -2.0, 0.5])
    opt = optkit.make("sep-cmaes", optkit.Box(-100, 100, dim=d), popsize=lam, x0=m0, sigma0=sigma0, seed=11)
    X = opt.ask()
    Z = np.random.default_rng(11).standard_normal((lam, d))       # the method's own draw
    assert np.allclose(X, m0 + sigma0 * Z)
    y = np.array([3.0, 1.0, 4.0, 2.0])                             # ranking: 1, 3 (0-based)
    opt.tell(X, y)
    w = np.array([math.log(2.5), math.log(2.5) - math.log(2)])
    w /= w.sum()
    mu_eff = 1 / np.sum(w**2)
    c_s = (mu_eff + 2) / (d + mu_eff + 3)
    d_s = 1 + 2 * max(0.0, math.sqrt((mu_eff - 1) / (d + 1)) - 1) + c_s
    c_c = 4 / (d + 4)
    c_cov = (d + 2) / 3 * (2 / (mu_eff * (d + math.sqrt(2)) ** 2)
                           + (1 - 1 / mu_eff) * min(1, (2 * mu_eff - 1) / ((d + 2) ** 2 + mu_eff)))
    y_w = w[0] * Z[1] + w[1] * Z[3]
    p_s = math.sqrt(c_s * (2 - c_s) * mu_eff) * y_w
    h = np.linalg.norm(p_s) / math.sqrt(1 - (1 - c_s) ** 2) < (1.4 + 2 / (d + 1)) * chi_mean(d)
    p_c = h * math.sqrt(c_c * (2 - c_c) * mu_eff) * y_w
    c = ((1 - c_cov) + c_cov / mu_eff * (p_c**2 + (1 - h) * c_c * (2 - c_c))
         + c_cov * (1 - 1 / mu_eff) * (w[0] * Z[1] ** 2 + w[1] * Z[3] ** 2))
    sigma = sigma0 * math.exp(min(1.0, c_s / d_s * (np.linalg.norm(p_s) / chi_mean(d) - 1)))
    assert np.allclose(opt.mean_, m0 + sigma0 * y_w, rtol=1e-12)
    assert np.allclose(opt.p_s_, p_s, rtol=1e-12)
    assert np.allclose(opt.p_c_, p_c, rtol=1e-12)
    assert np.allclose(opt.c_, c, rtol=1e-12)
    assert opt.sigma_ == pytest.approx(sigma, rel=1e-12)
    # the next generation is drawn with the new diagonal
    X2 = opt.ask()
    Z2 = np.random.default_rng(11)
    Z2.standard_normal((lam, d))
    Z2 = Z2.standard_normal((lam, d))
    assert np.allclose(X2, opt.mean_ + sigma * np.sqrt(c) * Z2)


def test_stop_rules():
    box = optkit.Box(-5, 5, dim=4)
    p = optkit.Problem(lambda x: float(x @ x), box)
    res = optkit.make("sep-cmaes", box, tolx=1e-4, seed=0).minimize(p, 20000)
    assert res.status == optkit.Status.CONVERGED and res.message.startswith("tolx")
    flat = optkit.Problem(lambda x: 1.0, box)
    res = optkit.make("sep-cmaes", box, seed=0).minimize(flat, 20000)
    assert res.status == optkit.Status.CONVERGED and res.message.startswith("tolfun")
    assert res.nfev <= 8 * (10 + math.ceil(30 * 4 / 8)) + 8
    # scales 1 .. 1e8 per coordinate: the learned diagonal's condition passes 1e6 on the way
    steep = optkit.Problem(lambda x: float(np.sum(10 ** (8 * np.arange(4) / 3) * x**2)), box)
    res = optkit.make("sep-cmaes", box, tolconditioncov=1e6, seed=0).minimize(steep, 20000)
    assert res.status == optkit.Status.CONVERGED and res.message.startswith("tolconditioncov")


def test_sampling_ahead_of_telling():
    # ask two generations before telling the first: the second, drawn from an older distribution, is
    # re-read through the current one (optkit.population._es_common), and the run still converges
    box = optkit.Box(-5, 5, dim=5)
    opt = optkit.make("sep-cmaes", box, seed=2)
    for _ in range(150):
        X = opt.ask(2 * opt.popsize_)
        opt.tell(X, np.sum(X**2, axis=1))
    assert opt.sigma_ < 1e-3 and np.linalg.norm(opt.mean_) < 1e-2


@pytest.mark.parametrize("bad", [{"mu": 11}, {"popsize": 1}, {"tolconditioncov": 1.0}, {"tolx": -1.0}])
def test_bad_input(bad):
    with pytest.raises(optkit.InvalidParameterError, match=repr(next(iter(bad)))):
        optkit.make("sep-cmaes", optkit.Box(-1, 1, dim=10), **bad)
