"""Differentially private optimization with a real privacy accountant.

Registered gradient methods (family ``"privacy"``, run on a :class:`~optkit.StochasticProblem` with
per-example gradients): ``"dp-sgd"`` (DP-SGD / DP-GD, :mod:`.dp_sgd`), ``"dp-ngp"`` (m-NGP,
:mod:`.ngp`), ``"diff2"`` (DIFF2, :mod:`.diff2`). Each result carries the privacy spent
(``res.epsilon`` at ``res.delta``) and, with ``target_epsilon=``, the run stops before exceeding it.

Accountants (:mod:`.accountant`): ``RDPAccountant`` (Opacus's numbers), ``GDPAccountant`` (exact for
full-batch methods), :func:`noise_multiplier_for` (the inverse).

Beside the optimizers: :mod:`.online_experts` (private prediction from experts in the realizable
regime) and :mod:`.private_gsd` (private synthetic data by a genetic algorithm).

For a scikit-learn style wrapper, :func:`private_logistic_regression` fits binary logistic regression
with DP-SGD from ``(epsilon, delta)``:

>>> import numpy as np
>>> from optkit.privacy import private_logistic_regression
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(1000, 3)); y = (X @ [1.0, -2.0, 0.5] > 0).astype(int)
>>> res = private_logistic_regression(X, y, epsilon=1.0, delta=1e-5, seed=0)
>>> bool(res.epsilon <= 1.0), res.delta, res.coef.shape
(True, 1e-05, (3,))
>>> bool(np.mean((X @ res.coef + res.intercept > 0) == y) > 0.9)
True
"""

from __future__ import annotations

import math

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.stochastic import StochasticProblem
from optkit.privacy.accountant import GDPAccountant, RDPAccountant, epsilon, noise_multiplier_for


def _logistic_problem(X: np.ndarray, s: np.ndarray, l2: float) -> StochasticProblem:
    """Mean of ``log(1 + exp(-s_i x_i^T w)) + l2/2 ||w||^2`` with exact per-example gradients."""
    from scipy.special import expit

    def rows(idx):
        return (X, s) if idx is None else (X[idx], s[idx])

    def loss(w, idx):
        A, t = rows(idx)
        return float(np.mean(np.logaddexp(0.0, -t * (A @ w)))) + 0.5 * l2 * (w @ w)

    def per_example(w, idx):
        A, t = rows(idx)
        return -(t * expit(-t * (A @ w)))[:, None] * A + l2 * w

    def grad(w, idx):
        return per_example(w, idx).mean(axis=0)

    return StochasticProblem(loss, grad, X.shape[0], np.zeros(X.shape[1]), per_example_grads=per_example,
                             name="private_logistic_regression")


def private_logistic_regression(X, y, *, epsilon: float, delta: float, epochs: float = 20.0, batch_size: int = 64,
                                max_grad_norm: float = 1.0, lr: float = 0.5, momentum: float = 0.0, l2: float = 1e-4,
                                fit_intercept: bool = True, seed=None):
    """Fit binary L2-regularized logistic regression with DP-SGD at ``(epsilon, delta)``.

    The noise multiplier is the smallest (RDP accountant) that keeps ``epochs`` passes of Poisson
    batches of expected size ``batch_size`` within ``epsilon``, and the run is given
    ``target_epsilon=epsilon``, so it stops before spending more. Returns the DP-SGD
    :class:`~optkit.Result` with, besides ``epsilon`` (spent, <= the target) and ``delta``:
    ``coef`` (n_features,), ``intercept`` (0.0 without ``fit_intercept``), ``classes`` (the two labels;
    the second is the positive class) and ``noise_multiplier``.

    Privacy covers the training rows only: scale the features with data-independent bounds (a
    standardization fitted on the same rows is not private). ``res.fun`` is the (non-private)
    training loss.
    """
    from optkit.privacy.dp_sgd import DPSGD

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2 or not np.all(np.isfinite(X)):
        raise InvalidParameterError(f"private_logistic_regression: 'X' must be a finite 2-D array with >= 2 rows; got shape {X.shape}")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise InvalidParameterError(f"private_logistic_regression: 'y' must have shape ({X.shape[0]},); got {y.shape}")
    classes = np.unique(y)
    if classes.size != 2:
        raise InvalidParameterError(f"private_logistic_regression: 'y' must have exactly 2 classes; got {classes.size}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, float)) or not epochs > 0:
        raise InvalidParameterError(f"private_logistic_regression: 'epochs' must be a number > 0; got {epochs!r}")
    n = X.shape[0]
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InvalidParameterError(f"private_logistic_regression: 'batch_size' must be an int >= 1; got {batch_size!r}")
    A = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    s = np.where(y == classes[1], 1.0, -1.0)
    problem = _logistic_problem(A, s, float(l2))
    q = min(1.0, batch_size / n)
    steps = max(1, math.ceil(epochs / q))
    sigma = noise_multiplier_for(epsilon, delta, q, steps)
    opt = DPSGD(problem.space, lr=lr, max_grad_norm=max_grad_norm, noise_multiplier=sigma,
                batch_size=None if q == 1.0 else int(batch_size), momentum=momentum, delta=delta,
                target_epsilon=epsilon, seed=seed)
    res = opt.minimize(problem, budget=2 * n * (steps + 10))
    w = res.x
    res.update(coef=w[:-1].copy() if fit_intercept else w.copy(), intercept=float(w[-1]) if fit_intercept else 0.0,
               classes=classes)
    return res


__all__ = ["GDPAccountant", "RDPAccountant", "epsilon", "noise_multiplier_for", "private_logistic_regression"]
