"""Frank-Wolfe against projected gradient, in one process.

1. **Time to a certified gap of 1e-6** on the l1-ball (sparse regression) and simplex (planted quadratic)
   problems of :mod:`optkit.problems.fw`: ``frank-wolfe`` (vanilla, away, pairwise, lazy away; the
   default adaptive short step and the exact line search) and projected gradient (step 1/L with the
   exact L, Euclidean projection by sorting: Duchi et al. 2008). Both stop on the same certificate, the
   Frank-Wolfe gap <g, x - v> <= 1e-6 (for projected gradient one LMO call per iteration computes it;
   that cost is inside its times). Iterations (gradient evaluations, the last one certifying), LMO calls
   (projections for projected gradient), seconds, f - f* at the stop.
2. **Seconds per iteration on nuclear-norm matrix completion** (a rank-5 matrix, 20% observed, radius
   ||M||_*) at 500 x 500 and 2,000 x 2,000: ``frank-wolfe`` (one top singular pair by ARPACK Lanczos per
   iteration) against projected gradient, whose projection onto the nuclear-norm ball needs a full SVD.
   Median seconds per iteration and f after the measured iterations.

    OMP_NUM_THREADS=1 python benchmarks/frank_wolfe.py           # the full run (about 4 minutes)
    OMP_NUM_THREADS=1 python benchmarks/frank_wolfe.py --quick   # a smoke run
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import optkit
from optkit.problems.fw import matrix_completion, simplex_quadratic, sparse_regression

TOL = 1e-6


def _lipschitz(problem) -> float:
    """The largest Hessian eigenvalue of a quadratic problem, by power iteration on its hvp (uncounted)."""
    v = np.random.default_rng(0).standard_normal(problem.dim)
    lam = 0.0
    for _ in range(500):
        w = problem._hvp(problem.w0, v, None)
        lam_new = float(np.linalg.norm(w))
        v = w / lam_new
        if abs(lam_new - lam) <= 1e-10 * lam_new:
            break
        lam = lam_new
    return lam_new


def run_fw(problem, lmo, max_iter, **kw):
    opt = optkit.make("frank-wolfe", problem.space, lmo=lmo, tol=TOL, **kw)
    opt._max_iter = max_iter
    t0 = time.perf_counter()
    res = opt.minimize(problem, 10**12)
    sec = time.perf_counter() - t0
    return dict(iters=res.nit, oracle=res.lmo_calls, sec=sec, gap=res.gap, sub=res.fun - problem.f_opt,
                done=res.status == optkit.Status.CONVERGED)


def run_pg(problem, lmo, max_iter):
    """Projected gradient x <- P(x - g / L), stopped by the same FW-gap certificate."""
    L = _lipschitz(problem)
    x = problem.w0
    t0 = time.perf_counter()
    gap, it = np.inf, 0
    while it < max_iter:
        _, g = problem._lg(x, None)
        gap = float(g @ (x - lmo.lmo(g)))
        if gap <= TOL:
            break
        x = lmo._project(x - g / L)
        it += 1
    sec = time.perf_counter() - t0
    evals = it + 1 if gap <= TOL else it  # gradient evaluations, as frank-wolfe's nit counts them
    return dict(iters=evals, oracle=evals, sec=sec, gap=gap, sub=problem.objective(x) - problem.f_opt, done=gap <= TOL)


def part1(quick: bool) -> None:
    cases = [
        ("l1 ball: sparse regression n=200, d=500, k=10", sparse_regression(n=200, dim=500, k=10, seed=0)),
        ("l1 ball: sparse regression n=1000, d=5000, k=20", sparse_regression(n=1000, dim=5000, k=20, seed=0)),
        ("simplex: planted quadratic d=200, support 10", simplex_quadratic(dim=200, support=10, condition=100.0, seed=0)),
        ("simplex: planted quadratic d=2000, support 20", simplex_quadratic(dim=2000, support=20, condition=100.0, seed=0)),
    ]
    if quick:
        cases = cases[::2]
    max_iter = 2000 if quick else 5000
    methods = [
        ("frank-wolfe vanilla, short", dict(variant="vanilla")),
        ("frank-wolfe away, short", dict(variant="away")),
        ("frank-wolfe pairwise, short", dict(variant="pairwise")),
        ("frank-wolfe away, line-search", dict(variant="away", step="line-search")),
        ("frank-wolfe pairwise, line-search", dict(variant="pairwise", step="line-search")),
        ("frank-wolfe away, short, lazy", dict(variant="away", lazy=True)),
    ]
    print(f"## 1. iterations and seconds to a Frank-Wolfe gap <= {TOL:g} (at most {max_iter} iterations)\n")
    for title, (problem, lmo) in cases:
        print(f"### {title}\n")
        print("| method | iterations | LMO calls / projections | seconds | gap at stop | f - f* at stop |")
        print("| --- | --- | --- | --- | --- | --- |")
        rows = [(name, run_fw(problem, lmo, max_iter, **kw)) for name, kw in methods]
        rows.append(("projected gradient, step 1/L", run_pg(problem, lmo, max_iter)))
        for name, r in rows:
            it = f"{r['iters']}" if r["done"] else f"> {r['iters']} (not reached)"
            print(f"| {name} | {it} | {r['oracle']} | {r['sec']:.3f} | {r['gap']:.1e} | {r['sub']:.1e} |")
        print()


def part2(quick: bool) -> None:
    sizes = [(500, 10, 3), (2000, 10, 3)] if not quick else [(300, 5, 2)]
    print("## 2. nuclear-norm matrix completion: seconds per iteration (rank 5, 20% observed)\n")
    print("| size | method | iterations timed | median s / iteration | f after them |")
    print("| --- | --- | --- | --- | --- |")
    for n, fw_iters, pg_iters in sizes:
        problem, lmo = matrix_completion(n, n, rank=5, observed=0.2, seed=0)
        opt = optkit.make("frank-wolfe", problem.space, lmo=lmo, step="line-search", tol=0.0)
        opt._max_iter = fw_iters
        res = opt.minimize(problem, 10**12)
        print(f"| {n} x {n} | frank-wolfe (Lanczos top pair, exact line search) | {res.nit} | "
              f"{np.median(res.history.seconds):.3f} | {res.fun:.4f} |")
        x, secs = problem.w0, []
        L = 1.0 / problem.n_examples  # the Hessian of F is P_Omega / |Omega|
        for _ in range(pg_iters):
            t0 = time.perf_counter()
            _, g = problem._lg(x, None)
            x = lmo._project(x - g / L)  # full SVD of the n x n matrix, then the l1-ball projection of its singular values
            secs.append(time.perf_counter() - t0)
        print(f"| {n} x {n} | projected gradient (full-SVD projection), step 1/L | {pg_iters} | {np.median(secs):.3f} | "
              f"{problem.objective(x):.4f} |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = ap.parse_args()
    part1(args.quick)
    part2(args.quick)


if __name__ == "__main__":
    main()
