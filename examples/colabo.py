"""ColaBO: Bayesian optimization guided by what you believe about the optimum.

Two kinds of belief, alone or together: where the minimum lies (a density over x) and what the
minimal value is (a Gaussian or bounds on f*). Needs the ``bo`` extra (torch).
"""

import numpy as np

import optkit


def branin(x):
    """A stand-in for an expensive experiment (minimum 0.397887 at three points)."""
    x1, x2 = x[0], x[1]
    return float((x2 - 5.1 * x1**2 / (4 * np.pi**2) + 5 * x1 / np.pi - 6) ** 2
                 + 10 * (1 - 1 / (8 * np.pi)) * np.cos(x1) + 10)


if __name__ == "__main__":
    bounds = [(-5, 10), (0, 15)]
    fast = {"n_paths": 1024, "n_candidates": 1024, "raw_samples": 512, "n_restarts": 5}

    # 1. a belief about where the minimum is: "x1 near 9, x2 near 3, give or take 3"
    where = {"type": "gaussian", "mean": [9.0, 3.0], "std": [3.0, 3.0]}
    for method, kw in [("bo", {}), ("colabo", {"prior": where, **fast})]:
        res = optkit.minimize(branin, bounds, method=method, budget=15, seed=1, **kw)
        print(f"{method:6s}: best {res.fun:.5f} at {np.round(res.x, 3)} after {res.nfev} evaluations "
              f"(after 8: {res.best_so_far[7]:.3f})")

    # 2. add a belief about the minimal value ("it cannot go below 0"), and ask in batches of 2
    opt = optkit.make("colabo", optkit.Box([-5, 0], [10, 15]), seed=0, prior=where,
                      value_prior={"type": "bounds", "lower": 0.0}, batch=2, **fast)
    for _ in range(6):
        X = opt.ask()                                 # 2 distinct points for 2 workers
        opt.tell(X, [branin(x) for x in X])
    x, mean = opt.best_predicted()
    print(f"with a value belief, batches of 2: best predicted {mean:.5f} at {np.round(x, 3)}; "
          f"last weighting kept {opt.diagnostics['distinct_paths']} distinct paths")

    # 3. a belief that may be wrong: draw the initial design by Sobol, not from the belief, and
    #    let the path weights alone carry it (here it is wrong: a corner where f = 146)
    wrong = {"type": "gaussian", "mean": [10.0, 15.0], "std": [3.0, 3.0]}
    res = optkit.minimize(branin, bounds, method="colabo", prior=wrong, prior_init_fraction=0.0, budget=15,
                          seed=1, **fast)
    print(f"misleading belief, Sobol initial design: best {res.fun:.5f} after {res.nfev} evaluations")
