"""Adaptive-step baselines: Adam, AdamW, AdaGrad, RMSProp and Lion.

Updates (``g`` the minibatch gradient, ``t`` the step count from 1, elementwise operations):

* **Adam** (Kingma & Ba 2015): ``g <- g + weight_decay w`` (L2, torch.optim.Adam's convention);
  ``m <- b1 m + (1-b1) g``; ``v <- b2 v + (1-b2) g^2``;
  ``w <- w - lr m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps)``.
* **AdamW** (Loshchilov & Hutter 2019): Adam's direction ``d``, then decoupled decay:
  ``w <- w - lr (d + weight_decay w)`` (torch.optim.AdamW and optax.adamw).
* **AdaGrad** (Duchi, Hazan & Singer 2011): ``s <- s + g^2``; ``w <- w - lr g / (sqrt(s) + eps)``.
* **RMSProp** (Tieleman & Hinton 2012, torch's form): ``s <- alpha s + (1-alpha) g^2``;
  ``d = g / (sqrt(s) + eps)`` (``s - mean^2`` when centered); with momentum ``m <- mu m + d``,
  ``w <- w - lr m``.
* **Lion** (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"):
  ``d = sign(b1 m + (1-b1) g)``; ``w <- w - lr (d + weight_decay w)``; ``m <- b2 m + (1-b2) g``.

``cautious=True`` on AdamW and Lion applies the Cautious mask (Liang et al. 2024) to the direction
before the decay: see :mod:`optkit.first_order.cautious`.
"""

from __future__ import annotations

from optkit.core import transforms as tx
from optkit.core.gradient import COMMON_CONSTRAINTS, POSITIVE, UNIT, GradientOptimizer
from optkit.core.params import BOOL, Interval
from optkit.core.registry import register
from optkit.first_order.cautious import cautious_mask

_NONNEG = Interval(float, 0, None)


def _cautious(on: bool) -> list:
    """The Cautious mask (optkit.first_order.cautious) as an optional chain piece."""
    return [cautious_mask()] if on else []


def _common(**extra) -> dict:
    return {**COMMON_CONSTRAINTS, "lr": [POSITIVE], **extra}


@register("adam", family="first_order")
class Adam(GradientOptimizer):
    """Adam with bias correction and optional L2 weight decay (added to the gradient)."""

    _parameter_constraints = _common(b1=[UNIT], b2=[UNIT], eps=[_NONNEG], weight_decay=[_NONNEG])

    def __init__(self, space, *, lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0, batch_size: int | None = 32, sampling: str = "shuffle", seed=None):
        super().__init__(space, lr=lr, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay, batch_size=batch_size,
                         sampling=sampling, seed=seed)

    def _build(self) -> tx.Transform:
        return tx.chain(tx.add_decayed_weights(self.weight_decay), tx.scale_by_adam(self.b1, self.b2, self.eps),
                        tx.scale_by_learning_rate(self.lr))


@register("adamw", family="first_order")
class AdamW(GradientOptimizer):
    """Adam with decoupled weight decay; C-AdamW with ``cautious=True``."""

    _parameter_constraints = _common(b1=[UNIT], b2=[UNIT], eps=[_NONNEG], weight_decay=[_NONNEG], cautious=[BOOL])

    def __init__(self, space, *, lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.01, cautious: bool = False, batch_size: int | None = 32,
                 sampling: str = "shuffle", seed=None):
        super().__init__(space, lr=lr, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay, cautious=cautious,
                         batch_size=batch_size, sampling=sampling, seed=seed)

    def _build(self) -> tx.Transform:
        return tx.chain(tx.scale_by_adam(self.b1, self.b2, self.eps), *_cautious(self.cautious),
                        tx.add_decayed_weights(self.weight_decay), tx.scale_by_learning_rate(self.lr))


@register("adagrad", family="first_order")
class AdaGrad(GradientOptimizer):
    """AdaGrad (diagonal), torch.optim.Adagrad's defaults."""

    _parameter_constraints = _common(eps=[_NONNEG], initial_accumulator_value=[_NONNEG])

    def __init__(self, space, *, lr: float = 0.01, eps: float = 1e-10, initial_accumulator_value: float = 0.0,
                 batch_size: int | None = 32, sampling: str = "shuffle", seed=None):
        super().__init__(space, lr=lr, eps=eps, initial_accumulator_value=initial_accumulator_value,
                         batch_size=batch_size, sampling=sampling, seed=seed)

    def _build(self) -> tx.Transform:
        return tx.chain(tx.scale_by_rss(self.initial_accumulator_value, self.eps), tx.scale_by_learning_rate(self.lr))


@register("rmsprop", family="first_order")
class RMSProp(GradientOptimizer):
    """RMSProp, torch.optim.RMSprop's conventions and defaults."""

    _parameter_constraints = _common(alpha=[UNIT], eps=[_NONNEG], momentum=[UNIT], centered=[BOOL])

    def __init__(self, space, *, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                 centered: bool = False, batch_size: int | None = 32, sampling: str = "shuffle", seed=None):
        super().__init__(space, lr=lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered,
                         batch_size=batch_size, sampling=sampling, seed=seed)

    def _build(self) -> tx.Transform:
        return tx.chain(tx.scale_by_rms(self.alpha, self.eps, bool(self.centered)), tx.trace(self.momentum),
                        tx.scale_by_learning_rate(self.lr))


@register("lion", family="first_order")
class Lion(GradientOptimizer):
    """Lion: the sign of an interpolated momentum, with decoupled weight decay (paper defaults); C-Lion with
    ``cautious=True``."""

    _parameter_constraints = _common(b1=[UNIT], b2=[UNIT], weight_decay=[_NONNEG], cautious=[BOOL])

    def __init__(self, space, *, lr: float = 1e-4, b1: float = 0.9, b2: float = 0.99, weight_decay: float = 0.0,
                 cautious: bool = False, batch_size: int | None = 32, sampling: str = "shuffle", seed=None):
        super().__init__(space, lr=lr, b1=b1, b2=b2, weight_decay=weight_decay, cautious=cautious,
                         batch_size=batch_size, sampling=sampling, seed=seed)

    def _build(self) -> tx.Transform:
        return tx.chain(tx.scale_by_lion(self.b1, self.b2), *_cautious(self.cautious),
                        tx.add_decayed_weights(self.weight_decay), tx.scale_by_learning_rate(self.lr))
