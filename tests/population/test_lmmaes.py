"""LM-MA-ES and MMES: the closed-form transform against the paper's loop, hand-derived updates, known
optima at d = 100, memory at d = 10,000, bad input."""

import math
import tracemalloc

import numpy as np
import pytest

import optkit
from optkit.population.lmmaes import inverse_transform, transform, transform_variances


def vec_problem(fun, d, lo=-5.0, hi=5.0):
    return optkit.Problem(lambda X: fun(np.atleast_2d(X)), optkit.Box(lo, hi, dim=d), vectorized=True)


def sphere(X):
    return np.sum(X**2, axis=1)


def first_hit(res, target):
    hit = np.flatnonzero(res.best_so_far <= target)
    return int(hit[0]) + 1 if hit.size else None


# -- LM-MA-ES -----------------------------------------------------------------------------------
def test_closed_form_transform_equals_the_papers_loop():
    rng = np.random.default_rng(0)
    d, k, lam = 40, 7, 5
    M = 2.0 * rng.standard_normal((k, d))
    c = 1.0 / (d * 1.5 ** np.arange(k))
    Z = rng.standard_normal((lam, d))
    D = Z.copy()
    for i in range(lam):                  # Algorithm 1: d <- (1 - c_j) d + c_j M_j (M_j^T d), j = 1..k
        for j in range(k):
            D[i] = (1 - c[j]) * D[i] + c[j] * M[j] * (M[j] @ D[i])
    assert np.allclose(transform(Z, M, c), D, rtol=1e-12, atol=1e-12)
    assert np.allclose(inverse_transform(D, M, c), Z, rtol=1e-12, atol=1e-12)
    P = np.eye(d)
    for j in range(k):
        P = P @ ((1 - c[j]) * np.eye(d) + c[j] * np.outer(M[j], M[j]))
    assert np.allclose(transform_variances(M, c), np.diag(P @ P.T), rtol=1e-12)


def test_first_two_generations_by_hand():
    d, sigma0, seed = 50, 0.3, 5
    m0 = np.linspace(-1, 1, d)
    opt = optkit.make("lmmaes", optkit.Box(-100, 100, dim=d), x0=m0, sigma0=sigma0, seed=seed)
    lam, mu = 4 + int(3 * math.log(d)), (4 + int(3 * math.log(d))) // 2
    assert (opt.popsize_, opt.mu_, opt.m_) == (15, 7, 15)
    assert np.allclose(opt.c_d_[:3], [1 / 50, 1 / 75, 1 / 112.5])            # 1 / (1.5^(i-1) d)
    assert np.allclose(opt.c_c_[:3], [15 / 50, 15 / 200, 15 / 800])          # lambda / (4^(i-1) d)
    rng = np.random.default_rng(seed)
    Z1 = rng.standard_normal((lam, d))
    X = opt.ask()
    assert np.allclose(X, m0 + sigma0 * Z1)                 # no direction vectors yet: d = z
    y = sphere(X)
    opt.tell(X, y)
    w = math.log(mu + 0.5) - np.log(np.arange(1, mu + 1))
    w /= w.sum()
    mu_eff = 1 / np.sum(w**2)
    z_w = w @ Z1[np.argsort(y)[:mu]]
    c_s = 2 * lam / d                                        # 0.6
    c_c = lam / (d * 4.0 ** np.arange(15))                   # 0.3, 0.075, ...
    p_s = math.sqrt(mu_eff * c_s * (2 - c_s)) * z_w
    assert np.allclose(opt.mean_, m0 + sigma0 * z_w)
    assert np.allclose(opt.p_s_, p_s)
    assert np.allclose(opt.M_, np.sqrt(mu_eff * c_c * (2 - c_c))[:, None] * z_w)
    sigma1 = sigma0 * math.exp(c_s / 2 * (p_s @ p_s / d - 1))
    assert opt.sigma_ == pytest.approx(sigma1, rel=1e-12)
    # generation 2 uses the first direction vector only: d = (1 - c_d1) z + c_d1 M_1 (M_1^T z), c_d1 = 1/d
    Z2 = rng.standard_normal((lam, d))
    M1 = opt.M_[0]
    D2 = (1 - 1 / d) * Z2 + (1 / d) * np.outer(Z2 @ M1, M1)
    assert np.allclose(opt.ask(), opt.mean_ + sigma1 * D2)


def test_lmmaes_sphere_d100_to_1e8():
    p = vec_problem(sphere, 100)
    res = optkit.make("lmmaes", p.space, seed=0).minimize(p, 15000)   # measured ~10,300
    assert first_hit(res, 1e-8) is not None, res.fun


def test_lmmaes_ellipsoid_d100_to_1e8():
    scales = 100.0 ** (np.arange(100) / 99)                          # condition 1e2
    p = vec_problem(lambda X: X**2 @ scales, 100)
    res = optkit.make("lmmaes", p.space, seed=1).minimize(p, 45000)  # measured 28,000-30,500
    assert first_hit(res, 1e-8) is not None, res.fun


