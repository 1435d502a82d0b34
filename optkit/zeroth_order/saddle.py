"""Perturbed two-point zeroth-order descent that escapes strict saddle points (Ren, Tang & Li, ICML 2023).

A two-point estimate vanishes, in expectation and often exactly, at a saddle point: plain ZO-SGD started
on a saddle (or on its stable manifold) stays there. Ren, Tang & Li add an isotropic perturbation to
every step of the 2m-point sphere estimator and show that the iterates then find an approximate
second-order stationary point with ``O~(d / (m eps^2 psi))`` evaluations. Here the perturbation is an
isotropic Gaussian parametrized by its root-mean-square size ``r`` (the paper's abstract fixes only that it
is isotropic and added at every iteration)::

    G_t = d/m sum_k (f(x_t + mu z_k) - f(x_t - mu z_k)) / (2 mu) z_k,   z_k uniform on the unit sphere
    Y_t ~ N(0, (r^2 / d) I)                                               (so E |Y_t|^2 = r^2)
    x_{t+1} = Proj(x_t - lr_t (G_t + Y_t))

With ``grad_threshold`` set, the perturbation is added only on steps where ``|G_t| <= grad_threshold``
(the rule of perturbed gradient descent, Jin et al. 2017), so that far from stationary points the method
is plain ZO-SGD.
"""

from __future__ import annotations

import numpy as np

from optkit.core.registry import register
from optkit.zeroth_order._base import COMMON_CONSTRAINTS, ZerothOrderOptimizer
from optkit.zeroth_order.estimators import POSITIVE
from optkit.zeroth_order.zo_sgd import _DOC_COMMON


@register("zo-saddle", family="zeroth_order")
class ZOSaddle(ZerothOrderOptimizer):
    __doc__ = """Perturbed two-point ZO descent (Ren, Tang & Li 2023): ``x <- Proj(x - lr_t (G + Y))``, ``Y`` isotropic.

    When to use: a nonconvex black box with saddle points (symmetric designs, matrix factorizations,
    starting points chosen by symmetry), where plain ZO-SGD can stall because its estimate vanishes.
    """ + _DOC_COMMON + """    radius : float
        Perturbation size ``r`` (gradient units): ``Y ~ N(0, (r^2/d) I)``, ``E |Y|^2 = r^2``.
    grad_threshold : float, optional
        Perturb only on steps where the estimate's norm is at most this (default: every step, as in
        the paper).

    Examples
    --------
    >>> import optkit
    >>> from optkit.problems.zo import strict_saddle
    >>> p = strict_saddle(4)                          # saddle at the origin, minima at f = -0.5
    >>> res = optkit.make("zo-saddle", p.space, x0=[0.0] * 4, lr=0.1, seed=0).minimize(p, budget=600)
    >>> bool(res.fun < -0.49)
    True
    """

    _parameter_constraints = {**COMMON_CONSTRAINTS, "radius": [POSITIVE], "grad_threshold": [None, POSITIVE]}

    def __init__(self, space, *, lr=0.01, lr_decay=0.0, radius=0.1, grad_threshold=None, estimator="sphere",
                 smoothing=None, n_directions=1, antithetic=True, mask=None, n_coordinates=None, x0=None, seed=None):
        super().__init__(space, seed=seed, lr=lr, lr_decay=lr_decay, radius=radius, grad_threshold=grad_threshold,
                         estimator=estimator, smoothing=smoothing, n_directions=n_directions, antithetic=antithetic,
                         mask=mask, n_coordinates=n_coordinates, x0=x0)
        self.n_perturbed_ = 0

    def _step(self, g, x):
        u = g
        if self.grad_threshold is None or float(np.linalg.norm(g)) <= self.grad_threshold:
            u = g + (self.radius / np.sqrt(self.dim)) * self.rng.standard_normal(self.dim)
            self.n_perturbed_ += 1
        return x - self.learning_rate() * u

    def result_extras(self) -> dict:
        return {**super().result_extras(), "n_perturbed": self.n_perturbed_}

    def _state(self) -> dict:
        return {"n_perturbed": self.n_perturbed_}

    def _load(self, state: dict) -> None:
        self.n_perturbed_ = int(state["n_perturbed"])


__all__ = ["ZOSaddle"]
