"""Learned optimizers on held-out tasks against Adam with a tuned learning rate.

    OMP_NUM_THREADS=1 python benchmarks/learned.py [--seeds 3] [--steps 100 300]

For each held-out group (tasks never seen in meta-training: other seeds, and other sizes, conditioning
and data) and each horizon, every task is run by learned-mlp and learned-math with their shipped
weights, and by Adam with the learning rate of a 10-point log grid in [1e-3, 1] that is best *on that
task* (an oracle-tuned baseline) and with the one grid learning rate best for the whole group (lowest
mean log10 final loss: tuned once, like the learned optimizers' weights). Cells: the median over tasks
of log10(final loss / Adam's final loss) (negative: better than Adam) and the tasks won, against each.
Final loss = the full training loss after the horizon, minus f_opt where it is known, floored at 1e-12.
learned-math runs with lr = 1/L (L by power iteration on the Hessian at w0) on the real-data problems
and lr = 1 on the synthetic ones (L <= 1 by construction). The last lines
time the meta-loss and a short meta-training run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import optkit
from optkit.learned.meta import ADAM_GRID, final_loss, meta_train
from optkit.learned.tasks import logistic_task, sample_tasks
from optkit.problems.ml import least_squares


def _lipschitz(p) -> float:
    """Largest Hessian eigenvalue at w0 by power iteration (the curvature bound of these convex tasks)."""
    v = np.random.default_rng(0).standard_normal(p.dim)
    lam = 1.0
    for _ in range(100):
        hv = p.hvp(p.w0, v)
        lam = float(np.linalg.norm(hv))
        v = hv / lam
    p.reset_counts()
    return lam


def groups(seeds: int) -> dict[str, list]:
    out = {
        "in-distribution (d 4-32, cond <= 1e3)": sample_tasks(4 * seeds, 1000 + seeds),
        "least squares d 64-128, cond 1e4": [
            least_squares(n=8 * d, dim=d, condition=1e4, noise=0.0, seed=500 + s)
            for s, d in zip(range(seeds), np.linspace(64, 128, seeds).astype(int))],
        "logistic d 64-128, cond 1e4": [logistic_task(8 * d, d, 1e4, 700 + s)
                                        for s, d in zip(range(seeds), np.linspace(64, 128, seeds).astype(int))],
        "real: logreg breast cancer (d 31)": [optkit.problems.get("logreg_breast_cancer")],
        "real: ridge diabetes (d 11)": [optkit.problems.get("ridge_diabetes")],
    }
    return out


FLOOR = 1e-12  # losses (suboptimalities where f_opt is known) below this count as solved: log10 ratios are taken above it


def run(seeds: int, horizons: list[int]) -> None:
    print("| held-out group | steps | tasks | learned-mlp vs Adam per-task / group lr | learned-math vs Adam per-task / group lr "
          "| Adam lr: per-task median, group |")
    print("|---|---|---|---|---|---|")
    for gname, tasks in groups(seeds).items():
        for steps in horizons:
            grid = np.array([[max(final_loss("adam", t, steps, seed=i, lr=lr) - (t.f_opt or 0.0), FLOOR)
                              for lr in ADAM_GRID] for i, t in enumerate(tasks)])
            per_task = grid.min(axis=1)
            k = int(np.argmin(np.mean(np.log10(grid), axis=0)))
            cells = []
            for name in ("learned-mlp", "learned-math"):
                f = []
                for i, task in enumerate(tasks):
                    kw = {"lr": 1.0 / _lipschitz(task)} if name == "learned-math" and "real" in gname else {}
                    f.append(max(final_loss(name, task, steps, seed=i, **kw) - (task.f_opt or 0.0), FLOOR))
                f = np.array(f)
                r1, r2 = np.log10(f / per_task), np.log10(f / grid[:, k])
                cells.append(f"{np.median(r1):+.2f} ({int(np.sum(r1 < 0))} wins) / {np.median(r2):+.2f} ({int(np.sum(r2 < 0))} wins)")
            lrs = np.array(ADAM_GRID)[grid.argmin(axis=1)]
            print(f"| {gname} | {steps} | {len(tasks)} | " + " | ".join(cells) + f" | {np.median(lrs):.3g}, {ADAM_GRID[k]:.3g} |")


def timing() -> None:
    for kind in ("mlp", "math"):
        tic = time.perf_counter()
        out = meta_train(kind, budget=100, seed=0)
        sec = time.perf_counter() - tic
        print(f"meta_train({kind!r}, n_tasks=8, steps=100, budget=100): {sec:.1f} s "
              f"({sec / 101 * 1000:.0f} ms per meta-loss evaluation), meta-loss {out['initial_meta_loss']:.3f} -> "
              f"{out['meta_loss']:.3f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, nargs="+", default=[100, 300])
    args = ap.parse_args()
    run(args.seeds, args.steps)
    timing()
