"""The Cautious mask (Liang, Chen, Liu & Liu, "Cautious Optimizers: Improving Training with One Line of
Code", arXiv:2411.16085; github.com/kyleliang919/C-Optim), as a composable transform.

A momentum method's direction ``u`` (AdamW's ``m_hat / (sqrt(v_hat) + eps)``, Lion's sign) is applied
only on the coordinates where it agrees in sign with the current gradient ``g``, rescaled so that the
mean update size is kept::

    phi = 1[u * g > 0]                       (elementwise)
    u  <- u * phi / max(mean(phi), 1e-3)

Because the mask only zeroes coordinates and rescales, it composes after any direction transform and
before weight decay and the learning rate (decay is not masked, as in the official C-AdamW and C-Lion).
It is offered as the parameter ``cautious=True`` of ``adamw`` and ``lion`` (C-AdamW, C-Lion) rather than
as new registry names: the method is the same chain with one more piece (the house rule: variants are
parameters). Masking Adam's final direction equals masking its momentum as the paper writes it, since
``sqrt(v_hat) + eps > 0`` keeps the signs.
"""

from __future__ import annotations

import numpy as np

from optkit.core import transforms as tx


def cautious_mask(min_fraction: float = 1e-3) -> tx.Transform:
    """``u <- u * 1[u * grad > 0] / max(mean(1[u * grad > 0]), min_fraction)`` (``grad`` the raw minibatch gradient)."""

    def fn(u, ctx):
        phi = (u * ctx.grad > 0).astype(np.float64)
        return u * phi / max(float(phi.mean()), min_fraction)

    return tx.Transform(lambda w: {}, lambda u, state, ctx: (fn(u, ctx), state))
