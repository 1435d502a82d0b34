"""Second-order methods and the modern first-order variants on StochasticProblems, in about 10 seconds.

1. Full batch on logistic regression (scikit-learn's breast-cancer data): L-BFGS, Newton-CG and the
   polynomial (Krylov) preconditioned gradient method reach the optimum to 1e-10, like scipy.
2. FOSI around SGD on an ill-conditioned quadratic: Newton on the 5 stiff directions, SGD on the rest.
3. A small MLP on digits (2,410 weights): Sophia, AdamW and C-AdamW, Grams, and COSMOS, which needs
   the matrix shapes of the flat parameter vector.
"""

import numpy as np

import optkit
from optkit.problems.ml import mlp


def ill_conditioned_quadratic(seed=0):
    """1/2 (w - c)^T H (w - c), H with eigenvalues 1000 ... 80 (5 of them) and 0.5 ... 1 (15)."""
    rng = np.random.default_rng(seed)
    lam = np.concatenate([[1000.0, 600.0, 300.0, 150.0, 80.0], np.linspace(0.5, 1.0, 15)])
    U, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    H, c = (U * lam) @ U.T, rng.standard_normal(20)
    return optkit.StochasticProblem(lambda w, i: 0.5 * float((w - c) @ H @ (w - c)), lambda w, i: H @ (w - c), 1,
                                    np.zeros(20), hvp=lambda w, v, i: H @ v, f_opt=0.0, name="illcond_quadratic")


if __name__ == "__main__":
    p = optkit.problems.get("logreg_breast_cancer")
    print(f"1. {p.name}: F - f_opt after 100 epochs (full batch)")
    for method, params in [("lbfgs", {}), ("newton-cg", {}), ("poly-krylov", {"tau": 10})]:
        p.reset_counts()  # oracle_counts are the problem's running totals
        res = optkit.make(method, p.space, **params).minimize(p, 100 * p.n_examples)
        print(f"   {method:12s} {res.fun - p.f_opt:9.2e}  iterations {res.nit:3d}  {res.oracle_counts}")

    q = ill_conditioned_quadratic()
    print(f"2. {q.name}: F after 600 steps, SGD(momentum=0.9, lr=1e-3) alone and inside FOSI")
    sgd = optkit.make("sgd", q.space, lr=1e-3, momentum=0.9, batch_size=None).minimize(q, 600)
    fosi = optkit.make("fosi", q.space, base="sgd", lr=1e-3, momentum=0.9, alpha=0.1, refresh=50, warmup=5,
                       batch_size=None, seed=0).minimize(q, 600)
    print(f"   sgd  {sgd.fun:9.2e}\n   fosi {fosi.fun:9.2e}  (its 600 oracle calls include the Lanczos HVPs)")

    m = mlp()
    shapes = [(64, 32), (32,), (32, 10), (10,)]  # W1, b1, W2, b2: the order of the flat vector
    print(f"3. {m.name} ({m.dim} weights): training loss after 10 epochs, batch 64")
    for label, method, params in [("adamw", "adamw", {"lr": 0.03}), ("c-adamw", "adamw", {"lr": 0.03, "cautious": True}),
                                  ("grams", "grams", {"lr": 0.03}), ("sophia-h", "sophia", {"lr": 1e-3}),
                                  ("cosmos", "cosmos", {"lr": 0.03, "shapes": shapes})]:
        res = optkit.make(method, m.space, batch_size=64, seed=0, **params).minimize(m, 10 * m.n_examples)
        print(f"   {label:9s} {res.fun:.4f}")
