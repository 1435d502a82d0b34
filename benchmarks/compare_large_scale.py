"""The cheap and the large-scale members of the CMA-ES family side by side with their peers, in this process.

Two tables:

1. **Large scale**, d = 1,000 and 10,000: optkit's ``lmmaes`` and ``mmes`` against PyPop7's LMMAES,
   LMCMA and MMES (``pypop7.optimizers.es.{lmmaes,lmcma,mmes}``, ``is_restart=False``) on the sphere
   and on the separable ellipsoid sum_i 10^(6 (i-1)/(d-1)) x_i^2 (condition 1e6), both written inline
   and vectorized, optimum 0 at the origin. Not BBOB f2: its oscillation transform costs ~1 ms per
   point at d = 10,000 in ``optkit.problems.bbob`` (58 us at d = 1,000), which would make the table
   slow without telling anything about the optimizers. Start x0 ~ U[-4, 4]^d (from the seed),
   sigma0 = 1, default lambda. Reported per method: evaluations to f <= 1e-8 when reached within the
   budget, else the median f at the end of the budget; the optimizer's overhead per evaluation; the
   peak traced memory of a 5-generation run (``tracemalloc``; numpy's arrays are traced); and the
   fraction of evaluations outside the box [-5, 5]^d (PyPop7 ignores the box; optkit clips and
   penalizes, so its fraction is 0).
2. **Small scale**: ``sep-cmaes`` against pycma with ``CMA_diagonal=True`` (its default
   ``BoundTransform`` for [-5, 5]) and PyPop7's SEPCMAES; ``one-plus-one-cmaes`` (and its
   ``covariance=False`` 1/5th-rule variant) against PyPop7's OPOC2006 (the path-free Cholesky
   (1+1)-CMA-ES of the 2006 paper) and OPOC2009 (with the evolution path, as optkit's) on COCO's BBOB
   f1, f2, f10 (instance 1), d = 10 and 40, from x0 ~ U[-4, 4]^d with sigma0 = 2. Reported: median
   evaluations to f - f_opt <= 1e-8 among successful runs, successes, overhead per evaluation and
   the fraction of evaluations outside the box.

The overhead per evaluation is the optimizer's CPU time (``time.process_time``, so other jobs on a
shared machine do not inflate it) minus the time spent in the objective (and this script's counting),
divided by the evaluations. optkit is driven through its public ask/tell (so its numbers include the
ask/tell bookkeeping of the core, but not ``minimize``'s history); the peers through their own loops.
BLAS threads are limited to ``--threads`` (default 1, through threadpoolctl) for every method alike.

Run::

    python benchmarks/compare_large_scale.py --quick     # ~3 minutes: 1-2 seeds, shorter budgets (1000 d)
    python benchmarks/compare_large_scale.py             # 3 seeds, longer budgets (about an hour on 2 cores)
"""

from __future__ import annotations

import argparse
import importlib
import time
import tracemalloc
import warnings

import numpy as np

import optkit
from optkit.problems.bbob import BBOBFunction

TARGET = 1e-8


class _Done(Exception):
    """Raised by the counting objective when the target is hit or the budget is spent."""


class Objective:
    """A batch objective ``fun(X) -> y`` that counts evaluations, their time, points outside [-5, 5]^d,
    the first evaluation reaching ``f_opt + 1e-8`` and the best value."""

    def __init__(self, fun, f_opt: float, budget: int, stop_at_target: bool = True):
        self.fun, self.f_opt, self.budget, self.stop_at_target = fun, f_opt, budget, stop_at_target
        self.n = self.outside = 0
        self.seconds = 0.0
        self.hit: int | None = None
        self.best = np.inf

    def batch(self, X) -> np.ndarray:
        t = time.process_time()
        try:
            return self._batch(X)
        finally:  # all the bookkeeping counts as objective time, not the optimizer's
            self.seconds += time.process_time() - t

    def _batch(self, X) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        X = X[: self.budget - self.n]
        y = self.fun(X)
        self.outside += int(np.sum(np.any(np.abs(X) > 5.0, axis=1)))
        self.best = min(self.best, float(np.min(y)))
        ok = np.flatnonzero(y - self.f_opt <= TARGET)
        if ok.size and self.hit is None:
            self.hit = self.n + int(ok[0]) + 1
            if self.stop_at_target:
                self.n = self.hit
                raise _Done
        self.n += len(y)
        if self.n >= self.budget:
            raise _Done
        return y

    def one(self, x) -> float:
        return float(self.batch(x)[0])


