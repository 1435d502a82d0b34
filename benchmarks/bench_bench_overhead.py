"""What ``optkit bench`` itself costs: bookkeeping per evaluation, and cells in 2 worker processes.

1. Overhead per evaluation: one bench cell (``run_one``: build the BBOB problem, run, then hitting
   times, the 51 ECDF hits, the trace, the memory probe, the warnings capture) plus storing its row
   (``ResultStore.add``: one SQLite transaction and one JSON line), against the same optimizer run
   directly (``bbob(...)``, ``optkit.make``, ``minimize``) on the same problem and seed. The
   difference over the evaluations made is the bench's cost per evaluation; the objective (BBOB f1,
   the sphere) and the optimizer are the same on both sides.
2. A 1,000-cell tiny suite (random search and Nelder-Mead, BBOB f1..f5, d 2 and 5, 50 seeds,
   100*dim evaluations) stored as ``optkit bench`` stores it, serially and with ``workers=2``.

Run: ``python benchmarks/bench_bench_overhead.py`` (prints the markdown tables of docs/benchmarks.md).
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import time

import optkit
from optkit.bench.parallel import run_cells
from optkit.bench.runner import ResultStore, RunSpec, plan, run_one
from optkit.problems.bbob import bbob

REPEATS = 7


def direct(spec: RunSpec) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    problem = bbob(spec.function, spec.dim, spec.instance)
    optkit.make(spec.method, problem.space, seed=spec.seed).minimize(problem, spec.budget)
    return time.perf_counter() - t0, time.process_time() - c0


def through_the_bench(spec: RunSpec, store: ResultStore, i: int) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    row = run_one(spec)
    row["run_id"], row["bench_id"] = f"{store.bench_id}-{i:05d}", store.bench_id
    store.add(row)
    return time.perf_counter() - t0, time.process_time() - c0


def overhead_table() -> list[str]:
    lines = ["| method | d | evaluations | direct run: CPU s (wall s) | bench cell + store: CPU s (wall s) | bench cost per "
             "evaluation, CPU (us) |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as d, ResultStore(d) as store:
        store.begin(suite=None, argv=["bench_bench_overhead"], jobs=1, config={})
        i = 0
        for method, dim, budget in (("random", 2, 20_000), ("nelder-mead", 2, 20_000), ("random", 10, 20_000),
                                    ("cmaes", 10, 20_000)):
            spec = RunSpec(method, 1, dim, 0, budget)
            run_one(spec), direct(spec)  # warm-up: imports, first-call costs
            a, b = [], []
            for _ in range(REPEATS):  # interleaved, so that a change in the machine's load hits both
                a.append(direct(spec))
                b.append(through_the_bench(spec, store, i))
                i += 1
            # CPU time, least of the repeats: what the process itself spent, robust to other processes
            # sharing the CPUs (the wall times, medians, are shown too)
            ca, cb = min(c for _, c in a), min(c for _, c in b)
            wa, wb = statistics.median(w for w, _ in a), statistics.median(w for w, _ in b)
            lines.append(f"| {method} | {dim} | {budget} | {ca:.3f} ({wa:.3f}) | {cb:.3f} ({wb:.3f}) | "
                         f"{(cb - ca) / budget * 1e6:.2f} |")
    return lines


def bookkeeping_table(n: int = 20_000, dim: int = 10) -> list[str]:
    """The bench's own steps alone, timed on the result of one run of ``n`` evaluations (CPU, least of 20)."""
    from optkit.bench.measures import MemoryProbe, run_measures
    from optkit.bench.runner import evals_to_targets, outside_box_fraction

    problem = bbob(1, dim, 1)
    res = optkit.make("random", problem.space, seed=0).minimize(problem, n)
    spec = RunSpec("random", 1, dim, 0, n)
    row = run_one(spec)
    steps = {
        "hitting time of the target(s)": lambda: evals_to_targets(res.best_so_far, problem.f_opt, spec.targets),
        "trace + 51 ECDF hitting times": lambda: run_measures(res.best_so_far, problem.f_opt),
        "share outside the box": lambda: outside_box_fraction(res.history.X, problem.space),
        "time in the objective (sum)": lambda: float(res.history.seconds.sum()),
        "memory probe (reset + read)": lambda: MemoryProbe().read(),
    }
    lines = ["| step | CPU per cell (us) | per evaluation (us) |", "|---|---|---|"]
    total = 0.0
    with tempfile.TemporaryDirectory() as d, ResultStore(d) as store:
        store.begin(suite=None, argv=["bench_bench_overhead"], jobs=1, config={})
        counter = iter(range(10**6))

        def add():
            r = dict(row, run_id=f"{store.bench_id}-{next(counter):05d}", bench_id=store.bench_id)
            store.add(r)

        steps["store the row (SQLite + JSON line)"] = add
        for name, fn in steps.items():
            best = math.inf
            for _ in range(20):
                c0 = time.process_time()
                fn()
                best = min(best, time.process_time() - c0)
            total += best
            lines.append(f"| {name} | {best * 1e6:.0f} | {best / n * 1e6:.3f} |")
    lines.append(f"| **all** ({n} evaluations, d {dim}) | {total * 1e6:.0f} | {total / n * 1e6:.3f} |")
    return lines


def cells_table() -> list[str]:
    specs = plan(["random", "nelder-mead"], [1, 2, 3, 4, 5], [2, 5], list(range(50)), budget_per_dim=100)
    assert len(specs) == 1000
    times, cpus = {}, {}
    for workers in (1, 2, 1, 2):
        with tempfile.TemporaryDirectory() as d, ResultStore(d) as store:
            bench_id = store.begin(suite=None, argv=["bench_bench_overhead"], jobs=workers, config={})
            t0, c0 = time.perf_counter(), _cpu()
            rows = run_cells(specs, bench_id=bench_id, workers=workers, on_row=store.add)
            times.setdefault(workers, []).append(time.perf_counter() - t0)
            cpus.setdefault(workers, []).append(_cpu() - c0)
            store.finish()
            assert len(rows) == 1000 and not any(r["status"] == "FAILED" for r in rows)
    t1, t2 = min(times[1]), min(times[2])
    c1, c2 = min(cpus[1]), min(cpus[2])
    return ["| cells | serial: wall s (CPU s) | --workers 2: wall s (CPU s, this process + workers) | wall ratio | CPU ratio |",
            "|---|---|---|---|---|",
            f"| 1000 | {t1:.2f} ({c1:.2f}) | {t2:.2f} ({c2:.2f}) | {t2 / t1:.0%} | {c2 / c1:.0%} |",
            "", f"(best of 2 each; load average after: {os.getloadavg()[0]:.1f})"]


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers, once joined)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    load = os.getloadavg()[0]
    print(f"load average at the start: {load:.1f}; {os.cpu_count()} CPUs\n")
    print("\n".join(bookkeeping_table()))
    print()
    print("\n".join(overhead_table()))
    print()
    print("\n".join(cells_table()))
