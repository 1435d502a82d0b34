"""Bilevel benchmarks: hypergradient error against the analytic one, and the upper-level objective
against oracle calls for each method on ridge HPO (diabetes) and data hyper-cleaning (digits).

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/bilevel.py            (about 1-2 minutes)

Prints markdown tables (the ones in docs/benchmarks.md, section "Bilevel optimization").
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import optkit
from optkit.bilevel import problems as P
from optkit.bilevel.implicit import implicit_hypergradient, unrolled_hypergradient


def hypergradient_errors(steps=(1, 2, 5, 10, 20, 50, 100)) -> None:
    """Relative error ||h - grad F|| / ||grad F|| of each estimator against the analytic hypergradient."""
    cases = [("toy quadratic (dy=5)", P.toy_quadratic(), np.array([0.3, -0.2, 0.5]), 0.5),
             ("ridge HPO, diabetes (dy=11)", P.ridge_hpo(), np.full(10, -1.0), 0.2)]
    for label, p, x, eta in cases:
        y = p.lower_argmin(x)
        exact = p.exact_hypergradient(x)  # closed form (toy: M^T (M x - t) + rho x; ridge: a dense solve)
        scale = np.linalg.norm(exact)
        print(f"\n**{label}**, at y = y*(x) for CG and Neumann (eta = {eta}), from y0 = 0 for unrolled (eta = {eta}):\n")
        print("| steps K | CG | Neumann | unrolled (cold start) | oracle calls per example: CG / Neumann / unrolled |")
        print("| --- | --- | --- | --- | --- |")
        for k in steps:
            p.reset_counts()
            h_cg = implicit_hypergradient(p, x, y, method="cg", steps=k)[0]
            c_cg = p.calls / p.n_lower
            p.reset_counts()
            h_nm = implicit_hypergradient(p, x, y, method="neumann", steps=k, lr=eta)[0]
            c_nm = p.calls / p.n_lower
            p.reset_counts()
            h_un = unrolled_hypergradient(p, x, np.zeros(p.dim_lower), steps=k, lr=eta)[0]
            c_un = p.calls / p.n_lower
            errs = [np.linalg.norm(h - exact) / scale for h in (h_cg, h_nm, h_un)]
            print(f"| {k} | {errs[0]:.1e} | {errs[1]:.1e} | {errs[2]:.1e} | {c_cg:.0f} / {c_nm:.0f} / {c_un:.0f} |")


METHODS = {
    "ridge": [
        ("implicit, CG", "bilevel-implicit", {"hypergrad": "cg", "lr": 3.0, "lr_inner": 0.05, "inner_steps": 10, "solver_steps": 10}),
        ("implicit, Neumann", "bilevel-implicit", {"hypergrad": "neumann", "lr": 3.0, "lr_inner": 0.05, "inner_steps": 10,
                                                    "solver_steps": 10}),
        ("unrolled (ITD)", "bilevel-implicit", {"hypergrad": "unrolled", "lr": 3.0, "lr_inner": 0.05, "inner_steps": 10}),
        ("penalty", "bilevel-penalty", {"lr": 3.0, "lr_inner": 0.05, "inner_steps": 10, "sigma": 1e-2}),
        ("decentralized, 4 agents ring", "bilevel-decentralized", {"lr": 3.0, "lr_inner": 0.05}),
    ],
    "cleaning": [
        ("implicit, CG", "bilevel-implicit", {"hypergrad": "cg", "lr": 100.0, "lr_inner": 1.0, "inner_steps": 5, "solver_steps": 10}),
        ("implicit, Neumann", "bilevel-implicit", {"hypergrad": "neumann", "lr": 100.0, "lr_inner": 1.0, "inner_steps": 5,
                                                    "solver_steps": 10}),
        ("unrolled (ITD)", "bilevel-implicit", {"hypergrad": "unrolled", "lr": 100.0, "lr_inner": 1.0, "inner_steps": 5}),
        ("penalty", "bilevel-penalty", {"lr": 100.0, "lr_inner": 1.0, "inner_steps": 5, "sigma": 1e-2}),
        ("decentralized, 4 agents ring", "bilevel-decentralized", {"lr": 100.0, "lr_inner": 0.5}),
    ],
}


def curves(key: str, problem_factory, budget: int, batch: int, seeds, fractions=(0.1, 0.25, 0.5, 1.0)) -> None:
    p0 = problem_factory()
    F0 = p0.upper_objective(p0.x0)
    extra = "test accuracy" if key == "cleaning" else "validation MSE"
    print(f"\n**{p0.name}** (dx = {p0.dim}, dy = {p0.dim_lower}, {p0.n_lower} lower / {p0.n_upper} upper examples), "
          f"minibatches of {batch}, F(x0) = {F0:.4f}; mean over seeds {list(seeds)}:\n")
    head = " | ".join(f"F at {int(f * budget):,} calls" for f in fractions)
    print(f"| method | {head} | {extra} at the end | seconds per run |")
    print("| --- |" + " --- |" * (len(fractions) + 2))
    for label, name, kw in METHODS[key]:
        table = np.zeros((len(seeds), len(fractions)))
        ends, secs = [], []
        for s, seed in enumerate(seeds):
            p = problem_factory()
            trace = []
            opt = optkit.make(name, p.space, batch_size=batch, upper_batch_size=batch, seed=seed, **kw)
            tic = time.perf_counter()
            res = opt.minimize(p, budget, callback=lambda r, trace=trace: trace.append((r.nfev, r.x.copy())))
            secs.append(time.perf_counter() - tic)
            calls = np.array([c for c, _ in trace])
            for j, f in enumerate(fractions):
                i = int(np.searchsorted(calls, f * budget, side="right")) - 1
                x = p.x0 if i < 0 else trace[i][1]
                table[s, j] = p.upper_objective(x)
            m = p.metrics(res.x, p.lower_argmin(res.x))
            ends.append(m["test_accuracy"] if key == "cleaning" else 2 * res.fun)
        cells = " | ".join(f"{v:.4f}" for v in table.mean(axis=0))
        print(f"| {label} | {cells} | {np.mean(ends):.4f} | {np.mean(secs):.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    seeds = list(range(args.seeds))
    print("### Hypergradient error against the analytic hypergradient")
    hypergradient_errors()
    print("\n### Upper-level objective F(x) = f(x, y*(x)) against oracle calls")
    curves("ridge", P.ridge_hpo, 400_000, 32, seeds)
    from scipy.optimize import minimize

    p = P.ridge_hpo()
    ref = minimize(lambda x: (p.upper_objective(x), p.exact_hypergradient(x)), p.x0, jac=True, method="L-BFGS-B",
                   bounds=list(zip(p.space.lower, p.space.upper)))
    print(f"\n(reference: L-BFGS-B on the exact hyper-objective and hypergradient, uncounted: F = {ref.fun:.4f})")
    curves("cleaning", lambda: P.hyper_cleaning(corruption=0.4), 400_000, 100, seeds)
    p = P.hyper_cleaning(corruption=0.4)
    print(f"\n(hyper-cleaning without cleaning, x = x0 (all weights 1/2): test accuracy "
          f"{p.metrics(p.x0, p.lower_argmin(p.x0))['test_accuracy']:.4f})")


if __name__ == "__main__":
    main()
