"""optkit's torch adapters (Sophia, C-AdamW, C-Lion, Grams, Gravity, PSPS) against torch.optim.AdamW.

A 64-32-10 tanh MLP on sklearn's digits (1797 images, features / 16), cross-entropy, minibatches of 64
drawn with a seeded generator (the same batches for every optimizer at a given seed), ``STEPS`` steps.
Each optimizer gets a small learning-rate sweep (PSPS: ``gamma_max``); the best setting is the one with
the lowest mean final full-data training loss over the seeds. Reported: the mean (min..max over seeds)
full-data loss at a few step counts for the best setting, and the wall time per step (median over seeds).

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/torch_optim.py [--steps 300] [--seeds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from sklearn.datasets import load_digits

from optkit.torch_optim import PSPS, CAdamW, CLion, Grams, Gravity, Sophia

CLOSURE = (Sophia, PSPS)

SWEEPS = {
    "torch AdamW": (lambda ps, v, g: torch.optim.AdamW(ps, lr=v, weight_decay=0.01), (3e-3, 1e-2, 3e-2, 1e-1)),
    "CAdamW": (lambda ps, v, g: CAdamW(ps, lr=v, weight_decay=0.01), (3e-3, 1e-2, 3e-2, 1e-1)),
    "CLion": (lambda ps, v, g: CLion(ps, lr=v, weight_decay=0.01), (3e-4, 1e-3, 3e-3, 1e-2)),
    "Grams": (lambda ps, v, g: Grams(ps, lr=v), (3e-3, 1e-2, 3e-2, 1e-1)),
    "Gravity": (lambda ps, v, g: Gravity(ps, lr=v, generator=g), (0.3, 1.0, 3.0, 10.0)),
    "Sophia-H": (lambda ps, v, g: Sophia(ps, lr=v, gamma=0.01, generator=g), (3e-4, 1e-3, 3e-3, 1e-2)),
    "PSPS-adam (gamma_max)": (lambda ps, v, g: PSPS(ps, preconditioner="adam", gamma_max=v), (0.1, 1.0, 10.0)),
    "PSPS-hutchinson (gamma_max)": (lambda ps, v, g: PSPS(ps, gamma_max=v, generator=g), (0.01, 0.1, 1.0)),
}


def run(make, value, seed, X, y, steps, checkpoints):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10))
    gen = torch.Generator().manual_seed(seed)
    opt = make(model.parameters(), value, torch.Generator().manual_seed(seed + 1000))
    loss_fn = torch.nn.CrossEntropyLoss()
    curve, elapsed = {}, 0.0
    for t in range(1, steps + 1):
        idx = torch.randint(0, X.shape[0], (64,), generator=gen)
        xb, yb = X[idx], y[idx]
        t0 = time.perf_counter()
        if isinstance(opt, CLOSURE):
            opt.step(lambda model=model, xb=xb, yb=yb: loss_fn(model(xb), yb))
        else:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
        elapsed += time.perf_counter() - t0
        if t in checkpoints:
            with torch.no_grad():
                curve[t] = float(loss_fn(model(X), y))
    return curve, elapsed / steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    Xn, yn = load_digits(return_X_y=True)
    X, y = torch.tensor(Xn / 16.0, dtype=torch.float32), torch.tensor(yn)
    checkpoints = sorted({args.steps // 6, args.steps // 3, args.steps // 2, args.steps})
    print("| optimizer | best setting | " + " | ".join(f"loss @ {c}" for c in checkpoints) + " | ms/step | swept |")
    print("|---|---|" + "---|" * len(checkpoints) + "---|---|")
    for name, (make, values) in SWEEPS.items():
        best = None
        for v in values:
            res = [run(make, v, s, X, y, args.steps, checkpoints) for s in range(args.seeds)]
            final = statistics.mean(r[0][args.steps] for r in res)
            if best is None or final < best[0]:
                best = (final, v, res)
        _, v, res = best
        cells = []
        for c in checkpoints:
            vals = [r[0][c] for r in res]
            cells.append(f"{statistics.mean(vals):.3f} ({min(vals):.3f}..{max(vals):.3f})")
        ms = 1e3 * statistics.median(r[1] for r in res)
        print(f"| {name} | {v:g} | " + " | ".join(cells) + f" | {ms:.2f} | {', '.join(f'{x:g}' for x in values)} |")


if __name__ == "__main__":
    main()
