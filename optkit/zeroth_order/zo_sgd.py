"""ZO-SGD, ZO-signSGD and ZO-Adam (ZO-AdaMM): gradient steps on estimates from function values.

Each iteration asks for the points of one gradient estimate ``g`` at the iterate ``x_t`` (see
:mod:`optkit.zeroth_order.estimators`; they can be evaluated in parallel), then steps, with
``lr_t = lr / (t + 1)^lr_decay`` and ``Proj`` the projection onto the box (a clip):

* ZO-SGD (Ghadimi & Lan 2013; Nesterov & Spokoiny 2017):  ``x <- Proj(x - lr_t g)``;
* ZO-signSGD (Liu, Chen, Chen & Hong, ICLR 2019):         ``x <- Proj(x - lr_t sign(g))``;
* ZO-Adam, ZO-AdaMM (Chen et al., NeurIPS 2019)::

      m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,   v_hat <- max(v_hat, v / (1 - b2^t))
      x <- Proj(x - lr_t (m / (1 - b1^t)) / (sqrt(v_hat) + eps))

  (the AMSGrad maximum of ZO-AdaMM, with Adam's bias corrections; ``amsgrad=False`` drops the
  maximum). For a box the projection in ZO-AdaMM's ``v_hat``-weighted norm is the plain clip, since
  the box is separable.

The budget is counted in function evaluations: one iteration costs the estimator's ``cost(d)``.
"""

from __future__ import annotations

import numpy as np

from optkit.core.params import BOOL, Interval
from optkit.core.registry import register
from optkit.zeroth_order._base import COMMON_CONSTRAINTS, ZerothOrderOptimizer
from optkit.zeroth_order.estimators import POSITIVE

_DOC_COMMON = """
    Parameters
    ----------
    space : Box or SearchSpace
    lr : float
        Step size (in the box's units per unit of gradient; per coordinate for the sign and Adam steps).
    lr_decay : float in [0, 1]
        The step size decays as ``lr / (t + 1)^lr_decay`` (0: constant; 0.5: the 1/sqrt(t) of the
        nonconvex analyses).
    estimator : {"gaussian", "sphere", "forward", "central"}
        The gradient estimator (see :mod:`optkit.zeroth_order.estimators`); "forward" with a ``mask`` is
        DeepZero's CGE.
    smoothing : float, optional
        The smoothing parameter ``mu`` > 0 (default ``1e-5`` times the box's mean width).
    n_directions : int
        Random directions per estimate (``m``: ``2m`` evaluations) for "gaussian" and "sphere".
    antithetic : bool
        Random estimators: ``f(x + mu u) - f(x - mu u)`` (True) or ``f(x + mu u) - f(x)`` (False).
    mask : sequence of int or of bool, optional
        Coordinate estimators: the coordinates to estimate (a sparsity mask); the others get 0.
    n_coordinates : int, optional
        Coordinate estimators: coordinates of the mask drawn per estimate (default: all of them).
    x0 : array (d,), optional
        The starting point, inside the box (default: a uniformly random point of the box). A point
        outside the box is an error, not projected.
    seed : int, optional
"""


class _ZOGradient(ZerothOrderOptimizer):
    def _common(self, lr, lr_decay, estimator, smoothing, n_directions, antithetic, mask, n_coordinates, x0) -> dict:
        return {"lr": lr, "lr_decay": lr_decay, "estimator": estimator, "smoothing": smoothing,
                "n_directions": n_directions, "antithetic": antithetic, "mask": mask, "n_coordinates": n_coordinates,
                "x0": x0}


@register("zo-sgd", family="zeroth_order")
class ZOSGD(_ZOGradient):
    __doc__ = """Zeroth-order SGD: ``x <- Proj(x - lr_t g)`` with ``g`` a gradient estimate from values.

    When to use: a smooth black-box objective (a simulation, a model's loss without autodiff) in
    moderate to high dimension, where a finite-difference gradient is affordable per step.
    """ + _DOC_COMMON + """
    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float(((x - 1.0) ** 2).sum()), [(-3, 3)] * 5, method="zo-sgd",
    ...                       budget=2000, seed=0, lr=0.1)
    >>> bool(res.fun < 1e-8)
    True
    """

    _parameter_constraints = COMMON_CONSTRAINTS

    def __init__(self, space, *, lr=0.01, lr_decay=0.0, estimator="gaussian", smoothing=None, n_directions=1,
                 antithetic=True, mask=None, n_coordinates=None, x0=None, seed=None):
        super().__init__(space, seed=seed, **self._common(lr, lr_decay, estimator, smoothing, n_directions,
                                                          antithetic, mask, n_coordinates, x0))

    def _step(self, g, x):
        return x - self.learning_rate() * g


