"""The first-order penalty method for bilevel optimization of Kwon, Kwon, Wright & Nowak, "On Penalty
Methods for Nonconvex Bilevel Optimization and First-Order Stochastic Approximation" (ICLR 2024).

The penalty function combines the levels with a weight ``sigma > 0``::

    h_sigma(x, y) = sigma f(x, y) + g(x, y),       l(x, sigma) = min_y h_sigma(x, y)
    psi_sigma(x)  = (l(x, sigma) - l(x, 0)) / sigma  ->  F(x) = f(x, y*(x))   as sigma -> 0

with ``|psi_sigma - F| = O(sigma)`` and ``||grad psi_sigma - grad F|| = O(sigma)`` under a proximal
error bound on the lower level (strong convexity is *not* required). Its gradient needs only
first-order oracles, at the two minimizers ``y*_sigma = argmin_y h_sigma(x, .)``, ``z* = argmin_y g(x, .)``::

    grad psi_sigma(x) = d_x f(x, y*_sigma) + (d_x g(x, y*_sigma) - d_x g(x, z*)) / sigma

One outer iteration ``k`` (the paper's double-loop scheme; ``inner_steps=1`` is the single-loop one):

    sigma_k = max(sigma, sigma0 (k + 1)^(-sigma_decay))                 (driven down to the target)
    y <- y - lr_inner (sigma_k d_y f(x, y; B_u) + d_y g(x, y; B_l))     inner_steps times (warm start)
    z <- z - lr_inner d_y g(x, z; B_l)                                   inner_steps times (warm start)
    d <- momentum d + (1 - momentum) [d_x f(x, y; B_u) + (d_x g(x, y; B_l) - d_x g(x, z; B_l)) / sigma_k]
    x <- proj(x - lr d)

with a fresh upper minibatch ``B_u`` for every gradient of ``f`` and a fresh lower minibatch ``B_l``
per inner step, shared by the ``y`` and the ``z`` step, and one shared by the two ``d_x g`` terms of
the difference: ``y - z`` and the difference then carry little of the lower level's sampling noise,
which the ``1/sigma`` factor would otherwise amplify. ``batch_size=None`` gives the deterministic method.
Cost per outer iteration: ``T (b_u + 2 b) + b_u + 2 b`` oracle calls.

The paper's single-loop variant reaches its better rate with momentum-assisted (STORM-type) gradient
estimators; ``momentum`` here is a plain exponential average of the direction, not that estimator.
"""

from __future__ import annotations

import numpy as np

from optkit.bilevel._base import COMMON_CONSTRAINTS, POSITIVE, BilevelOptimizer
from optkit.core.errors import InvalidParameterError
from optkit.core.params import Interval
from optkit.core.registry import register


@register("bilevel-penalty", family="bilevel")
class PenaltyBilevel(BilevelOptimizer):
    """Fully first-order penalty method (see the module docstring).

    Parameters
    ----------
    lr : float
        Outer step on ``x``.
    lr_inner : float
        Step of the lower-level loops (below ``2/L`` of ``h_sigma`` and ``g``).
    inner_steps : int
        Lower steps per outer iteration for each of ``y`` and ``z`` (1: single loop).
    sigma : float
        Target penalty parameter (the bias of ``psi_sigma`` is ``O(sigma)``).
    sigma0 : float
        Initial penalty parameter (``>= sigma``).
    sigma_decay : float
        ``sigma_k = max(sigma, sigma0 (k+1)^-sigma_decay)``; 0 keeps ``sigma0`` (then ``sigma0`` must equal ``sigma``).
    momentum : float
        Averaging weight of the outer direction, in [0, 1).
    batch_size, upper_batch_size : int or None
        Lower and upper minibatch sizes (None: full batches).
    """

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "lr": [POSITIVE],
        "lr_inner": [POSITIVE],
        "inner_steps": [Interval(int, 1, None)],
        "sigma": [POSITIVE],
        "sigma0": [POSITIVE],
        "sigma_decay": [Interval(float, 0, None)],
        "momentum": [Interval(float, 0, 1, closed="left")],
    }

    def __init__(self, space, *, lr: float = 0.1, lr_inner: float = 0.1, inner_steps: int = 10, sigma: float = 1e-3,
                 sigma0: float = 1.0, sigma_decay: float = 1.0, momentum: float = 0.0, batch_size: int | None = None,
                 upper_batch_size: int | None = None, sampling: str = "shuffle", seed=None):
        if sigma0 < sigma:
            raise InvalidParameterError(f"PenaltyBilevel: 'sigma0' must be >= 'sigma' (the penalty parameter decreases to its "
                                        f"target); got sigma0={sigma0!r}, sigma={sigma!r}")
        super().__init__(space, lr=lr, lr_inner=lr_inner, inner_steps=inner_steps, sigma=sigma, sigma0=sigma0,
                         sigma_decay=sigma_decay, momentum=momentum, batch_size=batch_size,
                         upper_batch_size=upper_batch_size, sampling=sampling, seed=seed)
        self._z: np.ndarray | None = None
        self._d: np.ndarray | None = None

    def sigma_at(self, k: int) -> float:
        """The penalty parameter of outer iteration ``k``."""
        return max(self.sigma, self.sigma0 * (k + 1.0) ** (-self.sigma_decay))

    def step_cost(self, problem) -> int:
        b, bu = self._b("lower", problem), self._b("upper", problem)
        return self.inner_steps * (bu + 2 * b) + bu + 2 * b

    def _init_run(self, problem) -> None:
        self._z = problem.y0
        self._d = np.zeros(problem.dim)

    def _step(self, problem, executor=None):
        x, y, z = self._x, self._y, self._z
        s = self.sigma_at(self._t)
        for _ in range(self.inner_steps):
            gy_f = problem.grad_f(x, y, self._batch("upper", problem))[1]
            lower = self._batch("lower", problem)
            gy_g = problem.grad_g(x, y, lower)[1]
            y = y - self.lr_inner * (s * gy_f + gy_g)
            z = z - self.lr_inner * problem.grad_g(x, z, lower)[1]
        gx_f = problem.grad_f(x, y, self._batch("upper", problem))[0]
        lower = self._batch("lower", problem)
        gx_y = problem.grad_g(x, y, lower)[0]
        gx_z = problem.grad_g(x, z, lower)[0]
        h = gx_f + (gx_y - gx_z) / s
        self._d = self.momentum * self._d + (1.0 - self.momentum) * h if self._t else h
        self._y, self._z = y, z
        self._x = self._project(x - self.lr * self._d)
        return h

    def result_extras(self) -> dict:
        return {"sigma": self.sigma_at(max(self._t - 1, 0)), "z": None if self._z is None else self._z.copy()}

    def _method_state(self) -> dict:
        return {"z": self._z.copy(), "d": self._d.copy()}

    def _load_method_state(self, state: dict) -> None:
        self._z = np.asarray(state["z"], dtype=np.float64)
        self._d = np.asarray(state["d"], dtype=np.float64)
