"""Prospect: a hand-computed first step, the weight oracle and the risk against scipy, and linear
convergence to the exact minimizer of a smoothed CVaR ridge regression computed by L-BFGS."""

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.optimize import minimize as smin

from optkit import OptkitError, StochasticProblem
from optkit.first_order.prospect import Prospect, max_weights, spectral_objective, spectral_risk, spectrum


def _ridge(n=20, d=3, mu=0.1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=n)

    def loss(w, idx):
        Xi, yi = (X, y) if idx is None else (X[idx], y[idx])
        return float(np.mean(0.5 * (Xi @ w - yi) ** 2) + 0.5 * mu * w @ w)

    def grad(w, idx):
        Xi, yi = (X, y) if idx is None else (X[idx], y[idx])
        return Xi.T @ (Xi @ w - yi) / len(yi) + mu * w

    return StochasticProblem(loss, grad, n, np.zeros(d)), X, y, mu


def test_first_step_by_hand():
    # l_i(w) = (w - a_i)^2 / 2, a = (1, 3), w0 = 0, CVaR at 1/2 (sigma = (0, 1)), nu = 0:
    # tables L = (.5, 4.5), G = (-1, -3), rho = q = (0, 1), gbar = -3; for any (i, j) v = -3, w1 = 0.1 * 3.
    a = np.array([1.0, 3.0])
    p = StochasticProblem(lambda w, idx: float(np.mean(0.5 * (w[0] - a[idx]) ** 2)),
                          lambda w, idx: np.array([np.mean(w[0] - a[idx])]), 2, [0.0])
    for seed in range(3):
        res = Prospect(p.space, lr=0.1, risk_param=0.5, shift_cost=0.0, seed=seed).minimize(p, 4)
        assert res.nit == 1 and res.nfev == 4
        np.testing.assert_allclose(res.x, [0.3], rtol=1e-12)


def test_weights_match_a_qp_and_risk_matches_linprog():
    rng = np.random.default_rng(1)
    n, nu = 8, 0.3
    sig = spectrum("extremile", n, 2.0)
    ls = rng.normal(size=n)
    # the permutahedron as sum constraint + the majorization inequalities on every subset size
    cons = [{"type": "eq", "fun": lambda q: q.sum() - 1}]
    for k in range(1, n):
        cons.append({"type": "ineq", "fun": lambda q, k=k: np.sort(sig)[::-1][:k].sum() - np.sort(q)[::-1][:k].sum()})
    qp = smin(lambda q: -(q @ ls - nu * n / 2 * np.sum((q - 1 / n) ** 2)), np.full(n, 1 / n), constraints=cons,
              method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
    np.testing.assert_allclose(max_weights(ls, sig, nu), qp.x, atol=1e-6)
    # CVaR at alpha = 1/4 of 20 losses (Rockafellar-Uryasev LP in (tau, s))
    m, alpha = 20, 0.25
    ls = rng.exponential(size=m)
    lp = linprog(np.r_[1.0, np.full(m, 1 / (m * alpha))], A_ub=np.c_[-np.ones(m), -np.eye(m)], b_ub=-ls,
                 bounds=[(None, None)] + [(0, None)] * m)
    assert spectral_risk(ls, spectrum("cvar", m, alpha)) == pytest.approx(lp.fun, rel=1e-9)


@pytest.mark.parametrize("spec,param", [("cvar", 0.25), ("esrm", 2.0)])
def test_converges_to_smoothed_minimizer(spec, param):
    p, X, y, mu = _ridge()
    n, nu = p.n_examples, 0.1
    sig = spectrum(spec, n, param)

    def fg(w):  # the smoothed spectral risk and its Danskin gradient
        r = X @ w - y
        losses = 0.5 * r**2 + 0.5 * mu * w @ w
        q = max_weights(losses, sig, nu)
        return float(q @ losses - nu * n / 2 * np.sum((q - 1 / n) ** 2)), q @ (X * r[:, None] + mu * w)

    ref = smin(fg, np.zeros(3), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10000})
    res = Prospect(p.space, lr=0.01, spectrum=spec, risk_param=param, shift_cost=nu, seed=0).minimize(p, 16000)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    assert spectral_objective(p, res.x, sig, nu) - ref.fun < 1e-10


def test_bad_input():
    p, *_ = _ridge()
    with pytest.raises(OptkitError, match="lr"):
        Prospect(p.space, lr=0.0)
    with pytest.raises(OptkitError, match="spectrum"):
        Prospect(p.space, spectrum="var")
    with pytest.raises(OptkitError, match="shift_cost"):
        Prospect(p.space, shift_cost=-1.0)
    with pytest.raises(OptkitError, match="cvar"):
        spectrum("cvar", 10, 1.5)


def test_budget_counts_the_table_fill_and_nan_stops():
    p, *_ = _ridge()  # n = 20: step 0 costs 20 + 2, later steps 2 each
    res = Prospect(p.space, lr=0.01, seed=0).minimize(p, 27)
    assert (res.nit, res.nfev, p.calls) == (3, 26, 26)
    assert res.oracle_counts["grad"] + res.oracle_counts["loss"] == 26
    calls = []

    def grad(w, idx):
        calls.append(1)
        return p._grad(w, idx) * (np.nan if len(calls) == 24 else 1.0)  # 20 fill + 1 per step: iteration 3

    q = StochasticProblem(p._loss, grad, p.n_examples, p.w0)
    res = Prospect(q.space, lr=0.01, seed=0).minimize(q, 1000)
    assert res.status.name == "FAILED" and "iteration 3" in res.message
