"""CONFIG side by side with constrained GP-BO and Optuna's constrained samplers.

Problems (minimize f subject to g_i(x) <= 0; ``optkit.problems.constrained``):

* ``gardner`` (2-d, 1 constraint, the paper's threshold 0.5: f* = -2, constraint inactive), 40 evaluations;
* ``gardner-active`` (threshold -0.5: f* = -1.88875 on the constraint), 40;
* ``gramacy`` (2-d, 2 constraints, f* = 0.599788 on the first), 40;
* ``spring`` (3-d, 4 constraints, f* = 0.0126652), 50;
* ``pressure_vessel`` (4-d, 4 constraints, discrete thicknesses, f* = 6059.714), 50;
* ``welded_beam`` (4-d, 7 constraints, f* = 1.724852), 50;
* two infeasible variants, 40 evaluations: ``gramacy-infeasible`` (Gramacy's objective with
  ``g = 1 + x1^2 + x2^2 >= 1``) and ``gardner-infeasible`` (Gardner's objective with
  ``g = cos(x1 + x2) + 1.5 >= 0.5``).

Methods, all in this process, one after the other:

* ``config``: ``optkit.minimize(..., method="config", exploit_every=0)`` (sqrt(beta) = 3, the paper's steps only);
* ``config-x5``: the same with ``exploit_every=5`` (the default) (every fifth model step evaluates the best
  posterior mean among points believed feasible);
* ``bo``: ``method="bo"`` (log EI times the probability of feasibility, Gardner et al. 2014);
* ``optuna-tpe``: ``TPESampler(constraints_func=...)``; ``optuna-gp``: ``GPSampler(
  deterministic_objective=True, constraints_func=...)``;
* ``botorch``: a plain BoTorch loop written here: a ``ModelListGP`` of one ``SingleTaskGP`` per outcome,
  ``qLogExpectedImprovement`` with the constraints (sigmoid feasibility weights on the samples),
  ``optimize_acqf`` with 10 restarts and 512 raw samples.

Run::

    python benchmarks/compare_config.py --seeds 3
    python benchmarks/compare_config.py --seeds 3 --problems gramacy --methods config bo
    python benchmarks/compare_config.py --seeds 2 --budget 30 --problems spring pressure_vessel

The table reports per problem and method: the runs that evaluated a feasible point, the median
best-feasible regret over seeds (inf when a run found none), for the infeasible variants the runs
that declared infeasibility and the median evaluations used, and the median seconds per iteration
(the run's wall time over the evaluations it made; the functions cost nothing).
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np

import optkit
from optkit.problems.constrained import PROBLEMS as CONSTRAINED
from optkit.problems.constrained import gardner, gramacy


def _infeasible(name: str) -> optkit.Problem:
    if name == "gramacy-infeasible":
        return optkit.Problem(gramacy, optkit.Box(0.0, 1.0, dim=2), vectorized=True, name=name,
                              constraints=[lambda X: 1.0 + X[:, 0] ** 2 + X[:, 1] ** 2])
    return optkit.Problem(gardner, optkit.Box(0.0, 6.0, dim=2), vectorized=True, name=name,
                          constraints=[lambda X: np.cos(X[:, 0] + X[:, 1]) + 1.5])


PROBLEMS = {  # name -> (factory, budget)
    "gardner": (lambda: CONSTRAINED["gardner"](), 40),
    "gardner-active": (lambda: CONSTRAINED["gardner"](threshold=-0.5), 40),
    "gramacy": (lambda: CONSTRAINED["gramacy"](), 40),
    "spring": (lambda: CONSTRAINED["spring"](), 50),
    "pressure_vessel": (lambda: CONSTRAINED["pressure_vessel"](), 50),
    "welded_beam": (lambda: CONSTRAINED["welded_beam"](), 50),
    "gramacy-infeasible": (lambda: _infeasible("gramacy-infeasible"), 40),
    "gardner-infeasible": (lambda: _infeasible("gardner-infeasible"), 40),
}


def run_optkit(method, problem, budget, seed, **kw):
    res = optkit.minimize(problem, method=method, budget=budget, seed=seed, **kw)
    h = res.history
    return h.fun, h.constraints, res.status == optkit.Status.INFEASIBLE and res.nfev < budget


def run_optuna(kind, problem, budget, seed):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    lo, hi = problem.space.lower, problem.space.upper

    def constraints(trial):
        return trial.user_attrs["c"]

    if kind == "gp":
        sampler = optuna.samplers.GPSampler(deterministic_objective=True, seed=seed, constraints_func=constraints)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed, constraints_func=constraints)

    def objective(trial):
        x = np.array([trial.suggest_float(f"x{i}", lo[i], hi[i]) for i in range(problem.dim)])
        c = problem.evaluate_constraints(x[None, :])[0]
        trial.set_user_attr("c", [float(v) for v in c])
        return float(problem.evaluate(x[None, :])[0])

    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=budget)
    return (np.array([t.value for t in study.trials]), np.array([t.user_attrs["c"] for t in study.trials]), False)


def run_botorch(problem, budget, seed):
    """The plain BoTorch constrained loop: one SingleTaskGP per outcome (objective and each constraint),
    qLogEI with the constraints as sigmoid-weighted feasibility on the samples, Sobol start."""
    import torch
    from botorch.acquisition.logei import qLogExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import ModelListGP, SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import SumMarginalLogLikelihood
    from scipy.stats import qmc

    torch.set_num_threads(1)
    d = problem.dim
    lo, hi = problem.space.lower, problem.space.upper
    n_init = max(5, min(2 * d, 20))
    X = lo + qmc.Sobol(d, scramble=True, rng=np.random.default_rng(seed)).random(n_init) * (hi - lo)
    ys = list(problem.evaluate(X))
    Cs = list(problem.evaluate_constraints(X))
    tb = torch.tensor(np.stack([lo, hi]), dtype=torch.float64)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        while len(ys) < budget:
            Xt = torch.tensor(X, dtype=torch.float64)
            Y = np.column_stack([-np.asarray(ys), np.asarray(Cs)])  # objective maximized; constraints c <= 0
            models = [SingleTaskGP(Xt, torch.tensor(Y[:, [j]]), input_transform=Normalize(d, bounds=tb),
                                   outcome_transform=Standardize(1)) for j in range(Y.shape[1])]
            model = ModelListGP(*models)
            fit_gpytorch_mll(SumMarginalLogLikelihood(model.likelihood, model))
            feas = np.all(np.asarray(Cs) <= 0, axis=1)
            best = float(Y[feas, 0].max()) if feas.any() else float(Y[:, 0].min())
            cons = [lambda Z, j=j: Z[..., j] for j in range(1, Y.shape[1])]
            acq = qLogExpectedImprovement(model, best_f=best, constraints=cons,
                                          objective=None if not cons else _first_output())
            cand, _ = optimize_acqf(acq, bounds=tb, q=1, num_restarts=10, raw_samples=512)
            x = cand.detach().numpy()[:1]
            X = np.vstack([X, x])
            ys.append(float(problem.evaluate(x)[0]))
            Cs.append(problem.evaluate_constraints(x)[0])
    return np.array(ys), np.array(Cs), False


def _first_output():
    from botorch.acquisition.objective import GenericMCObjective

    return GenericMCObjective(lambda Z, X=None: Z[..., 0])


METHODS = {
    "config": lambda p, n, s: run_optkit("config", p, n, s, exploit_every=0),
    "config-x5": lambda p, n, s: run_optkit("config", p, n, s, exploit_every=5),
    "bo": lambda p, n, s: run_optkit("bo", p, n, s),
    "optuna-tpe": lambda p, n, s: run_optuna("tpe", p, n, s),
    "optuna-gp": lambda p, n, s: run_optuna("gp", p, n, s),
    "botorch": run_botorch,
}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=None, help="evaluations per run for every problem (default: its own)")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")

    rows = []
    for pname in args.problems:
        factory, budget = PROBLEMS[pname]
        budget = args.budget or budget
        problem = factory()
        f_opt = problem.f_opt
        for mname in args.methods:
            regrets, secs, found, declared, used = [], [], 0, 0, []
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                y, C, decl = METHODS[mname](problem, budget, seed)
                secs.append((time.perf_counter() - t0) / len(y))
                feas = np.isfinite(y) & np.all(C <= 0, axis=1)
                best = float(np.min(y[feas])) if feas.any() else math.inf
                found += bool(feas.any())
                declared += bool(decl)
                used.append(len(y))
                regrets.append(best - f_opt if f_opt is not None else best)
                print(f"  {pname:18s} {mname:10s} seed {seed}: best feasible {best:.6g}  evaluations {len(y)}"
                      f"{'  declared infeasible' if decl else ''}  {secs[-1]:.3f} s/it", flush=True)
            rows.append((pname, budget, mname, found, declared, float(np.median(regrets)), int(np.median(used)),
                         args.seeds, float(np.median(secs)), f_opt is None))

    print()
    print("| problem (budget) | method | runs with a feasible point | median best-feasible regret "
          "| declared infeasible | median evaluations | s / iteration |")
    print("|---|---|---|---|---|---|---|")
    for p, b, m, found, decl, reg, used, n, s, infeasible in rows:
        regret = "-" if infeasible else _fmt(reg)
        print(f"| {p} ({b}) | {m} | {found}/{n} | {regret} | {decl}/{n} | {used} | {s:.3f} |")


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return "inf"
    return "0" if v <= 0 else f"{v:.2e}" if v < 1e-2 or v >= 1e3 else f"{v:.3f}"


if __name__ == "__main__":
    main()
