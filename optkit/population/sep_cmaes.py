"""sep-CMA-ES: CMA-ES with a diagonal covariance matrix (Ros & Hansen 2008).

Samples ``x_k = m + sigma * sqrt(c) * z_k`` with ``z_k ~ N(0, I)`` and ``c`` the diagonal of the
covariance matrix, so sampling and updating cost O(d) per sample and the state O(d) memory. The
updates are CMA-ES's (weighted recombination, cumulative step-size adaptation, rank-one and rank-mu
covariance updates), restricted to the diagonal; because a diagonal has only d free parameters, the
covariance learning rate is multiplied by (d + 2) / 3 (Ros & Hansen, sec. 3):

    y_k = sqrt(c) z_k,  m' = m + sigma * sum_i w_i y_(i)
    p_s <- (1 - c_s) p_s + sqrt(c_s (2 - c_s) mu_eff) sum_i w_i z_(i)
    p_c <- (1 - c_c) p_c + h_s sqrt(c_c (2 - c_c) mu_eff) sum_i w_i y_(i)
    c   <- (1 - c_cov) c + c_cov / mu_cov * (p_c^2 + (1 - h_s) c_c (2 - c_c) c)
                         + c_cov (1 - 1/mu_cov) sum_i w_i y_(i)^2
    sigma <- sigma * exp(c_s / d_s * (||p_s|| / E||N(0, I)|| - 1))

with c_c = 4/(d + 4), c_s = (mu_eff + 2)/(d + mu_eff + 3), d_s = 1 + 2 max(0, sqrt((mu_eff - 1)/(d + 1))
- 1) + c_s, mu_cov = mu_eff and c_cov = (d + 2)/3 * [2/(mu_cov (d + sqrt 2)^2) + (1 - 1/mu_cov)
min(1, (2 mu_eff - 1)/((d + 2)^2 + mu_eff))] (capped at 1). ``h_s`` stalls the rank-one path while
||p_s|| is large (Hansen's tutorial, arXiv:1604.00772, eq. 45).

Reference: R. Ros, N. Hansen, "A simple modification in CMA-ES achieving linear time and space
complexity", PPSN X, LNCS 5199, pp. 296-305, 2008.
"""

from __future__ import annotations

import math

import numpy as np

from optkit.core.params import Interval
from optkit.core.registry import register
from optkit.population._base import PopulationOptimizer, default_popsize
from optkit.population._es_common import ES_PARAMETERS, FunTolerance, check_mu, chi_mean, log_weights, penalize_bounds

#: stop when sigma * max std has grown by this factor over sigma0 (a diverging run)
_TOLUPSIGMA = 1e20


