"""Natural evolution strategies: xNES (full covariance) and SNES (diagonal covariance).

Both follow the natural gradient of the expected fitness of a Gaussian search distribution, estimated
from one generation of ``lambda`` samples with rank-based utilities (fitness shaping): for the sample
of rank k (k = 1 the best),

    u_k = max(0, ln(lambda/2 + 1) - ln k) / sum_j max(0, ln(lambda/2 + 1) - ln j) - 1/lambda,

so the utilities sum to zero and the worse half of the samples gets the same negative utility.

xNES (Glasmachers et al. 2010) writes the distribution as N(m, A A^T) with A = sigma * B, det(B) = 1,
samples ``x_k = m + sigma * B z_k`` (z_k ~ N(0, I)) and computes the natural gradient in the local,
exponential coordinates, where it is a plain weighted sum:

    G_delta = sum_k u_k z_k,   G_M = sum_k u_k (z_k z_k^T - I),   G_sigma = tr(G_M) / d,
    G_B = G_M - G_sigma I
    m     <- m + eta_mu * sigma * B G_delta
    sigma <- sigma * exp(eta_sigma / 2 * G_sigma)
    B     <- B expm(eta_B / 2 * G_B)

G_B is symmetric and traceless, so expm(G_B) is computed from an eigendecomposition (with the
eigenvalues re-centred to sum exactly zero) and keeps det(B) = 1. Defaults: eta_mu = 1,
eta_sigma = eta_B = 3 (3 + ln d) / (5 d sqrt(d)), lambda = 4 + floor(3 ln d).

SNES (Schaul, Glasmachers & Schmidhuber 2011) restricts A to a diagonal, one step size per
coordinate, at O(d) cost per sample: ``x_k = m + s * z_k`` and

    m <- m + eta_mu * s * sum_k u_k z_k,   s <- s * exp(eta_sigma / 2 * sum_k u_k (z_k^2 - 1))

with eta_mu = 1 and eta_sigma = (3 + ln d) / (5 sqrt(d)).

These are the update rules and default rates of Wierstra et al. (JMLR 2014), Algorithms 5 and 6 and
Table 1. Adaptation sampling and importance mixing, optional in the papers, are not implemented.

Generations asked ahead. ``ask(n)`` may hand out a generation before the previous one is told. The
method keeps the standard-normal draws z_k of every open generation and computes each update from
them, applied to the *current* parameters: for a generation asked and told in turn this is exactly
the update above; for one drawn before the last update it is a delayed natural-gradient step (as in
asynchronous SGD), which stays well defined because the z_k are exact N(0, I) draws (re-reading
the old samples in the new coordinates instead, ``A^{-1} (x - m)``, gives long, biased steps that
collapse the covariance).

Box handling (as the other evolution strategies, ``optkit.population._es_common``): the samples are
evaluated clipped into the box and *ranked* by their value plus a penalty on their squared distance
to it; the update uses the raw samples, whose law is known.

References: T. Glasmachers, T. Schaul, Y. Sun, D. Wierstra, J. Schmidhuber, "Exponential natural
evolution strategies", GECCO 2010, pp. 393-400. T. Schaul, T. Glasmachers, J. Schmidhuber, "High
dimensions and heavy tails for natural evolution strategies", GECCO 2011, pp. 845-852.
D. Wierstra, T. Schaul, T. Glasmachers, Y. Sun, J. Peters, J. Schmidhuber, "Natural evolution
strategies", JMLR 15:949-980, 2014.
"""

from __future__ import annotations

import math

import numpy as np

from optkit.core.params import POINT, Interval
from optkit.core.registry import register
from optkit.population._base import PopulationOptimizer, default_popsize
from optkit.population._es_common import FunTolerance, penalize_bounds

#: stop when the largest standard deviation has grown by this factor over sigma0 (a diverging run)
_TOLUPSIGMA = 1e20
#: xNES checks the condition number of B B^T every this many generations
_COND_EVERY = 10


def nes_utilities(lam: int) -> np.ndarray:
    """The NES rank utilities u_1..u_lam (best first), summing to zero (module docstring)."""
    k = np.arange(1, lam + 1)
    raw = np.maximum(0.0, math.log(lam / 2.0 + 1.0) - np.log(k))
    return raw / raw.sum() - 1.0 / lam


def xnes_rates(d: int) -> tuple[float, float, float]:
    """Default (eta_mu, eta_sigma, eta_B) of xNES: 1 and 3 (3 + ln d) / (5 d sqrt d) twice."""
    eta = 3.0 * (3.0 + math.log(d)) / (5.0 * d * math.sqrt(d))
    return 1.0, eta, eta


