"""OptEx, Prospect and the two-losses proxy method in a few seconds.

    python examples/optex_prospect.py
"""

import numpy as np

from optkit import StochasticProblem
from optkit.first_order.optex import OptEx
from optkit.first_order.prospect import Prospect, spectral_objective, spectrum
from optkit.first_order.two_losses import TwoLosses
from optkit.problems.ml import least_squares, logistic_regression

# OptEx: 4 approximately parallel SGD iterations per round; nit counts the sequential rounds
for N in (1, 4):
    p = least_squares(n=200, dim=10, condition=10.0)
    res = OptEx(p.space, lr=0.3, parallelism=N, batch_size=None, seed=0).minimize(p, 200 * 60 * N)
    print(f"OptEx N={N}: {res.nit} rounds, f - f* = {p.suboptimality(res.x):.2e}")

# Prospect: CVaR at level 0.1 of the per-example logistic losses on breast cancer
p = logistic_regression("breast_cancer", l2=1e-2)
sig = spectrum("cvar", p.n_examples, 0.1)
res = Prospect(p.space, lr=0.01, spectrum="cvar", risk_param=0.1, shift_cost=1.0, seed=0).minimize(p, 20 * p.n_examples)
print(f"Prospect: CVaR_0.1 {spectral_objective(p, p.w0, sig):.4f} at w0 -> {spectral_objective(p, res.x, sig):.4f} "
      f"(mean loss {res.fun:.4f})")

# Two losses: 10 gradients of an expensive least-squares f, helped by a perturbed cheap proxy h
rng = np.random.default_rng(0)
X = rng.normal(size=(100, 5))
y = X @ rng.normal(size=5)


def ls(Xs):
    def loss(w, i):
        return float(np.mean(0.5 * (Xs[i] @ w - y[i]) ** 2)) if i is not None else float(np.mean(0.5 * (Xs @ w - y) ** 2))

    def grad(w, i):
        Xi, yi = (Xs, y) if i is None else (Xs[i], y[i])
        return Xi.T @ (Xi @ w - yi) / len(yi)
    return StochasticProblem(loss, grad, 100, np.zeros(5))


f, h = ls(X), ls(X * (1 + 0.02 * rng.normal(size=X.shape)))
x_opt = np.linalg.lstsq(X, y, rcond=None)[0]
res = TwoLosses(f.space, lr=10.0, proxy=h, inner_steps=100, inner_lr=0.1, batch_size=None).minimize(f, 10 * 100)
print(f"two-losses: |x - x*| = {np.linalg.norm(res.x - x_opt):.1e} after {res.nit} gradients of f "
      f"({h.calls // 100} proxy gradients)")
