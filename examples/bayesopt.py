"""Bayesian optimization of an expensive function: one-call, ask/tell with parallel workers, priors.

Needs the ``bo`` extra (``pip install -e ".[bo]"``: torch, botorch, gpytorch).
"""

import numpy as np

import optkit


def branin(x):
    """A stand-in for an expensive experiment (minimum 0.397887 at three points)."""
    x1, x2 = x[0], x[1]
    return float((x2 - 5.1 * x1**2 / (4 * np.pi**2) + 5 * x1 / np.pi - 6) ** 2
                 + 10 * (1 - 1 / (8 * np.pi)) * np.cos(x1) + 10)


def train(p: dict) -> float:
    """A stand-in for a validation loss over a mixed hyperparameter space."""
    act = {"relu": 0.0, "tanh": 0.08, "gelu": 0.03}[p["activation"]]
    return (np.log10(p["lr"]) + 2.5) ** 2 + 0.05 * (p["layers"] - 4) ** 2 + act + 0.1 * (p["dropout"] - 0.2) ** 2


if __name__ == "__main__":
    # 1. the one-call way: 40 evaluations of a deterministic function
    res = optkit.minimize(branin, [(-5, 10), (0, 15)], method="bo", budget=40, seed=0)
    print(f"branin: best {res.fun:.6f} at {np.round(res.x, 4)} after {res.nfev} evaluations")

    # 2. ask/tell on a mixed space, four workers evaluating in parallel: ask(4) returns four
    #    distinct points (the batch is built around the points still pending)
    space = optkit.SearchSpace({
        "lr": optkit.Real(1e-5, 1e-1, log=True),
        "layers": optkit.Integer(1, 8),
        "activation": optkit.Categorical(["relu", "tanh", "gelu"]),
        "dropout": optkit.Real(0.0, 0.5),
    })
    opt = optkit.make("bo", space, seed=0, batch=4)
    for _ in range(8):
        X = opt.ask()                                   # (4, d): one row per worker
        opt.tell(X, [train(space.to_dict(x)) for x in X])
    x, mean = opt.best_predicted()                      # the best point by the model's mean
    print("mixed space: best predicted", space.to_dict(x), f"(mean {mean:.4f})")

    # 3. warm start from evaluations made earlier, then continue
    rng = np.random.default_rng(1)
    old_X = [[rng.uniform(-5, 10), rng.uniform(0, 15)] for _ in range(10)]
    warm = {"X": old_X, "y": [branin(np.array(x)) for x in old_X]}
    res = optkit.minimize(branin, [(-5, 10), (0, 15)], method="bo", budget=20, seed=0, warm_start=warm)
    print(f"warm-started: best {res.fun:.6f} with 20 new evaluations")

    # 4. piBO: a belief about where the optimum lies (here, near the right one of the three minima)
    prior = {"type": "gaussian", "mean": [9.0, 2.5], "std": [1.5, 1.5]}
    res = optkit.minimize(branin, [(-5, 10), (0, 15)], method="pibo", prior=prior, budget=20, seed=0)
    print(f"piBO: best {res.fun:.6f} at {np.round(res.x, 3)} after {res.nfev} evaluations")
