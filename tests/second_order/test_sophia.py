"""Sophia: hand-computed steps for both estimators, clipping, the k-step refresh, convergence."""

import copy

import numpy as np
import pytest
from so_problems import A, B, quadratic, tiny_lsq

import optkit
from optkit.core.stochastic import HVPUnavailableError


def _run(problem, steps, **kw):
    opt = optkit.make("sophia", problem.space, batch_size=None, **kw)
    rng = copy.deepcopy(opt.rng)
    budget = sum(opt.oracle_cost(problem.n_examples, t) for t in range(steps))
    res = opt.minimize(problem, budget)
    return np.vstack([res.history.X, res.x]), rng, res


def test_gnb_two_steps_by_hand():
    lr, b1, b2, gamma, wd = 0.1, 0.9, 0.95, 0.5, 0.01
    W, _, res = _run(tiny_lsq(), 2, lr=lr, b1=b1, b2=b2, gamma=gamma, estimator="gnb", weight_decay=wd)
    w0 = np.array([1.0, -1.0])
    g0 = A.T @ (A @ w0 - B) / 4
    h = (1 - b2) * np.mean(((A @ w0 - B)[:, None] * A) ** 2, axis=0)  # mean of squared per-example gradients
    m = (1 - b1) * g0
    w1 = w0 - lr * wd * w0 - lr * np.clip(m / np.maximum(gamma * h, 1e-12), -1, 1)
    g1 = A.T @ (A @ w1 - B) / 4
    m = b1 * m + (1 - b1) * g1  # k = 10: no refresh at step 1, h kept
    w2 = w1 - lr * wd * w1 - lr * np.clip(m / np.maximum(gamma * h, 1e-12), -1, 1)
    np.testing.assert_allclose(W, [w0, w1, w2], rtol=1e-13)
    assert res.oracle_counts == {"loss": 0, "grad": 8, "hvp": 0, "per_example": 4}


def test_hutchinson_first_step_by_hand():
    h_true = np.array([4.0, 0.5, 2.0])
    p = quadratic(h_true, c=[0.3, -0.2, 0.1])
    lr, b1, b2, gamma = 0.05, 0.96, 0.99, 0.01
    W, rng, res = _run(p, 1, lr=lr, b1=b1, b2=b2, gamma=gamma)
    u = rng.standard_normal(3)  # the probe is the optimizer's first draw (a full batch draws no indices)
    g0 = h_true * (np.ones(3) - [0.3, -0.2, 0.1])
    h = (1 - b2) * u * (h_true * u)
    step = np.clip((1 - b1) * g0 / np.maximum(gamma * h, 1e-12), -1, 1)
    np.testing.assert_allclose(W[1], np.ones(3) - lr * step, rtol=1e-14)
    assert res.oracle_counts["hvp"] == 1


def test_clipping_bounds_every_coordinate_and_leaves_reliable_curvature_unclipped():
    # GNB on a one-example problem: h_hat = g^2; with b1 = b2 = 0, m = g and h = g^2, so the ratio is
    # 1 / (gamma g): clipped to 1 where |g| < 1/gamma, the (diagonal) Newton-like 1/(gamma g) elsewhere
    lr, gamma = 0.01, 1.0
    p = quadratic([1.0, 1.0], w0=[0.5, 3.0])  # g = w
    W, _, _ = _run(p, 1, lr=lr, gamma=gamma, b1=0.0, b2=0.0, estimator="gnb")
    np.testing.assert_allclose(W[1], [0.5 - lr, 3.0 - lr / 3.0], rtol=1e-15)
    # Sophia-H on a badly scaled quadratic: no coordinate ever moves more than lr
    p = quadratic([1e-6, 1.0, 1e4], w0=[5.0, 1.0, 0.1])
    W, _, _ = _run(p, 30, lr=lr, k=3, gamma=1.0, b2=0.5)
    assert np.all(np.abs(np.diff(W, axis=0)) <= lr * (1 + 1e-12))
    assert np.any(np.abs(np.diff(W, axis=0)) < 0.99 * lr)  # and some steps are not clipped


def test_refresh_every_k_steps_costs_one_hvp_pass():
    p = optkit.problems.get("least_squares", 5)
    opt = optkit.make("sophia", p.space, k=4, batch_size=20, seed=0)
    res = opt.minimize(p, 20 * 11 + 20 * 3)  # 11 steps, of which steps 0, 4, 8 refresh
    assert res.nit == 11 and res.oracle_counts["hvp"] == 3 * 20 and res.oracle_counts["grad"] == 11 * 20


def test_hutchinson_needs_hvp_and_gnb_does_not():
    p = quadratic([1.0, 2.0], hvp=False)
    with pytest.raises(HVPUnavailableError, match="Sophia"):
        optkit.make("sophia", p.space).minimize(p, 10)
    res = optkit.make("sophia", p.space, estimator="gnb", batch_size=None, lr=0.05).minimize(p, 400)
    assert res.fun < 1e-3


@pytest.mark.parametrize("estimator", ["hutchinson", "gnb"])
def test_converges_on_logistic_regression(estimator):
    p = optkit.problems.get("logreg_breast_cancer")
    res = optkit.make("sophia", p.space, estimator=estimator, lr=0.02, gamma=0.05, batch_size=64, seed=0).minimize(
        p, 60 * p.n_examples)
    assert res.fun - p.f_opt < 5e-3
