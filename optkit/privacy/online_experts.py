"""Private online prediction from experts in the realizable regime (Asi, Feldman, Koren & Talwar 2023,
"Near-Optimal Algorithms for Private Online Optimization in the Realizable Regime").

The game: at rounds ``t = 1..T`` the learner picks one of ``d`` experts, then sees the loss vector
``l_t in [0, 1]^d`` and pays ``l_t[x_t]``. *Realizable*: some expert has zero total loss, so the
regret is the learner's total loss. *Private*: the sequence of picks is ``(epsilon, delta)``-DP with
respect to changing one loss vector ``l_t``.

The algorithm (the paper's sparse-vector approach for zero-loss experts): play in *phases*. A phase
starts by picking an expert with the exponential mechanism on the cumulative losses
(``P(i) ∝ exp(-eps_sel L_i / 2)``; each ``L_i`` has sensitivity 1), and keeps it while the sparse
vector technique (AboveThreshold) privately tests whether the loss the expert has paid since the
phase started exceeds a threshold ``tau``; when the test fires the phase ends. With a zero-loss expert,
each phase removes the chosen expert and, in expectation, many experts as bad as it from the
near-zero-loss set, so ``O(log d)`` phases suffice; the number of phases is capped at ``K =
ceil(phase_factor log2(d)) + 1`` (after the last one the expert is kept), each phase is
``eps_p``-DP (half for the selection, half for AboveThreshold) and the ``K`` phases compose by the
advanced composition theorem (Dwork, Rothblum & Vadhan 2010), with ``eps_p`` the largest value whose
composed epsilon is at most the target. With ``tau ~ log(T K / beta) / eps_p`` and ``eps_p ~ epsilon /
sqrt(K log(1/delta))`` the regret is ``O(log^{1.5}(d) log(T) / epsilon)`` (up to the ``log(1/delta)``
factor), the paper's rate, against ``O(min(d, T^{1/3} log d) / epsilon)`` for private algorithms
built for the non-realizable case.

The non-private baseline :func:`follow_consistent_expert` follows a uniformly random expert among
those with zero loss so far and switches when it errs (``O(log d)`` expected loss).

>>> losses, best = realizable_losses(horizon=20_000, n_experts=64, seed=0)
>>> priv = run_experts(losses, epsilon=1.0, delta=1e-6, seed=0)
>>> base = follow_consistent_expert(losses, seed=0)
>>> priv.regret, base.regret, priv.switches, bool(priv.epsilon <= 1.0)
(484.0, 3.0, 1, True)
>>> float(losses.sum(axis=0).mean())        # the loss of an expert picked at random and kept
5902.015625
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optkit.core.errors import InvalidParameterError, StateError
from optkit.privacy.accountant import check_delta, check_positive


def advanced_composition(eps_p: float, k: int, delta: float) -> float:
    """Epsilon of ``k`` ``eps_p``-DP mechanisms composed (at extra ``delta``), the better of the basic and
    the advanced composition theorems: ``min(k eps_p, sqrt(2 k ln(1/delta)) eps_p + k eps_p (e^eps_p - 1))``."""
    return min(k * eps_p, math.sqrt(2 * k * math.log(1 / delta)) * eps_p + k * eps_p * math.expm1(eps_p))


def _per_phase_epsilon(epsilon: float, k: int, delta: float) -> float:
    lo, hi = 0.0, epsilon
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if advanced_composition(mid, k, delta) <= epsilon else (lo, mid)
    return lo


@dataclass
class ExpertsResult:
    """A run of an experts algorithm: the picks, the losses paid, and the privacy spent (0 when non-private)."""

    predictions: np.ndarray
    loss: float
    best_loss: float
    regret: float
    switches: int
    epsilon: float
    delta: float


class RealizableExperts:
    """The private experts learner (see the module docstring): ``predict()`` then ``update(losses)`` each round.

    Parameters: ``n_experts`` (d >= 2), ``epsilon`` > 0, ``delta`` in (0, 1) (the advanced composition's
    slack), ``horizon`` T (the sparse vector's threshold grows with log T), ``failure_prob`` beta
    (the probability that the threshold is ever crossed by noise alone), ``phase_factor`` (K =
    ceil(phase_factor log2 d) + 1 phases), ``seed``.
    """

    def __init__(self, n_experts: int, *, epsilon: float, delta: float = 1e-6, horizon: int,
                 failure_prob: float = 0.1, phase_factor: float = 1.0, seed=None):
        owner = "RealizableExperts"
        for name, v, lo in (("n_experts", n_experts, 2), ("horizon", horizon, 1)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise InvalidParameterError(f"{owner}: {name!r} must be an int >= {lo}; got {v!r}")
        self.epsilon = check_positive(owner, "epsilon", epsilon)
        self.delta = check_delta(owner, delta)
        if not isinstance(failure_prob, (int, float)) or not 0 < failure_prob < 1:
            raise InvalidParameterError(f"{owner}: 'failure_prob' must be in (0, 1); got {failure_prob!r}")
        self.phase_factor = check_positive(owner, "phase_factor", phase_factor)
        self.d, self.horizon = int(n_experts), int(horizon)
        self.max_phases = math.ceil(self.phase_factor * math.log2(self.d)) + 1
        self.eps_phase = _per_phase_epsilon(self.epsilon, self.max_phases, self.delta)
        self.eps_select = self.eps_svt = self.eps_phase / 2
        # AboveThreshold with threshold noise Lap(2/e) and query noise Lap(4/e): within a phase, a zero-loss
        # expert's query (0 + noise) crosses tau + Lap(2/e) with probability <= 2 beta over the T rounds (a
        # union bound); a false switch costs a phase, not privacy
        self.tau = (4.0 * math.log(self.horizon / failure_prob) + 2.0 * math.log(1 / failure_prob)) / self.eps_svt
        self.rng = np.random.default_rng(seed)
        self.cum_loss = np.zeros(self.d)
        self.phases, self.t = 0, 0
        self._start_phase()

    def _start_phase(self) -> None:
        logits = -0.5 * self.eps_select * self.cum_loss
        p = np.exp(logits - logits.max())
        self.expert = int(self.rng.choice(self.d, p=p / p.sum()))
        self.phase_loss = 0.0
        self.noisy_tau = self.tau + self.rng.laplace(0.0, 2.0 / self.eps_svt)
        self.phases += 1

    @property
    def switches(self) -> int:
        return self.phases - 1

    @property
    def epsilon_spent(self) -> float:
        """The run's guarantee: the composition of all ``max_phases`` phases (at most ``epsilon``). Whether a
        phase starts depends on the data, so fewer phases used does not mean less privacy spent."""
        return advanced_composition(self.eps_phase, self.max_phases, self.delta)

    def predict(self) -> int:
        return self.expert

    def update(self, losses) -> None:
        losses = np.asarray(losses, dtype=np.float64)
        if losses.shape != (self.d,) or not np.all((losses >= 0) & (losses <= 1)):
            raise InvalidParameterError(f"RealizableExperts.update: 'losses' must be {self.d} values in [0, 1]; got shape {losses.shape}")
        if self.t >= self.horizon:
            raise StateError(f"RealizableExperts.update: the horizon of {self.horizon} rounds is over")
        self.t += 1
        self.cum_loss += losses
        self.phase_loss += losses[self.expert]
        if self.phases < self.max_phases:
            if self.phase_loss + self.rng.laplace(0.0, 4.0 / self.eps_svt) >= self.noisy_tau:
                self._start_phase()


def realizable_losses(horizon: int, n_experts: int, *, p: float = 0.3, seed=None) -> tuple[np.ndarray, int]:
    """A realizable loss sequence: expert ``best`` never errs, every other errs w.p. ``p`` each round
    (0/1 losses), at least once. Returns ``(losses (T, d), best)``."""
    rng = np.random.default_rng(seed)
    L = (rng.random((horizon, n_experts)) < p).astype(np.float64)
    best = int(rng.integers(n_experts))
    L[:, best] = 0.0
    for i in np.flatnonzero(L.sum(axis=0) == 0):
        if i != best:
            L[rng.integers(horizon), i] = 1.0
    return L, best


def _check_losses(losses) -> np.ndarray:
    L = np.asarray(losses, dtype=np.float64)
    if L.ndim != 2 or L.shape[1] < 2 or L.shape[0] < 1 or not np.all((L >= 0) & (L <= 1)):
        raise InvalidParameterError(f"'losses' must be a (T, d) array of values in [0, 1] with d >= 2; got shape {L.shape}")
    return L


def run_experts(losses, *, epsilon: float, delta: float = 1e-6, failure_prob: float = 0.1, phase_factor: float = 1.0,
                seed=None) -> ExpertsResult:
    """Play :class:`RealizableExperts` against the loss matrix ``losses`` (T, d)."""
    L = _check_losses(losses)
    learner = RealizableExperts(L.shape[1], epsilon=epsilon, delta=delta, horizon=L.shape[0],
                                failure_prob=failure_prob, phase_factor=phase_factor, seed=seed)
    picks = np.empty(L.shape[0], dtype=np.int64)
    for t, row in enumerate(L):
        picks[t] = learner.predict()
        learner.update(row)
    paid = float(L[np.arange(L.shape[0]), picks].sum())
    best = float(L.sum(axis=0).min())
    return ExpertsResult(picks, paid, best, paid - best, learner.switches, learner.epsilon_spent, learner.delta)


def follow_consistent_expert(losses, *, seed=None) -> ExpertsResult:
    """The non-private baseline: follow a uniformly random expert with zero loss so far; switch when it errs."""
    L = _check_losses(losses)
    rng = np.random.default_rng(seed)
    cum = np.zeros(L.shape[1])
    expert, switches = int(rng.integers(L.shape[1])), 0
    picks = np.empty(L.shape[0], dtype=np.int64)
    for t, row in enumerate(L):
        picks[t] = expert
        cum += row
        if row[expert] > 0:
            alive = np.flatnonzero(cum == cum.min())
            expert, switches = int(rng.choice(alive)), switches + 1
    paid = float(L[np.arange(L.shape[0]), picks].sum())
    best = float(L.sum(axis=0).min())
    return ExpertsResult(picks, paid, best, paid - best, switches, 0.0, 0.0)


__all__ = ["ExpertsResult", "RealizableExperts", "advanced_composition", "follow_consistent_expert",
           "realizable_losses", "run_experts"]
