"""SGD: two steps by hand, momentum and Nesterov, weight decay, and torch.optim.SGD as a reference."""

import numpy as np
import pytest
from lsq_tiny import lsq_grad

import optkit


def _run(problem, steps, **kw):
    opt = optkit.make("sgd", problem.space, batch_size=None, **kw)
    res = opt.minimize(problem, steps * problem.n_examples)
    assert res.nit == steps
    return np.vstack([res.history.X, res.x])


def test_plain_sgd_two_steps_by_hand(tiny):
    W = _run(tiny, 2, lr=0.1)
    w0 = np.array([1.0, -1.0])
    # A w0 - b = (-1-1, 3+1+2, 0-0.5) = (-2, 6, -0.5); g0 = A^T r / 3 = ((-2 + 18 - 0.25)/3, (-4 - 6 - 0.25)/3)
    g0 = np.array([15.75 / 3, -10.25 / 3])
    np.testing.assert_allclose(lsq_grad(w0), g0)
    w1 = w0 - 0.1 * g0
    w2 = w1 - 0.1 * lsq_grad(w1)
    np.testing.assert_allclose(W, [w0, w1, w2], rtol=1e-14)


def test_momentum_nesterov_and_weight_decay_by_hand(tiny):
    lr, mu, wd = 0.05, 0.9, 0.1
    w0 = np.array([1.0, -1.0])
    g0 = lsq_grad(w0) + wd * w0
    m1 = g0
    w1 = w0 - lr * m1
    g1 = lsq_grad(w1) + wd * w1
    m2 = mu * m1 + g1
    np.testing.assert_allclose(_run(tiny, 2, lr=lr, momentum=mu, weight_decay=wd)[2], w1 - lr * m2, rtol=1e-14)
    # Nesterov: w <- w - lr (g + mu m)
    w1n = w0 - lr * (g0 + mu * m1)
    g1n = lsq_grad(w1n) + wd * w1n
    m2n = mu * m1 + g1n
    np.testing.assert_allclose(_run(tiny, 2, lr=lr, momentum=mu, nesterov=True, weight_decay=wd)[2],
                               w1n - lr * (g1n + mu * m2n), rtol=1e-14)


def test_matches_torch_sgd(tiny):
    torch = pytest.importorskip("torch")
    for kw in ({"momentum": 0.0}, {"momentum": 0.8}, {"momentum": 0.8, "nesterov": True, "weight_decay": 0.05}):
        p = torch.tensor([1.0, -1.0], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.07, **kw)
        ref = []
        for _ in range(6):
            opt.zero_grad()
            p.grad = torch.tensor(lsq_grad(p.detach().numpy()))
            opt.step()
            ref.append(p.detach().numpy().copy())
        ours = _run(tiny, 6, lr=0.07, **kw)[1:]
        np.testing.assert_allclose(ours, ref, rtol=1e-12, err_msg=str(kw))


def test_bad_hyperparameters():
    box = optkit.Box(-1, 1, dim=2)
    for lr in (0, -0.1, 0.0):
        with pytest.raises(optkit.InvalidParameterError, match=r"The 'lr' parameter of SGD must be a float in \(0, inf\)"):
            optkit.make("sgd", box, lr=lr)
    with pytest.raises(optkit.InvalidParameterError, match="nesterov"):
        optkit.make("sgd", box, nesterov=True)
    with pytest.raises(optkit.InvalidParameterError, match="'momentum'"):
        optkit.make("sgd", box, momentum=1.0)


def test_converges_on_logistic_regression():
    p = optkit.problems.get("logreg_breast_cancer")
    res = optkit.make("sgd", p.space, lr=1.0, momentum=0.9, batch_size=None, seed=0).minimize(p, 300 * p.n_examples)
    assert res.fun - p.f_opt < 1e-6
