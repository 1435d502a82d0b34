"""optkit.minimize in five lines: a scipy-like call, any registered method, a Result for every one."""

import numpy as np

import optkit


def rosenbrock(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


if __name__ == "__main__":
    for method in ("random", "sobol", "nelder-mead", "lbfgsb", "pycma"):
        res = optkit.minimize(rosenbrock, bounds=[(-2.0, 2.0)] * 4, method=method, budget=3000, seed=0)
        print(f"{method:12s} f = {res.fun:10.3e}  evaluations = {res.nfev:5d}  status = {res.status.name}")
