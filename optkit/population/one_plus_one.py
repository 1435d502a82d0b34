"""The (1+1)-CMA-ES (Igel, Suttorp & Hansen 2006) and the (1+1)-ES with the 1/5th success rule.

One parent ``x``, one offspring per step ``x' = x + sigma * A z`` (``z ~ N(0, I)``, ``C = A A^T``); the
offspring replaces the parent when ``f(x') <= f(x)`` (elitist selection).

Step size, ``covariance=True`` (Igel et al. 2006, procedure updateStepSize): a smoothed success rate

    p_succ <- (1 - c_p) p_succ + c_p * [f(x') <= f(x)]
    sigma  <- sigma * exp((p_succ - p_target) / (damping * (1 - p_target)))

with p_target = 2/11, c_p = 1/12, damping = 1 + d/2, p_succ starting at p_target.

Covariance, on a success (their procedure updateCovariance, with the evolution path): with the
normalized step ``v = (x' - x) / sigma``,

    if p_succ < p_thresh: p_c <- (1 - c_c) p_c + sqrt(c_c (2 - c_c)) v;  C <- (1 - c_cov) C + c_cov p_c p_c^T
    else:                 p_c <- (1 - c_c) p_c;  C <- (1 - c_cov) C + c_cov (p_c p_c^T + c_c (2 - c_c) C)

with c_c = 2/(d + 2), c_cov = 2/(d^2 + 6), p_thresh = 0.44. ``C`` is never formed: the factor ``A``
and its inverse receive the rank-one update C' = alpha C + beta p_c p_c^T in O(d^2) (Suttorp,
Hansen & Igel 2009, Theorem 1 and Lemma 2): with ``w = A^{-1} p_c``,

    A'      = sqrt(alpha) A + sqrt(alpha)/||w||^2 (sqrt(1 + beta/alpha ||w||^2) - 1) p_c w^T
    A'^{-1} = A^{-1}/sqrt(alpha) - 1/(sqrt(alpha) ||w||^2) (1 - 1/sqrt(1 + beta/alpha ||w||^2)) w (w^T A^{-1})

(the 2006 paper's O(d^2) Cholesky variant drops the path; this is the path version at the same
cost). ``A^{-1}`` is recomputed from ``A`` every d accepted updates to stop round-off from
accumulating (O(d^2) per step amortized).

``covariance=False``: the isotropic (1+1)-ES with the 1/5th success rule in the form of Kern et al.
(2004, sec. 3.1) and Auger & Hansen's tutorials: sigma <- sigma * exp(1/3) on a success and
sigma <- sigma * exp(-1/12) = exp(1/3)^(-1/4) on a failure, so that sigma is stationary at a success
rate of 1/5 (Rechenberg 1973).

Box handling: an offspring outside the box is evaluated at its projection onto the box, and it is
that projected point which replaces the parent on success (the parent is always feasible and its
value exactly known); the covariance update uses the step actually taken.

References: C. Igel, T. Suttorp, N. Hansen, "A computational efficient covariance matrix update and
a (1+1)-CMA for evolution strategies", GECCO 2006, pp. 453-460. T. Suttorp, N. Hansen, C. Igel,
"Efficient covariance matrix update for variable metric evolution strategies", Machine Learning
75(2):167-197, 2009. S. Kern, S. D. Müller, N. Hansen, D. Büche, J. Ocenasek, P. Koumoutsakos,
"Learning probability distributions in continuous evolutionary algorithms - a comparative review",
Natural Computing 3(1):77-112, 2004. I. Rechenberg, "Evolutionsstrategie", Frommann-Holzboog, 1973.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from optkit.core.params import BOOL, POINT, Interval
from optkit.core.registry import register
from optkit.population._base import PopulationOptimizer

#: stop when sigma has grown by this factor over sigma0 (a diverging run)
_TOLUPSIGMA = 1e20


@register("one-plus-one-cmaes", family="population")
class OnePlusOneCMAES(PopulationOptimizer):
    """(1+1)-CMA-ES with success-rule step size and O(d^2) Cholesky-factor covariance update.

    When to use: cheap, unimodal (or nearly so) objectives evaluated one point at a time, where its
    elitism and its single offspring make it the fastest ES per evaluation on smooth problems in
    small dimension (up to a few dozen; its O(d^2) step limits it beyond a few hundred). Elitist
    selection makes it fragile on noisy and rugged functions: use a population method there.

    Parameters
    ----------
    space : Box or SearchSpace
    popsize : int, optional
        Must be None or 1: a (1+1)-ES makes one offspring per step (the argument exists so that all
        population methods take it).
    covariance : bool
        True: the (1+1)-CMA-ES. False: the isotropic (1+1)-ES with the 1/5th success rule
        (sigma * exp(1/3) on success, * exp(-1/12) on failure), O(d) per step.
    x0 : array (d,), optional
        Initial parent, evaluated first (default: a uniformly random point of the box).
    sigma0 : float, optional
        Initial step size in the encoded space (default 0.3 of the box's mean width).
    tolx : float
        Stop when sigma times the largest standard deviation of ``C`` is below ``tolx * sigma0``.
    tolfun : float
        Stop when the parent's value improved by less than ``tolfun`` over the last ``10 + 30 d``
        evaluations.
    tolconditioncov : float
        Stop when the condition number of ``C`` (checked every d accepted steps) exceeds this.
    seed : int, optional

    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float((x ** 2).sum()), [(-5, 5)] * 5, method="one-plus-one-cmaes",
    ...                       budget=1500, seed=0)
    >>> bool(res.fun < 1e-8)
    True
    """

    _parameter_constraints = {
        "popsize": [None, Interval(int, 1, 1)],
        "covariance": [BOOL],
        "x0": [None, POINT],
        "sigma0": [None, Interval(float, 0, None, closed="neither")],
        "tolx": [Interval(float, 0, None)],
        "tolfun": [Interval(float, 0, None)],
        "tolconditioncov": [Interval(float, 1, None, closed="neither")],
    }

    #: Igel et al. 2006's constants that do not depend on the dimension
    P_TARGET = 2.0 / 11.0
    C_P = 1.0 / 12.0
    P_THRESH = 0.44

    def __init__(self, space, *, popsize=None, covariance=True, x0=None, sigma0=None, tolx=1e-11, tolfun=1e-11,
                 tolconditioncov=1e14, seed=None):
        super().__init__(space, seed=seed, popsize=popsize, covariance=covariance, x0=x0, sigma0=sigma0, tolx=tolx,
                         tolfun=tolfun, tolconditioncov=tolconditioncov)
        d = self.dim
        self.popsize_ = 1
        self.damping_ = 1.0 + d / 2.0
        self.c_c_ = 2.0 / (d + 2.0)
        self.c_cov_ = 2.0 / (d * d + 6.0)
        self.window_ = 10 + 30 * d
        self.x_ = self._initial_mean(x0)
        self.f_ = math.inf            # the parent's value; inf until x0 has been evaluated
        self.evaluated_ = False       # whether x0 has been told
        self.sigma0_ = self._initial_sigma(sigma0)
        self.sigma_ = self.sigma0_
        self.p_succ_ = self.P_TARGET
        self.p_c_ = np.zeros(d)
        self.A_ = np.eye(d) if covariance else None
        self.Ainv_ = np.eye(d) if covariance else None
        self.n_updates_ = 0           # accepted covariance updates (A^{-1} is refreshed every d of them)
        self.steps_ = 0               # offspring told
        self.best_hist_ = deque(maxlen=self.window_)  # the parent's value after each of the last window_ steps
        self.x0_pending_ = False
        self._forgotten: list[np.ndarray] = []
        self._stop: str | None = None

    # -- sampling ------------------------------------------------------------------------------
    def _sample(self) -> np.ndarray:
        if not self.evaluated_ and not self.x0_pending_:
            self.x0_pending_ = True
            return self.x_[None, :].copy()
        z = self.rng.standard_normal(self.dim)
        step = self.A_ @ z if self.covariance else z
        return (self.x_ + self.sigma_ * step)[None, :]

    # -- learning ------------------------------------------------------------------------------
    def _discard(self, Z) -> None:
        # a point given up (on_error="skip") is a failure; the family layer would give it a finite
        # stand-in value, so remember it and read its value as +inf in _update
        self._forgotten.extend(np.array(z, dtype=np.float64) for z in Z)
        super()._discard(Z)

    def _update(self, Z, Zeval, y, C) -> None:
        x_new, f_new = Zeval[0], float(y[0])
        for i, z in enumerate(self._forgotten):
            if np.array_equal(z, x_new):
                del self._forgotten[i]
                f_new = math.inf
                break
        if not self.evaluated_:
            self.evaluated_, self.x0_pending_ = True, False
            self.x_, self.f_ = x_new.copy(), f_new
            return
        success = f_new <= self.f_ and math.isfinite(f_new)
        v = (x_new - self.x_) / self.sigma_   # the step actually taken, in units of sigma
        if self.covariance:
            self.p_succ_ = (1 - self.C_P) * self.p_succ_ + self.C_P * success
            self.sigma_ *= math.exp((self.p_succ_ - self.P_TARGET) / (self.damping_ * (1 - self.P_TARGET)))
        else:
            self.sigma_ *= math.exp(1.0 / 3.0) if success else math.exp(-1.0 / 12.0)
        if success:
            self.x_, self.f_ = x_new.copy(), f_new
            if self.covariance:
                self._update_covariance(v)
        self.steps_ += 1
        self.best_hist_.append(self.f_)
        self._stop = self._check_stop()

    def _update_covariance(self, v: np.ndarray) -> None:
        c_c, c_cov = self.c_c_, self.c_cov_
        if self.p_succ_ < self.P_THRESH:
            self.p_c_ = (1 - c_c) * self.p_c_ + math.sqrt(c_c * (2 - c_c)) * v
            alpha = 1 - c_cov
        else:
            self.p_c_ = (1 - c_c) * self.p_c_
            alpha = 1 - c_cov + c_cov * c_c * (2 - c_c)
        beta = c_cov
        w = self.Ainv_ @ self.p_c_
        ww = float(w @ w)
        sa = math.sqrt(alpha)
        if ww < 1e-300:        # p_c = 0: C' = alpha C
            self.A_ *= sa
            self.Ainv_ /= sa
        else:
            root = math.sqrt(1 + beta / alpha * ww)
            self.A_ *= sa
            self.A_ += np.outer((sa / ww * (root - 1)) * self.p_c_, w)
            wA = w @ self.Ainv_
            self.Ainv_ /= sa
            self.Ainv_ -= np.outer((1 / (sa * ww) * (1 - 1 / root)) * w, wA)
        self.n_updates_ += 1
        if self.n_updates_ % self.dim == 0:
            self._refresh()
        self._sd = math.sqrt(float(np.max(np.einsum("ij,ij->i", self.A_, self.A_))))
        if not math.isfinite(self._sd):
            self._broken = True

    def _refresh(self) -> None:
        """Recompute A^{-1} from A (cancels accumulated round-off) and check the condition of C."""
        if not np.all(np.isfinite(self.A_)):
            return
        try:
            s = np.linalg.svd(self.A_, compute_uv=False)
            self.Ainv_ = np.linalg.inv(self.A_)
        except np.linalg.LinAlgError:
            self._cond = math.inf
            return
        self._cond = float((s[0] / s[-1]) ** 2) if s[-1] > 0 else math.inf

    _cond = 1.0       # condition number of C at the last refresh
    _sd = 1.0         # the largest standard deviation of C = A A^T (sqrt of its largest diagonal entry)
    _broken = False   # A has non-finite entries

    # -- stopping ------------------------------------------------------------------------------
    def _check_stop(self) -> str | None:
        sigma = self.sigma_
        if not math.isfinite(sigma) or sigma <= 0 or self._broken:
            return "numerical breakdown: the step size or the covariance factor is no longer finite"
        sd = sigma * self._sd
        if sd < self.tolx * self.sigma0_:
            return f"tolx: sigma * std < {self.tolx:g} * sigma0"
        h = self.best_hist_
        if self.tolfun > 0 and len(h) == self.window_ and h[0] - h[-1] < self.tolfun:
            return f"tolfun: the parent improved by less than {self.tolfun:g} in the last {self.window_} evaluations"
        if self._cond > self.tolconditioncov:
            return f"tolconditioncov: the condition number of C {self._cond:.3g} > {self.tolconditioncov:g}"
        if sd > _TOLUPSIGMA * self.sigma0_:
            return f"the step size diverged (sigma * max std = {sd:.3g}); the problem may be unbounded below"
        return None

    def stop_reason(self) -> str | None:
        return self._stop

    # -- state ---------------------------------------------------------------------------------
    def _state(self) -> dict:
        st = {"x": self.x_, "f": self.f_, "evaluated": self.evaluated_, "x0_pending": self.x0_pending_,
              "sigma": self.sigma_, "p_succ": self.p_succ_, "p_c": self.p_c_, "n_updates": self.n_updates_,
              "steps": self.steps_, "best_hist": np.array(self.best_hist_, dtype=np.float64), "cond": self._cond, "stop": self._stop,
              "forgotten": [z.copy() for z in self._forgotten], "sd": self._sd, "broken": self._broken}
        if self.covariance:
            st["A"], st["Ainv"] = self.A_, self.Ainv_
        return st

    def _load(self, state: dict) -> None:
        self.x_ = np.asarray(state["x"], dtype=np.float64)
        self.f_ = float(state["f"])
        self.evaluated_, self.x0_pending_ = bool(state["evaluated"]), bool(state["x0_pending"])
        self.sigma_, self.p_succ_ = float(state["sigma"]), float(state["p_succ"])
        self.p_c_ = np.asarray(state["p_c"], dtype=np.float64)
        self.n_updates_, self.steps_ = int(state["n_updates"]), int(state["steps"])
        self.best_hist_ = deque(np.asarray(state["best_hist"], dtype=np.float64).reshape(-1).tolist(), maxlen=self.window_)
        self._cond, self._stop = float(state["cond"]), state["stop"]
        self._forgotten = [np.asarray(z, dtype=np.float64) for z in state["forgotten"]]
        self._sd, self._broken = float(state["sd"]), bool(state["broken"])
        if self.covariance:
            self.A_ = np.asarray(state["A"], dtype=np.float64).copy()
            self.Ainv_ = np.asarray(state["Ainv"], dtype=np.float64).copy()
