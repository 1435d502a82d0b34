"""optkit's ``cmaes`` side by side with pycma (``cma``) and PyPop7's CMAES, in this process.

Three tables:

1. **Evaluations to f - f_opt <= 1e-8**, one run without restarts, on COCO's BBOB f2 (separable
   ellipsoid), f8 (Rosenbrock), f10 (rotated ellipsoid) and f11 (discus), instance 1, d = 10 and 40.
   Every method starts from the same x0 ~ U[-4, 4]^d (drawn from the seed), sigma0 = 2 and the
   default lambda = 4 + floor(3 ln d), on the box [-5, 5]^d:
   ``optkit``: ``CMAES(x0=..., sigma0=2, seed=s)`` (its boundary penalty);
   ``pycma``: ``cma.CMAEvolutionStrategy(x0, 2, {"popsize": lam, "bounds": [-5, 5]})`` (its default
   ``BoundTransform``), and ``pycma-nobounds`` without the box (COCO's own setting: the BBOB functions
   are defined everywhere); ``pypop7``: ``pypop7.optimizers.es.cmaes.CMAES`` with ``is_restart=False``
   (it ignores the box: the column "out" is the fraction of its evaluations outside it).
   Reported: median evaluations of the successful runs, successes, and the optimizer's overhead per
   evaluation (wall time minus time in the objective, divided by the evaluations).
2. **BIPOP** on f15 (Rastrigin), f17 (Schaffer F7) and f21 (Gallagher 101 peaks), d = 10, budget B:
   ``CMAES(restarts="bipop", sigma0=2)`` vs ``cma.fmin2(f, x0, 2, restarts=9, bipop=True)`` with a new
   uniform x0 in [-4, 4]^d per restart, with and without ``bounds``; success = f - f_opt <= 1e-8 within B evaluations.
3. **Overhead per evaluation** on the sphere at d = 40 and d = 200 (a fixed number of generations,
   stopping rules off), optkit's ask/tell against pycma's ask/tell, with and without pycma's bounds;
   runs interleaved, median over repetitions.

Times are CPU times of this process (``time.process_time``), so that other jobs on a shared machine
do not inflate them; the objective's time (and this script's bookkeeping) is subtracted.

BLAS threads are limited to ``--threads`` (default 1, through threadpoolctl) for every method alike:
on a shared 2-core machine multi-threaded eigendecompositions of 200 x 200 matrices are dominated by
contention.

Run::

    python benchmarks/compare_cmaes.py --quick        # ~3 minutes: d = 10, 3 seeds, short BIPOP
    python benchmarks/compare_cmaes.py                # full tables (about an hour on 2 cores)
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import optkit
from optkit.population.cmaes import CMAES
from optkit.problems.bbob import BBOBFunction

TARGET = 1e-8


class _Done(Exception):
    """Raised by the counting objective when the target is hit or the budget is spent."""


class Objective:
    """A BBOB function that counts evaluations, their time, points outside [-5, 5]^d and the first hit."""

    def __init__(self, fun: BBOBFunction, budget: int):
        self.fun, self.budget = fun, budget
        self.n = self.outside = 0
        self.seconds = 0.0
        self.hit: int | None = None

    def batch(self, X) -> np.ndarray:
        t = time.process_time()
        try:
            return self._batch(X)
        finally:  # all the bookkeeping counts as objective time, not the optimizer's
            self.seconds += time.process_time() - t

    def _batch(self, X) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        y = self.fun(X)
        self.outside += int(np.sum(np.any(np.abs(X) > 5.0, axis=1)))
        ok = np.flatnonzero(y - self.fun.f_opt <= TARGET)
        if ok.size:
            self.hit = self.n + int(ok[0]) + 1
            self.n += int(ok[0]) + 1
            raise _Done
        self.n += len(y)
        if self.n >= self.budget:
            raise _Done
        return y

    def one(self, x) -> float:
        return float(self.batch(x)[0])


def _x0(d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(1000 + seed).uniform(-4, 4, d)


# -- single runs ------------------------------------------------------------------------------------
def run_optkit(obj: Objective, d: int, seed: int, **params) -> None:
    opt = CMAES(optkit.Box(-5.0, 5.0, dim=d), x0=_x0(d, seed), sigma0=2.0, seed=seed, **params)
    while opt.stop_reason() is None:
        X = opt.ask()
        opt.tell(X, obj.batch(X))


def run_pycma(obj: Objective, d: int, seed: int, bounds=True) -> None:
    import cma

    lam = 4 + int(3 * np.log(d))
    opts = {"popsize": lam, "seed": seed + 1, "verbose": -9, "maxfevals": obj.budget}
    if bounds:
        opts["bounds"] = [-5, 5]
    es = cma.CMAEvolutionStrategy(_x0(d, seed), 2.0, opts)
    while not es.stop():
        X = es.ask()
        es.tell(X, [obj.one(x) for x in X])


def run_pypop7(obj: Objective, d: int, seed: int) -> None:
    from pypop7.optimizers.es.cmaes import CMAES as PP7CMAES

    problem = {"fitness_function": obj.one, "ndim_problem": d, "lower_boundary": -5 * np.ones(d),
               "upper_boundary": 5 * np.ones(d)}
    options = {"max_function_evaluations": obj.budget, "seed_rng": seed, "mean": _x0(d, seed), "sigma": 2.0,
               "verbose": False, "is_restart": False, "saving_fitness": 0}
    PP7CMAES(problem, options).optimize()


def run_pycma_bipop(obj: Objective, d: int, seed: int, bounds=True) -> None:
    import cma

    rng = np.random.default_rng(2000 + seed)
    opts = {"seed": seed + 1, "verbose": -9, "maxfevals": obj.budget}
    if bounds:
        opts["bounds"] = [-5, 5]
    cma.fmin2(obj.one, lambda: rng.uniform(-4, 4, d), 2.0, opts, restarts=9, bipop=True)


RUNNERS = {"optkit": run_optkit, "pycma": run_pycma, "pycma-nobounds": lambda obj, d, s: run_pycma(obj, d, s, False),
           "pypop7": run_pypop7}


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


def table_evals(dims, functions, seeds, budget_per_d) -> None:
    print("\n### Evaluations to f - f_opt <= 1e-8 (single run, no restarts)\n")
    print("| f | d | method | median evals | successes | overhead us/eval | out of box |")
    print("|---|---|---|---|---|---|---|")
    for d in dims:
        for f in functions:
            fun = BBOBFunction(f, d, 1)
            for name, runner in RUNNERS.items():
                evals, over, out, ok = [], [], 0.0, 0
                for s in range(seeds):
                    obj = Objective(fun, budget_per_d * d)
                    over.append(timed(runner, obj, d, s))
                    out += obj.outside / max(obj.n, 1)
                    if obj.hit is not None:
                        ok += 1
                        evals.append(obj.hit)
                med = f"{int(np.median(evals))}" if evals else "-"
                print(f"| f{f} | {d} | {name} | {med} | {ok}/{seeds} | {np.median(over):.0f} | {out / seeds:.1%} |",
                      flush=True)


def table_bipop(d, functions, seeds, budget) -> None:
    print(f"\n### BIPOP restarts, d = {d}, budget {budget} evaluations, target 1e-8\n")
    print("| f | method | successes | median evals of successes | overhead us/eval |")
    print("|---|---|---|---|---|")
    for f in functions:
        fun = BBOBFunction(f, d, 1)
        for name in ("optkit-bipop", "pycma-bipop", "pycma-bipop-nobounds"):
            evals, over = [], []
            for s in range(seeds):
                obj = Objective(fun, budget)
                if name == "optkit-bipop":
                    over.append(timed(run_optkit, obj, d, s, restarts="bipop"))
                else:
                    over.append(timed(run_pycma_bipop, obj, d, s, bounds=name == "pycma-bipop"))
                if obj.hit is not None:
                    evals.append(obj.hit)
            med = f"{int(np.median(evals))}" if evals else "-"
            print(f"| f{f} | {name} | {len(evals)}/{seeds} | {med} | {np.median(over):.0f} |", flush=True)


def table_overhead(dims_gens, reps) -> None:
    print("\n### Optimizer overhead per evaluation on the sphere (ask/tell, stopping rules off)\n")
    print("| d | lambda | optkit us/eval | pycma (bounds) us/eval | pycma (no bounds) us/eval "
          "| ratio to pycma (bounds) | ratio to pycma (no bounds) |")
    print("|---|---|---|---|---|---|---|")
    off = {"tolx": 0.0, "tolfun": 0.0, "tolfunhist": 0.0, "tolstagnation": 0}
    for d, gens in dims_gens:
        lam = 4 + int(3 * np.log(d))
        fun = BBOBFunction(1, d, 1)
        res = {"optkit": [], "pycma-b": [], "pycma": []}
        for r in range(reps):
            for name in res:
                obj = Objective(fun, gens * lam)
                if name == "optkit":
                    res[name].append(timed(run_optkit, obj, d, r, **off))
                else:
                    res[name].append(timed(run_pycma, obj, d, r, bounds=name == "pycma-b"))
        m = {k: float(np.median(v)) for k, v in res.items()}
        print(f"| {d} | {lam} | {m['optkit']:.0f} | {m['pycma-b']:.0f} | {m['pycma']:.0f} "
              f"| {m['optkit'] / m['pycma-b']:.2f} | {m['optkit'] / m['pycma']:.2f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="d = 10 only, 3 seeds, short BIPOP (~3 minutes)")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads for every method (default 1)")
    ap.add_argument("--tables", nargs="+", default=["evals", "bipop", "overhead"],
                    choices=["evals", "bipop", "overhead"])
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=args.threads):
        q = args.quick
        seeds = args.seeds or (3 if q else 7)
        print(f"optkit cmaes vs pycma vs pypop7 ({'quick' if q else 'full'}; {seeds} seeds; BLAS threads {args.threads})")
        if "evals" in args.tables:
            table_evals([10] if q else [10, 40], [2, 8, 10, 11], seeds, 2000 if q else 5000)
        if "bipop" in args.tables:
            table_bipop(5 if q else 10, [15, 17, 21], seeds, 20000 if q else 200000)
        if "overhead" in args.tables:
            table_overhead([(40, 150), (200, 40)] if q else [(40, 400), (200, 120)], 3 if q else 7)


if __name__ == "__main__":
    main()
