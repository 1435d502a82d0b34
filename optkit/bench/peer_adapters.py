"""The peer adapters: each drives one library's optimizer on a :class:`~optkit.bench.peers.PeerTask`.

An adapter ``run_<library>(task, variant)`` asks the library for points, evaluates them with
``task(x)`` (which counts them and raises :class:`~optkit.bench.peers.BudgetExhausted` at the
budget) and returns when the library stops by itself. Start points and the libraries' seeds come
from ``task.rng``. :mod:`optkit.bench.peers` picks the adapter, runs it and isolates it.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np

from optkit.bench.peers import PeerNote, PeerTask

#: the PyPop7 module of each PyPop7 class the peers table names
PYPOP7_MODULES = {"LMMAES": "es.lmmaes", "SEPCMAES": "es.sepcmaes", "MMES": "es.mmes", "CMAES": "es.cmaes",
                  "JADE": "de.jade", "SHADE": "de.shade", "SPSO": "pso.spso"}


def run_cma(task: PeerTask, variant) -> None:
    import cma

    popsize = None
    while task.remaining > 0:
        x0 = task.rng.uniform(task.lower, task.upper)
        opts = {"bounds": [task.lower.tolist(), task.upper.tolist()], "seed": int(task.rng.integers(1, 2**31 - 1)),
                "verbose": -9, "verb_log": 0, "verb_disp": 0}
        if popsize is not None:
            opts["popsize"] = popsize
        es = cma.CMAEvolutionStrategy(x0, task.sigma0(), opts)
        while not es.stop():
            task.next_round()
            X = es.ask()
            es.tell(X, task.evaluate_all(X))
        popsize = 2 * es.popsize  # IPOP: restart with twice the population


def run_nevergrad(task: PeerTask, variant: str) -> None:
    import nevergrad as ng

    param = ng.p.Array(shape=(task.dim,), lower=task.lower, upper=task.upper)
    param.random_state = np.random.RandomState(int(task.rng.integers(2**31 - 1)))
    opt = ng.optimizers.registry[variant](parametrization=param, budget=task.budget, num_workers=1)
    noted = False
    while task.remaining > 0:
        task.next_round()
        cand = opt.ask()
        if not noted:
            noted = True
            inner = getattr(opt, "optim", None)
            if getattr(getattr(inner, "_config", None), "diagonal", False):
                warnings.warn(f"nevergrad {variant!r} runs {getattr(inner, 'name', type(inner).__name__)}, a diagonal "
                              "CMA, on this bounded domain", PeerNote, stacklevel=2)
        opt.tell(cand, task(cand.value))


def run_pypop7(task: PeerTask, variant: str) -> None:
    module = importlib.import_module(f"pypop7.optimizers.{PYPOP7_MODULES[variant]}")
    cls = getattr(module, variant)
    problem = {"fitness_function": task, "ndim_problem": task.dim, "lower_boundary": task.lower.copy(),
               "upper_boundary": task.upper.copy()}
    options = {"max_function_evaluations": task.budget, "seed_rng": int(task.rng.integers(2**31 - 1)), "verbose": False,
               "saving_fitness": 0}
    if PYPOP7_MODULES[variant].startswith("es."):
        options["sigma"] = task.sigma0()
    cls(problem, options).optimize()


def run_optuna(task: PeerTask, variant: str) -> None:
    import optuna
    from optuna.distributions import FloatDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if variant == "gp":
        import torch

        torch.set_num_threads(1)  # as for peer:botorch: one cell, one core
    seed = int(task.rng.integers(2**31 - 1))
    samplers = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed, deterministic_objective=True),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }
    study = optuna.create_study(direction="minimize", sampler=samplers[variant]())
    names = [f"x{i}" for i in range(task.dim)]
    dists = {n: FloatDistribution(float(lo), float(hi)) for n, lo, hi in zip(names, task.lower, task.upper)}
    while task.remaining > 0:
        task.next_round()
        trial = study.ask(dists)
        study.tell(trial, task(np.array([trial.params[n] for n in names])))


def run_scipy(task: PeerTask, variant: str) -> None:
    import inspect

    from scipy import optimize

    fun = optimize.differential_evolution if variant == "de" else optimize.dual_annealing
    seed = int(task.rng.integers(2**31 - 1))
    kw = {"rng": seed} if "rng" in inspect.signature(fun).parameters else {"seed": seed}
    bounds = list(zip(task.lower, task.upper))
    if variant == "de":
        fun(task, bounds, maxiter=task.budget, **kw)
    else:
        fun(task, bounds, maxfun=task.budget, **kw)


def run_botorch(task: PeerTask, variant) -> None:
    import torch
    from botorch.acquisition import LogExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood

    seed = int(task.rng.integers(2**31 - 1))
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # one cell, one core: torch's thread pool oversubscribes a shared machine
    d = task.dim
    width = task.upper - task.lower
    n0 = min(task.budget, 2 * d + 1)
    U = torch.quasirandom.SobolEngine(d, scramble=True, seed=seed).draw(n0).to(torch.float64)
    Y = []
    for u in U:
        Y.append(task(task.lower + width * u.numpy()))
    unit = torch.stack([torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)])
    while task.remaining > 0:
        task.next_round()
        y = torch.tensor(Y, dtype=torch.float64).unsqueeze(-1)
        model = SingleTaskGP(U, y, outcome_transform=Standardize(m=1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fitting warnings say the optimizer retried: not the peer's result
            fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        acq = LogExpectedImprovement(model, best_f=y.min(), maximize=False)
        cand, _ = optimize_acqf(acq, bounds=unit, q=1, num_restarts=10, raw_samples=256)
        u = cand.detach().reshape(d)
        Y.append(task(task.lower + width * u.numpy()))
        U = torch.cat([U, u.unsqueeze(0)])


ADAPTERS = {"cma": run_cma, "nevergrad": run_nevergrad, "pypop7": run_pypop7, "optuna": run_optuna,
            "scipy": run_scipy, "botorch": run_botorch}


__all__ = ["ADAPTERS", "PYPOP7_MODULES", "run_botorch", "run_cma", "run_nevergrad", "run_optuna", "run_pypop7", "run_scipy"]