def _x0(d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(1000 + seed).uniform(-4, 4, d)


def sphere(X):
    return np.einsum("ij,ij->i", X, X)


def make_ellipsoid(d: int):
    scales = 10.0 ** (6.0 * np.arange(d) / (d - 1))
    return lambda X: (X * X) @ scales


# -- runners: each drives one method on an Objective until _Done (or its own stop) ------------------
def run_optkit(name: str, obj: Objective, d: int, seed: int, sigma0: float, **params) -> None:
    opt = optkit.make(name, optkit.Box(-5.0, 5.0, dim=d), x0=_x0(d, seed), sigma0=sigma0, seed=seed, **params)
    while opt.stop_reason() is None:
        X = opt.ask()
        opt.tell(X, obj.batch(X))


def run_pypop7(path: str, obj: Objective, d: int, seed: int, sigma0: float) -> None:
    module, cls = path.rsplit(".", 1)
    Opt = getattr(importlib.import_module(module), cls)
    problem = {"fitness_function": obj.one, "ndim_problem": d, "lower_boundary": -5 * np.ones(d),
               "upper_boundary": 5 * np.ones(d)}
    options = {"max_function_evaluations": obj.budget, "seed_rng": seed, "mean": _x0(d, seed), "sigma": sigma0,
               "verbose": False, "is_restart": False, "saving_fitness": 0}
    Opt(problem, options).optimize()


def run_pycma_sep(obj: Objective, d: int, seed: int, sigma0: float) -> None:
    import cma

    opts = {"CMA_diagonal": True, "bounds": [-5, 5], "seed": seed + 1, "verbose": -9, "maxfevals": obj.budget}
    es = cma.CMAEvolutionStrategy(_x0(d, seed), sigma0, opts)
    while not es.stop():
        X = es.ask()
        es.tell(X, [obj.one(x) for x in X])


def timed(runner, obj: Objective, *args, **kw) -> float:
    """Run; return the overhead per evaluation in microseconds."""
    t = time.process_time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runner(obj, *args, **kw)
    except _Done:
        pass
    wall = time.process_time() - t
    return 1e6 * (wall - obj.seconds) / max(obj.n, 1)


def peak_memory_mb(runner, fun, d: int, lam: int, *args) -> float:
    """Peak traced memory (MiB) of 5 generations."""
    obj = Objective(fun, 0.0, 5 * lam, stop_at_target=False)
    tracemalloc.start()
    try:
        timed(runner, obj, d, 0, *args)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


LARGE = {
    "optkit lmmaes": lambda obj, d, s, sig: run_optkit("lmmaes", obj, d, s, sig),
    "optkit mmes": lambda obj, d, s, sig: run_optkit("mmes", obj, d, s, sig),
    "pypop7 LMMAES": lambda obj, d, s, sig: run_pypop7("pypop7.optimizers.es.lmmaes.LMMAES", obj, d, s, sig),
    "pypop7 LMCMA": lambda obj, d, s, sig: run_pypop7("pypop7.optimizers.es.lmcma.LMCMA", obj, d, s, sig),
    "pypop7 MMES": lambda obj, d, s, sig: run_pypop7("pypop7.optimizers.es.mmes.MMES", obj, d, s, sig),
}

SMALL = {
    "sep-cmaes": {
        "optkit sep-cmaes": lambda obj, d, s: run_optkit("sep-cmaes", obj, d, s, 2.0),
        "pycma CMA_diagonal": lambda obj, d, s: run_pycma_sep(obj, d, s, 2.0),
        "pypop7 SEPCMAES": lambda obj, d, s: run_pypop7("pypop7.optimizers.es.sepcmaes.SEPCMAES", obj, d, s, 2.0),
    },
    "(1+1)": {
        "optkit one-plus-one-cmaes": lambda obj, d, s: run_optkit("one-plus-one-cmaes", obj, d, s, 2.0),
        "optkit (1+1) 1/5th rule": lambda obj, d, s: run_optkit("one-plus-one-cmaes", obj, d, s, 2.0, covariance=False),
        "pypop7 OPOC2006": lambda obj, d, s: run_pypop7("pypop7.optimizers.es.opoc2006.OPOC2006", obj, d, s, 2.0),
        "pypop7 OPOC2009": lambda obj, d, s: run_pypop7("pypop7.optimizers.es.opoc2009.OPOC2009", obj, d, s, 2.0),
    },
}


def table_large(dims_budgets, seeds: int, sigma0: float) -> None:
    print(f"\n### Large scale: sphere and separable ellipsoid (condition 1e6), sigma0 = {sigma0}, target 1e-8\n")
    print("| f | d | budget | method | evals to 1e-8 (hits) | median final f | overhead us/eval | peak MiB (5 gens) "
          "| out of box |")
    print("|---|---|---|---|---|---|---|---|---|")
    for d, budgets in dims_budgets:
        lam = 4 + int(3 * np.log(d))
        for fname, fun in (("sphere", sphere), ("ellipsoid", make_ellipsoid(d))):
            budget = budgets[fname]
            for name, runner in LARGE.items():
                hits, finals, over, out = [], [], [], 0.0
                for s in range(seeds):
                    obj = Objective(fun, 0.0, budget)
                    over.append(timed(runner, obj, d, s, sigma0))
                    out += obj.outside / max(obj.n, 1)
                    finals.append(obj.best)
                    if obj.hit is not None:
                        hits.append(obj.hit)
                mem = peak_memory_mb(runner, fun, d, lam, sigma0)
                ev = f"{int(np.median(hits))} ({len(hits)}/{seeds})" if hits else f"- (0/{seeds})"
                print(f"| {fname} | {d} | {budget} | {name} | {ev} | {np.median(finals):.3g} | {np.median(over):.0f} "
                      f"| {mem:.1f} | {out / seeds:.1%} |", flush=True)


def table_small(dims_seeds, functions, budget_per_d: int) -> None:
    print("\n### Small scale: evaluations to f - f_opt <= 1e-8 on BBOB (instance 1), single runs, sigma0 = 2\n")
    print("| f | d | method | median evals | successes | overhead us/eval | out of box |")
    print("|---|---|---|---|---|---|---|")
    for d, seeds in dims_seeds:
        for f in functions:
            bb = BBOBFunction(f, d, 1)
            for group in SMALL.values():
                for name, runner in group.items():
                    evals, over, out = [], [], 0.0
                    for s in range(seeds):
                        obj = Objective(bb, bb.f_opt, budget_per_d * d)
                        over.append(timed(runner, obj, d, s))
                        out += obj.outside / max(obj.n, 1)
                        if obj.hit is not None:
                            evals.append(obj.hit)
                    med = f"{int(np.median(evals))}" if evals else "-"
                    print(f"| f{f} | {d} | {name} | {med} | {len(evals)}/{seeds} | {np.median(over):.0f} "
                          f"| {out / seeds:.1%} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1-2 seeds, short budgets (about 3 minutes)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads for every method (default 1)")
    ap.add_argument("--only", choices=["large", "small"], help="run one of the two tables")
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    with warnings.catch_warnings():  # imports out of the timings
        warnings.simplefilter("ignore")
        import cma  # noqa: F401

        for path in ("lmmaes", "lmcma", "mmes", "sepcmaes", "opoc2006", "opoc2009"):
            importlib.import_module(f"pypop7.optimizers.es.{path}")
    if args.quick:
        large = [(1000, {"sphere": 120_000, "ellipsoid": 20_000}), (10_000, {"sphere": 5_000, "ellipsoid": 5_000})]
        seeds_large, small, budget_per_d = 1, ((10, 2), (40, 1)), 1000
    else:
        large = [(1000, {"sphere": 300_000, "ellipsoid": 300_000}), (10_000, {"sphere": 100_000, "ellipsoid": 100_000})]
        seeds_large, small, budget_per_d = 3, ((10, 10), (40, 10)), 2000
    t0 = time.time()
    if args.only in (None, "large"):
        table_large(large, seeds_large, sigma0=1.0)
    if args.only in (None, "small"):
        table_small(small, (1, 2, 10), budget_per_d)
    print(f"\n(total {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
