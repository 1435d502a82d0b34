"""FOSI: the extreme-spectrum estimate, a step by hand, and beating its base optimizer when ill-conditioned."""

import numpy as np
from so_problems import quadratic, rotated_quadratic

import optkit
from optkit.second_order.fosi import extreme_eigenpairs, lanczos_order


def test_lanczos_finds_the_extreme_eigenpairs():
    rng = np.random.default_rng(1)
    lam = np.geomspace(1e-3, 1e3, 60)
    U, _ = np.linalg.qr(rng.standard_normal((60, 60)))
    H = (U * lam) @ U.T
    evals, V = extreme_eigenpairs(lambda v: H @ v, rng.standard_normal(60), k=4, s=1)
    assert lanczos_order(4, 1, 60) == 20
    np.testing.assert_allclose(evals[1:], lam[-4:], rtol=1e-8)  # the 4 largest, ascending
    for v, e in zip(V[1:], evals[1:]):
        np.testing.assert_allclose(H @ v, e * v, atol=1e-6 * e)
    np.testing.assert_allclose(V @ V.T, np.eye(5), atol=1e-10)
    assert evals[0] < 0.1  # the smallest Ritz value lies in the low end of the spectrum


def test_first_fosi_step_by_hand():
    # H = diag(10, 2, 1), k = 1: the ESE at step 1 finds (10, e1) exactly (Lanczos on 3 dims is exact)
    h, w0 = np.array([10.0, 2.0, 1.0]), np.array([1.0, -2.0, 0.5])
    p = quadratic(h, w0=w0)
    lr, alpha = 0.1, 0.7
    opt = optkit.make("fosi", p.space, base="sgd", momentum=0.0, lr=lr, alpha=alpha, k=1, refresh=1, warmup=1,
                      batch_size=None)
    res = opt.minimize(p, 1000, callback=lambda r: True)
    g = h * w0
    newton = np.array([g[0] / 10.0, 0.0, 0.0])  # the Newton step inside span(e1)
    base = -lr * np.array([0.0, g[1], g[2]])  # SGD on the complement; k = 1 leaves the scale c = 1
    np.testing.assert_allclose(res.x, w0 + base - alpha * newton, rtol=1e-12)
    assert res.oracle_counts["hvp"] == 3  # Lanczos order min(d, 4 k) = 3


def test_scale_on_the_complement_is_lambda_max_over_lambda_k_clipped():
    h, w0 = np.array([10.0, 5.0, 1.0, 0.5]), np.ones(4)
    p = quadratic(h, w0=w0)
    lr = 0.01
    for clip, c in ((None, 2.0), (1.5, 1.5)):  # lambda_1 / lambda_2 = 2
        opt = optkit.make("fosi", p.space, base="sgd", momentum=0.0, lr=lr, alpha=1.0, k=2, refresh=1, warmup=1,
                          batch_size=None, scale_clip=clip)
        res = opt.minimize(p, 1000, callback=lambda r: True)
        np.testing.assert_allclose(res.x, [0.0, 0.0, 1 - c * lr * 1.0, 1 - c * lr * 0.5], atol=1e-12)


def test_beats_its_base_optimizer_on_an_ill_conditioned_quadratic():
    # 5 large eigenvalues (80 to 1000) and 15 in [0.5, 1]: SGD's step is capped by 1/1000, FOSI's base sees
    # the complement (its scale 1000/80 clipped to 3) and Newton handles the 5 large ones
    lam = np.concatenate([[1000.0, 600.0, 300.0, 150.0, 80.0], np.linspace(0.5, 1.0, 15)])
    p, _ = rotated_quadratic(lam, seed=2)
    kw = {"momentum": 0.9, "lr": 1e-3, "batch_size": None}
    fosi = optkit.make("fosi", p.space, base="sgd", refresh=50, warmup=5, alpha=0.1, seed=0, **kw).minimize(p, 600)
    sgd = optkit.make("sgd", p.space, **kw).minimize(p, 600)  # 600 steps; FOSI's 600 calls include its HVPs
    assert fosi.fun < 1e-3 * sgd.fun, (fosi.fun, sgd.fun)
    assert fosi.nit < sgd.nit
