"""Seconds for one Bayesian-optimization iteration at n observations (default 100) in d = 6.

One iteration = fit the model to the n observations and choose the next point. The same n scrambled
Sobol points of Hartmann-6 (seeded) are given to:

* ``optkit-bo``: ``optkit.make("bo", box, warm_start={"X": X, "y": y})``, then one ``ask()``
  (MAP fit of the GP, qLogEI optimized with its defaults);
* ``botorch``: the textbook loop of ``benchmarks/compare_bo.py`` for one step: ``SingleTaskGP``
  (``Normalize``/``Standardize``), ``fit_gpytorch_mll``, ``qLogExpectedImprovement``,
  ``optimize_acqf(num_restarts=10, raw_samples=512)``;
* ``optuna-gp``: a study holding the n trials, ``GPSampler(deterministic_objective=True)``, one
  ``study.ask()`` with the 6 parameters suggested.

Every method runs torch/BLAS on one thread. Each is warmed up once (imports, first compilation), then
timed over ``--repeats`` different seeds; the median is reported.

Run::

    python benchmarks/bench_bo_iteration.py            # n = 100, 3 repeats
    python benchmarks/bench_bo_iteration.py --n 50 200
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.stats import qmc

import optkit


def _data(n: int, seed: int):
    p = optkit.problems.get("hartmann6")
    X = qmc.Sobol(6, scramble=True, rng=np.random.default_rng(seed)).random(n)
    return p, X, np.array([p(x) for x in X])


def step_optkit(p, X, y, seed):
    opt = optkit.make("bo", p.space, seed=seed, warm_start={"X": X.tolist(), "y": y.tolist()})
    t0 = time.perf_counter()
    opt.ask()
    return time.perf_counter() - t0


def step_botorch(p, X, y, seed):
    import torch
    from botorch.acquisition.logei import qLogExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood

    torch.manual_seed(seed)
    t0 = time.perf_counter()
    tX = torch.tensor(X, dtype=torch.float64)
    tY = -torch.tensor(y, dtype=torch.float64).unsqueeze(-1)  # BoTorch maximizes
    gp = SingleTaskGP(tX, tY, input_transform=Normalize(6), outcome_transform=Standardize(1))
    fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
    acq = qLogExpectedImprovement(gp, best_f=tY.max())
    bounds = torch.tensor([[0.0] * 6, [1.0] * 6], dtype=torch.float64)
    optimize_acqf(acq, bounds=bounds, q=1, num_restarts=10, raw_samples=512)
    return time.perf_counter() - t0


def step_optuna(p, X, y, seed):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    dist = {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(6)}
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(deterministic_objective=True, seed=seed))
    study.add_trials([optuna.trial.create_trial(params={f"x{i}": float(v) for i, v in enumerate(x)}, distributions=dist,
                                                value=float(v)) for x, v in zip(X, y)])
    t0 = time.perf_counter()
    trial = study.ask()
    for i in range(6):
        trial.suggest_float(f"x{i}", 0.0, 1.0)
    return time.perf_counter() - t0


METHODS = {"optkit-bo": step_optkit, "botorch": step_botorch, "optuna-gp": step_optuna}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100], help="observations (default 100)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    print("| n | d | method | seconds per iteration (median) | all |")
    print("|---|---|---|---|---|")
    with threadpool_limits(limits=1):
        for n in args.n:
            for name, step in METHODS.items():
                p, X, y = _data(n, 999)
                step(p, X, y, 999)  # warm-up
                times = []
                for r in range(args.repeats):
                    p, X, y = _data(n, r)
                    times.append(step(p, X, y, r))
                print(f"| {n} | 6 | {name} | {np.median(times):.3f} | {', '.join(f'{t:.3f}' for t in times)} |", flush=True)


if __name__ == "__main__":
    main()
