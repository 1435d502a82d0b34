"""Gravity: the damped gradient, the warming-up average and the random initial velocity, by hand."""

import copy

import numpy as np
from lsq_tiny import lsq_grad

import optkit

W0 = np.array([1.0, -1.0])


def test_gravity_three_steps_by_hand(tiny):
    lr, alpha, beta = 0.2, 0.01, 0.9
    opt = optkit.make("gravity", tiny.space, lr=lr, alpha=alpha, beta=beta, batch_size=None, seed=4)
    rng = copy.deepcopy(opt.rng)  # a full batch draws no indices: the first draw is the initial velocity
    res = opt.minimize(tiny, 9)
    v = rng.standard_normal(2) * alpha / lr
    W = [W0]
    for t in range(3):
        g = lsq_grad(W[-1])
        M = np.max(np.abs(g))
        zeta = g / (1 + (g / (1 / M)) ** 2)
        bt = (beta * t + 1) / (t + 2)
        v = bt * v + (1 - bt) * zeta
        W.append(W[-1] - lr * v)
    np.testing.assert_allclose(np.vstack([res.history.X, res.x]), W, rtol=1e-12)


def test_gravity_damps_large_gradient_entries():
    # zeta = g / (1 + (g M)^2) is at most 1 / (2 M) in size: a huge gradient gives a tiny step
    from optkit.core.transforms import Context
    from optkit.first_order.gravity import scale_by_gravity

    t = scale_by_gravity(0.0, 0.9)
    g = np.array([1e3, 1e-3])
    ctx = Context(w=np.zeros(2), grad=g, loss=0.0, step=0, rng=np.random.default_rng(0))
    v, _ = t.update(g, t.init(np.zeros(2)), ctx)
    zeta = 2 * v  # beta_0 = 1/2, v0 = 0
    np.testing.assert_allclose(zeta, [1e3 / (1 + 1e12), 1e-3 / (1 + 1.0)], rtol=1e-12)
    assert np.all(np.abs(zeta) <= 1 / (2 * 1e3) + 1e-15)


def test_gravity_converges_on_least_squares():
    p = optkit.problems.get("least_squares", 5)
    res = optkit.make("gravity", p.space, lr=1.0, seed=0).minimize(p, 20000)
    assert res.fun - p.f_opt < 1e-6
