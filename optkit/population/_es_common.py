"""Numerics shared by the cheap and large-scale evolution strategies.

Used by ``sep_cmaes``, ``one_plus_one``, ``lmmaes`` and ``mmes`` (each method keeps its own file;
only what two or more of them need lives here):

* :func:`log_weights`: Hansen's positive recombination weights and their effective number mu_eff;
* :func:`chi_mean`: E||N(0, I_d)||, the reference length of cumulative step-size adaptation;
* :func:`penalize_bounds`: the box handling of the population methods (see below);
* :class:`FunTolerance`: the ``tolfun`` stopping rule (a window of recent best values);
* :func:`check_mu`: ``mu <= popsize``, with an error that names the argument.

Box handling of the population methods. The family layer evaluates every sample ``Z`` clipped into
the box (``Zeval``). The methods rank by ``y + 2 w ||Z - Zeval||^2 / V`` with ``w`` the
inter-quartile range of the generation's values (a small positive floor when they are flat) and
``V = E||step||^2`` the expected squared length of a sampling step (sigma^2 times the sum of the
coordinate variances): a sample one typical step outside the box in one of the d coordinates pays
about 2 w / d. This is the scaling of pycma's ``BoundPenalty`` (Hansen et al. 2009, "A method for
handling uncertainty in evolutionary optimization ...", IEEE TEC 13(1), sec. IV.B), without its
per-coordinate weight growth. Any positive weight makes ``f(clip(x)) + weight ||x - clip(x)||^2``
have the same minimizers as ``f`` on the box; tying it to the spread of the values keeps the ranking
invariant to a rescaling of ``f``, and dividing by the whole step length (not one coordinate's) keeps
the penalty from swamping the values in thousands of dimensions, where many coordinates of every
sample leave the box. The distribution is updated with the raw samples ``Z`` (whose law the method
knows), never with the clipped ones.

Samples from an older distribution. ``ask(n)`` may hand out a generation before the previous one is
told (the family layer samples ahead). When such a generation is finally used for an update, the
mean, step size and shape have moved on. The methods then re-read it as the same standard-normal
draws taken from the *current* distribution: its ranking (by the values of the points actually
evaluated) is kept, its draws are mapped through the current mean, step size and shape, and rules
that compare one generation's values with the previous one's (MMES's step size) skip it. Reading the
raw points as steps from the current mean instead (pycma's rule for injected solutions) made
LM-MA-ES diverge when every second generation was drawn ahead: the stale steps are all long, so the
path lengthens and sigma grows without bound. A generation asked and told in turn is exact.
"""

from __future__ import annotations

import math

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.params import POINT, Interval

#: hyperparameter constraints shared by the evolution strategies of this family (popsize, mu, x0,
#: sigma0 and the tolx/tolfun stops); each method adds its own
ES_PARAMETERS: dict = {
    "popsize": [None, Interval(int, 2, None)],
    "mu": [None, Interval(int, 1, None)],
    "x0": [None, POINT],
    "sigma0": [None, Interval(float, 0, None, closed="neither")],
    "tolx": [Interval(float, 0, None)],
    "tolfun": [Interval(float, 0, None)],
}

def log_weights(lam: int, mu: int) -> tuple[np.ndarray, float]:
    """Positive weights ``w_i ∝ ln(mu + 1/2) - ln i`` (i = 1..mu), summing to 1, and mu_eff = 1/sum w^2.

    For the default ``mu = lam // 2`` this is Hansen's ``ln((lam + 1)/2) - ln i`` (CMA-ES tutorial,
    arXiv:1604.00772, eq. 49, positive part).
    """
    w = math.log(mu + 0.5) - np.log(np.arange(1, mu + 1))
    w = w / w.sum()
    return w, float(1.0 / np.sum(w**2))


def chi_mean(d: int) -> float:
    """E||N(0, I_d)|| ~ sqrt(d) (1 - 1/(4d) + 1/(21 d^2))."""
    return math.sqrt(d) * (1.0 - 1.0 / (4.0 * d) + 1.0 / (21.0 * d * d))


def penalize_bounds(y: np.ndarray, Z: np.ndarray, Zeval: np.ndarray, step2: float) -> np.ndarray:
    """Values to rank by: ``y`` plus the squared distance of the raw samples to the box (module docstring).

    ``step2`` is the expected squared length of a sampling step, sigma^2 times the sum of the
    coordinate variances.
    """
    if np.array_equal(Z, Zeval):
        return y
    d2 = np.sum((Z - Zeval) ** 2, axis=1)
    q75, q25 = np.percentile(y, [75, 25])
    spread = max(float(q75 - q25), 1e-12 * (1.0 + abs(float(np.median(y)))), 1e-300)
    return y + 2.0 * spread * d2 / max(step2, 1e-300)


def check_mu(owner: str, mu, popsize: int) -> int:
    """``mu`` (default ``popsize // 2``), which must not exceed ``popsize``."""
    if mu is None:
        return max(1, popsize // 2)
    if mu > popsize:
        raise InvalidParameterError(
            f"The 'mu' parameter of {owner} must be at most popsize = {popsize} (the parents are chosen among "
            f"the offspring). Got {mu!r} instead."
        )
    return int(mu)


class FunTolerance:
    """The ``tolfun`` rule: the best values of the last ``window`` generations, and the current
    generation's values, all lie within ``tolfun`` of each other (pycma's ``tolfun``).

    The window is ``10 + ceil(30 d / lam)`` generations (pycma's ``tolfunhist`` length).
    """

    def __init__(self, dim: int, lam: int, tolfun: float):
        self.window = 10 + math.ceil(30 * dim / lam)
        self.tolfun = float(tolfun)
        self.best = np.zeros(0)
        self.last_range = np.inf

    def push(self, y: np.ndarray) -> None:
        self.best = np.append(self.best, float(np.min(y)))[-self.window :]
        self.last_range = float(np.max(y) - np.min(y))

    def reached(self) -> bool:
        if self.tolfun <= 0 or self.best.size < self.window:
            return False
        return bool(np.ptp(self.best) < self.tolfun and self.last_range < self.tolfun)

    def state(self) -> dict:
        return {"best": self.best.copy(), "last_range": self.last_range}

    def load(self, state: dict) -> None:
        self.best = np.asarray(state["best"], dtype=np.float64).reshape(-1)
        self.last_range = float(state["last_range"])
