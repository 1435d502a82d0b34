"""Meta-training of the learned optimizers by evolution strategies, and their evaluation.

Meta-loss of meta-parameters ``theta`` on a set of tasks (a truncated unroll: ``steps`` inner steps
from each task's ``w0``, minibatches of ``batch_size`` drawn from a fixed seed, so the meta-loss is a
deterministic function of ``theta``)::

    L(theta) = mean_tasks [ mean_{t < steps} log f_t  -  log f(w0) ]

where ``f_t`` is the minibatch training loss the inner optimizer sees at step ``t`` (the mean log
of the training loss along the unroll; subtracting each task's initial log loss, a constant, only
puts tasks of different scales on a par). A run that diverges (a non-finite loss) scores its tasks
``log f(w0) + 10`` above the start, i.e. ``+10``.

:func:`meta_train` minimizes ``L`` over the flat vector ``theta`` with an evolution strategy from the
registry (``optkit.make(method, ...)``): by default ``"mmes"``, whose population is antithetic
(mirrored pairs ``m +- sigma y``); ``"snes"`` and ``"cmaes"`` work too. Families do not import each
other: the ES is reached through the registry only. The task set is drawn once from ``seed``, so a
run is deterministic under its seed.

>>> from optkit.learned.meta import meta_train
>>> out = meta_train("math", n_tasks=2, steps=10, budget=12, seed=0, dims=(3, 5))
>>> out["meta_loss"] <= out["initial_meta_loss"]
True
"""

from __future__ import annotations

import time

import numpy as np

import optkit
from optkit.core.errors import InvalidParameterError
from optkit.core.result import Status
from optkit.learned import _net
from optkit.learned.math_l2o import LearnedMath
from optkit.learned.math_l2o import init_theta as _math_init
from optkit.learned.mlp_lopt import LearnedMLP
from optkit.learned.mlp_lopt import init_theta as _mlp_init
from optkit.learned.tasks import sample_tasks

KINDS = {"mlp": (LearnedMLP, _mlp_init), "math": (LearnedMath, _math_init)}
DIVERGED = 10.0


def _kind(kind: str):
    if kind not in KINDS:
        raise InvalidParameterError(f"'kind' must be one of {sorted(KINDS)}; got {kind!r}")
    return KINDS[kind]


def unroll(kind: str, theta, task, steps: int, *, batch_size: int | None = 32, seed: int = 0) -> np.ndarray:
    """The minibatch losses of ``steps`` inner steps of the learned optimizer on ``task`` (NaN-padded
    after a divergence)."""
    cls, _ = _kind(kind)
    b = task.n_examples if batch_size is None else min(batch_size, task.n_examples)
    opt = cls(task.space, weights=theta, batch_size=b, seed=seed)
    res = opt.minimize(task, budget=steps * b)
    f = np.full(steps, np.nan)
    f[: res.nit] = res.history.fun[: res.nit]
    if res.status == Status.FAILED:
        f[res.nit - 1 :] = np.nan
    return f


def meta_loss(kind: str, theta, tasks, steps: int, *, batch_size: int | None = 32, seed: int = 0) -> float:
    """The meta-loss of the module docstring."""
    vals = []
    for i, task in enumerate(tasks):
        f0 = np.log(task.objective(task.w0))
        f = unroll(kind, theta, task, steps, batch_size=batch_size, seed=seed + i)
        if not np.all(np.isfinite(f)):
            vals.append(DIVERGED)
            continue
        vals.append(float(np.mean(np.log(np.maximum(f, 1e-30)))) - f0)
    return float(np.mean(vals))


def meta_train(kind: str = "mlp", *, n_tasks: int = 8, steps: int = 100, budget: int = 4000, method: str = "mmes",
               sigma0: float = 0.1, popsize: int | None = None, hidden: int = _net.DEFAULT_HIDDEN, batch_size: int = 32,
               dims=(4, 32), max_condition: float = 1e3, seed: int = 0, theta0=None, out=None) -> dict:
    """Meta-train learned optimizer ``kind`` ("mlp" or "math") by an evolution strategy.

    ``n_tasks`` tasks from :func:`optkit.learned.tasks.sample_tasks` (``dims``, ``max_condition``,
    ``seed``), unrolls of ``steps`` inner steps, ``budget`` meta-loss evaluations by registry method
    ``method`` (``sigma0`` its initial step size, ``popsize`` its population) started from
    ``theta0`` (default the kind's ``init_theta``). With ``out`` the best meta-parameters are written
    to that ``.npz`` file. Returns ``{"theta", "meta_loss", "initial_meta_loss", "history" (best
    meta-loss after each evaluation), "seconds", "info"}``.
    """
    _, init = _kind(kind)
    theta0 = init(hidden, seed) if theta0 is None else np.asarray(theta0, dtype=np.float64)
    if theta0.shape != (_net.n_params(hidden),):
        raise InvalidParameterError(f"meta_train: 'theta0' must have shape ({_net.n_params(hidden)},); got {theta0.shape}")
    tasks = sample_tasks(n_tasks, seed, dims=dims, max_condition=max_condition)

    def fun(theta):
        return meta_loss(kind, theta, tasks, steps, batch_size=batch_size, seed=seed)

    tic = time.perf_counter()
    initial = fun(theta0)
    space = optkit.Box(-20.0, 20.0, dim=theta0.size)
    es = optkit.make(method, space, seed=seed, x0=np.clip(theta0, -19.0, 19.0), sigma0=sigma0, popsize=popsize)
    res = es.minimize(optkit.Problem(fun, space, name=f"meta_loss_{kind}"), budget)
    theta, best = (res.x, float(res.fun)) if res.fun < initial else (theta0, initial)
    info = {"kind": kind, "method": method, "n_tasks": n_tasks, "steps": steps, "budget": budget, "sigma0": sigma0,
            "popsize": popsize, "hidden": hidden, "batch_size": batch_size, "dims": list(dims),
            "max_condition": max_condition, "seed": seed, "initial_meta_loss": initial, "meta_loss": best}
    if out is not None:
        _net.save_weights(out, theta, kind=kind, hidden=hidden, info=info)
    return {"theta": theta, "meta_loss": best, "initial_meta_loss": initial,
            "history": np.minimum(res.best_so_far, initial), "seconds": time.perf_counter() - tic, "info": info}


# -- evaluation --------------------------------------------------------------------------------
def final_loss(method: str, task, steps: int, *, batch_size: int | None = 32, seed: int = 0, **params) -> float:
    """The full training loss after ``steps`` steps of registry method ``method`` (inf if it failed)."""
    b = task.n_examples if batch_size is None else min(batch_size, task.n_examples)
    res = optkit.make(method, task.space, batch_size=b, seed=seed, **params).minimize(task, budget=steps * b)
    return float(res.fun) if np.isfinite(res.fun) and res.status != Status.FAILED else float("inf")


ADAM_GRID = tuple(float(x) for x in np.logspace(-3, 0, 10))


def tuned_adam(task, steps: int, *, batch_size: int | None = 32, seed: int = 0, grid=ADAM_GRID) -> tuple[float, float]:
    """Adam with the learning rate of ``grid`` that gives the lowest final loss on ``task``: (loss, lr)."""
    losses = [final_loss("adam", task, steps, batch_size=batch_size, seed=seed, lr=lr) for lr in grid]
    k = int(np.argmin(losses))
    return losses[k], grid[k]
