"""MMES: the mixture model-based evolution strategy (He, Zheng & Zhou 2021).

A large-scale ES whose search distribution is a mixture of Gaussians built from an archive of m
evolution paths q_1..q_m (m = 2 ceil(sqrt d)). A sample is

    y = sqrt(1 - gamma) z_0 + sqrt(gamma / l) * sum_{k=1..l} r_k q_(j_k),   z_0 ~ N(0, I), r_k ~ N(0, 1)

with l = ``mixing`` (4) paths drawn from the archive by a geometric distribution that favours the
recent ones (success probability c_a = 3.8 / d, the slot counted back from the newest modulo m),
and gamma = 1 - (1 - c_a)^m. Half the population is sampled, the other half is its mirror image
(x = m +- sigma y). Each sample costs O(l d), the archive O(m d) memory.

After ranking, m' = sum_i w_i x_(i), the path p <- (1 - c_c) p + sqrt(c_c (2 - c_c) mu_eff)
(m' - m) / sigma with c_c = 0.4 / sqrt(d), and p enters the archive: the first m generations
fill it; afterwards the path replaces the one of the two archived paths closest in time (or the
oldest, when all gaps exceed T = ceil(1 / c_c) generations), keeping the archive spread over time
(the LM-CMA rule, Loshchilov 2017).

Step size by the paired test adaptation (PTA): with the generation's sorted values f_(i) and the
previous generation's f'_(i), L = sum_{i <= mu} w_i [f_(i) < f'_(i)],

    s <- (1 - c_s) s + sqrt(c_s (2 - c_s)) (2 L - 1) sqrt(mu_eff),   sigma <- sigma exp(Phi(s) - 1 + q*)

with c_s = 0.3, q* = 0.05 and Phi the standard normal CDF (the first generation, having no
predecessor, leaves sigma unchanged). Constants follow the paper and its authors' reference code
(github.com/hxyokokok/MMES); for d < 8, where 3.8 / d would not be a probability below 1/2, c_a is
capped at 1/2.

Reference: X. He, Z. Zheng, Y. Zhou, "MMES: Mixture model-based evolution strategy for large-scale
optimization", IEEE Transactions on Evolutionary Computation 25(2):320-333, 2021.
"""

from __future__ import annotations

import math

import numpy as np

import optkit_native.population_kernels  # noqa: F401  (registers the kernels)
from optkit.core.params import Interval
from optkit.core.registry import register
from optkit.population._base import PopulationOptimizer, default_popsize
from optkit.population._es_common import ES_PARAMETERS, FunTolerance, check_mu, log_weights, penalize_bounds
from optkit_native import kernel

_TOLUPSIGMA = 1e20
_C_S, _Q_TARGET = 0.3, 0.05