@register("sep-cmaes", family="population")
class SepCMAES(PopulationOptimizer):
    """sep-CMA-ES: CMA-ES with a diagonal covariance, O(d) time and memory per sample.

    When to use: separable or nearly separable problems (it learns one scale per coordinate, e.g. an
    axis-parallel ellipsoid, in about d/3 of the time full CMA-ES needs), and problems above ~100
    dimensions with a small budget, where full CMA-ES is still learning its d^2/2 covariance entries.
    It cannot learn rotated ill-conditioning (use ``cmaes``, or ``lmmaes`` in thousands of dimensions).

    Parameters
    ----------
    space : Box or SearchSpace
    popsize : int, optional
        Offspring per generation lambda (default ``4 + floor(3 ln d)``).
    mu : int, optional
        Parents, the best ``mu`` offspring recombined with log weights (default ``popsize // 2``).
    x0 : array (d,), optional
        Initial mean (default: a uniformly random point of the box).
    sigma0 : float, optional
        Initial step size in the encoded space (default 0.3 of the box's mean width).
    tolx : float
        Stop when sigma times every coordinate's standard deviation and every entry of the rank-one
        path are below ``tolx * sigma0``.
    tolfun : float
        Stop when the best values of the last ``10 + ceil(30 d / popsize)`` generations and the
        current generation's values lie within ``tolfun`` (absolute).
    tolconditioncov : float
        Stop when the diagonal covariance's condition number max(c)/min(c) exceeds this.
    seed : int, optional

    Box handling: samples are evaluated clipped into the box and ranked with a penalty on their
    squared distance to it (``optkit.population._es_common``); the update uses the raw samples.

    Examples
    --------
    >>> import numpy as np, optkit
    >>> ell = lambda x: float(np.sum(10 ** (6 * np.arange(10) / 9) * x ** 2))
    >>> res = optkit.minimize(ell, [(-5, 5)] * 10, method="sep-cmaes", budget=6000, seed=1)
    >>> bool(res.fun < 1e-8)
    True
    """

    _parameter_constraints = {
        **ES_PARAMETERS,
        "tolconditioncov": [Interval(float, 1, None, closed="neither")],
    }

    def __init__(self, space, *, popsize=None, mu=None, x0=None, sigma0=None, tolx=1e-11, tolfun=1e-11,
                 tolconditioncov=1e14, seed=None):
        super().__init__(space, seed=seed, popsize=popsize, mu=mu, x0=x0, sigma0=sigma0, tolx=tolx, tolfun=tolfun,
                         tolconditioncov=tolconditioncov)
        d = self.dim
        self.popsize_ = int(popsize or default_popsize(d))
        self.mu_ = check_mu(type(self).__name__, mu, self.popsize_)
        self.weights_, self.mu_eff_ = log_weights(self.popsize_, self.mu_)
        mu_eff = self.mu_eff_
        self.c_c_ = 4.0 / (d + 4.0)
        self.c_s_ = (mu_eff + 2.0) / (d + mu_eff + 3.0)
        self.d_s_ = 1.0 + 2.0 * max(0.0, math.sqrt((mu_eff - 1.0) / (d + 1.0)) - 1.0) + self.c_s_
        c_cov = (2.0 / (mu_eff * (d + math.sqrt(2.0)) ** 2)
                 + (1.0 - 1.0 / mu_eff) * min(1.0, (2.0 * mu_eff - 1.0) / ((d + 2.0) ** 2 + mu_eff)))
        self.c_cov_ = min(1.0, c_cov * (d + 2.0) / 3.0)
        self.chi_ = chi_mean(d)
        self.mean_ = self._initial_mean(x0)
        self.sigma0_ = self._initial_sigma(sigma0)
        self.sigma_ = self.sigma0_
        self.c_ = np.ones(d)
        self.p_s_ = np.zeros(d)
        self.p_c_ = np.zeros(d)
        self.generation_ = 0
        self._fun = FunTolerance(d, self.popsize_, tolfun)
        self._stop: str | None = None
        self._open: list[tuple[int, np.ndarray]] = []   # (generation drawn in, its N(0, I) draws)

    def _sample(self) -> np.ndarray:
        Zn = self.rng.standard_normal((self.popsize_, self.dim))
        self._open.append((self.generation_, Zn))
        return self.mean_ + (self.sigma_ * np.sqrt(self.c_)) * Zn

    def _update(self, Z, Zeval, y, C) -> None:
        d, sigma = self.dim, self.sigma_
        sd = np.sqrt(self.c_)
        stamp, Zn = self._open.pop(0)
        if stamp == self.generation_:
            Y = (Z - self.mean_) / sigma                   # y_k = sqrt(c) z_k, from the raw samples
        else:                                              # drawn from an older distribution (_es_common)
            Y = sd * Zn
        yr = penalize_bounds(y, Z, Zeval, sigma**2 * float(np.sum(self.c_)))
        sel = np.argsort(yr, kind="stable")[: self.mu_]
        w = self.weights_
        y_w = w @ Y[sel]
        self.mean_ = self.mean_ + sigma * y_w
        self.p_s_ = (1 - self.c_s_) * self.p_s_ + math.sqrt(self.c_s_ * (2 - self.c_s_) * self.mu_eff_) * (y_w / sd)
        self.generation_ += 1
        norm_ps = float(np.linalg.norm(self.p_s_))
        # Heaviside stall: ||p_s|| / sqrt(1 - (1 - c_s)^(2 g)) < (1.4 + 2/(d + 1)) E||N(0, I)||
        h_s = norm_ps / math.sqrt(1 - (1 - self.c_s_) ** (2 * self.generation_)) < (1.4 + 2 / (d + 1)) * self.chi_
        self.p_c_ = (1 - self.c_c_) * self.p_c_ + h_s * math.sqrt(self.c_c_ * (2 - self.c_c_) * self.mu_eff_) * y_w
        c1 = self.c_cov_ / self.mu_eff_
        cmu = self.c_cov_ * (1 - 1 / self.mu_eff_)
        rank_one = self.p_c_**2 + (0.0 if h_s else self.c_c_ * (2 - self.c_c_)) * self.c_
        self.c_ = (1 - self.c_cov_) * self.c_ + c1 * rank_one + cmu * (w @ Y[sel] ** 2)
        self.sigma_ = sigma * math.exp(min(1.0, self.c_s_ / self.d_s_ * (norm_ps / self.chi_ - 1)))
        self._fun.push(y)
        self._stop = self._check_stop()

    def _check_stop(self) -> str | None:
        c, sigma = self.c_, self.sigma_
        if not (np.all(np.isfinite(c)) and np.isfinite(sigma) and np.all(np.isfinite(self.mean_)) and np.all(c > 0)):
            return "numerical breakdown: the step size or the covariance diagonal is no longer finite and positive"
        sd_max = sigma * math.sqrt(float(np.max(c)))
        if sd_max < self.tolx * self.sigma0_ and np.all(sigma * np.abs(self.p_c_) < self.tolx * self.sigma0_):
            return f"tolx: sigma * std < {self.tolx:g} * sigma0 in every coordinate"
        if self._fun.reached():
            return f"tolfun: the values of the last {self._fun.window} generations lie within {self.tolfun:g}"
        cond = float(np.max(c) / np.min(c))
        if cond > self.tolconditioncov:
            return f"tolconditioncov: the diagonal covariance's condition number {cond:.3g} > {self.tolconditioncov:g}"
        if sd_max > _TOLUPSIGMA * self.sigma0_:
            return f"the step size diverged (sigma * max std = {sd_max:.3g}); the problem may be unbounded below"
        if np.all(self.mean_ + 0.2 * sigma * np.sqrt(c) == self.mean_):
            return "the step size is below the floating-point resolution of the mean in every coordinate"
        return None

    def stop_reason(self) -> str | None:
        return self._stop

    def _state(self) -> dict:
        return {"mean": self.mean_, "sigma": self.sigma_, "c": self.c_, "p_s": self.p_s_, "p_c": self.p_c_,
                "generation": self.generation_, "fun": self._fun.state(), "stop": self._stop,
                "open_stamps": [g for g, _ in self._open], "open_z": [z for _, z in self._open]}

    def _load(self, state: dict) -> None:
        self.mean_ = np.asarray(state["mean"], dtype=np.float64)
        self.sigma_ = float(state["sigma"])
        self.c_ = np.asarray(state["c"], dtype=np.float64)
        self.p_s_ = np.asarray(state["p_s"], dtype=np.float64)
        self.p_c_ = np.asarray(state["p_c"], dtype=np.float64)
        self.generation_ = int(state["generation"])
        self._fun.load(state["fun"])
        self._stop = state["stop"]
        self._open = [(int(g), np.asarray(z, dtype=np.float64)) for g, z in zip(state["open_stamps"], state["open_z"])]