def snes_rates(d: int) -> tuple[float, float]:
    """Default (eta_mu, eta_sigma) of SNES: 1 and (3 + ln d) / (5 sqrt d)."""
    return 1.0, (3.0 + math.log(d)) / (5.0 * math.sqrt(d))


def _expm_sym_traceless(S: np.ndarray) -> np.ndarray:
    """expm(S) for a symmetric, traceless S, from its eigendecomposition; its determinant is 1.

    The eigenvalues are re-centred to sum exactly zero, so that round-off does not make det(B) drift.
    """
    w, V = np.linalg.eigh(0.5 * (S + S.T))
    return (V * np.exp(w - w.mean())) @ V.T


_COMMON_CONSTRAINTS = {
    "popsize": [None, Interval(int, 2, None)],
    "x0": [None, POINT],
    "sigma0": [None, Interval(float, 0, None, closed="neither")],
    "eta_mu": [None, Interval(float, 0, None, closed="neither")],
    "eta_sigma": [None, Interval(float, 0, None, closed="neither")],
    "tolx": [Interval(float, 0, None)],
    "tolfun": [Interval(float, 0, None)],
    "tolcondition": [Interval(float, 1, None, closed="neither")],
}


class _Draws:
    """The standard-normal draws of the open generations, oldest first (module docstring)."""

    def __init__(self):
        self.open: list[np.ndarray] = []

    def new(self, rng: np.random.Generator, lam: int, d: int) -> np.ndarray:
        Zn = rng.standard_normal((lam, d))
        self.open.append(Zn)
        return Zn

    def pop(self) -> np.ndarray:
        return self.open.pop(0)

    def load(self, arrays, d: int) -> None:
        self.open = [np.asarray(a, dtype=np.float64).reshape(-1, d) for a in arrays]


def _common_stop(opt, sd_max: float, cond: float, step: np.ndarray) -> str | None:
    """The stopping rules xNES and SNES share (``step`` is the per-coordinate standard deviation)."""
    if not (math.isfinite(float(step.sum() + opt.mean_.sum())) and float(step.min()) > 0):
        return "numerical breakdown: the step sizes are no longer finite and positive"
    if sd_max < opt.tolx * opt.sigma0_:
        return f"tolx: every standard deviation is below {opt.tolx:g} * sigma0"
    if opt._fun.reached():
        return f"tolfun: the values of the last {opt._fun.window} generations lie within {opt.tolfun:g}"
    if cond > opt.tolcondition:
        return f"tolcondition: the covariance's condition number {cond:.3g} > {opt.tolcondition:g}"
    if sd_max > _TOLUPSIGMA * opt.sigma0_:
        return f"the step size diverged (largest standard deviation {sd_max:.3g}); the problem may be unbounded below"
    if (opt.mean_ + 0.2 * step == opt.mean_).all():
        return "the step size is below the floating-point resolution of the mean in every coordinate"
    return None