@register("mmes", family="population")
class MMES(PopulationOptimizer):
    """MMES: a mixture of low-rank Gaussians from archived evolution paths, O(m d) memory.

    When to use: d in the thousands, like ``lmmaes``; its sampling is cheaper per point (O(l d)
    instead of O(m d)) and its success-based step size is robust on multimodal large-scale problems.
    Below ~100 dimensions prefer CMA-ES or sep-CMA-ES.

    Parameters
    ----------
    space : Box or SearchSpace
    popsize : int, optional
        Offspring per generation lambda (default ``4 + floor(3 ln d)``), half of them mirrored.
    mu : int, optional
        Parents recombined with log weights (default ``popsize // 2``).
    n_paths : int, optional
        Archived evolution paths m (default ``2 ceil(sqrt d)``).
    mixing : int
        Paths mixed into each sample, l (the paper's "mixing strength"; 4 recommended).
    x0 : array (d,), optional
        Initial mean (default: a uniformly random point of the box).
    sigma0 : float, optional
        Initial step size in the encoded space (default 0.3 of the box's mean width).
    tolx : float
        Stop when sigma times the largest coordinate standard deviation is below ``tolx * sigma0``.
    tolfun : float
        Stop when the best values of the last ``10 + ceil(30 d / popsize)`` generations and the
        current generation's values lie within ``tolfun`` (absolute).
    seed : int, optional

    Box handling: samples are evaluated clipped into the box and ranked with a penalty on their
    squared distance to it (``optkit.population._es_common``); the mean is the weighted mean of the
    raw samples.

    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float((x ** 2).sum()), [(-5, 5)] * 50, method="mmes",
    ...                       budget=12000, seed=0)
    >>> bool(res.fun < 1e-8)
    True
    """

    _parameter_constraints = {
        **ES_PARAMETERS,
        "n_paths": [None, Interval(int, 1, None)],
        "mixing": [Interval(int, 1, None)],
    }

    def __init__(self, space, *, popsize=None, mu=None, n_paths=None, mixing=4, x0=None, sigma0=None, tolx=1e-11,
                 tolfun=1e-11, seed=None):
        super().__init__(space, seed=seed, popsize=popsize, mu=mu, n_paths=n_paths, mixing=mixing, x0=x0,
                         sigma0=sigma0, tolx=tolx, tolfun=tolfun)
        d = self.dim
        lam = self.popsize_ = int(popsize or default_popsize(d))
        self.mu_ = check_mu(type(self).__name__, mu, lam)
        self.weights_, self.mu_eff_ = log_weights(lam, self.mu_)
        self.m_ = int(n_paths or 2 * math.ceil(math.sqrt(d)))
        self.c_c_ = min(0.4 / math.sqrt(d), 0.5)
        self.c_a_ = min(3.8 / d, 0.5)
        self.gamma_ = 1.0 - (1.0 - self.c_a_) ** self.m_
        self.T_ = math.ceil(1.0 / self.c_c_)
        # probability that a draw picks the archive slot r places back from the newest
        r = np.arange(self.m_)
        self.slot_prob_ = self.c_a_ * (1 - self.c_a_) ** r / (1 - (1 - self.c_a_) ** self.m_)
        self.mean_ = self._initial_mean(x0)
        self.sigma0_ = self._initial_sigma(sigma0)
        self.sigma_ = self.sigma0_
        self.p_ = np.zeros(d)
        self.Q_ = np.zeros((self.m_, d))
        self.q_norm2_ = np.zeros(self.m_)             # squared norms of the archived paths
        self.order_ = np.arange(self.m_)              # archive slots, oldest first
        self.born_ = np.arange(1, self.m_ + 1)        # generation each slot was written in
        self.generation_ = 0
        self.s_ = 0.0
        self.prev_ = None                             # previous generation's sorted values
        self._fun = FunTolerance(d, lam, tolfun)
        self._stop: str | None = None
        self._open: list[tuple[int, np.ndarray]] = []   # (generation drawn in, its directions y)

    def _sample(self) -> np.ndarray:
        lam, d, m, ms = self.popsize_, self.dim, self.m_, self.mixing
        half = math.ceil(lam / 2)
        back = (self.rng.geometric(self.c_a_, size=(half, ms)) - 1) % m     # slots back from the newest
        rows = self.order_[m - 1 - back]
        r = self.rng.standard_normal((half, ms))
        N = self.rng.standard_normal((half, d))
        # sum_k r_k q_(j_k) in one pass (numba; numpy twin with OPTKIT_NATIVE=0: docs/native.md)
        Y = kernel("mmes_mix")(self.Q_, rows, r, N, math.sqrt(self.gamma_ / ms), math.sqrt(1.0 - self.gamma_))
        X = np.concatenate([Y, -Y[: lam - half]])
        self._open.append((self.generation_, X))
        return self.mean_ + self.sigma_ * X

    def _update(self, Z, Zeval, y, C) -> None:
        sigma = self.sigma_
        stamp, X = self._open.pop(0)
        fresh = stamp == self.generation_
        yr = penalize_bounds(y, Z, Zeval, sigma**2 * float(np.sum(X**2)) / len(X))
        sel = np.argsort(yr, kind="stable")[: self.mu_]
        # the weighted mean of the selected points; a generation drawn from an older distribution is
        # re-read through the current mean and step size (_es_common)
        new_mean = self.weights_ @ Z[sel] if fresh else self.mean_ + sigma * (self.weights_ @ X[sel])
        c_c = self.c_c_
        z = math.sqrt(self.mu_eff_) * (new_mean - self.mean_) / sigma
        self.p_ = (1 - c_c) * self.p_ + math.sqrt(c_c * (2 - c_c)) * z
        self.mean_ = new_mean
        self.generation_ += 1
        g, m = self.generation_, self.m_
        if g <= m:
            slot = g - 1
        else:
            gaps = self.born_[self.order_[1:]] - self.born_[self.order_[:-1]]
            i = int(np.argmin(gaps)) + 1
            if gaps[i - 1] > self.T_:
                i = 0
            slot = self.order_[i]
            self.order_ = np.concatenate([np.delete(self.order_, i), [slot]])
            self.born_[slot] = g
        self.Q_[slot] = self.p_
        self.q_norm2_[slot] = float(self.p_ @ self.p_)
        ys = np.sort(y)
        if fresh and self.prev_ is not None:   # (a stale generation's values are not comparable)
            L = float(self.weights_ @ (ys[: self.mu_] < self.prev_[: self.mu_]))
            self.s_ = (1 - _C_S) * self.s_ + math.sqrt(_C_S * (2 - _C_S)) * (2 * L - 1) * math.sqrt(self.mu_eff_)
            phi = 0.5 * (1.0 + math.erf(self.s_ / math.sqrt(2.0)))
            self.sigma_ = sigma * math.exp(phi - 1.0 + _Q_TARGET)
        if fresh:
            self.prev_ = ys
        self._fun.push(y)
        self._stop = self._check_stop()

    def _variances(self) -> np.ndarray:
        """Per-coordinate variance of a sample (before sigma): (1 - gamma) + gamma sum_r P(slot r) q_r^2."""
        m = self.m_
        rows = self.order_[m - 1 - np.arange(m)]
        return (1.0 - self.gamma_) + self.gamma_ * (self.slot_prob_ @ self.Q_[rows] ** 2)

    def _check_stop(self) -> str | None:
        sigma = self.sigma_
        if not (math.isfinite(sigma) and sigma > 0 and np.all(np.isfinite(self.p_)) and np.all(np.isfinite(self.mean_))):
            return "numerical breakdown: the step size or the evolution path is no longer finite"
        # every coordinate variance lies in [1 - gamma, 1 - gamma + gamma max_r ||q_r||^2]: the O(m d)
        # variances are computed only when one of the two bounds can trip a rule
        lo = sigma * math.sqrt(1.0 - self.gamma_)
        hi = sigma * math.sqrt(1.0 - self.gamma_ + self.gamma_ * float(np.max(self.q_norm2_)))
        if lo < self.tolx * self.sigma0_ or hi > _TOLUPSIGMA * self.sigma0_:
            sd_max = sigma * math.sqrt(float(np.max(self._variances())))
            if sd_max < self.tolx * self.sigma0_:
                return f"tolx: sigma * std < {self.tolx:g} * sigma0 in every coordinate"
            if sd_max > _TOLUPSIGMA * self.sigma0_:
                return f"the step size diverged (sigma * max std = {sd_max:.3g}); the problem may be unbounded below"
        if self._fun.reached():
            return f"tolfun: the values of the last {self._fun.window} generations lie within {self.tolfun:g}"
        return None

    def stop_reason(self) -> str | None:
        return self._stop

    def _state(self) -> dict:
        return {"mean": self.mean_, "sigma": self.sigma_, "p": self.p_, "Q": self.Q_, "q_norm2": self.q_norm2_, "order": self.order_,
                "born": self.born_, "generation": self.generation_, "s": self.s_,
                "prev": None if self.prev_ is None else self.prev_, "fun": self._fun.state(), "stop": self._stop,
                "open_stamps": [g for g, _ in self._open], "open_x": [x for _, x in self._open]}

    def _load(self, state: dict) -> None:
        self.mean_ = np.asarray(state["mean"], dtype=np.float64)
        self.sigma_ = float(state["sigma"])
        self.p_ = np.asarray(state["p"], dtype=np.float64)
        self.Q_ = np.asarray(state["Q"], dtype=np.float64).reshape(self.m_, self.dim).copy()
        self.q_norm2_ = np.asarray(state["q_norm2"], dtype=np.float64).copy()
        self.order_ = np.asarray(state["order"], dtype=np.int64)
        self.born_ = np.asarray(state["born"], dtype=np.int64).copy()
        self.generation_ = int(state["generation"])
        self.s_ = float(state["s"])
        self.prev_ = None if state["prev"] is None else np.asarray(state["prev"], dtype=np.float64)
        self._fun.load(state["fun"])
        self._stop = state["stop"]
        self._open = [(int(g), np.asarray(x, dtype=np.float64)) for g, x in zip(state["open_stamps"], state["open_x"])]
