"""Particle swarms and genetic algorithms side by side: optkit vs PyPop7 vs Nevergrad on BBOB.

Methods: optkit's ``pso`` (SPSO-2011), ``clpso`` (run length set to the budget) and ``ga``;
PyPop7's SPSO and CLPSO (``pypop7.optimizers.pso``) and GENITOR and G3PCX (``pypop7.optimizers.ga``),
with their default settings; Nevergrad's ``PSO``, run in a subprocess with a timeout (under numpy 2.4
Nevergrad can hang when the interpreter exits), on ``ng.p.Array(shape=(d,)).set_bounds(-5, 5,
method="clipping")``: with Nevergrad's default bound method ("bouncing", also used by
``ng.p.Array(lower=, upper=)``) its PSO stalls (measured here: f1 gap 8 to 55 after 5000 evaluations,
against 4e-10 with clipping). Note that PyPop7's "SPSO" is a global-best PSO with an inertia weight
decreasing from 0.9 to 0.4, not Clerc's SPSO-2011, and PyPop7's CLPSO follows the authors' later MATLAB
code (w from 0.9 to 0.2, Pc from 0 to 0.5) rather than the paper.

Problems: COCO's BBOB f1 (sphere), f15 (rotated Rastrigin), f21 (Gallagher 101 peaks) in d = 10,
instances 1..S (one run per instance, seed = instance), budget B evaluations.

Reported per method and function: median final gap f_best - f_opt at the budget, success rate (gap <=
1e-8), median evaluations to reach 1e-8 over the successful runs, optimizer overhead per evaluation
(wall time minus time spent in the objective, divided by evaluations), and the fraction of evaluations
outside the box [-5, 5]^d (PyPop7's PSOs and GAs do not enforce bounds by default; BBOB functions are
defined there too, so those values count, but the fraction is shown rather than silently clipped).

Run: ``python benchmarks/compare_pso_ga.py`` (B = 20000, S = 5) or ``--quick`` (B = 10000, S = 3,
under ~3 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np

import optkit
from optkit.problems.bbob import BBOBFunction

DIM = 10
FUNCTIONS = {1: "f1 sphere", 15: "f15 Rastrigin", 21: "f21 Gallagher 101"}
TARGET = 1e-8
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Tracked:
    """A BBOB function that times itself and records the first evaluation reaching the target."""

    def __init__(self, f: BBOBFunction):
        self.f, self.seconds, self.n, self.n_out = f, 0.0, 0, 0
        self.best, self.hit = np.inf, None

    def batch(self, X):
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        t0 = time.perf_counter()
        y = self.f(X)
        self.seconds += time.perf_counter() - t0
        self.n_out += int(np.sum(np.any(np.abs(X) > 5.0, axis=1)))
        gaps = y - self.f.f_opt
        below = np.flatnonzero(gaps <= TARGET)
        if self.hit is None and below.size:
            self.hit = self.n + int(below[0]) + 1
        self.best = min(self.best, float(gaps.min()))
        self.n += len(X)
        return y

    def point(self, x):
        return float(self.batch(np.asarray(x)[None, :])[0])


def run_optkit(method, fid, inst, budget):
    tr = Tracked(BBOBFunction(fid, DIM, inst))
    problem = optkit.Problem(tr.batch, optkit.Box(-5.0, 5.0, dim=DIM), vectorized=True)
    extra = {"max_evals": budget} if method == "clpso" else {}
    t0 = time.perf_counter()
    optkit.make(method, problem.space, seed=inst, **extra).minimize(problem, budget)
    return tr, time.perf_counter() - t0


def run_pypop7(cls_path, fid, inst, budget):
    import importlib

    module, name = cls_path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    tr = Tracked(BBOBFunction(fid, DIM, inst))
    problem = {"fitness_function": tr.point, "ndim_problem": DIM, "lower_boundary": -5.0 * np.ones(DIM),
               "upper_boundary": 5.0 * np.ones(DIM)}
    options = {"max_function_evaluations": budget, "seed_rng": inst, "verbose": 0, "saving_fitness": 0}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cls(problem, options).optimize()
    return tr, time.perf_counter() - t0


_NEVERGRAD = r"""
import json, os, sys, time
import numpy as np
sys.path.insert(0, {root!r})
sys.path.insert(0, os.path.join({root!r}, "benchmarks"))
from compare_pso_ga import Tracked, DIM
from optkit.problems.bbob import BBOBFunction
import nevergrad as ng
for fid, inst in {runs!r}:
    tr = Tracked(BBOBFunction(fid, DIM, inst))
    param = ng.p.Array(shape=(DIM,)).set_bounds(-5.0, 5.0, method="clipping")
    param.random_state = np.random.RandomState(inst)
    t0 = time.perf_counter()
    opt = ng.optimizers.PSO(parametrization=param, budget={budget})
    for _ in range({budget}):
        cand = opt.ask()
        opt.tell(cand, tr.point(cand.value))
    wall = time.perf_counter() - t0
    print(json.dumps([fid, inst, tr.best, tr.hit, tr.n, tr.n_out, tr.seconds, wall]), flush=True)
