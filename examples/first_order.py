"""Gradient methods on a StochasticProblem: Polyak step sizes need no learning rate; SGD and Adam do.

Runs in a few seconds: logistic regression on scikit-learn's breast-cancer data (plain and badly
scaled features), 30 epochs of minibatches of 32, the budget counted in oracle calls (examples).
"""

import numpy as np

import optkit


def own_problem():
    """A StochasticProblem from your own data: least squares on 100 examples."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((100, 5)), rng.standard_normal(100)

    def loss_and_grad(w, idx):
        Xi, yi = (X, y) if idx is None else (X[idx], y[idx])
        r = Xi @ w - yi
        return 0.5 * float(r @ r) / len(yi), Xi.T @ r / len(yi)

    return optkit.StochasticProblem(lambda w, i: loss_and_grad(w, i)[0], lambda w, i: loss_and_grad(w, i)[1],
                                    n_examples=100, w0=np.zeros(5), loss_and_grad=loss_and_grad, name="my_lsq")


if __name__ == "__main__":
    for pname in ("logreg_breast_cancer", "logreg_breast_cancer_scaled"):
        print(pname)
        for method, params in [("sgd", {"lr": 1.0}), ("adam", {"lr": 0.1}), ("sps", {"gamma_max": 1.0}),
                               ("psps", {"preconditioner": "hutchinson"}), ("psps", {"preconditioner": "adagrad"})]:
            problem = optkit.problems.get(pname)
            opt = optkit.make(method, problem.space, seed=0, batch_size=32, **params)
            res = opt.minimize(problem, budget=30 * problem.n_examples)
            print(f"  {method:5s} {params!s:36s} F - f_opt = {res.fun - problem.f_opt:9.2e}  "
                  f"iterations = {res.nit:4d}  epochs = {res.epochs:.0f}  {res.wall_time:.2f} s")
    p = own_problem()
    res = optkit.make("adam", p.space, lr=0.05, seed=0).minimize(p, budget=5000)
    print(f"my_lsq: adam F = {res.fun:.6f}, status {res.status.name}, oracle calls {res.oracle_counts}")
