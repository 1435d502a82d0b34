"""The task distribution learned optimizers are meta-trained and evaluated on.

A task is a :class:`~optkit.StochasticProblem` drawn from a seeded generator:

* ``"least_squares"``: :func:`optkit.problems.ml.least_squares` with dimension ``d`` uniform in
  ``dims``, ``n = 8 d`` examples, condition number log-uniform in ``[1, max_condition]``, noise 0 or
  0.1 (an interpolating or a noisy problem) and its own data seed; Hessian eigenvalues in
  ``[1/condition, 1]``, so the gradient's Lipschitz constant is L = 1.
* ``"logistic"``: synthetic binary logistic regression, ``n = 8 d`` Gaussian inputs whose columns are
  scaled by ``exp(a_j)``, ``a_j`` evenly spaced in ``[-s, s]`` with ``s = log(condition) / 4``, then all
  scaled so that ``lambda_max(X^T X / n) = 4`` (L <= 1); labels ``sign(x^T w* + 0.5 eps)``;
  ``l2 = 1e-3``; ``w0 = 0``.

>>> from optkit.learned.tasks import sample_tasks
>>> [t.name for t in sample_tasks(2, seed=0, dims=(4, 8))]
['least_squares_d8_cond6.45_noise0', 'logistic_d4_cond1.12']
"""

from __future__ import annotations

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.stochastic import StochasticProblem
from optkit.problems.ml import least_squares

KINDS = ("least_squares", "logistic")


class _Logistic:
    def __init__(self, X, y, l2):
        self.X, self.y, self.l2 = X, y, l2

    def loss_grad(self, w, idx=None):
        X = self.X if idx is None else self.X[idx]
        y = self.y if idx is None else self.y[idx]
        z = y * (X @ w)
        s = 0.5 * (1.0 - np.tanh(0.5 * z))  # sigmoid(-z), overflow-free
        f = float(np.mean(np.logaddexp(0.0, -z))) + 0.5 * self.l2 * float(w @ w)
        return f, -(X.T @ (y * s)) / X.shape[0] + self.l2 * w


def logistic_task(n: int, dim: int, condition: float, seed: int, l2: float = 1e-3) -> StochasticProblem:
    """A synthetic logistic-regression task (see the module docstring); ``f_opt`` unknown (None)."""
    rng = np.random.default_rng(seed)
    s = 0.25 * np.log(condition)
    X = rng.standard_normal((n, dim)) * np.exp(np.linspace(-s, s, dim))
    X *= 2.0 / np.sqrt(np.linalg.eigvalsh(X.T @ X / n)[-1])
    y = np.sign(X @ rng.standard_normal(dim) + 0.5 * rng.standard_normal(n))
    y[y == 0] = 1.0
    m = _Logistic(X, y, l2)
    return StochasticProblem(lambda w, idx: m.loss_grad(w, idx)[0], lambda w, idx: m.loss_grad(w, idx)[1], n,
                             np.zeros(dim), loss_and_grad=m.loss_grad, name=f"logistic_d{dim}_cond{condition:.3g}")


def sample_tasks(n_tasks: int, seed: int, *, dims=(4, 32), max_condition: float = 1e3,
                 kinds=KINDS) -> list[StochasticProblem]:
    """``n_tasks`` tasks drawn from the distribution of the module docstring (alternating ``kinds``)."""
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, (int, np.integer)) or n_tasks < 1:
        raise InvalidParameterError(f"sample_tasks: 'n_tasks' must be a positive int; got {n_tasks!r}")
    if len(dims) != 2 or not 1 <= dims[0] <= dims[1]:
        raise InvalidParameterError(f"sample_tasks: 'dims' must be (low, high) with 1 <= low <= high; got {dims!r}")
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise InvalidParameterError(f"sample_tasks: 'kinds' must be a non-empty subset of {KINDS}; got {kinds!r}")
    rng = np.random.default_rng(seed)
    tasks = []
    for i in range(int(n_tasks)):
        dim = int(rng.integers(dims[0], dims[1] + 1))
        cond = float(np.exp(rng.uniform(0.0, np.log(max_condition))))
        data_seed = int(rng.integers(2**31))
        if kinds[i % len(kinds)] == "least_squares":
            noise = float(rng.choice([0.0, 0.1]))
            tasks.append(least_squares(n=8 * dim, dim=dim, condition=cond, noise=noise, seed=data_seed,
                                       name=f"least_squares_d{dim}_cond{cond:.3g}_noise{noise:g}"))
        else:
            tasks.append(logistic_task(8 * dim, dim, cond, data_seed))
    return tasks
