"""Constrained Bayesian optimization with CONFIG: a feasible optimum, and an infeasibility declaration.

Needs the ``bo`` extra (``pip install -e ".[bo]"``). Runs in well under a minute on a laptop.
"""

import numpy as np

import optkit
from optkit.problems.constrained import gramacy_problem


def cost(x):
    """A stand-in for an expensive simulation: minimize x1 + x2 ..."""
    return float(x[0] + x[1])


def stress(x):
    """... while a second expensive output must stay <= 0 (here: stay outside a disc)."""
    return float(0.5 - x[0] ** 2 - x[1] ** 2)


if __name__ == "__main__":
    box = optkit.Box(0.0, 1.0, dim=2)

    # 1. the one-call way: f* = sqrt(0.5) = 0.7071 at (0.7071, 0) and (0, 0.7071)
    problem = optkit.Problem(cost, box, constraints=[stress], name="disc")
    res = optkit.minimize(problem, method="config", budget=25, seed=0, exploit_every=5)
    print(f"disc: best feasible {res.fun:.4f} at {np.round(res.x, 4)} ({res.status.name}, {res.nfev} evaluations)")

    # 2. a published benchmark whose optimum lies on a constraint (f* = 0.599788)
    res = optkit.minimize(gramacy_problem(), method="config", budget=30, seed=0, exploit_every=5)
    print(f"gramacy: best feasible {res.fun:.4f} after {res.nfev} evaluations")

    # 3. an infeasible specification: the stress can never go below 1. CONFIG stops early and says why.
    bad = optkit.Problem(cost, box, constraints=[lambda x: float(1.0 + x[0] ** 2 + x[1] ** 2)], name="impossible")
    res = optkit.minimize(bad, method="config", budget=40, seed=0)
    ev = res.infeasibility
    print(f"impossible: {res.status.name} after {res.nfev} evaluations; min over x of LCB_g = "
          f"{ev['min_max_lcb']:.3f} > 0 at {np.round(ev['at'], 3)}")

    # 4. ask/tell: query the declaration yourself
    opt = optkit.make("config", box, seed=0)
    for _ in range(8):
        X = opt.ask()
        opt.tell(X, [cost(x) for x in X], constraints=[[1.0 + x @ x] for x in X])
        if opt.infeasibility() is not None:
            print("ask/tell: declared infeasible after", opt.n_told, "evaluations")
            break