@register("xnes", family="population")
class XNES(PopulationOptimizer):
    """Exponential natural evolution strategy (xNES): full covariance, natural-gradient updates.

    When to use: non-separable, ill-conditioned continuous problems in small to moderate dimension
    (up to ~50-100: each generation costs O(d^3) for the matrix exponential and its covariance
    learning rate scales as d^(-3/2)). Its invariances are those of CMA-ES (rank-based, rotation and
    affine invariant); CMA-ES's evolution paths usually make it faster on smooth problems, xNES's
    appeal is a principled, few-line update with no path state.

    Parameters
    ----------
    space : Box or SearchSpace
    popsize : int, optional
        Samples per generation lambda (default ``4 + floor(3 ln d)``).
    x0 : array (d,), optional
        Initial mean (default: a uniformly random point of the box).
    sigma0 : float, optional
        Initial step size in the encoded space (default 0.3 of the box's mean width).
    eta_mu, eta_sigma, eta_B : float, optional
        Learning rates of the mean, the step size and the shape matrix B (defaults 1,
        3 (3 + ln d) / (5 d sqrt d), 3 (3 + ln d) / (5 d sqrt d)).
    tolx : float
        Stop when every standard deviation sigma * sqrt(diag(B B^T)) is below ``tolx * sigma0``.
    tolfun : float
        Stop when the best values of the last ``10 + ceil(30 d / popsize)`` generations and the
        current generation's values lie within ``tolfun`` (absolute).
    tolcondition : float
        Stop when the condition number of B B^T exceeds this.
    seed : int, optional

    Box handling: samples are evaluated clipped into the box and ranked with a penalty on their
    squared distance to it (``optkit.population._es_common``); the update uses the raw samples.

    Reference: T. Glasmachers, T. Schaul, Y. Sun, D. Wierstra, J. Schmidhuber, "Exponential natural
    evolution strategies", GECCO 2010.

    Examples
    --------
    >>> import numpy as np, optkit
    >>> ell = lambda x: float(x[0] ** 2 + 100 * x[1] ** 2 + (x[0] + x[2]) ** 2)
    >>> res = optkit.minimize(ell, [(-5, 5)] * 3, method="xnes", budget=3000, seed=0)
    >>> bool(res.fun < 1e-8)
    True
    """

    _parameter_constraints = {**_COMMON_CONSTRAINTS, "eta_B": [None, Interval(float, 0, None, closed="neither")]}

    def __init__(self, space, *, popsize=None, x0=None, sigma0=None, eta_mu=None, eta_sigma=None, eta_B=None,
                 tolx=1e-11, tolfun=1e-11, tolcondition=1e14, seed=None):
        super().__init__(space, seed=seed, popsize=popsize, x0=x0, sigma0=sigma0, eta_mu=eta_mu, eta_sigma=eta_sigma,
                         eta_B=eta_B, tolx=tolx, tolfun=tolfun, tolcondition=tolcondition)
        d = self.dim
        self.popsize_ = int(popsize or default_popsize(d))
        self.utilities_ = nes_utilities(self.popsize_)
        e_mu, e_sigma, e_b = xnes_rates(d)
        self.eta_mu_ = float(eta_mu if eta_mu is not None else e_mu)
        self.eta_sigma_ = float(eta_sigma if eta_sigma is not None else e_sigma)
        self.eta_B_ = float(eta_B if eta_B is not None else e_b)
        self.mean_ = self._initial_mean(x0)
        self.sigma0_ = self._initial_sigma(sigma0)
        self.sigma_ = self.sigma0_
        self.B_ = np.eye(d)
        self.generation_ = 0
        self._fun = FunTolerance(d, self.popsize_, tolfun)
        self._draws = _Draws()
        self._stop: str | None = None

    def _sample(self) -> np.ndarray:
        Zn = self._draws.new(self.rng, self.popsize_, self.dim)
        return self.mean_ + self.sigma_ * (Zn @ self.B_.T)

    def _update(self, Z, Zeval, y, C) -> None:
        d, sigma, B = self.dim, self.sigma_, self.B_
        Zn = self._draws.pop()                                      # the z_k with x_k = m + sigma B z_k
        yr = penalize_bounds(y, Z, Zeval, sigma**2 * float(np.sum(B * B)) / d)
        u = self.utilities_[np.argsort(np.argsort(yr, kind="stable"), kind="stable")]  # utility of each sample
        g_delta = u @ Zn
        g_M = (Zn.T * u) @ Zn - u.sum() * np.eye(d)
        g_sigma = float(np.trace(g_M)) / d
        g_B = g_M - g_sigma * np.eye(d)
        mean = self.mean_ + self.eta_mu_ * sigma * (B @ g_delta)
        sigma = sigma * math.exp(0.5 * self.eta_sigma_ * g_sigma)
        B = B @ _expm_sym_traceless(0.5 * self.eta_B_ * g_B)
        if not (math.isfinite(float(mean.sum() + B.sum())) and math.isfinite(sigma) and sigma > 0):
            self._stop = "numerical breakdown: the update is no longer finite (the previous state is kept)"
            return
        self.mean_, self.sigma_, self.B_ = mean, sigma, B
        self.generation_ += 1
        self._fun.push(y)
        self._stop = self._check_stop()

    def _check_stop(self) -> str | None:
        step = self.sigma_ * np.sqrt(np.sum(self.B_ * self.B_, axis=1))
        cond = 1.0
        if self.generation_ % _COND_EVERY == 0:                     # an SVD per generation would double the cost
            sv = np.linalg.svd(self.B_, compute_uv=False)
            cond = float((sv[0] / sv[-1]) ** 2) if sv[-1] > 0 else math.inf
        return _common_stop(self, float(step.max()), cond, step)

    def stop_reason(self) -> str | None:
        return self._stop

    def _state(self) -> dict:
        return {"mean": self.mean_, "sigma": self.sigma_, "B": self.B_, "generation": self.generation_,
                "fun": self._fun.state(), "stop": self._stop, "draws": list(self._draws.open)}

    def _load(self, state: dict) -> None:
        self.mean_ = np.asarray(state["mean"], dtype=np.float64)
        self.sigma_ = float(state["sigma"])
        self.B_ = np.asarray(state["B"], dtype=np.float64).reshape(self.dim, self.dim)
        self.generation_ = int(state["generation"])
        self._fun.load(state["fun"])
        self._stop = state["stop"]
        self._draws.load(state["draws"], self.dim)


