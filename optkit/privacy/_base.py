"""The layer the private gradient methods share: Poisson sampling, accounting, the epsilon stop.

:class:`PrivateGradientOptimizer` is a :class:`~optkit.core.gradient.GradientOptimizer` whose steps
are each one invocation of the Poisson-subsampled Gaussian mechanism:

* **Sampling.** Step ``t`` uses the examples ``S_t = {i : u_i < q}``, ``u ~ U(0, 1)^n`` drawn from a
  generator seeded by ``(key, t)`` (``key`` comes from the optimizer's seed): each example is in the
  batch independently with probability ``q`` (the *sample rate*: ``sample_rate`` when given, else
  ``batch_size / n``; ``batch_size=None`` is the full batch, ``q = 1``). The realized batch size is
  random (expected ``q n``); sums are divided by the *expected* size ``q n``, so the normalization does
  not depend on the data (as Opacus does with Poisson sampling). The fixed-size minibatches of the
  base loop are not used: the subsampling amplification the accountant uses holds for Poisson
  sampling only.
* **Cost.** A step costs its realized batch size times the oracle passes it makes (per-example
  gradients, plus the minibatch loss the history records); :meth:`oracle_cost` returns that exact
  number for step ``t`` (the sample is known in advance), so the budget is never overrun.
* **Accounting.** ``epsilon`` after ``t`` steps comes from the RDP accountant (Opacus's computation;
  ``accountant="gdp"`` gives the exact Gaussian-DP value when ``q = 1`` and falls back to RDP when
  ``q < 1``, where the GDP central-limit formula can under-report). Every result carries
  ``epsilon``, ``delta``, ``privacy_steps``, ``noise_multiplier``, ``sample_rate`` and ``accountant``.
* **The stop.** With ``target_epsilon`` set, a step runs only if the epsilon *after* it is at most the
  target: the run stops before exceeding it (status ``BUDGET_EXHAUSTED``, a message naming the
  privacy budget). A continued run (``minimize`` again) keeps counting from the steps already spent.

What is private: the iterates (``x``, ``history.X``) are ``(epsilon, delta)``-DP. ``fun`` (the full
loss at ``x``) and the history's minibatch losses are computed from the data for monitoring and are
NOT covered by the guarantee: do not release them.

The guarantee assumes the noise and the samples are unknown to the adversary. A known ``seed``
reproduces both (that is what makes runs testable): for a release, leave ``seed=None`` (fresh OS
entropy) or keep the seed secret. numpy's generator is not cryptographically secure and floating-point
Gaussian sampling has known side channels (Mironov 2012); like Opacus without ``secure_mode``, this is
a research implementation, not a hardened one.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from optkit.core import transforms as tx
from optkit.core.errors import InvalidParameterError
from optkit.core.gradient import POSITIVE, GradientOptimizer
from optkit.core.params import Interval, Options
from optkit.core.result import Status
from optkit.privacy.accountant import ACCOUNTANTS, composed_epsilon, make_accountant

#: the hyperparameters every private gradient method has (merged into each method's table)
PRIVATE_CONSTRAINTS: dict = {
    "batch_size": [Interval(int, 1, None), None],
    "sample_rate": [Interval(float, 0, 1, closed="right"), None],
    "lr": [POSITIVE],
    "max_grad_norm": [POSITIVE],
    "noise_multiplier": [POSITIVE],
    "delta": [Interval(float, 0, 1, closed="neither")],
    "target_epsilon": [POSITIVE, None],
    "accountant": [Options(ACCOUNTANTS)],
}


class PrivateGradientOptimizer(GradientOptimizer):
    """Base of the private gradient methods (see the module docstring)."""

    family = "privacy"
    _parameter_constraints: ClassVar[dict] = PRIVATE_CONSTRAINTS
    #: the base loop's sampler runs but its indices are unused (steps draw their own Poisson samples)
    sampling = "shuffle"

    def __init__(self, space, *, seed=None, **params):
        super().__init__(space, seed=seed, **params)
        self._key = int(self.rng.integers(2**62))
        self._n: int | None = None
        self._q: float | None = None
        self._acc = None
        self._eps_cache: dict[int, float] = {}
        self._sample_cache: tuple[int, np.ndarray | None] | None = None
        self._stop_message: str | None = None

    # -- what a method provides ----------------------------------------------------------------
    def passes(self, step: int) -> int:
        """Oracle passes over each sampled example at step ``step`` (per-example gradients + the loss)."""
        return 2

    # -- sampling and cost ---------------------------------------------------------------------
    def _bind(self, problem) -> None:
        n = getattr(problem, "n_examples", None)
        if n is None:
            return
        if self.sample_rate is not None:
            q = float(self.sample_rate)
        elif self.batch_size is None:
            q = 1.0
        else:
            if self.batch_size > n:
                return  # the base loop reports the oversized batch
            q = self.batch_size / n
        if self._q is not None and self._t > 0 and (q != self._q or n != self._n):
            raise InvalidParameterError(
                f"{type(self).__name__}: a continued run must keep the sample rate and data size of the steps already "
                f"accounted (q={self._q}, n={self._n}); got q={q}, n={n}. Build a new optimizer for new data"
            )
        if (q, n) != (self._q, self._n) or self._acc is None:
            self._q, self._n = q, int(n)
            self._make_accountants()
            self._sample_cache = None

    def _make_accountants(self) -> None:
        kind = self.accountant if (self.accountant == "rdp" or self._q == 1.0) else "rdp"
        self._acc = {s: make_accountant(kind, s, self._q) for s in {s for s, _ in self._mechanisms(None)}}
        self._eps_cache = {}

    def _mechanisms(self, steps: int | None) -> list[tuple[float, int | None]]:
        """``[(noise multiplier, number of steps), ...]`` of the first ``steps`` steps (one kind by default;
        ``steps=None`` lists the noise multipliers with counts None)."""
        return [(self.noise_multiplier, steps)]

    @property
    def expected_batch(self) -> float:
        """``q n``: the divisor of the noisy sums."""
        return self._q * self._n

    def _sample(self, step: int) -> np.ndarray | None:
        """The Poisson sample of step ``step`` (None: every example)."""
        if self._q == 1.0:
            return None
        if self._sample_cache is None or self._sample_cache[0] != step:
            u = np.random.default_rng([self._key, step]).random(self._n)
            self._sample_cache = (step, np.flatnonzero(u < self._q))
        return self._sample_cache[1]

    def oracle_cost(self, b: int, step: int) -> int:
        if self._n is None:  # not bound to a problem yet: the cost of a batch of b
            return b * self.passes(step)
        S = self._sample(step)
        return (self._n if S is None else S.size) * self.passes(step)

    # -- accounting ----------------------------------------------------------------------------
    def epsilon_after(self, steps: int) -> float:
        """The epsilon spent after ``steps`` steps at this optimizer's ``delta`` (needs a bound problem)."""
        if self._acc is None:
            raise InvalidParameterError(f"{type(self).__name__}: the sample rate is known once a problem is given")
        if steps not in self._eps_cache:
            self._eps_cache[steps] = composed_epsilon([(self._acc[s], k) for s, k in self._mechanisms(steps)], self.delta)
        return self._eps_cache[steps]

    def _fit_batch(self, b: int, remaining: int) -> int:
        if self.target_epsilon is not None and self.epsilon_after(self._t + 1) > self.target_epsilon:
            self._stop_message = (
                f"stopped before exceeding target_epsilon={self.target_epsilon:g}: {self._t} steps spent epsilon="
                f"{self.epsilon_after(self._t):.6g} (delta={self.delta:g}); one more step would spend "
                f"{self.epsilon_after(self._t + 1):.6g}"
            )
            return 0
        return super()._fit_batch(b, remaining)

    def minimize(self, problem, budget: int, *, callback=None, progress: bool = False, journal=None, executor=None):
        """Run on ``problem`` within ``budget`` oracle calls and, with ``target_epsilon``, within the
        privacy budget (see the module docstring). The result adds the privacy spent so far."""
        self._bind(problem)
        self._stop_message = None
        if self.target_epsilon is not None and self._acc is not None and self.epsilon_after(self._t + 1) > self.target_epsilon:
            raise InvalidParameterError(
                f"{type(self).__name__}: target_epsilon={self.target_epsilon:g} allows no further step: after {self._t} "
                f"steps epsilon would be {self.epsilon_after(self._t + 1):.6g} at delta={self.delta:g} "
                f"(noise_multiplier={self.noise_multiplier:g}, sample_rate={self._q:g}); raise the target or the noise"
            )
        return super().minimize(problem, budget, callback=callback, progress=progress, journal=journal, executor=executor)

    def _result(self, problem, history, status, message, nit, start, t0):
        res = super()._result(problem, history, status, message, nit, start, t0)
        if self._stop_message is not None and res.status == Status.BUDGET_EXHAUSTED:
            res.update(message=self._stop_message)
        res.update(epsilon=self.epsilon_after(self._t), delta=self.delta, privacy_steps=self._t,
                   noise_multiplier=self.noise_multiplier, sample_rate=self._q,
                   accountant=self._acc[self.noise_multiplier].name)
        return res

    # -- oracles and shared pieces -------------------------------------------------------------
    def _per_example(self, problem, w, step: int):
        """(minibatch loss, per-example gradients (|S|, d)) on the Poisson sample of ``step``.

        An empty sample makes no oracle call; its loss (for the history only) is the previous one.
        """
        S = self._sample(step)
        if S is not None and S.size == 0:
            return getattr(self, "_last_loss", 0.0), np.zeros((0, self.dim))
        return problem.loss(w, S), problem.per_example_grads(w, S)

    def _oracle(self, problem, w, idx):
        loss, U = self._per_example(problem, w, self._t)
        g = U.mean(axis=0) if U.shape[0] else np.zeros(self.dim)
        return loss, g, U

    def _get_state(self) -> dict:
        return {**super()._get_state(), "key": self._key, "q": self._q, "n": self._n}

    def _set_state(self, state: dict) -> None:
        super()._set_state(state)
        self._key = int(state["key"])
        self._q = None if state["q"] is None else float(state["q"])
        self._n = None if state["n"] is None else int(state["n"])
        self._acc = None
        if self._q is not None:
            self._make_accountants()
        self._eps_cache, self._sample_cache = {}, None


# -- transform pieces ------------------------------------------------------------------------------
def sum_of_rows() -> tx.Transform:
    """(b, d) rows -> their sum (d,) (zeros for an empty batch)."""
    return tx.Transform(lambda w: {}, lambda U, s, ctx: (U.sum(axis=0), s))


def divide_by(fn) -> tx.Transform:
    """``u <- u / fn()`` with the divisor read at each step (the expected batch size ``q n``)."""
    return tx.Transform(lambda w: {}, lambda u, s, ctx: (u / fn(), s))


def gaussian_noise(std_fn) -> tx.Transform:
    """``u <- u + std_fn() z``, ``z ~ N(0, I)`` from the optimizer's generator."""
    return tx.Transform(lambda w: {}, lambda u, s, ctx: (u + std_fn() * ctx.rng.standard_normal(u.shape), s))
