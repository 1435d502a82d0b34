"""GP-BO side by side: optkit's ``bo`` vs a plain BoTorch loop vs Optuna's GPSampler, TPE and random.

Problems (minimization, simple regret = best value found - f*):

* Branin on [-5, 10] x [0, 15], 60 evaluations (f* = 0.397887);
* Hartmann-6 on [0, 1]^6, 100 evaluations (f* = -3.32237);
* Ackley in d = 4 on [-32.768, 32.768]^4, 100 evaluations (f* = 0).

Methods, all in this process, one after the other (so the seconds per iteration compare):

* ``optkit-bo``: ``optkit.minimize(..., method="bo")`` with its defaults (qLogEI, fixed noise);
* ``botorch``: the textbook BoTorch loop written below: ``SingleTaskGP`` (BoTorch's default priors,
  ``Normalize`` inputs, ``Standardize`` outputs, inferred noise), ``fit_gpytorch_mll``,
  ``qLogExpectedImprovement(best_f = best observed)``, ``optimize_acqf(q=1, num_restarts=10,
  raw_samples=512)``, the same Sobol initial design size as optkit's;
* ``optuna-gp``: ``optuna.samplers.GPSampler(deterministic_objective=True, seed=s)``;
* ``optuna-tpe``: ``optuna.samplers.TPESampler(seed=s)``;
* ``random``: ``optkit.minimize(..., method="random")``.

Run::

    python benchmarks/compare_bo.py --quick          # 3 seeds
    python benchmarks/compare_bo.py                  # 10 seeds
    python benchmarks/compare_bo.py --quick --methods optkit-bo optuna-gp --problems branin

The table reports, per problem and method, the median simple regret over seeds at the end (with
the 25-75 % range), the number of seeds below 1e-2 and 1e-4, and the median seconds per iteration
(wall time of the whole run divided by the budget; the objectives cost nothing).
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np

import optkit

# -- problems ---------------------------------------------------------------------------------------
PROBLEMS = {"branin": (None, 60), "hartmann6": (None, 100), "ackley4": (4, 100)}


def get_problem(name):
    """(function of a numpy point, bounds [(lo, hi)], f*) of optkit's test problem ``name``."""
    dim = PROBLEMS[name][0]
    p = optkit.problems.get("ackley" if name == "ackley4" else name, dim)
    bounds = [(float(lo), float(hi)) for lo, hi in zip(p.space.lower, p.space.upper)]
    return (lambda x: float(p(np.asarray(x, dtype=float)))), bounds, float(p.f_opt)


# -- methods ----------------------------------------------------------------------------------------
def run_optkit(method, fun, bounds, budget, seed, **kw):
    res = optkit.minimize(fun, bounds, method=method, budget=budget, seed=seed, **kw)
    return res.history.fun


def run_botorch(fun, bounds, budget, seed):
    import torch
    from botorch.acquisition.logei import qLogExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood

    # one thread, as optkit's bo and Optuna's GPSampler use: with torch's default threads the loop ran
    # 8x slower on this 2-core machine (OpenMP oversubscription against scipy's BLAS)
    torch.set_num_threads(1)
    from scipy.stats import qmc

    d = len(bounds)
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    n_init = max(5, min(2 * d, 20))
    U = qmc.Sobol(d, scramble=True, rng=np.random.default_rng(seed)).random(n_init)
    X = lo + U * (hi - lo)
    ys = [fun(x) for x in X]
    tb = torch.tensor(np.stack([lo, hi]), dtype=torch.float64)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        while len(ys) < budget:
            Xt = torch.tensor(X, dtype=torch.float64)
            Yt = -torch.tensor(ys, dtype=torch.float64).unsqueeze(-1)  # BoTorch maximizes
            model = SingleTaskGP(Xt, Yt, input_transform=Normalize(d, bounds=tb), outcome_transform=Standardize(1))
            fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
            acq = qLogExpectedImprovement(model, best_f=Yt.max())
            cand, _ = optimize_acqf(acq, bounds=tb, q=1, num_restarts=10, raw_samples=512)
            x = cand.detach().numpy()[0]
            X = np.vstack([X, x])
            ys.append(fun(x))
    return np.array(ys)


def run_optuna(sampler_name, fun, bounds, budget, seed):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if sampler_name == "gp":
        sampler = optuna.samplers.GPSampler(deterministic_objective=True, seed=seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed)

    def objective(trial):
        x = np.array([trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(bounds)])
        return fun(x)

    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=budget)
    return np.array([t.value for t in study.trials])


METHODS = {
    "optkit-bo": lambda f, b, n, s: run_optkit("bo", f, b, n, s),
    "botorch": run_botorch,
    "optuna-gp": lambda f, b, n, s: run_optuna("gp", f, b, n, s),
    "optuna-tpe": lambda f, b, n, s: run_optuna("tpe", f, b, n, s),
    "random": lambda f, b, n, s: run_optkit("random", f, b, n, s),
}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 seeds instead of 10")
    ap.add_argument("--seeds", type=int, default=None, help="number of seeds (overrides --quick)")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    args = ap.parse_args(argv)
    n_seeds = args.seeds or (3 if args.quick else 10)
    warnings.filterwarnings("ignore")

    rows = []
    for pname in args.problems:
        fun, bounds, f_opt = get_problem(pname)
        budget = PROBLEMS[pname][1]
        for mname in args.methods:
            regrets, secs = [], []
            for seed in range(n_seeds):
                t0 = time.perf_counter()
                ys = METHODS[mname](fun, bounds, budget, seed)
                secs.append((time.perf_counter() - t0) / budget)
                regrets.append(float(np.min(ys[:budget])) - f_opt)
                print(f"  {pname:10s} {mname:10s} seed {seed}: regret {regrets[-1]:.3e}  {secs[-1]:.3f} s/it", flush=True)
            r = np.array(regrets)
            rows.append((pname, budget, mname, np.median(r), np.percentile(r, 25), np.percentile(r, 75),
                         int(np.sum(r < 1e-2)), int(np.sum(r < 1e-4)), len(r), float(np.median(secs))))

    print()
    print("| problem (budget) | method | median regret [25-75 %] | < 1e-2 | < 1e-4 | s / iteration |")
    print("|---|---|---|---|---|---|")
    for p, b, m, med, q1, q3, n2, n4, n, s in rows:
        print(f"| {p} ({b}) | {m} | {_fmt(med)} [{_fmt(q1)} - {_fmt(q3)}] | {n2}/{n} | {n4}/{n} | {s:.3f} |")


def _fmt(v: float) -> str:
    return "0" if v <= 0 else f"{v:.2e}" if v < 1e-2 or v >= 1e3 or not math.isfinite(v) else f"{v:.3f}"


if __name__ == "__main__":
    main()
