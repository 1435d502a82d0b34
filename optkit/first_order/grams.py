"""Grams: gradient descent with adaptive momentum scaling (Cao, Li & Song, arXiv:2412.17107, ICLR 2025
SCOPE workshop; github.com/Gunale0926/Grams).

Adam's moments set the *size* of each coordinate's step and the current gradient alone its *sign*
(``t`` from 1, elementwise)::

    m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
    u  = (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    w <- w - lr (sign(g) |u| + weight_decay w)

Where ``sign(m) = sign(g)`` the step is Adam's; where they disagree Grams still moves along ``-g``
(Cautious AdamW would skip that coordinate). Defaults are the paper's (Adam's, decoupled decay 0).
"""

from __future__ import annotations

import numpy as np

from optkit.core import transforms as tx
from optkit.core.gradient import COMMON_CONSTRAINTS, POSITIVE, UNIT, GradientOptimizer
from optkit.core.params import Interval
from optkit.core.registry import register


def scale_by_grams_sign() -> tx.Transform:
    """``u <- sign(grad) |u|``: the magnitude of the incoming direction with the raw gradient's sign."""
    return tx.Transform(lambda w: {}, lambda u, state, ctx: (np.sign(ctx.grad) * np.abs(u), state))


@register("grams", family="first_order")
class Grams(GradientOptimizer):
    """Adam's magnitudes with the gradient's signs, decoupled weight decay."""

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "lr": [POSITIVE],
        "b1": [UNIT],
        "b2": [UNIT],
        "eps": [Interval(float, 0, None)],
        "weight_decay": [Interval(float, 0, None)],
    }

    def __init__(self, space, *, lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0, batch_size: int | None = 32, sampling: str = "shuffle", seed=None):
        super().__init__(space, lr=lr, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay, batch_size=batch_size,
                         sampling=sampling, seed=seed)

    def _build(self) -> tx.Transform:
        return tx.chain(tx.scale_by_adam(self.b1, self.b2, self.eps), scale_by_grams_sign(),
                        tx.add_decayed_weights(self.weight_decay), tx.scale_by_learning_rate(self.lr))
