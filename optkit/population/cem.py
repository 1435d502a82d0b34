"""The cross-entropy method (CEM) with a diagonal Gaussian and smoothed updates.

Each generation samples ``popsize`` points from N(m, diag(s^2)), keeps the ``n_elite`` best, and moves
the parameters toward the elites:

    s <- alpha * rms(elites - m) + (1 - alpha) * s      (spread around the previous mean m)
    m <- alpha * mean(elites)    + (1 - alpha) * m

Measuring the elites' spread around the previous mean instead of their own mean (as CMA-ES's
rank-mu update does) keeps the distribution from collapsing before the mean has arrived, the
known weakness of the plain estimate.

Reference: R. Rubinstein, "The cross-entropy method for combinatorial and continuous optimization",
Methodology and Computing in Applied Probability, 1999; P.-T. de Boer, D. Kroese, S. Mannor,
R. Rubinstein, "A tutorial on the cross-entropy method", Annals of Operations Research, 2005 (the
smoothed updates, their section 4).
"""

from __future__ import annotations

import numpy as np

from optkit.core.params import POINT, Interval
from optkit.core.registry import register
from optkit.population._base import PopulationOptimizer


@register("cem", family="population")
class CEM(PopulationOptimizer):
    """Cross-entropy method with a diagonal Gaussian.

    When to use: a simple, robust baseline for cheap, moderately dimensional problems and for
    policy search; it converges linearly on smooth problems but adapts no correlations (use CMA-ES
    for ill-conditioned, non-separable problems).

    Parameters
    ----------
    space : Box or SearchSpace
    popsize : int, optional
        Samples per generation (default ``max(20, 4 * d)``).
    elite_frac : float
        Fraction of each generation kept as elites (at least 2 points).
    alpha : float
        Smoothing of the mean and standard-deviation updates (1 = no smoothing).
    x0 : array (d,), optional
        Initial mean (default: a uniformly random point of the box).
    sigma0 : float, optional
        Initial standard deviation (default 0.3 of the box's mean width).
    min_std : float
        Floor of the standard deviation, relative to ``sigma0`` (keeps the search alive).
    seed : int, optional

    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float(x @ x), [(-5, 5)] * 3, method="cem", budget=3000, seed=0)
    >>> bool(res.fun < 1e-8)
    True
    """

    _parameter_constraints = {
        "popsize": [None, Interval(int, 2, None)],
        "elite_frac": [Interval(float, 0, 1, closed="right")],
        "alpha": [Interval(float, 0, 1, closed="right")],
        "x0": [None, POINT],
        "sigma0": [None, Interval(float, 0, None, closed="neither")],
        "min_std": [Interval(float, 0, None)],
    }

    def __init__(self, space, *, popsize=None, elite_frac=0.2, alpha=0.7, x0=None, sigma0=None, min_std=1e-12, seed=None):
        super().__init__(space, seed=seed, popsize=popsize, elite_frac=elite_frac, alpha=alpha, x0=x0,
                         sigma0=sigma0, min_std=min_std)
        self.popsize_ = popsize or max(20, 4 * self.dim)
        self.n_elite_ = max(2, int(round(elite_frac * self.popsize_)))
        self.mean_ = self._initial_mean(x0)
        self.sigma0_ = self._initial_sigma(sigma0)
        self.std_ = np.full(self.dim, self.sigma0_)

    def _sample(self) -> np.ndarray:
        return self.mean_ + self.std_ * self.rng.standard_normal((self.popsize_, self.dim))

    def _update(self, Z, Zeval, y, C) -> None:
        elite = Zeval[np.argsort(y, kind="stable")[: self.n_elite_]]
        a = self.alpha
        # spread of the elites around the *previous* mean: it grows along the direction of progress
        # (as CMA-ES's rank-mu estimate does), which avoids the premature collapse of the plain estimate
        spread = np.sqrt(np.mean((elite - self.mean_) ** 2, axis=0))
        self.mean_ = a * elite.mean(axis=0) + (1 - a) * self.mean_
        self.std_ = np.maximum(a * spread + (1 - a) * self.std_, self.min_std * self.sigma0_)

    def stop_reason(self) -> str | None:
        if np.all(self.std_ <= self.min_std * self.sigma0_):
            return f"the standard deviation reached its floor min_std * sigma0 = {self.min_std * self.sigma0_:.3g}"
        return None

    def _state(self) -> dict:
        return {"mean": self.mean_, "std": self.std_}

    def _load(self, state: dict) -> None:
        self.mean_ = np.asarray(state["mean"], dtype=np.float64)
        self.std_ = np.asarray(state["std"], dtype=np.float64)
