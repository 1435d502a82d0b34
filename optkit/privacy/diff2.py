"""DIFF2: differentially private optimization via gradient differences (Murata & Suzuki 2023, "DIFF2:
Differential Private Optimization via Gradient Differences for Nonconvex Distributed Learning").

``n_nodes`` simulated nodes each hold the examples ``i`` with ``i mod n_nodes = p``. Every
``restart`` rounds the nodes send a private *gradient*; in between they send private gradient
*differences* between the last two iterates, and the server adds them up into the global estimator
``v`` (a private SARAH/SPIDER-like recursion). With the GD subroutine, round ``r`` at ``x_r``::

    r % restart == 0:  node p sends  sum_{i in S_p} clip_{C1}(grad f_i(x_r))                    + N(0, (sigma1 C1)^2 I)
                       v_r = (sum of the messages) / (q n)
    otherwise:         node p sends  sum_{i in S_p} clip_{C2}(grad f_i(x_r) - grad f_i(x_{r-1})) + N(0, (sigma2 C2)^2 I)
                       v_r = v_{r-1} + (sum of the messages) / (q n),   C2 = diff_clip ||x_r - x_{r-1}||
    x_{r+1} = x_r - lr v_r

``C1 = max_grad_norm``, ``sigma1 = noise_multiplier``, ``sigma2 = diff_noise_multiplier`` (default
``sigma1``). ``C2`` follows the step length: for ``L``-smooth example losses ``||grad f_i(x) - grad
f_i(x')|| <= L ||x - x'||``, so ``diff_clip = L`` clips nothing, and the difference noise shrinks with
the steps. ``C2`` depends only on released iterates, so it leaks nothing.

**The estimator's variance** (the paper's quantity): given the iterates, ``v_r`` is the noiseless
recursion plus independent Gaussians, with per-coordinate variance

    Var(v_r) = n_nodes (sigma1^2 C1^2 + sigma2^2 sum_{k = r0+1}^{r} C2_k^2) / (q n)^2,   r0 the last restart;

the result reports it as ``estimator_variance``. DP-GD's is ``n_nodes sigma^2 C1^2 / (q n)^2`` at
every round.

**Privacy**: each message is a (Poisson-subsampled) Gaussian mechanism with noise multiplier
``sigma1`` or ``sigma2`` on the node's own examples (sensitivity ``C1`` or ``C2``), and every example
sits in one node, so ``R`` rounds compose ``ceil(R / restart)`` mechanisms at ``sigma1`` and the rest
at ``sigma2`` (RDP curves add; exact GDP ``mu^2`` add with ``accountant="gdp"`` and the full batch).
DIFF2's advantage comes from this split: gradient rounds are few, so they can be much less noisy
than DP-GD's rounds for the same budget, while the differences are cheap to privatize.
:func:`split_noise` turns DP-GD's ``sigma`` into ``(sigma1, sigma2)`` with exactly the same privacy
for the same number of full-batch rounds. Each node adds its own noise (no trusted server);
``restart=1`` is distributed DP-GD.

Cost: a gradient round costs 2 oracle passes per sampled example (per-example gradients and the
loss the history records), a difference round 3 (gradients at both iterates, and the loss).

>>> import optkit
>>> p = optkit.problems.get("logreg_breast_cancer")
>>> opt = optkit.make("diff2", p.space, lr=1.0, noise_multiplier=5.0, restart=10, diff_clip=2.0, seed=0)
>>> res = opt.minimize(p, 100 * 569 * 3)
>>> res.privacy_steps, round(res.epsilon, 2), bool(res.estimator_variance > 0)   # 103 rounds in the budget
(103, 10.92, True)
"""

from __future__ import annotations

import math

import numpy as np

from optkit.core import transforms as tx
from optkit.core.errors import InvalidParameterError
from optkit.core.gradient import POSITIVE
from optkit.core.params import Interval
from optkit.core.registry import register
from optkit.privacy._base import PRIVATE_CONSTRAINTS, PrivateGradientOptimizer


def split_noise(sigma: float, restart: int, grad_share: float = 0.5) -> tuple[float, float]:
    """``(sigma1, sigma2)`` for DIFF2 with the privacy of DP-GD at noise multiplier ``sigma`` over the same
    number of full-batch rounds (a multiple of ``restart``): a share ``grad_share`` of DP-GD's
    ``R / sigma^2`` goes to the ``R / restart`` gradient rounds, the rest to the difference rounds. For
    ``q = 1`` both the RDP curve and the GDP ``mu`` depend on ``sum_rounds 1 / sigma_r^2`` only, so the
    epsilons are equal. ``restart = 1`` has no difference rounds: ``(sigma, sigma)``."""
    if restart == 1:
        return sigma, sigma
    if not 0 < grad_share < 1:
        raise InvalidParameterError(f"split_noise: 'grad_share' must be in (0, 1); got {grad_share!r}")
    return sigma * math.sqrt(1 / (restart * grad_share)), sigma * math.sqrt((1 - 1 / restart) / (1 - grad_share))


