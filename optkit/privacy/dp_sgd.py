"""DP-SGD and DP-GD: per-example clipping, Gaussian noise, Poisson subsampling (Abadi et al. 2016).

One step on the Poisson sample ``S`` (each example with probability ``q``; ``q = 1``: DP-GD)::

    g_i  <- g_i min(1, C / ||g_i||)                         per-example clipping, C = max_grad_norm
    g    <- (sum_{i in S} g_i + N(0, (sigma C)^2 I)) / (q n)  sigma = noise_multiplier
    m    <- momentum m + g                                   (heavy ball; plain SGD when momentum = 0)
    w    <- w - lr m

The sum has L2 sensitivity ``C`` to adding or removing one example, so each step is the sampled
Gaussian mechanism with noise multiplier ``sigma`` and the run is ``(epsilon, delta)``-DP with the
epsilon of :mod:`optkit.privacy.accountant` (the values of Opacus's RDP accountant). Momentum and the
division by the public ``q n`` are post-processing. Sampling, budget, the ``target_epsilon`` stop and
the privacy fields of the result are described in :mod:`optkit.privacy._base`.

>>> import optkit
>>> p = optkit.problems.get("logreg_breast_cancer")
>>> opt = optkit.make("dp-sgd", p.space, lr=0.5, noise_multiplier=2.0, batch_size=64, target_epsilon=2.0, seed=0)
>>> res = opt.minimize(p, budget=100_000)
>>> res.privacy_steps, round(res.epsilon, 4), res.delta, bool(opt.epsilon_after(res.privacy_steps + 1) > 2.0)
(45, 1.988, 1e-05, True)
>>> res.message
'stopped before exceeding target_epsilon=2: 45 steps spent epsilon=1.98798 (delta=1e-05); one more step would spend 2.00857'
"""

from __future__ import annotations

from optkit.core import transforms as tx
from optkit.core.gradient import UNIT
from optkit.core.registry import register
from optkit.privacy._base import PRIVATE_CONSTRAINTS, PrivateGradientOptimizer, divide_by, gaussian_noise, sum_of_rows


@register("dp-sgd", family="privacy")
class DPSGD(PrivateGradientOptimizer):
    """DP-SGD (``batch_size`` or ``sample_rate`` < 1) and DP-GD (``batch_size=None``); see the module docstring."""

    _parameter_constraints = {**PRIVATE_CONSTRAINTS, "momentum": [UNIT]}

    def __init__(self, space, *, lr: float = 0.1, max_grad_norm: float = 1.0, noise_multiplier: float = 1.0,
                 batch_size: int | None = 32, sample_rate: float | None = None, momentum: float = 0.0,
                 delta: float = 1e-5, target_epsilon: float | None = None, accountant: str = "rdp", seed=None):
        super().__init__(space, lr=lr, max_grad_norm=max_grad_norm, noise_multiplier=noise_multiplier,
                         batch_size=batch_size, sample_rate=sample_rate, momentum=momentum, delta=delta,
                         target_epsilon=target_epsilon, accountant=accountant, seed=seed)

    def _build(self) -> tx.Transform:
        return tx.chain(
            tx.clip_per_example(self.max_grad_norm),
            sum_of_rows(),
            gaussian_noise(lambda: self.noise_multiplier * self.max_grad_norm),
            divide_by(lambda: self.expected_batch),
            tx.trace(self.momentum),
            tx.scale_by_learning_rate(self.lr),
        )
