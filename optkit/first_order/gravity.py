"""Gravity (Bahrami & Zadeh, "Gravity Optimizer: a Kinematic Approach on Optimization in Deep Learning",
arXiv:2101.09192; github.com/dariush-bahrami/gravity.optimizer).

A ball sliding on the loss surface under a constant gravity: the displacement along a slope of
gradient ``g`` is proportional to ``sin(theta) cos(theta) = g / (1 + g^2)``, which the method rescales by
the largest gradient entry ``M = max_i |g_i|`` of the step, and averages in a velocity with a
warming-up weight (``t`` the step count from 0)::

    zeta = g / (1 + (g M)^2)                        (elementwise; = g / (1 + (g / (1/M))^2))
    beta_t = (beta t + 1) / (t + 2)
    v <- beta_t v + (1 - beta_t) zeta               (v_0 ~ N(0, (alpha / lr)^2), from the seed)
    w <- w - lr v

so large gradient entries are damped (a coordinate with ``|g| = M`` moves by at most ``lr/(2M)``-ish
in zeta) and small ones pass almost unchanged. Defaults are the official code's (``lr = 0.1``,
``alpha = 0.01``, ``beta = 0.9``); the random initial velocity makes the first steps a random walk of
size ``alpha`` per coordinate.
"""

from __future__ import annotations

import numpy as np

from optkit.core import transforms as tx
from optkit.core.gradient import COMMON_CONSTRAINTS, POSITIVE, UNIT, GradientOptimizer
from optkit.core.params import Interval
from optkit.core.registry import register


def scale_by_gravity(v0_std: float, beta: float) -> tx.Transform:
    """Gravity's velocity (before ``-lr``); the initial velocity is drawn on the first step."""

    def update(g, state, ctx):
        t = state["count"]
        v = ctx.rng.standard_normal(g.shape) * v0_std if t == 0 else state["v"]
        M = float(np.max(np.abs(g))) if g.size else 0.0
        zeta = g / (1.0 + (g * M) ** 2)
        beta_t = (beta * t + 1.0) / (t + 2.0)
        v = beta_t * v + (1.0 - beta_t) * zeta
        return v, {"v": v, "count": t + 1}

    return tx.Transform(lambda w: {"v": np.zeros_like(w), "count": 0}, update)


@register("gravity", family="first_order")
class Gravity(GradientOptimizer):
    """The Gravity optimizer: a damped-gradient velocity with a warming-up average."""

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "lr": [POSITIVE],
        "alpha": [Interval(float, 0, None)],
        "beta": [UNIT],
    }

    def __init__(self, space, *, lr: float = 0.1, alpha: float = 0.01, beta: float = 0.9, batch_size: int | None = 32,
                 sampling: str = "shuffle", seed=None):
        super().__init__(space, lr=lr, alpha=alpha, beta=beta, batch_size=batch_size, sampling=sampling, seed=seed)

    def _build(self) -> tx.Transform:
        return tx.chain(scale_by_gravity(self.alpha / self.lr, self.beta), tx.scale_by_learning_rate(self.lr))
