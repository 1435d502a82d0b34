"""The math-structured learned optimizer ("learned-math"): L2O-PA of Liu et al. (ICML 2023).

J. Liu, X. Chen, Z. Wang, W. Yin, H. Cai, "Towards Constituting Mathematical Structures for Learning
to Optimize", ICML 2023 (arXiv:2305.18577; code github.com/xhchrn/MS4L2O, ``CoordMathLSTM``).

The paper derives conditions that a convergent update rule satisfies and writes the update as a
*preconditioned* gradient step plus an *accelerator* (momentum) term, with the network choosing only
their per-coordinate coefficients. For a smooth objective (its proximal operator is the identity),
the L2O-PA update, step ``k``, elementwise::

    z_{k+1} = x_k - alpha * P_k * grad f(x_k)                 P_k in (0, 2): the preconditioner
    x_{k+1} = z_{k+1} + A_k * (z_{k+1} - z_k)                 A_k in (-1, 1): the accelerator

with ``z_0 = x_0`` and ``alpha`` the step size (the paper's ``1/L``: the ``lr`` hyperparameter).
``P_k = 2 sigmoid(o_1)`` (the paper code's "sigmoid" normalization) and ``A_k = tanh(o_2)`` come
from a per-coordinate network with outputs ``(o_1, o_2)``. The paper's full model also has a mixing
coefficient B and bias terms b1, b2 (its ablation L2O-PBA12); L2O-PA sets B = 1 and b1 = b2 = 0,
which keeps one gradient per step. The paper's network is a two-layer coordinate-wise LSTM fed with
(grad, x); here it is the same one-hidden-layer MLP on the same features as ``learned-mlp``
(:mod:`optkit.learned._net`), whose momentum EMAs stand in for the LSTM's memory, so that the two
learned optimizers differ only in the structure of the update. ``A = tanh`` (bounded) replaces the
paper's unbounded identity normalization.

Known settings: a network that outputs (0, 0) everywhere (all meta-parameters zero) gives ``P = 1``,
``A = 0``: gradient descent with step ``alpha``; output (0, atanh(beta)) gives Nesterov's method with
momentum ``beta``.
"""

from __future__ import annotations

import numpy as np

from optkit.core import transforms as tx
from optkit.core.gradient import COMMON_CONSTRAINTS, POSITIVE, GradientOptimizer
from optkit.core.registry import register
from optkit.learned import _net
from optkit.learned.mlp_lopt import WEIGHTS


def coefficients(theta: np.ndarray, hidden: int, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P, A) per coordinate for features ``X`` (d, 12)."""
    out = _net.forward(theta, hidden, X)
    return 2.0 / (1.0 + np.exp(-np.clip(out[:, 0], -50.0, 50.0))), np.tanh(out[:, 1])


def scale_by_math_l2o(theta: np.ndarray, hidden: int, lr: float) -> tx.Transform:
    """L2O-PA as a transform: gradient in, increment ``x_{k+1} - x_k`` out (state: accumulators and z)."""

    def init(w):
        return {**_net.init_state(w), "z": np.array(w, dtype=np.float64)}

    def update(g, state, ctx):
        X, acc = _net.features(g, ctx.w, state)
        P, A = coefficients(theta, hidden, X)
        z_new = ctx.w - lr * P * g
        x_new = z_new + A * (z_new - state["z"])
        return x_new - ctx.w, {**acc, "z": z_new}

    return tx.Transform(init, update)


def init_theta(hidden: int = _net.DEFAULT_HIDDEN, seed: int = 0, scale: float = 0.1) -> np.ndarray:
    """Meta-training's starting point: small random weights, output biases 0 (P = 1) and atanh(0.5)
    (A = 0.5), i.e. close to Nesterov's method with step ``alpha`` and momentum 0.5."""
    rng = np.random.default_rng(seed)
    W1 = scale * rng.standard_normal((_net.N_FEATURES, hidden)) / np.sqrt(_net.N_FEATURES)
    W2 = scale * rng.standard_normal((hidden, _net.N_OUT)) / np.sqrt(hidden)
    return _net.pack(W1, np.zeros(hidden), W2, np.array([0.0, np.arctanh(0.5)]))


@register("learned-math", family="learned")
class LearnedMath(GradientOptimizer):
    """Math-structured learned optimizer (L2O-PA): learned preconditioner and accelerator coefficients.

    Parameters
    ----------
    space : Box
    lr : float
        The step size ``alpha`` (the paper's ``1/L``, L the gradient's Lipschitz constant). The shipped
        weights were meta-trained on tasks scaled to L <= 1 with ``lr = 1``; elsewhere use about ``1/L``.
    weights : None, path or array
        Meta-parameters: None loads the shipped ``optkit/learned/data/math_l2o.npz``; a path or an array
        as for ``learned-mlp``.
    batch_size : int or None
    sampling : {"shuffle", "iid"}
    seed : int, optional

    Examples
    --------
    >>> import numpy as np, optkit
    >>> from optkit.problems.ml import least_squares
    >>> p = least_squares(n=100, dim=4, condition=10.0, seed=0)
    >>> zero = np.zeros(optkit.learned.n_params())           # P = 1, A = 0: gradient descent
    >>> res = optkit.make("learned-math", p.space, weights=zero, lr=1.0, batch_size=None).minimize(p, 100 * 100)
    >>> bool(res.fun < 1e-8)
    True
    """

    family = "learned"
    _parameter_constraints = {**COMMON_CONSTRAINTS, "lr": [POSITIVE], "weights": [WEIGHTS]}

    def __init__(self, space, *, lr: float = 1.0, weights=None, batch_size: int | None = 32, sampling: str = "shuffle",
                 seed=None):
        super().__init__(space, lr=lr, weights=weights, batch_size=batch_size, sampling=sampling, seed=seed)

    def _build(self) -> tx.Transform:
        self.theta_, self.hidden_ = _net.resolve(type(self).__name__, self.weights, "math", "math_l2o.npz")
        return scale_by_math_l2o(self.theta_, self.hidden_, float(self.lr))
