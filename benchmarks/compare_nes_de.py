"""optkit's NES and DE family side by side with PyPop7 and scipy, in this process.

Methods (one run per seed, no restarts, the box [-5, 5]^d of COCO's BBOB):

* NES: ``xnes`` and ``snes`` (optkit) against PyPop7's ``XNES`` and ``SNES`` (``is_restart=False``),
  all from the same x0 ~ U[-4, 4]^d (drawn from the seed) with sigma0 = 2 and the default
  lambda = 4 + floor(3 ln d). PyPop7's XNES ignores ``sigma`` (its A starts at the identity, i.e.
  sigma0 = 1) and neither PyPop7 NES knows the box: column "out" is the fraction of their
  evaluations outside it.
* DE: ``de`` (DE/rand/1/bin, F = 0.5, CR = 0.9), ``jade``, ``shade`` and ``shade`` with
  ``population_reduction=True, max_evals=budget`` (L-SHADE) against PyPop7's ``CDE`` (F = 0.5,
  CR = 0.9), ``JADE`` and ``SHADE`` (``is_bound=True``: JADE's midpoint repair, as ours; CDE has no
  bound handling) and ``scipy.optimize.differential_evolution`` set to the same algorithm
  (strategy "rand1bin", mutation 0.5, recombination 0.9, uniform random init, ``updating="deferred"``
  = a generation of trials evaluated together, ``polish=False``, ``tol=atol=0``). Every DE uses
  NP = 100 (= optkit's default min(10 d, 100) at d = 10, PyPop7's default, scipy's ``popsize=10``).

Problems: BBOB f1 (sphere), f8 (Rosenbrock), f10 (rotated ellipsoid, condition 1e6) and f15
(rotated Rastrigin), instance 1, d = 10. A run stops at f - f_opt <= 1e-8 or at the budget.

Reported per function and method: successes, median evaluations to 1e-8 of the successful runs,
median final gap f - f_opt (the best reached, at the target or the budget), the optimizer's
overhead per evaluation (CPU time of the run minus CPU time in the objective, divided by the
evaluations; optkit is driven through ask/tell) and "out".

Run::

    python benchmarks/compare_nes_de.py --quick       # budget 20 000, 2 seeds (~3 minutes)
    python benchmarks/compare_nes_de.py               # budget 100 000 = 1e4 d, 5 seeds
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import optkit
from optkit.problems.bbob import BBOBFunction

TARGET = 1e-8
D = 10
NP = 100


class _Done(Exception):
    """Raised by the objective when the target is hit or the budget is spent."""


class Objective:
    """A BBOB function counting evaluations, their CPU time, points outside [-5, 5]^d, the best gap and the hit."""

    def __init__(self, fun: BBOBFunction, budget: int):
        self.fun, self.budget = fun, budget
        self.n = self.outside = 0
        self.seconds = 0.0
        self.best = np.inf
        self.hit: int | None = None

    def batch(self, X) -> np.ndarray:
        t = time.process_time()
        try:
            return self._batch(X)
        finally:  # the bookkeeping counts as objective time, not the optimizer's
            self.seconds += time.process_time() - t

    def _batch(self, X) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))[: self.budget - self.n]
        y = self.fun(X)
        self.outside += int(np.sum(np.any(np.abs(X) > 5.0, axis=1)))
        gap = y - self.fun.f_opt
        self.best = min(self.best, float(np.min(gap)))
        ok = np.flatnonzero(gap <= TARGET)
        if ok.size:
            self.hit = self.n + int(ok[0]) + 1
            self.n = self.hit
            raise _Done
        self.n += len(y)
        if self.n >= self.budget:
            raise _Done
        return y

    def one(self, x) -> float:
        return float(self.batch(x)[0])

    def columns(self, X) -> np.ndarray:  # scipy's vectorized call: X of shape (d, S)
        return self.batch(np.asarray(X).T)


def _x0(seed: int) -> np.ndarray:
    return np.random.default_rng(1000 + seed).uniform(-4, 4, D)


# -- runners ----------------------------------------------------------------------------------------
def run_optkit(obj: Objective, seed: int, name: str, **params) -> None:
    if name in ("xnes", "snes"):
        params = {"x0": _x0(seed), "sigma0": 2.0, **params}
    opt = optkit.make(name, optkit.Box(-5.0, 5.0, dim=D), seed=seed, **params)
    while opt.stop_reason() is None:
        X = opt.ask()
        opt.tell(X, obj.batch(X))


def run_pypop7(obj: Objective, seed: int, name: str) -> None:
    from pypop7.optimizers.de.cde import CDE
    from pypop7.optimizers.de.jade import JADE
    from pypop7.optimizers.de.shade import SHADE
    from pypop7.optimizers.nes.snes import SNES
    from pypop7.optimizers.nes.xnes import XNES

    cls = {"XNES": XNES, "SNES": SNES, "CDE": CDE, "JADE": JADE, "SHADE": SHADE}[name]
    problem = {"fitness_function": obj.one, "ndim_problem": D, "lower_boundary": -5.0 * np.ones(D),
               "upper_boundary": 5.0 * np.ones(D)}
    options = {"max_function_evaluations": obj.budget, "seed_rng": seed, "verbose": False, "saving_fitness": 0}
    if name in ("XNES", "SNES"):
        options.update({"mean": _x0(seed), "sigma": 2.0, "is_restart": False})
    else:
        options.update({"n_individuals": NP, "is_bound": True})
    cls(problem, options).optimize()


def run_scipy(obj: Objective, seed: int) -> None:
    from scipy.optimize import differential_evolution

    differential_evolution(obj.columns, [(-5.0, 5.0)] * D, strategy="rand1bin", maxiter=obj.budget // NP,
                           popsize=NP // D, tol=0.0, atol=0.0, mutation=0.5, recombination=0.9, rng=seed,
                           polish=False, init="random", updating="deferred", vectorized=True)


def methods(budget: int) -> list[tuple[str, object]]:
    return [
        ("optkit xnes", lambda o, s: run_optkit(o, s, "xnes")),
        ("pypop7 XNES", lambda o, s: run_pypop7(o, s, "XNES")),
        ("optkit snes", lambda o, s: run_optkit(o, s, "snes")),
        ("pypop7 SNES", lambda o, s: run_pypop7(o, s, "SNES")),
        ("optkit de", lambda o, s: run_optkit(o, s, "de")),
        ("pypop7 CDE", lambda o, s: run_pypop7(o, s, "CDE")),
        ("scipy DE rand1bin", run_scipy),
        ("optkit jade", lambda o, s: run_optkit(o, s, "jade")),
        ("pypop7 JADE", lambda o, s: run_pypop7(o, s, "JADE")),
        ("optkit shade", lambda o, s: run_optkit(o, s, "shade")),
        ("pypop7 SHADE", lambda o, s: run_pypop7(o, s, "SHADE")),
        ("optkit shade (L-SHADE)", lambda o, s: run_optkit(o, s, "shade", population_reduction=True,
                                                           max_evals=budget)),
    ]


def one_run(runner, fun: BBOBFunction, budget: int, seed: int) -> tuple[Objective, float]:
    obj = Objective(fun, budget)
    t = time.process_time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runner(obj, seed)
    except _Done:
        pass
    cpu = time.process_time() - t
    return obj, 1e6 * (cpu - obj.seconds) / max(obj.n, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="budget 20 000 and 2 seeds (~3 minutes)")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--budget", type=int, default=None)
    ap.add_argument("--functions", type=int, nargs="+", default=[1, 8, 10, 15])
    ap.add_argument("--methods", nargs="+", default=None, help="substrings of the method names to run")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads for every method (default 1)")
    args = ap.parse_args()
    seeds = range(args.seeds or (2 if args.quick else 5))
    budget = args.budget or (20_000 if args.quick else 10_000 * D)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        pass
    chosen = [(n, r) for n, r in methods(budget) if not args.methods or any(m in n for m in args.methods)]
    print(f"### BBOB d = {D}, instance 1, budget {budget}, seeds {len(seeds)}, target f - f_opt <= {TARGET:g}\n")
    print("| f | method | success | median evals to 1e-8 | median final gap | overhead us/eval | out |")
    print("|---|---|---|---|---|---|---|")
    for f in args.functions:
        fun = BBOBFunction(f, D, 1)
        for name, runner in chosen:
            runs = [one_run(runner, fun, budget, s) for s in seeds]
            hits = [o.hit for o, _ in runs if o.hit is not None]
            evals = f"{int(np.median(hits))}" if hits else "-"
            gap = float(np.median([max(o.best, 0.0) for o, _ in runs]))
            over = float(np.median([ov for _, ov in runs]))
            out = sum(o.outside for o, _ in runs) / max(sum(o.n for o, _ in runs), 1)
            print(f"| f{f} | {name} | {len(hits)}/{len(runs)} | {evals} | {gap:.1e} | {over:.0f} | {out:.0%} |",
                  flush=True)


if __name__ == "__main__":
    main()