@register("snes", family="population")
class SNES(PopulationOptimizer):
    """Separable natural evolution strategy (SNES): one step size per coordinate, O(d) per sample.

    When to use: separable or nearly separable problems, and high-dimensional ones (hundreds to
    thousands of dimensions) where a full covariance is too costly to learn; its per-coordinate
    step sizes handle axis-parallel ill-conditioning (it cannot learn rotated ill-conditioning: use
    ``xnes`` or CMA-ES there).

    Parameters
    ----------
    space : Box or SearchSpace
    popsize : int, optional
        Samples per generation lambda (default ``4 + floor(3 ln d)``).
    x0 : array (d,), optional
        Initial mean (default: a uniformly random point of the box).
    sigma0 : float, optional
        Initial step size of every coordinate in the encoded space (default 0.3 of the box's mean
        width).
    eta_mu, eta_sigma : float, optional
        Learning rates of the mean and of the step sizes (defaults 1 and (3 + ln d) / (5 sqrt d)).
    tolx : float
        Stop when every step size is below ``tolx * sigma0``.
    tolfun : float
        Stop when the best values of the last ``10 + ceil(30 d / popsize)`` generations and the
        current generation's values lie within ``tolfun`` (absolute).
    tolcondition : float
        Stop when (max step / min step)^2 exceeds this.
    seed : int, optional

    Box handling: as ``xnes``.

    Reference: T. Schaul, T. Glasmachers, J. Schmidhuber, "High dimensions and heavy tails for
    natural evolution strategies", GECCO 2011.

    Examples
    --------
    >>> import numpy as np, optkit
    >>> ell = lambda x: float(np.sum(10 ** (3 * np.arange(6) / 5) * x ** 2))
    >>> res = optkit.minimize(ell, [(-5, 5)] * 6, method="snes", budget=6000, seed=0)
    >>> bool(res.fun < 1e-8)
    True
    """

    _parameter_constraints = dict(_COMMON_CONSTRAINTS)

    def __init__(self, space, *, popsize=None, x0=None, sigma0=None, eta_mu=None, eta_sigma=None,
                 tolx=1e-11, tolfun=1e-11, tolcondition=1e14, seed=None):
        super().__init__(space, seed=seed, popsize=popsize, x0=x0, sigma0=sigma0, eta_mu=eta_mu, eta_sigma=eta_sigma,
                         tolx=tolx, tolfun=tolfun, tolcondition=tolcondition)
        d = self.dim
        self.popsize_ = int(popsize or default_popsize(d))
        self.utilities_ = nes_utilities(self.popsize_)
        e_mu, e_sigma = snes_rates(d)
        self.eta_mu_ = float(eta_mu if eta_mu is not None else e_mu)
        self.eta_sigma_ = float(eta_sigma if eta_sigma is not None else e_sigma)
        self.mean_ = self._initial_mean(x0)
        self.sigma0_ = self._initial_sigma(sigma0)
        self.sigma_ = np.full(d, self.sigma0_)
        self.generation_ = 0
        self._fun = FunTolerance(d, self.popsize_, tolfun)
        self._draws = _Draws()
        self._stop: str | None = None

    def _sample(self) -> np.ndarray:
        return self.mean_ + self.sigma_ * self._draws.new(self.rng, self.popsize_, self.dim)

    def _update(self, Z, Zeval, y, C) -> None:
        s = self.sigma_
        Zn = self._draws.pop()                                      # the z_k with x_k = m + s * z_k
        yr = penalize_bounds(y, Z, Zeval, float(np.mean(s * s)))
        u = self.utilities_[np.argsort(np.argsort(yr, kind="stable"), kind="stable")]
        mean = self.mean_ + self.eta_mu_ * s * (u @ Zn)
        s = s * np.exp(0.5 * self.eta_sigma_ * (u @ (Zn * Zn - 1.0)))
        if not (math.isfinite(float(mean.sum() + s.sum())) and float(s.min()) > 0):
            self._stop = "numerical breakdown: the update is no longer finite (the previous state is kept)"
            return
        self.mean_, self.sigma_ = mean, s
        self.generation_ += 1
        self._fun.push(y)
        self._stop = self._check_stop()

    def _check_stop(self) -> str | None:
        s = self.sigma_
        s_max = float(s.max())
        return _common_stop(self, s_max, (s_max / max(float(s.min()), 1e-300)) ** 2, s)

    def stop_reason(self) -> str | None:
        return self._stop

    def _state(self) -> dict:
        return {"mean": self.mean_, "sigma": self.sigma_, "generation": self.generation_, "fun": self._fun.state(),
                "stop": self._stop, "draws": list(self._draws.open)}

    def _load(self, state: dict) -> None:
        self.mean_ = np.asarray(state["mean"], dtype=np.float64)
        self.sigma_ = np.asarray(state["sigma"], dtype=np.float64)
        self.generation_ = int(state["generation"])
        self._fun.load(state["fun"])
        self._stop = state["stop"]
        self._draws.load(state["draws"], self.dim)