@register("diff2", family="privacy")
class DIFF2(PrivateGradientOptimizer):
    """DIFF2 with the GD subroutine over ``n_nodes`` simulated nodes; see the module docstring."""

    _parameter_constraints = {
        **PRIVATE_CONSTRAINTS,
        "diff_clip": [POSITIVE],
        "restart": [Interval(int, 1, None)],
        "n_nodes": [Interval(int, 1, None)],
        "diff_noise_multiplier": [POSITIVE, None],
    }

    def __init__(self, space, *, lr: float = 0.1, max_grad_norm: float = 1.0, diff_clip: float = 1.0,
                 noise_multiplier: float = 1.0, diff_noise_multiplier: float | None = None, restart: int = 10,
                 n_nodes: int = 1, batch_size: int | None = None,
                 sample_rate: float | None = None, delta: float = 1e-5, target_epsilon: float | None = None,
                 accountant: str = "rdp", seed=None):
        super().__init__(space, lr=lr, max_grad_norm=max_grad_norm, diff_clip=diff_clip,
                         noise_multiplier=noise_multiplier, diff_noise_multiplier=diff_noise_multiplier, restart=restart,
                         n_nodes=n_nodes, batch_size=batch_size,
                         sample_rate=sample_rate, delta=delta, target_epsilon=target_epsilon, accountant=accountant,
                         seed=seed)

    @property
    def sigma_diff(self) -> float:
        return self.noise_multiplier if self.diff_noise_multiplier is None else self.diff_noise_multiplier

    def _mechanisms(self, steps):
        if steps is None:
            return [(self.noise_multiplier, None), (self.sigma_diff, None)]
        fresh = (steps + self.restart - 1) // self.restart  # rounds 0, restart, 2 restart, ... below steps
        return [(self.noise_multiplier, fresh), (self.sigma_diff, steps - fresh)]

    def _gradient_round(self, step: int) -> bool:
        return step % self.restart == 0

    def passes(self, step: int) -> int:
        return 2 if self._gradient_round(step) else 3

    def _oracle(self, problem, w, idx):
        t = self._t
        S = self._sample(t)
        loss, U = self._per_example(problem, w, t)
        g = U.mean(axis=0) if U.shape[0] else np.zeros(self.dim)
        rows = np.arange(self._n) if S is None else S
        if not self._gradient_round(t) and U.shape[0]:
            U = U - problem.per_example_grads(self._opt_state["w_prev"], S)
        return loss, g, (U, rows % self.n_nodes, self._gradient_round(t))

    def _build(self) -> tx.Transform:
        d = self.dim

        def init(w):
            return {"v": np.zeros(d), "w_prev": np.asarray(w, dtype=np.float64).copy(), "variance": 0.0, "clip": 0.0}

        def update(u0, state, ctx):
            U, nodes, fresh = u0
            C = self.max_grad_norm if fresh else self.diff_clip * float(np.linalg.norm(ctx.w - state["w_prev"]))
            norms = np.linalg.norm(U, axis=1, keepdims=True)
            clipped = U * np.minimum(1.0, C / np.maximum(norms, 1e-300))
            messages = np.zeros((self.n_nodes, d))
            np.add.at(messages, nodes, clipped)
            sigma = self.noise_multiplier if fresh else self.sigma_diff
            messages += sigma * C * ctx.rng.standard_normal((self.n_nodes, d))
            m = self.expected_batch
            increment = messages.sum(axis=0) / m
            v = increment if fresh else state["v"] + increment
            var = self.n_nodes * (sigma * C / m) ** 2 + (0.0 if fresh else state["variance"])
            return -self.lr * v, {"v": v, "w_prev": ctx.w.copy(), "variance": float(var), "clip": float(C)}

        return tx.Transform(init, update)

    def _result(self, problem, history, status, message, nit, start, t0):
        res = super()._result(problem, history, status, message, nit, start, t0)
        state = self._opt_state or {}
        res.update(estimator_variance=float(state.get("variance", 0.0)), diff_clip_last=float(state.get("clip", 0.0)))
        return res