@register("zo-signsgd", family="zeroth_order")
class ZOSignSGD(_ZOGradient):
    __doc__ = """Zeroth-order signSGD (Liu et al. 2019): ``x <- Proj(x - lr_t sign(g))``.

    When to use: badly scaled objectives, or noisy values, where only the sign of each coordinate of
    the estimate is trusted. A constant step makes the iterate oscillate within ``lr`` of the optimum
    per coordinate; ``lr_decay=0.5`` (the paper's ``1/sqrt(t)``) lets it settle. The paper averages
    ``m`` sphere directions per estimate (``n_directions``), which makes the signs more reliable.
    """ + _DOC_COMMON + """
    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float(((x - 1.0) ** 2).sum()), [(-3, 3)] * 5, method="zo-signsgd",
    ...                       budget=3000, seed=0, lr=0.02, n_directions=5)
    >>> bool(res.fun < 1e-2)
    True
    """

    _parameter_constraints = COMMON_CONSTRAINTS

    def __init__(self, space, *, lr=0.01, lr_decay=0.0, estimator="sphere", smoothing=None, n_directions=1,
                 antithetic=True, mask=None, n_coordinates=None, x0=None, seed=None):
        super().__init__(space, seed=seed, **self._common(lr, lr_decay, estimator, smoothing, n_directions,
                                                          antithetic, mask, n_coordinates, x0))

    def _step(self, g, x):
        return x - self.learning_rate() * np.sign(g)


@register("zo-adam", family="zeroth_order")
class ZOAdam(_ZOGradient):
    __doc__ = """ZO-Adam, the ZO-AdaMM method of Chen et al. (2019): Adam steps (AMSGrad maximum) on estimates.

    When to use: black-box objectives whose coordinates have very different scales (adversarial
    attacks, model tuning), where a per-coordinate step size pays off.
    """ + _DOC_COMMON + """    beta1, beta2 : float in [0, 1)
        Decay rates of the first and second moments.
    eps : float
        Added to ``sqrt(v_hat)``.
    amsgrad : bool
        Keep the running maximum of ``v_hat`` (ZO-AdaMM); False gives plain Adam steps.

    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float(((x - 1.0) ** 2).sum()), [(-3, 3)] * 5, method="zo-adam",
    ...                       budget=3000, seed=0, lr=0.1)
    >>> bool(res.fun < 1e-6)
    True
    """

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "beta1": [Interval(float, 0, 1, closed="left")],
        "beta2": [Interval(float, 0, 1, closed="left")],
        "eps": [POSITIVE],
        "amsgrad": [BOOL],
    }

    def __init__(self, space, *, lr=0.01, lr_decay=0.0, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=True,
                 estimator="sphere", smoothing=None, n_directions=1, antithetic=True, mask=None, n_coordinates=None,
                 x0=None, seed=None):
        super().__init__(space, seed=seed, beta1=beta1, beta2=beta2, eps=eps, amsgrad=amsgrad,
                         **self._common(lr, lr_decay, estimator, smoothing, n_directions, antithetic, mask,
                                        n_coordinates, x0))
        self.m_ = np.zeros(self.dim)
        self.v_ = np.zeros(self.dim)
        self.v_hat_ = np.zeros(self.dim)

    def _step(self, g, x):
        t = self.t_ + 1
        self.m_ = self.beta1 * self.m_ + (1 - self.beta1) * g
        self.v_ = self.beta2 * self.v_ + (1 - self.beta2) * g * g
        v = self.v_ / (1 - self.beta2**t)
        self.v_hat_ = np.maximum(self.v_hat_, v) if self.amsgrad else v
        m = self.m_ / (1 - self.beta1**t)
        return x - self.learning_rate() * m / (np.sqrt(self.v_hat_) + self.eps)

    def _state(self) -> dict:
        return {"m": self.m_, "v": self.v_, "v_hat": self.v_hat_}

    def _load(self, state: dict) -> None:
        self.m_ = np.asarray(state["m"], dtype=np.float64)
        self.v_ = np.asarray(state["v"], dtype=np.float64)
        self.v_hat_ = np.asarray(state["v_hat"], dtype=np.float64)


__all__ = ["ZOAdam", "ZOSGD", "ZOSignSGD"]
