"""C-AdamW and C-Lion (``cautious=True``): steps by hand, a partial mask, and the conformance checks."""

import numpy as np
import pytest
from lsq_tiny import lsq_grad

import optkit
from optkit.testing import _gradient, _tables
from optkit.testing import check_convergence as _check_convergence

W0 = np.array([1.0, -1.0])


def _run(name, problem, steps, **kw):
    res = optkit.make(name, problem.space, batch_size=None, **kw).minimize(problem, steps * problem.n_examples)
    return np.vstack([res.history.X, res.x])


def _mask(u, g):
    phi = (u * g > 0).astype(float)
    return u * phi / max(phi.mean(), 1e-3)


def test_c_adamw_three_steps_by_hand(tiny):
    lr, b1, b2, eps, wd = 0.8, 0.5, 0.999, 1e-8, 0.1
    W = [W0]
    m = v = np.zeros(2)
    partial = False
    for t in range(1, 4):
        w = W[-1]
        g = lsq_grad(w)
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        u = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        partial |= 0 < np.mean(u * g > 0) < 1
        W.append(w - lr * (_mask(u, g) + wd * w))
    assert partial, "the chosen lr should flip a gradient sign against the momentum"
    np.testing.assert_allclose(_run("adamw", tiny, 3, lr=lr, b1=b1, eps=eps, weight_decay=wd, cautious=True), W, rtol=1e-12)
    assert not np.allclose(_run("adamw", tiny, 3, lr=lr, b1=b1, eps=eps, weight_decay=wd), W)


def test_c_lion_three_steps_by_hand(tiny):
    lr, b1, b2, wd = 1.5, 0.9, 0.99, 0.0
    W, m = [W0], np.zeros(2)
    partial = False
    for _ in range(3):
        w = W[-1]
        g = lsq_grad(w)
        u = np.sign(b1 * m + (1 - b1) * g)
        partial |= 0 < np.mean(u * g > 0) < 1
        W.append(w - lr * (_mask(u, g) + wd * w))
        m = b2 * m + (1 - b2) * g
    assert partial
    np.testing.assert_allclose(_run("lion", tiny, 3, lr=lr, b1=b1, b2=b2, weight_decay=wd, cautious=True), W, rtol=1e-12)


def test_all_masked_keeps_the_decay_only(tiny):
    # a direction opposed to the gradient everywhere: the mask zeroes it (the 1e-3 floor avoids 0/0)
    from optkit.core.transforms import Context
    from optkit.first_order.cautious import cautious_mask

    t = cautious_mask()
    ctx = Context(w=W0, grad=np.array([1.0, -2.0]), loss=0.0, step=0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(t.update(np.array([-1.0, 3.0]), {}, ctx)[0], [0.0, 0.0])
    np.testing.assert_allclose(t.update(np.array([2.0, 3.0]), {}, ctx)[0], [4.0, 0.0])  # one of two kept: x2


@pytest.mark.parametrize("name,fast", [("adamw", {"lr": 0.05}), ("lion", {"lr": 0.003})])
def test_conformance_with_cautious_true(monkeypatch, name, fast):
    monkeypatch.setitem(_tables.FAST_PARAMS, name, {**fast, "cautious": True})
    for check in _gradient.GRADIENT_CHECKS:
        check(name)
    if name == "adamw":  # lion's convergence setting is an override with a larger budget
        _check_convergence(name)
