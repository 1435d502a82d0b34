"""Stochastic gradient descent with heavy-ball or Nesterov momentum and L2 weight decay.

The update, with torch.optim.SGD's conventions (dampening 0)::

    g <- grad + weight_decay * w
    m <- momentum * m + g                      (m_0 = 0, so m_1 = g)
    w <- w - lr * (g + momentum * m)           (nesterov)
    w <- w - lr * m                            (otherwise; plain SGD when momentum = 0)

References: Robbins & Monro (1951); Polyak (1964) for the heavy ball; Sutskever et al. (2013) for
this form of Nesterov's momentum.
"""

from __future__ import annotations

from optkit.core import transforms as tx
from optkit.core.errors import InvalidParameterError
from optkit.core.gradient import COMMON_CONSTRAINTS, POSITIVE, UNIT, GradientOptimizer
from optkit.core.params import BOOL, Interval
from optkit.core.registry import register


@register("sgd", family="first_order")
class SGD(GradientOptimizer):
    """Minibatch SGD with optional (Nesterov) momentum; see the module docstring for the update."""

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "lr": [POSITIVE],
        "momentum": [UNIT],
        "nesterov": [BOOL],
        "weight_decay": [Interval(float, 0, None)],
    }

    def __init__(self, space, *, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, batch_size: int | None = 32, sampling: str = "shuffle", seed=None):
        if nesterov and momentum == 0:
            raise InvalidParameterError("SGD: 'nesterov'=True needs a 'momentum' in (0, 1); got momentum=0")
        super().__init__(space, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                         batch_size=batch_size, sampling=sampling, seed=seed)

    def _build(self) -> tx.Transform:
        return tx.chain(tx.add_decayed_weights(self.weight_decay), tx.trace(self.momentum, bool(self.nesterov)),
                        tx.scale_by_learning_rate(self.lr))
