"""Grams: Adam's magnitudes with the gradient's signs; steps by hand."""

import numpy as np
from lsq_tiny import lsq_grad

import optkit

W0 = np.array([1.0, -1.0])


def test_grams_three_steps_by_hand(tiny):
    lr, b1, b2, eps, wd = 0.8, 0.5, 0.999, 1e-8, 0.1
    W, m, v = [W0], np.zeros(2), np.zeros(2)
    disagree = False
    for t in range(1, 4):
        w = W[-1]
        g = lsq_grad(w)
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        u = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        disagree |= bool(np.any(np.sign(u) != np.sign(g)))
        W.append(w - lr * (np.sign(g) * np.abs(u) + wd * w))
    assert disagree, "the chosen lr should make the momentum disagree with the gradient somewhere"
    res = optkit.make("grams", tiny.space, lr=lr, b1=b1, eps=eps, weight_decay=wd, batch_size=None).minimize(tiny, 9)
    np.testing.assert_allclose(np.vstack([res.history.X, res.x]), W, rtol=1e-12)


def test_grams_first_step_is_signsgd():
    # t = 1: |m_hat / (sqrt(v_hat) + eps)| = |g| / (|g| + eps), so w1 = w0 - lr sign(g) (up to eps)
    p = optkit.problems.get("least_squares", 4)
    res = optkit.make("grams", p.space, lr=0.1, batch_size=None).minimize(p, p.n_examples)
    np.testing.assert_allclose(res.x, p.w0 - 0.1 * np.sign(p.grad(p.w0)), atol=1e-8)
