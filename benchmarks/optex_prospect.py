"""OptEx vs its base (sequential rounds, wall time with a process pool) and Prospect vs SGD-style baselines
on CVaR logistic regression (breast cancer), suboptimality vs passes.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/optex_prospect.py
"""

import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from scipy.optimize import minimize as smin

from optkit import StochasticProblem
from optkit.first_order.optex import OptEx
from optkit.first_order.prospect import Prospect, max_weights, spectral_objective, spectrum
from optkit.problems.ml import logistic_regression


class SlowQuadratic:
    """f(w) = w'Aw/2 - b'w with an artificially costly gradient (``work`` dense mat-vecs), picklable."""

    def __init__(self, d=20, cond=20.0, work=300):
        self.A = np.diag(np.geomspace(1.0, cond, d))
        self.b = np.ones(d)
        self.work, self.M = work, np.eye(d)

    def loss(self, w, idx):
        return float(0.5 * w @ self.A @ w - self.b @ w)

    def grad(self, w, idx):
        v = w
        for _ in range(self.work):  # simulated expensive oracle
            v = self.M @ v
        return self.A @ v - self.b


def optex_table():
    q = SlowQuadratic()
    f_opt = -0.5 * q.b @ np.linalg.solve(q.A, q.b)
    print("| base | N | executor | rounds to 1e-6 | wall s |\n| --- | --- | --- | --- | --- |")
    for base, lr in (("sgd", 0.09), ("adam", 0.05)):
        for N, ex in ((1, None), (4, None), (4, "process")):
            p = StochasticProblem(q.loss, q.grad, 1, np.zeros(20))
            opt = OptEx(p.space, lr=lr, base=base, parallelism=N, batch_size=None, seed=0)
            t0 = time.perf_counter()
            if ex is None:
                res = opt.minimize(p, 400 * N)
            else:
                with ProcessPoolExecutor(N) as pool:
                    res = opt.minimize(p, 400 * N, executor=pool)
            gaps = np.array([q.loss(x, None) - f_opt for x in res.history.X])
            hit = int(np.argmax(gaps < 1e-6)) if (gaps < 1e-6).any() else None
            wall = np.cumsum(res.history.seconds)[hit] if hit is not None else float("nan")
            print(f"| {base} | {N} | {ex or 'serial'} | {hit} | {wall:.2f} (total {time.perf_counter() - t0:.2f}) |")


def prospect_table(alpha=0.1, nu=1.0, passes=(5, 10, 20, 40)):
    p = logistic_regression("breast_cancer", l2=1e-2)
    n = p.n_examples
    sig = spectrum("cvar", n, alpha)

    def fg(w):  # smoothed CVaR and its gradient (Danskin), for the reference minimizer
        G = p.per_example_grads(w)
        losses = np.array([p.loss(w, np.array([i])) for i in range(n)])
        qv = max_weights(losses, sig, nu)
        return float(qv @ losses - nu * n / 2 * np.sum((qv - 1 / n) ** 2)), qv @ G

    ref = smin(fg, p.w0, jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "maxiter": 2000}).fun
    print(f"\nreference smoothed CVaR_{alpha} (L-BFGS): {ref:.6f}\n")
    print("| method | lr | " + " | ".join(f"{k} passes" for k in passes) + " |\n| --- | --- |" + " --- |" * len(passes))
    for lr in (0.003, 0.01, 0.03):
        rows = []
        for k in passes:
            res = Prospect(p.space, lr=lr, risk_param=alpha, shift_cost=nu, seed=0).minimize(p, k * n)
            rows.append(spectral_objective(p, res.x, sig, nu) - ref)
        print(f"| prospect | {lr} | " + " | ".join(f"{r:.1e}" for r in rows) + " |")
    for lr in (0.003, 0.01, 0.03):  # SGD on the plug-in weights: w -= lr * n q_i(w) grad l_i(w), q from all n losses
        rng = np.random.default_rng(0)
        w, rows, calls = p.w0.copy(), [], 0
        for k in passes:
            while calls < k * n:
                losses = np.array([p._loss(w, np.array([i])) for i in range(n)])  # oracle not counted: favours SGD
                qv = max_weights(losses, sig, nu)
                i = int(rng.integers(n))
                w = w - lr * n * qv[i] * p._grad(w, np.array([i]))
                calls += 1
            rows.append(spectral_objective(p, w, sig, nu) - ref)
        print(f"| sgd (exact weights, free) | {lr} | " + " | ".join(f"{r:.1e}" for r in rows) + " |")


if __name__ == "__main__":
    optex_table()
    prospect_table()
