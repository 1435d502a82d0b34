"""Learned optimizers in a few seconds.

1. The shipped weights of learned-mlp (generic) and learned-math (math-structured L2O-PA) on a held-out
   least-squares task (d = 40, condition 300: larger than anything seen in meta-training's tasks),
   against Adam with a tuned learning rate.
2. A tiny meta-training run by the registry's mirrored (antithetic) ES, written to a weight file and
   loaded back.
"""

import tempfile
from pathlib import Path

import optkit
from optkit.learned.meta import final_loss, meta_train, tuned_adam
from optkit.problems.ml import least_squares

if __name__ == "__main__":
    task = least_squares(n=320, dim=40, condition=300.0, seed=2024)
    steps = 200
    f0 = task.objective(task.w0)
    adam, lr = tuned_adam(task, steps)
    print(f"1. held-out least squares d=40, cond 300: loss {f0:.3g} at w0; after {steps} steps of batch 32:")
    print(f"   tuned Adam (lr={lr:.3g})  {adam:.3e}")
    for name in ("learned-mlp", "learned-math"):
        print(f"   {name:<22} {final_loss(name, task, steps):.3e}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "my_lopt.npz"
        out = meta_train("math", n_tasks=2, steps=30, budget=60, dims=(4, 8), seed=0, out=path)
        print(f"2. meta-training (60 meta-loss evaluations, {out['seconds']:.1f} s): meta-loss "
              f"{out['initial_meta_loss']:.3f} -> {out['meta_loss']:.3f}")
        res = optkit.make("learned-math", task.space, weights=path, seed=0).minimize(task, steps * 32)
        print(f"   the retrained weights on the held-out task: loss {res.fun:.3e}")
