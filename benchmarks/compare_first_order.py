"""Polyak step sizes (SPS, SPSmax, PSPS) against tuned SGD and Adam on finite-sum problems.

For each problem and method: oracle calls (examples through an oracle; an epoch is n) and wall time to
reach a target suboptimality F(w_t) - f_opt, over several seeds (median, and how many seeds reached
it), plus the final suboptimality. SGD and Adam get their learning rate tuned on seed 0 from a log
grid (the best time to target, then the best final gap); the Polyak methods run with their defaults
(c, and f_star = 0, the lower bound of these non-negative losses). A second table is the step-size
sensitivity sweep: the final suboptimality of SGD and Adam across the learning-rate grid, and of
SPS/PSPS across their one constant c.

    python benchmarks/compare_first_order.py                 # the full run (a few minutes on 2 cores)
    python benchmarks/compare_first_order.py --quick         # a smoke run

Wall time counts the optimizer's iterations (oracle calls included), not the uncounted full-loss
evaluations that locate the target (made every 1/8 epoch, the resolution of the "to target" columns).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import optkit

LR_GRID = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0, 10.0]
C_GRID = [0.2, 0.5, 1.0, 2.0]

# problem -> (target suboptimality, epochs)
PROBLEMS = {
    "logreg_breast_cancer": (1e-3, 60),
    "logreg_breast_cancer_scaled": (1e-2, 60),
    "least_squares_illcond": (1e-3, 60),
    "softmax_digits": (1e-2, 20),
}

POLYAK = {
    "sps": ("sps", {}),
    "spsmax(gamma_max=1)": ("sps", {"gamma_max": 1.0}),
    "psps-hutchinson": ("psps", {"preconditioner": "hutchinson"}),
    "psps-adam": ("psps", {"preconditioner": "adam"}),
    "psps-adagrad": ("psps", {"preconditioner": "adagrad"}),
}


def run(problem_name: str, method: str, params: dict, seed: int, epochs: int, batch_size: int, target: float) -> dict:
    p = optkit.problems.get(problem_name)
    opt = optkit.make(method, p.space, seed=seed, batch_size=batch_size, **params)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = opt.minimize(p, epochs * p.n_examples)
        W = np.vstack([res.history.X, res.x])
        # F at every iterate up to 1/8 epoch apart (and at the end): the resolution of "calls to target"
        every = max(1, p.n_examples // (8 * batch_size))
        at = np.unique(np.r_[np.arange(0, len(W), every), len(W) - 1])
        gaps = np.array([p.objective(W[k]) for k in at]) - p.f_opt
    # oracle calls and seconds before iterate k (the first Hutchinson step costs more)
    costs = np.array([opt.oracle_cost(batch_size, t) for t in range(len(W) - 1)], dtype=float)
    calls = np.concatenate([[0.0], np.cumsum(costs)])[at]
    seconds = np.concatenate([[0.0], np.cumsum(res.history.seconds)])[at]
    hit = np.flatnonzero(gaps <= target)
    return {
        "calls": calls[hit[0]] if hit.size else np.nan,
        "seconds": seconds[hit[0]] if hit.size else np.nan,
        "final": float(gaps[-1]) if np.isfinite(gaps[-1]) else np.inf,
        "status": res.status.name,
    }


def tune(problem_name, method, epochs, batch_size, target):
    best = None
    sweep = {}
    for lr in LR_GRID:
        r = run(problem_name, method, {"lr": lr}, 0, epochs, batch_size, target)
        sweep[lr] = r["final"]
        key = (np.nan_to_num(r["calls"], nan=np.inf), r["final"])
        if best is None or key < best[0]:
            best = (key, lr)
    return best[1], sweep


def fmt_calls(values, n):
    ok = [v for v in values if np.isfinite(v)]
    if not ok:
        return "not reached"
    return f"{np.median(ok) / n:.1f} ep ({len(ok)}/{len(values)})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    args = ap.parse_args()
    seeds = 2 if args.quick else args.seeds
    rows, sens = [], []
    for pname in args.problems:
        target, epochs = PROBLEMS[pname]
        if args.quick:
            epochs = max(2, epochs // 10)
        p = optkit.problems.get(pname)
        n = p.n_examples
        t0 = time.perf_counter()
        _ = p.f_opt
        methods = {}
        for base in ("sgd", "adam"):
            lr, sweep = tune(pname, base, epochs, args.batch_size, target)
            methods[f"{base}(lr={lr:g}, tuned)"] = (base, {"lr": lr})
            sens.append((pname, base, "lr", sweep))
        methods.update(POLYAK)
        for label, (m, kw) in methods.items():
            rs = [run(pname, m, kw, s, epochs, args.batch_size, target) for s in range(seeds)]
            rows.append((pname, target, label, fmt_calls([r["calls"] for r in rs], n),
                         np.median([r["seconds"] for r in rs if np.isfinite(r["seconds"])]) if any(np.isfinite(r["seconds"]) for r in rs) else np.nan,
                         np.median([r["final"] for r in rs]), epochs))
        for name, (m, kw) in {"sps": ("sps", {}), "psps-hutchinson": ("psps", {"preconditioner": "hutchinson"}),
                              "psps-adagrad": ("psps", {"preconditioner": "adagrad"})}.items():
            sens.append((pname, name, "c", {c: run(pname, m, {**kw, "c": c}, 0, epochs, args.batch_size, target)["final"]
                                            for c in C_GRID}))
        print(f"# {pname}: n={n}, d={p.dim}, f_opt={p.f_opt:.10g}, {time.perf_counter() - t0:.0f} s", flush=True)

    print("\n| problem | target F - f_opt | method | oracle calls to target: median epochs (seeds reached) | wall s to target (median) | final F - f_opt (median) | budget (epochs) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for pname, target, label, calls, sec, final, epochs in rows:
        sec_s = "-" if not np.isfinite(sec) else f"{sec:.3f}"
        print(f"| {pname} | {target:g} | {label} | {calls} | {sec_s} | {final:.2e} | {epochs} |")
    print("\nStep-size sensitivity (seed 0): final F - f_opt for each value of the one step-size constant")
    print("\n| problem | method | constant | values -> final F - f_opt |")
    print("| --- | --- | --- | --- |")
    for pname, name, const, sweep in sens:
        vals = ", ".join(f"{k:g}: {v:.1e}" for k, v in sweep.items())
        print(f"| {pname} | {name} | {const} | {vals} |")


if __name__ == "__main__":
    main()
