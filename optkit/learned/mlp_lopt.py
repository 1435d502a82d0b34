"""A learned per-parameter MLP optimizer ("learned-mlp"), after small_fc_lopt.

Metz, Freeman, Harrison, Maheswaranathan, Sohl-Dickstein, "Practical tradeoffs between memory,
compute, and performance in learned optimizers", CoLLAs 2022 (arXiv:2203.11860); its model
``small_fc_lopt`` and the per-parameter MLP of google/learned_optimization. The *generic* learned
optimizer: a black-box network maps each coordinate's features to its step.

Update (features of :mod:`optkit.learned._net`: the gradient, three momentum EMAs, the second-moment
EMA, the parameter, Adam ratios, ``tanh(t/T)`` at three timescales; one hidden ReLU layer)::

    (d_i, a_i) = MLP_theta(features_i)                         two outputs per coordinate
    w_i <- w_i - step_mult * d_i * exp(exp_mult * a_i)         direction times exp(log-magnitude)

with ``step_mult = 0.05`` and ``exp_mult = 1`` (the exponent clipped to [-20, 5]). The meta-parameters
``theta`` are one flat vector (:func:`optkit.learned._net.n_params`: 122 numbers for 8 hidden
units), loaded from an ``.npz`` file or given as an array; the shipped default
(``optkit/learned/data/mlp_lopt.npz``) was meta-trained by :func:`optkit.learned.meta.meta_train`
on random least-squares and logistic-regression tasks (see docs/methods/learned.md).
"""

from __future__ import annotations

import numpy as np

from optkit.core import transforms as tx
from optkit.core.gradient import COMMON_CONSTRAINTS, GradientOptimizer
from optkit.core.params import Predicate
from optkit.core.registry import register
from optkit.learned import _net

STEP_MULT = 0.05
EXP_MULT = 1.0

WEIGHTS = Predicate(_net.weights_ok, "None, a path to an .npz weight file, or a flat array of meta-parameters")


def mlp_step(theta: np.ndarray, hidden: int, X: np.ndarray) -> np.ndarray:
    """The step ``step_mult * d * exp(exp_mult * a)`` (subtracted from w) for features ``X`` (d, 12)."""
    out = _net.forward(theta, hidden, X)
    return STEP_MULT * out[:, 0] * np.exp(np.clip(EXP_MULT * out[:, 1], -20.0, 5.0))


def scale_by_learned_mlp(theta: np.ndarray, hidden: int) -> tx.Transform:
    """The learned MLP as a transform: gradient in, increment ``-step`` out."""

    def update(g, state, ctx):
        X, state = _net.features(g, ctx.w, state)
        return -mlp_step(theta, hidden, X), state

    return tx.Transform(_net.init_state, update)


def init_theta(hidden: int = _net.DEFAULT_HIDDEN, seed: int = 0, scale: float = 0.1) -> np.ndarray:
    """Meta-training's starting point: small random weights plus two hidden units that pass the Adam
    ratio of momentum 0.9 to the direction output (``d = relu(r) - relu(-r) = r``), so the initial
    optimizer is close to Adam with learning rate ``step_mult``."""
    rng = np.random.default_rng(seed)
    W1 = scale * rng.standard_normal((_net.N_FEATURES, hidden)) / np.sqrt(_net.N_FEATURES)
    W2 = scale * rng.standard_normal((hidden, _net.N_OUT)) / np.sqrt(hidden)
    b1, b2 = np.zeros(hidden), np.zeros(_net.N_OUT)
    r = 6 + 1  # column of the Adam ratio m_hat(0.9) / sqrt(v_hat)
    W1[:, :2] = 0.0
    W1[r, 0], W1[r, 1] = 1.0, -1.0
    W2[:2, 0], W2[:2, 1] = (1.0, -1.0), 0.0
    return _net.pack(W1, b1, W2, b2)


@register("learned-mlp", family="learned")
class LearnedMLP(GradientOptimizer):
    """The generic learned optimizer: a per-coordinate MLP gives each step's direction and log-magnitude.

    Parameters
    ----------
    space : Box
    weights : None, path or array
        The meta-parameters: None loads the shipped ``optkit/learned/data/mlp_lopt.npz``; a path loads
        an ``.npz`` written by :func:`optkit.learned.save_weights`; an array (``n_params(hidden)``
        numbers) is used as given.
    batch_size : int or None
        Minibatch size (None: the full batch). The shipped weights were meta-trained with 32.
    sampling : {"shuffle", "iid"}
    seed : int, optional

    Examples
    --------
    >>> import optkit
    >>> from optkit.problems.ml import least_squares
    >>> p = least_squares(n=200, dim=10, condition=30.0, seed=5)
    >>> res = optkit.make("learned-mlp", p.space, seed=0).minimize(p, budget=200 * 32)
    >>> bool(res.fun < 1e-2 * p.objective(p.w0))
    True
    """

    family = "learned"
    _parameter_constraints = {**COMMON_CONSTRAINTS, "weights": [WEIGHTS]}

    def __init__(self, space, *, weights=None, batch_size: int | None = 32, sampling: str = "shuffle", seed=None):
        super().__init__(space, weights=weights, batch_size=batch_size, sampling=sampling, seed=seed)

    def _build(self) -> tx.Transform:
        self.theta_, self.hidden_ = _net.resolve(type(self).__name__, self.weights, "mlp", "mlp_lopt.npz")
        return scale_by_learned_mlp(self.theta_, self.hidden_)
