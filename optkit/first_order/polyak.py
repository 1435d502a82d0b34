"""Stochastic Polyak step sizes: SPS / SPSmax and the preconditioned PSPS.

**SPS** (Loizou, Vaswani, Laradji & Lacoste-Julien, "Stochastic Polyak Step-size for SGD: An Adaptive
Learning Rate for Fast Convergence", AISTATS 2021), on the minibatch loss ``f_B`` with gradient ``g``
and a lower bound ``f_B^*`` (``f_star``, 0 for non-negative losses; exact under interpolation)::

    gamma = (f_B(w) - f_B^*) / (c ||g||^2)             SPS
    gamma = min(that, gamma_max)                       SPSmax (``gamma_max`` given)
    w <- w - gamma g

``c = 0.5`` is the paper's choice for convex problems (its theorems use c >= 1/2 for SPSmax).

**PSPS** (Abdukhakimov, Xiang, Kamzolov & Takáč, "Stochastic Gradient Descent with Preconditioned
Polyak Step-size", Comput. Math. and Math. Phys. 2024; arXiv:2310.02093): the Polyak step measured in
the metric of a diagonal preconditioner ``D_t``, i.e. the projection of ``w`` onto the linearized
level set ``f_B(w) + <g, w' - w> = f_B^*`` in the norm ``||.||_{D_t}``::

    gamma = (f_B(w) - f_B^*) / (c ||g||^2_{D_t^{-1}}),   ||g||^2_{D^{-1}} = <g, D^{-1} g>
    w <- w - gamma D_t^{-1} g

with ``c = 1`` (the projection; the authors' code) by default, and ``D_t`` one of

* ``"hutchinson"``: ``D_t = beta D_{t-1} + (1 - beta) z (H z)`` (z Rademacher, ``H`` the minibatch
  Hessian), started from the mean of ``init_samples`` probes at the first minibatch and truncated to
  ``max(alpha, |D_t|)`` (OASIS, Jahani et al. 2022); needs the problem's Hessian-vector product;
* ``"adam"``: ``D_t = sqrt(v_t / (1 - beta^t)) + eps``, ``v_t = beta v_{t-1} + (1 - beta) g^2``;
* ``"adagrad"``: ``D_t = sqrt(sum_s g_s^2) + eps``;
* ``"none"``: ``D = I`` (then PSPS is SPS with its ``c``).
"""

from __future__ import annotations

from optkit.core import transforms as tx
from optkit.core.gradient import COMMON_CONSTRAINTS, POSITIVE, UNIT, GradientOptimizer
from optkit.core.params import Interval, Options
from optkit.core.registry import register

_REAL = Interval(float, None, None)


@register("sps", family="first_order")
class SPS(GradientOptimizer):
    """SGD with the stochastic Polyak step size; SPSmax when ``gamma_max`` is given."""

    _parameter_constraints = {**COMMON_CONSTRAINTS, "c": [POSITIVE], "f_star": [_REAL], "gamma_max": [POSITIVE, None]}

    def __init__(self, space, *, c: float = 0.5, f_star: float = 0.0, gamma_max: float | None = None,
                 batch_size: int | None = 32, sampling: str = "shuffle", seed=None):
        super().__init__(space, c=c, f_star=f_star, gamma_max=gamma_max, batch_size=batch_size, sampling=sampling,
                         seed=seed)

    def _build(self) -> tx.Transform:
        return tx.scale_by_polyak(self.c, self.f_star, self.gamma_max)


@register("psps", family="first_order")
class PSPS(GradientOptimizer):
    """SGD with the preconditioned stochastic Polyak step size (Hutchinson, Adam or AdaGrad metric)."""

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "preconditioner": [Options(("hutchinson", "adam", "adagrad", "none"))],
        "c": [POSITIVE],
        "f_star": [_REAL],
        "gamma_max": [POSITIVE, None],
        "beta": [UNIT],
        "alpha": [POSITIVE],
        "eps": [Interval(float, 0, None)],
        "init_samples": [Interval(int, 1, None)],
    }

    def __init__(self, space, *, preconditioner: str = "hutchinson", c: float = 1.0, f_star: float = 0.0,
                 gamma_max: float | None = None, beta: float = 0.999, alpha: float = 1e-5, eps: float = 1e-8,
                 init_samples: int = 10, batch_size: int | None = 32, sampling: str = "shuffle", seed=None):
        super().__init__(space, preconditioner=preconditioner, c=c, f_star=f_star, gamma_max=gamma_max, beta=beta,
                         alpha=alpha, eps=eps, init_samples=init_samples, batch_size=batch_size, sampling=sampling,
                         seed=seed)

    @property
    def needs_hvp(self) -> bool:
        return self.preconditioner == "hutchinson"

    def oracle_cost(self, b: int, step: int) -> int:
        if self.preconditioner != "hutchinson":
            return b
        return b * (2 + (self.init_samples if step == 0 else 0))

    def _build(self) -> tx.Transform:
        pre = {
            "hutchinson": lambda: tx.scale_by_hutchinson(self.beta, self.alpha, self.init_samples),
            "adam": lambda: tx.scale_by_adam(0.0, self.beta, self.eps),
            "adagrad": lambda: tx.scale_by_rss(0.0, self.eps),
            "none": tx.identity,
        }[self.preconditioner]()
        return tx.chain(pre, tx.scale_by_polyak(self.c, self.f_star, self.gamma_max))