def peak_mb(name, d, generations):
    p = vec_problem(sphere, d)
    tracemalloc.start()
    try:
        opt = optkit.make(name, p.space, seed=0)
        opt.minimize(p, generations * opt.popsize_)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", ["lmmaes", "mmes"])
def test_memory_at_d10000(name):
    # a d x d matrix alone would be 763 MiB; a few generations (with the whole history) stay near 40 MiB
    assert peak_mb(name, 10_000, generations=4) < 200


@pytest.mark.parametrize("name", ["lmmaes", "mmes"])
def test_sampling_ahead_of_telling(name):
    # every second generation is drawn before the previous one is told; reading those as steps from
    # the current mean made LM-MA-ES diverge (sigma ~1e14 after 120 rounds); re-reading their draws
    # through the current distribution converges (optkit.population._es_common)
    opt = optkit.make(name, optkit.Box(-5, 5, dim=20), seed=3)
    for _ in range(150):
        X = opt.ask(2 * opt.popsize_)
        opt.tell(X, sphere(X))
    assert opt.sigma_ < 1e-3 and np.linalg.norm(opt.mean_) < 1e-3


# -- MMES ---------------------------------------------------------------------------------------
def test_mmes_mirrored_sampling_and_pta_by_hand():
    d, sigma0 = 100, 0.2
    opt = optkit.make("mmes", optkit.Box(-100, 100, dim=d), x0=np.zeros(d), sigma0=sigma0, seed=1)
    lam, mu = opt.popsize_, opt.mu_
    X = opt.ask()
    half = math.ceil(lam / 2)
    assert np.allclose(X[half:], -X[: lam - half])          # mirrored around the mean 0
    y1 = sphere(X)
    opt.tell(X, y1)
    assert opt.sigma_ == sigma0                              # no previous generation to compare with
    X2 = opt.ask()
    y2 = np.sort(y1) * np.where(np.arange(lam) % 2 == 0, 0.5, 2.0)   # i-th best better for even i only
    opt.tell(X2, y2)
    w = opt.weights_
    ys = np.sort(y2)
    L = float(w @ (ys[:mu] < np.sort(y1)[:mu]))
    s = math.sqrt(0.3 * 1.7) * (2 * L - 1) * math.sqrt(opt.mu_eff_)
    phi = 0.5 * (1 + math.erf(s / math.sqrt(2)))
    assert opt.s_ == pytest.approx(s, rel=1e-12)
    assert opt.sigma_ == pytest.approx(sigma0 * math.exp(phi - 1 + 0.05), rel=1e-12)


def test_mmes_archive_keeps_paths_spread_in_time():
    d = 100
    opt = optkit.make("mmes", optkit.Box(-100, 100, dim=d), x0=np.ones(d), sigma0=0.5, n_paths=3, seed=0)
    for g in range(1, 6):
        X = opt.ask()
        opt.tell(X, sphere(X))
        if g <= 3:
            assert np.array_equal(opt.Q_[g - 1], opt.p_)    # the first m generations fill the archive
    # g = 4: births (1, 2, 3), gaps (1, 1) <= T = 25 -> the later of the closest pair (slot 1) is replaced;
    # g = 5: births (1, 3, 4) in time order, gaps (2, 1) -> slot 1 again; the oldest path survives
    assert opt.order_.tolist() == [0, 2, 1] and opt.born_.tolist() == [1, 5, 3]
    assert np.array_equal(opt.Q_[1], opt.p_)


def test_mmes_sphere_d100_to_1e8():
    p = vec_problem(sphere, 100)
    res = optkit.make("mmes", p.space, seed=0).minimize(p, 12000)      # measured ~8,300-8,500
    assert first_hit(res, 1e-8) is not None, res.fun


def test_mmes_learns_a_rotated_cigar_direction():
    # f = (v.x)^2 + 1e6 ||x - (v.x) v||^2 at d = 100: one long axis in a random direction. An isotropic ES
    # is slowed ~1e3-fold; MMES learns the axis from its archived paths (measured ~22,500 evaluations)
    d = 100
    v = np.random.default_rng(42).standard_normal(d)
    v /= np.linalg.norm(v)

    def cigar(X):
        a = X @ v
        return a**2 + 1e6 * (np.sum(X**2, axis=1) - a**2)

    res = optkit.make("mmes", vec_problem(cigar, d).space, seed=0).minimize(vec_problem(cigar, d), 40000)
    assert first_hit(res, 1e-8) is not None, res.fun


@pytest.mark.parametrize("name,bad", [("lmmaes", {"n_vectors": 0}), ("lmmaes", {"mu": 99}), ("mmes", {"mixing": 0}),
                                      ("mmes", {"n_paths": 0}), ("mmes", {"popsize": 1})])
def test_bad_input(name, bad):
    with pytest.raises(optkit.InvalidParameterError, match=repr(next(iter(bad)))):
        optkit.make(name, optkit.Box(-1, 1, dim=10), **bad)
