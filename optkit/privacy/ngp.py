"""m-NGP: max{1, g}-normalized gradient perturbation (Kang, Liu, Li & Wang 2022, "Sharper Utility
Bounds for Differentially Private Models").

Gradient perturbation (DP-GD) adds Gaussian noise to the gradient; m-NGP first divides the gradient by
``max{1, ||g||}``, i.e. projects it onto the unit ball, so the step keeps a bounded length where the
loss is steep or non-smooth (the paper's alpha-Hölder setting) and is plain gradient perturbation
where ``||g|| <= 1``. One step on the Poisson sample ``S`` (``q = 1``, the paper's full batch, with
``batch_size=None``)::

    g_i <- g_i min(1, C / ||g_i||)                  per-example clipping (C = max_grad_norm) bounds the
                                                    sensitivity, as the paper's G-Lipschitz assumption does
    g   <- sum_{i in S} g_i / (q n)
    g   <- g / max{1, ||g||}                        the m-NGP normalization
    w   <- w - lr (g + N(0, (sigma C / (q n))^2 I))

With ``max_grad_norm <= 1`` and the full batch the mean of the clipped gradients already has norm
``<= 1``, so the normalization never acts and m-NGP *is* DP-GD; it differs when the gradients may be
larger than 1 (``C > 1``, the paper's G-Lipschitz losses with ``G > 1``) or with Poisson batches
(dividing by the expected size ``q n`` can exceed norm 1).

Privacy: adding or removing one example moves ``sum g_i / (q n)`` by at most ``C / (q n)``, and the
projection onto the unit ball is 1-Lipschitz, so the normalized gradient has the same sensitivity and
the noise ``sigma C / (q n)`` makes each step the sampled Gaussian mechanism with noise multiplier
``sigma``: the same accounting (and epsilon) as DP-SGD with the same ``sigma``, ``q`` and steps.

>>> import optkit
>>> p = optkit.problems.get("logreg_breast_cancer")
>>> res = optkit.make("dp-ngp", p.space, lr=1.0, noise_multiplier=5.0, batch_size=None, seed=0).minimize(p, 100 * 569 * 2)
>>> res.privacy_steps, round(res.epsilon, 2)        # 100 full-batch Gaussian steps at sigma = 5 (RDP)
(100, 10.73)
"""

from __future__ import annotations

import numpy as np

from optkit.core import transforms as tx
from optkit.core.registry import register
from optkit.privacy._base import PRIVATE_CONSTRAINTS, PrivateGradientOptimizer, divide_by, gaussian_noise, sum_of_rows


def normalize_max1() -> tx.Transform:
    """``u <- u / max{1, ||u||}`` (the projection onto the unit ball)."""
    return tx.Transform(lambda w: {}, lambda u, s, ctx: (u / max(1.0, float(np.linalg.norm(u))), s))


@register("dp-ngp", family="privacy")
class MNGP(PrivateGradientOptimizer):
    """m-NGP, the max{1, g}-normalized gradient perturbation; see the module docstring."""

    _parameter_constraints = PRIVATE_CONSTRAINTS

    def __init__(self, space, *, lr: float = 0.1, max_grad_norm: float = 1.0, noise_multiplier: float = 1.0,
                 batch_size: int | None = None, sample_rate: float | None = None, delta: float = 1e-5,
                 target_epsilon: float | None = None, accountant: str = "rdp", seed=None):
        super().__init__(space, lr=lr, max_grad_norm=max_grad_norm, noise_multiplier=noise_multiplier,
                         batch_size=batch_size, sample_rate=sample_rate, delta=delta, target_epsilon=target_epsilon,
                         accountant=accountant, seed=seed)

    def _build(self) -> tx.Transform:
        return tx.chain(
            tx.clip_per_example(self.max_grad_norm),
            sum_of_rows(),
            divide_by(lambda: self.expected_batch),
            normalize_max1(),
            gaussian_noise(lambda: self.noise_multiplier * self.max_grad_norm / self.expected_batch),
            tx.scale_by_learning_rate(self.lr),
        )