os._exit(0)
"""


def run_nevergrad(runs, budget, timeout):
    """All Nevergrad runs in one subprocess; whatever finished before the timeout is returned."""
    code = _NEVERGRAD.format(root=ROOT, runs=runs, budget=budget)
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout).stdout
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
    results = {}
    for line in out.splitlines():
        try:
            fid, inst, best, hit, n, n_out, secs, wall = json.loads(line)
        except ValueError:
            continue
        tr = Tracked.__new__(Tracked)
        tr.best, tr.hit, tr.n, tr.n_out, tr.seconds = best, hit, n, n_out, secs
        results[(fid, inst)] = (tr, wall)
    return results


OPTKIT = ["pso", "clpso", "ga"]
PYPOP7 = {
    "pypop7 SPSO": "pypop7.optimizers.pso.spso.SPSO",
    "pypop7 CLPSO": "pypop7.optimizers.pso.clpso.CLPSO",
    "pypop7 GENITOR": "pypop7.optimizers.ga.genitor.GENITOR",
    "pypop7 G3PCX": "pypop7.optimizers.ga.g3pcx.G3PCX",
}


def summarize(rows):
    gaps = np.array([max(tr.best, 0.0) for tr, _ in rows])
    hits = [tr.hit for tr, _ in rows if tr.hit is not None]
    evals = sum(tr.n for tr, _ in rows)
    overhead = sum(wall - tr.seconds for tr, wall in rows) / max(evals, 1)
    out = sum(tr.n_out for tr, _ in rows) / max(evals, 1)
    return {
        "gap": float(np.median(gaps)),
        "success": f"{len(hits)}/{len(rows)}",
        "evals": f"{int(np.median(hits))}" if hits else "-",
        "overhead_us": 1e6 * overhead,
        "outside": out,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="budget 10000, 3 instances (under ~3 minutes)")
    ap.add_argument("--budget", type=int, default=None)
    ap.add_argument("--instances", type=int, default=None)
    ap.add_argument("--no-nevergrad", action="store_true")
    args = ap.parse_args(argv)
    budget = args.budget or (10000 if args.quick else 20000)
    n_inst = args.instances or (3 if args.quick else 5)
    instances = list(range(1, n_inst + 1))
    runs = [(f, i) for f in FUNCTIONS for i in instances]

    results: dict[str, dict] = {}
    t_start = time.perf_counter()
    for m in OPTKIT:
        results[f"optkit {m}"] = {(f, i): run_optkit(m, f, i, budget) for f, i in runs}
    for label, path in PYPOP7.items():
        results[label] = {(f, i): run_pypop7(path, f, i, budget) for f, i in runs}
    if not args.no_nevergrad:
        results["nevergrad PSO"] = run_nevergrad(runs, budget, timeout=60 + 0.002 * budget * len(runs))

    print(f"BBOB d={DIM}, budget {budget} evaluations, instances {instances} (seed = instance); "
          f"gap = f_best - f_opt at the budget; success = gap <= {TARGET:g}\n")
    print("| function | method | median final gap | success | median evals to 1e-8 | overhead / eval (us) | outside box |")
    print("|---|---|---|---|---|---|---|")
    for f, fname in FUNCTIONS.items():
        for label, res in results.items():
            rows = [res[(f, i)] for i in instances if (f, i) in res]
            if not rows:
                print(f"| {fname} | {label} | (timed out) | | | | |")
                continue
            s = summarize(rows)
            print(f"| {fname} | {label} | {s['gap']:.3g} | {s['success']} | {s['evals']} | "
                  f"{s['overhead_us']:.1f} | {100 * s['outside']:.1f}% |")
    print(f"\ntotal time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
