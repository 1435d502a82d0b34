"""CMA-ES, the covariance matrix adaptation evolution strategy, with IPOP and BIPOP restarts.

One generation (Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772, 2016/2023,
appendix A): sample ``x_k = m + sigma * B D z_k`` (``z_k ~ N(0, I)``,
``C = B D^2 B^T``), rank the values, and with ``y_k = (x_k - m) / sigma`` in rank order

    m     <- m + sigma * y_w,                     y_w = sum_{i<=mu} w_i y_i
    p_s   <- (1 - c_s) p_s + sqrt(c_s (2 - c_s) mu_eff) C^{-1/2} y_w
    p_c   <- (1 - c_c) p_c + h_s sqrt(c_c (2 - c_c) mu_eff) y_w
    C     <- (1 + c_1 delta(h_s) - c_1 - c_mu sum_j w_j) C + c_1 p_c p_c^T + c_mu sum_i w_i° y_i y_i^T
    sigma <- sigma * exp(min(1, c_s / d_s (||p_s|| / E||N(0, I)|| - 1)))

with the default weights ``w'_i = ln((lam + 1)/2) - ln i`` (i = 1..lam): the positive ones scaled to
sum 1, the negative ones (the *active* update of Jastrebski & Arnold 2006) scaled to sum
``-min(1 + c_1/c_mu, 1 + 2 mu_eff^-/(mu_eff + 2), (1 - c_1 - c_mu)/(d c_mu))``, and
``w_i° = w_i d / ||C^{-1/2} y_i||^2`` for the negative ones. ``h_s`` stalls the rank-one path
while ``||p_s||`` is large; ``delta(h_s) = (1 - h_s) c_c (2 - c_c)``. The learning rates are the
tutorial's table 1 (``c_mu`` with the 1/4 offset of the 2023 version). The eigendecomposition of ``C``
(symmetrized first) is lazy: it is redone only after ``1 / (10 d (c_1 + c_mu))`` generations. Its
eigenvalues are floored at ``1e-20`` of the largest, so a (numerically) singular ``C`` ends the run
through ``tolconditioncov`` with a message, never with NaN.

Box handling: Hansen's boundary penalty (Hansen, Niederberger, Guzzella, Koumoutsakos, "A method for
handling uncertainty in evolutionary optimization with an application to feedback control of
combustion", IEEE TEC 13(1), 2009, with the weight update of pycma's ``BoundPenalty``). Every sample
``z`` is evaluated at its projection ``clip(z)`` into the box and ranked by
``f(clip(z)) + sum_i gamma_i (z_i - clip(z)_i)^2 / d``; the update uses the raw samples. The weights
start at ``2 * dfit`` once a sample leaves the box, ``dfit`` the median over the last ``20 + 3d/lam``
generations of the values' inter-quartile range divided by ``sigma^2 mean(diag C)``; ``gamma_i``
grows while the mean lies more than ``3 max(1, sqrt(d)/mu_eff)`` standard deviations outside the box in
coordinate ``i`` and shrinks above ``5 dfit``. The penalized function has the same minimizers as ``f`` on
the box, so an optimum on the boundary (a face, a corner) is approached to full precision.

Stopping rules (pycma's names and defaults): ``tolx``, ``tolfun`` (with ``tolfunhist``),
``tolstagnation``, ``tolconditioncov``, ``noeffectaxis``, ``noeffectcoord``, ``tolflatfitness``, and
``tolfacupx`` (``sigma sqrt(C_ii)`` grew 1000-fold: sigma0 far too small, or no minimum). With
``restarts`` a stop starts a new run instead (a new mean drawn uniformly in the box): IPOP doubles lam
(Auger & Hansen, "A restart CMA evolution strategy with increasing population size", CEC 2005);
BIPOP (Hansen, "Benchmarking a BI-population CMA-ES on the BBOB-2009 function testbed", GECCO 2009)
interlaces those large runs with small ones, ``lam_s = floor(lam_def (lam_l / (2 lam_def))^(U^2))``,
``sigma_s = sigma0 10^(-2 U')``, each restart going to the regime that has used fewer evaluations (the
first run counts as large; a small run also stops once it used half the large regime's evaluations).

Generations asked ahead (``ask`` before the previous generation is told) keep their ranking, and
their standard-normal draws are re-read through the current distribution (the convention of the
family's evolution strategies, ``optkit.population._es_common``); generations of an earlier run told
after a restart are ignored.
"""

from __future__ import annotations

import math

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.params import BOOL, POINT, Interval, Options
from optkit.core.registry import register
from optkit.population._base import PopulationOptimizer, default_popsize

#: a run stops when sigma * sqrt(C_ii) exceeds its initial value this many times (pycma's tolfacupx)
_TOLFACUPX = 1e3


def strategy_parameters(d: int, lam: int, mu: int, active: bool = True) -> dict:
    """Recombination weights (lam,) and learning rates: the tutorial's defaults (table 1).

    The positive weights are ``ln((lam+1)/2) - ln i`` for the default ``mu = lam // 2`` (``ln(mu + 1/2)
    - ln i`` for another ``mu``), the negative ones ``ln((lam+1)/2) - ln i`` for ``i > mu`` where that
    is negative, normalized as in the tutorial (zero when ``active`` is False).
    """
    i = np.arange(1, lam + 1)
    ref = math.log((lam + 1) / 2) if mu == lam // 2 else math.log(mu + 0.5)
    pos = ref - np.log(i[:mu])
    neg = np.minimum(0.0, math.log((lam + 1) / 2) - np.log(i[mu:]))
    mu_eff = float(pos.sum() ** 2 / np.sum(pos**2))
    c1 = 2.0 / ((d + 1.3) ** 2 + mu_eff)
    cmu = min(1.0 - c1, 2.0 * (0.25 + mu_eff + 1.0 / mu_eff - 2.0) / ((d + 2.0) ** 2 + mu_eff))
    w = np.zeros(lam)
    w[:mu] = pos / pos.sum()
    if active and np.any(neg < 0):
        mu_eff_neg = float(neg.sum() ** 2 / np.sum(neg**2))
        alpha = min(1.0 + c1 / cmu, 1.0 + 2.0 * mu_eff_neg / (mu_eff + 2.0), (1.0 - c1 - cmu) / (d * cmu))
        w[mu:] = alpha * neg / np.sum(-neg)
    cs = (mu_eff + 2.0) / (d + mu_eff + 5.0)
    return {
        "w": w, "mu_eff": mu_eff, "c1": c1, "cmu": cmu, "cs": cs,
        "cc": (4.0 + mu_eff / d) / (d + 4.0 + 2.0 * mu_eff / d),
        "ds": 1.0 + 2.0 * max(0.0, math.sqrt((mu_eff - 1.0) / (d + 1.0)) - 1.0) + cs,
    }


@register("cmaes", family="population")
class CMAES(PopulationOptimizer):
    """CMA-ES (active, with cumulative step-size adaptation), optionally with IPOP/BIPOP restarts.

    When to use: the default for cheap black-box problems in 2 to ~200 dimensions, in particular
    ill-conditioned and non-separable ones (it learns a full covariance matrix, at O(d^2) time per
    sample and an O(d^3) eigendecomposition every O(1/(d (c_1 + c_mu))) generations). On multimodal
    problems use ``restarts="bipop"`` (or ``"ipop"``) with a budget of 1e4-1e6 evaluations; above a
    few hundred dimensions prefer ``sep-cmaes`` or ``lmmaes``. The module docstring gives the update,
    the box handling and the restart schedules.

    Parameters
    ----------
    space : Box or SearchSpace
    popsize : int, optional
        Offspring per generation lambda (default ``4 + floor(3 ln d)``); the first run's lambda.
    mu : int, optional
        Parents (default ``popsize // 2``); restarts keep the ratio ``mu / popsize``.
    x0 : array (d,), optional
        Initial mean (default: a uniformly random point of the box). Restarts draw a new one.
    sigma0 : float, optional
        Initial step size in the encoded space (default 0.3 of the box's mean width). On a box with
        unequal widths the initial covariance is ``diag((width_i / mean width)^2)``.
    active : bool
        Use the negative weights (active covariance update).
    restarts : {None, "ipop", "bipop"}
        Restart strategy when a stopping rule fires (None: stop).
    max_restarts : int
        Restarts with a larger population allowed (BIPOP's small runs are not counted).
    popsize_factor : float
        Factor by which IPOP (and BIPOP's large regime) multiply lambda at each restart.
    tolx : float
        Stop when ``sigma sqrt(C_ii)`` and ``sigma |p_c,i|`` are below ``tolx`` in every coordinate.
    tolfun : float
        Stop when the best values of the last ``10 + ceil(30 d / lam)`` generations and the values of
        the current generation lie within ``tolfun`` (0 switches off).
    tolfunhist : float
        Stop when the best values of the last ``10 + ceil(30 d / lam)`` generations lie within it.
    tolstagnation : int, optional
        Window T in generations (default ``int(100 + 100 d^1.5 / lam)``, 0 switches off): stop when,
        over the last T generations, neither the median of the best values nor that of the median
        values of the most recent 30% improved on the oldest 30%.
    tolconditioncov : float
        Stop when the condition number of ``C`` exceeds this.
    tolflatfitness : int
        Stop after more than this many consecutive generations whose best value equals their
        75%-quantile (a flat objective).
    device : {"auto", "cpu", "cuda"}
        Where a generation's samples are mapped through ``m + sigma B D z``: ``"cpu"`` (numpy/BLAS);
        ``"cuda"`` on a CUDA GPU through numba.cuda (:func:`optkit_native.cuda_population.transform_cuda`;
        an error when none is visible); ``"auto"`` (default) on the GPU when one is visible and
        ``popsize * d^2 >= 1e8`` (smaller products are faster on the CPU than a transfer). The
        standard-normal draws always come from the optimizer's seeded generator, so a seed gives
        the same run on either device up to floating-point rounding.
    seed : int, optional

    Attributes
    ----------
    mean_, sigma_, C_ : the current distribution (encoded space)
    runs_ : list of dicts, one per run: ``popsize``, ``sigma0``, ``regime``, ``evals``, ``stop``

    Reference: N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772, 2016/2023.

    Examples
    --------
    >>> import numpy as np, optkit
    >>> ell = lambda x: float(np.sum(10 ** (6 * np.arange(8) / 7) * x ** 2))
    >>> res = optkit.minimize(ell, [(-5, 5)] * 8, method="cmaes", budget=5000, seed=1)
    >>> bool(res.fun < 1e-8)
    True
    """

    _parameter_constraints = {
        "popsize": [None, Interval(int, 2, None)],
        "mu": [None, Interval(int, 1, None)],
        "x0": [None, POINT],
        "sigma0": [None, Interval(float, 0, None, closed="neither")],
        "active": [BOOL],
        "restarts": [None, Options({"ipop", "bipop"})],
        "max_restarts": [Interval(int, 0, None)],
        "popsize_factor": [Interval(float, 1, None, closed="neither")],
        "tolx": [Interval(float, 0, None)],
        "tolfun": [Interval(float, 0, None)],
        "tolfunhist": [Interval(float, 0, None)],
        "tolstagnation": [None, Interval(int, 0, None)],
        "tolconditioncov": [Interval(float, 1, None, closed="neither")],
        "tolflatfitness": [Interval(int, 0, None)],
        "device": [Options({"auto", "cpu", "cuda"})],
    }

    def __init__(self, space, *, popsize=None, mu=None, x0=None, sigma0=None, active=True, restarts=None,
                 max_restarts=9, popsize_factor=2.0, tolx=1e-11, tolfun=1e-11, tolfunhist=1e-12,
                 tolstagnation=None, tolconditioncov=1e14, tolflatfitness=1, device="auto", seed=None):
        super().__init__(space, seed=seed, popsize=popsize, mu=mu, x0=x0, sigma0=sigma0, active=active,
                         restarts=restarts, max_restarts=max_restarts, popsize_factor=popsize_factor, tolx=tolx,
                         tolfun=tolfun, tolfunhist=tolfunhist, tolstagnation=tolstagnation,
                         tolconditioncov=tolconditioncov, tolflatfitness=tolflatfitness, device=device)
        d = self.dim
        if device == "cuda":
            from optkit_native._dispatch import cuda_available

            if not cuda_available():
                raise InvalidParameterError("CMAES: device='cuda' needs a CUDA GPU visible to numba; none is (use 'auto' or 'cpu')")
        self.lam_default_ = int(popsize or default_popsize(d))
        if mu is not None and mu > self.lam_default_:
            raise InvalidParameterError(
                f"The 'mu' parameter of CMAES must be at most popsize = {self.lam_default_} (the parents are "
                f"chosen among the offspring). Got {mu!r} instead."
            )
        lo, hi = self.space.encoded_lower, self.space.encoded_upper
        self._lo, self._hi = lo, hi
        self._has_bounds = bool(np.any(np.isfinite(lo)) or np.any(np.isfinite(hi)))
        widths = hi - lo
        self._c0 = (widths / widths.mean()) ** 2 if self.space.bounded else np.ones(d)
        self._sd0 = np.sqrt(self._c0)
        self._x0 = self._initial_mean(x0)
        self.sigma0_ = self._initial_sigma(sigma0)
        self.runs_: list[dict] = []
        self.evals_large_ = self.evals_small_ = 0
        self.lam_large_ = self.lam_default_
        self.n_restarts_ = 0
        self._stop: str | None = None
        self._drawn: list[dict] = []  # run, generation and standard-normal draws of each open generation
        self._start_run(self._x0.copy(), self.sigma0_, self.lam_default_, "large")

    # -- runs ----------------------------------------------------------------------------------
    def _set_strategy(self) -> None:
        """Everything derived from (d, popsize_, mu_): weights, learning rates, windows."""
        d, lam = self.dim, self.popsize_
        self._sp = strategy_parameters(d, lam, self.mu_, bool(self.active))
        self._chi = math.sqrt(d) * (1.0 - 1.0 / (4.0 * d) + 1.0 / (21.0 * d * d))  # E||N(0, I)||
        self._lazy_gap = 1.0 / (10.0 * d * (self._sp["c1"] + self._sp["cmu"]))
        self._hist_len = 10 + math.ceil(30 * d / lam)
        self._dfit_len = int(20 + 3 * d / lam)
        w = self._sp["w"]
        self._sp["w_sum"] = float(w.sum())
        sp = self._sp
        sp["ps_gain"] = math.sqrt(sp["cs"] * (2.0 - sp["cs"]) * sp["mu_eff"])
        sp["pc_gain"] = math.sqrt(sp["cc"] * (2.0 - sp["cc"]) * sp["mu_eff"])
        self._n_neg = int(np.sum(w[self.mu_:] != 0))  # nonzero negative weights: the last ranks
        self._tolstag = int(100 + 100 * d**1.5 / lam) if self.tolstagnation is None else int(self.tolstagnation)

    def _start_run(self, mean: np.ndarray, sigma: float, lam: int, regime: str) -> None:
        d = self.dim
        self.popsize_ = int(lam)
        self.mu_ = lam // 2 if self.mu is None else max(1, min(lam, round(self.mu * lam / self.lam_default_)))
        self._set_strategy()
        self.mean_, self.sigma_, self.run_sigma0_ = np.asarray(mean, dtype=np.float64), float(sigma), float(sigma)
        self.C_ = np.diag(self._c0)
        self.B_, self.D_ = np.eye(d), np.sqrt(self._c0)
        self._BDt = np.diag(self.D_)
        self.pc_, self.ps_ = np.zeros(d), np.zeros(d)
        self.gen_ = self.last_eig_ = self.run_evals_ = self.flat_ = 0
        self.regime_ = regime
        self.best_hist_ = np.zeros(self._hist_len)  # ring buffer: best value per generation
        self.stag_ = np.zeros((2, max(self._tolstag, 1)))  # ring buffer: best and median per generation
        self.gamma_: np.ndarray | None = None
        self.dfit_: list[float] = []
        self.runs_.append({"popsize": self.popsize_, "sigma0": self.sigma_, "regime": regime, "evals": 0, "stop": None})

    def _end_run(self, reason: str) -> None:
        """Record the run's end; restart (new mean, popsize, sigma) or stop for good."""
        run = self.runs_[-1]
        run["stop"], run["evals"] = reason, self.run_evals_
        if self.regime_ == "large":
            self.evals_large_ += self.run_evals_
        else:
            self.evals_small_ += self.run_evals_
        if self.restarts is None:
            self._stop = reason
            return
        if self.restarts == "bipop" and self.evals_small_ < self.evals_large_:
            u, v = self.rng.random(2)
            lam = max(2, int(self.lam_default_ * (0.5 * self.lam_large_ / self.lam_default_) ** (u * u)))
            sigma, regime = self.sigma0_ * 10.0 ** (-2.0 * v), "small"
        elif self.n_restarts_ >= self.max_restarts:
            self._stop = f"{reason} (in run {len(self.runs_)}, after {self.n_restarts_} restarts: restarts exhausted)"
            return
        else:
            self.n_restarts_ += 1
            lam = int(self.lam_default_ * self.popsize_factor**self.n_restarts_)
            self.lam_large_, sigma, regime = lam, self.sigma0_, "large"
        if self.space.bounded:
            lo, hi = self.space.encoded_lower, self.space.encoded_upper
            mean = lo + self.rng.random(self.dim) * (hi - lo)
        else:
            mean = self._x0.copy()
        self._close_open_generations()
        self._start_run(mean, sigma, lam, regime)

    def _close_open_generations(self) -> None:
        """Drop the open generations of the ended run; those with points out for evaluation stay
        (their unasked slots closed) until those points are told, and are then ignored."""
        keep, drawn = [], []
        for g, rec in zip(self._gens, self._drawn):
            if g["asked"].any():
                g["y"][~g["asked"]] = np.inf
                g["done"] |= ~g["asked"]
                g["asked"][:] = True
                keep.append(g)
                drawn.append(rec)
        self._gens[:], self._drawn[:] = keep, drawn

    # -- generations ---------------------------------------------------------------------------
    def _on_gpu(self) -> bool:
        if self.device == "cpu":
            return False
        if self.device == "auto":
            if self.popsize_ * self.dim**2 < 1e8:
                return False
            from optkit_native._dispatch import cuda_available

            return cuda_available()
        return True

    def _sample(self) -> np.ndarray:
        Zn = self.rng.standard_normal((self.popsize_, self.dim))
        self._drawn.append({"run": len(self.runs_) - 1, "gen": self.gen_, "Zn": Zn})
        if self._on_gpu():
            from optkit_native.cuda_population import transform_cuda

            return transform_cuda(Zn, self.mean_, self.sigma_, A=self._BDt.T)
        return self.mean_ + self.sigma_ * (Zn @ self._BDt)

    def _tell(self, Z, y, C) -> None:
        # fast path for the usual protocol (a whole generation told at once, in the order asked):
        # the same assignment the family layer makes point by point
        g = self._gens[0] if self._gens else None
        if (g is not None and C is None and len(Z) == len(g["Z"]) and g["asked"].all() and not g["done"].any()
                and np.array_equal(Z, g["Zeval"])):
            self._gens.pop(0)
            self._update(g["Z"], g["Zeval"], y, None)
            if self._gens and self._gens[0]["done"].all():
                super()._tell(Z[:0], y[:0], None)  # later generations already complete
            return
        super()._tell(Z, y, C)

    def _update(self, Z, Zeval, y, C) -> None:
        rec = self._drawn.pop(0)
        if rec["run"] != len(self.runs_) - 1 or self._stop is not None:
            return  # a generation of an ended run
        sp, d, sigma, mu = self._sp, self.dim, self.sigma_, self.mu_
        B = self.B_
        Zs = rec["Zn"]
        if rec["gen"] == self.gen_:  # drawn from the current distribution: y = B D z
            Y = (Z - self.mean_) / sigma
        else:  # drawn from an older one: its draws re-read through the current distribution
            Y = Zs @ self._BDt
        f = self._penalize(y, Z, Zeval) if self._has_bounds else y
        order = np.argsort(f, kind="stable")
        Y, Zs, f = Y[order], Zs[order], f[order]
        w = sp["w"]
        y_w = w[:mu] @ Y[:mu]
        self.mean_ = self.mean_ + sigma * y_w
        cs, cc, c1, cmu = sp["cs"], sp["cc"], sp["c1"], sp["cmu"]
        # C^{-1/2} y_w = B sum_i w_i z_i
        self.ps_ = (1.0 - cs) * self.ps_ + sp["ps_gain"] * (B @ (w[:mu] @ Zs[:mu]))
        self.gen_ += 1
        norm_ps = math.sqrt(float(self.ps_ @ self.ps_))
        h_s = norm_ps / math.sqrt(1.0 - (1.0 - cs) ** (2 * self.gen_)) < (1.4 + 2.0 / (d + 1.0)) * self._chi
        self.pc_ = (1.0 - cc) * self.pc_ + (h_s * sp["pc_gain"]) * y_w
        coef = np.empty(len(w) + 1)
        coef[:-1] = cmu * w
        coef[-1] = c1
        if self._n_neg:  # active update: negative steps rescaled to Mahalanobis length sqrt(d)
            Zneg = Zs[-self._n_neg:]
            coef[-1 - self._n_neg:-1] *= d / np.maximum(np.sum(Zneg * Zneg, axis=1), 1e-300)
        V = np.empty((len(Y) + 1, d))
        V[:-1] = Y
        V[-1] = self.pc_
        self.C_ *= 1.0 + c1 * (1.0 - h_s) * cc * (2.0 - cc) - c1 - cmu * sp["w_sum"]
        self.C_ += (V.T * coef) @ V  # rank-one and rank-mu updates as one product
        self.sigma_ = sigma * math.exp(min(1.0, cs / sp["ds"] * (norm_ps / self._chi - 1.0)))
        self.run_evals_ += len(y)
        reason = None
        if self.gen_ - self.last_eig_ >= self._lazy_gap:
            reason = self._decompose()
        reason = reason or self._check_stop(f)
        if reason:
            self._end_run(reason)

    def _decompose(self) -> str | None:
        """Symmetrize C and eigendecompose it; floor its eigenvalues (never NaN)."""
        C = self.C_ = 0.5 * (self.C_ + self.C_.T)
        if not np.all(np.isfinite(C)):
            return "numerical failure: the covariance matrix is no longer finite"
        ev, B = np.linalg.eigh(C)
        top = float(ev[-1])
        if not (np.isfinite(top) and top > 0):
            return "numerical failure: the covariance matrix has no positive eigenvalue"
        if ev[0] < 1e-20 * top:  # floor, and keep C consistent with its repaired decomposition
            ev = np.maximum(ev, 1e-20 * top)
            self.C_ = (B * ev) @ B.T
        self.B_, self.D_, self.last_eig_ = B, np.sqrt(ev), self.gen_
        self._BDt = (B * self.D_).T.copy()
        return None

    def _penalize(self, y: np.ndarray, Z: np.ndarray, Zeval: np.ndarray) -> np.ndarray:
        """Values to rank by: ``y`` plus the adaptive boundary penalty (module docstring)."""
        d, n = self.dim, len(y)
        mvar = self.sigma_**2 * float(np.trace(self.C_)) / d
        s = np.sort(y)
        iqr = float(s[int(round(0.75 * (n - 1)))] - s[int(round(0.25 * (n - 1)))]) / mvar
        if math.isfinite(iqr) and iqr > 0:  # history of the values' spread, in units of sigma^2 C_ii
            self.dfit_ = (self.dfit_ + [iqr])[-self._dfit_len:]
        out = Z - Zeval
        m = self.mean_
        mean_out = not (np.all(m >= self._lo) and np.all(m <= self._hi))
        if not (mean_out or out.any()):  # all inside: nothing to penalize, the weights rest
            return y
        if not self.dfit_:  # flat values so far: a tie-breaker that prefers the box
            return y + np.einsum("ij,ij->i", out, out) * (1e-9 * (1.0 + abs(float(s[n // 2]))) / mvar)
        h = sorted(self.dfit_)
        dfit = 0.5 * (h[(len(h) - 1) // 2] + h[len(h) // 2])  # the median
        gamma = np.full(d, 2.0 * dfit) if self.gamma_ is None else self.gamma_
        damp = min(1.0, self._sp["mu_eff"] / (10.0 * d))
        if mean_out:  # grow the weights of the coordinates where the mean is far outside
            dmean = (m - np.minimum(np.maximum(m, self._lo), self._hi)) / (self.sigma_ * np.sqrt(self.C_.diagonal()))
            edist = np.abs(dmean) - 3.0 * max(1.0, math.sqrt(d) / self._sp["mu_eff"])
            gamma = gamma * np.exp(np.maximum(np.tanh(edist / 3.0), 0.0) * (damp / 2.0))
        big = gamma > 5.0 * dfit
        if big.any():  # and shrink the large ones
            gamma = np.where(big, gamma * math.exp(-damp / 3.0), gamma)
        self.gamma_ = gamma
        return y + (out * out) @ gamma / d

    # -- stopping rules ------------------------------------------------------------------------
    def _check_stop(self, f: np.ndarray) -> str | None:
        """The first stopping rule that fires (``f``: the generation's ranking values, sorted)."""
        d, n, sigma, gen, mean = self.dim, len(f), self.sigma_, self.gen_, self.mean_
        sd = sigma * np.sqrt(self.C_.diagonal())
        if not math.isfinite(sigma * float(np.sum(np.abs(mean)) + np.sum(sd))):
            return "numerical failure: the mean or the step size is no longer finite"
        L = self._hist_len
        self.best_hist_[gen % L] = f[0]
        self.stag_[:, (gen - 1) % self.stag_.shape[1]] = (f[0], f[n // 2])
        self.flat_ = 0 if f[0] < f[int(0.75 * n)] else self.flat_ + 1
        if sd.max() < self.tolx and sigma * float(np.abs(self.pc_).max()) < self.tolx:
            return f"tolx: sigma * sqrt(C_ii) and sigma * |p_c,i| are below {self.tolx:g} in every coordinate"
        if gen >= L:
            spread = float(self.best_hist_.max() - self.best_hist_.min())
            if f[-1] - f[0] < self.tolfun and spread < self.tolfun:
                return f"tolfun: the values of the last {L} generations lie within {self.tolfun:g}"
            if spread < self.tolfunhist:
                return f"tolfunhist: the best values of the last {L} generations lie within {self.tolfunhist:g}"
        T = self._tolstag
        if T and gen >= T and gen % max(1, T // 20) == 0:
            ring = np.roll(self.stag_, -(gen % T), axis=1)  # oldest first
            k = max(1, int(0.3 * T))
            old, new = np.median(ring[:, :k], axis=1), np.median(ring[:, -k:], axis=1)
            if np.all(new >= old):
                return f"tolstagnation: no improvement of the best or median values over the last {T} generations"
        if float((sd / self._sd0).max()) > _TOLFACUPX * self.run_sigma0_:
            return f"tolfacupx: sigma * sqrt(C_ii) grew by more than {_TOLFACUPX:g}; increase sigma0, or f has no minimum"
        if (mean == mean + 0.2 * sd).any():
            return "noeffectcoord: adding 0.2 standard deviations leaves a coordinate of the mean unchanged"
        i = gen % d
        if (mean == mean + (0.1 * sigma * self.D_[i]) * self.B_[:, i]).all():
            return "noeffectaxis: adding 0.1 standard deviations along a principal axis leaves the mean unchanged"
        cond = float(self.D_[-1] ** 2 / self.D_[0] ** 2)
        if cond > self.tolconditioncov:
            return f"tolconditioncov: the condition number of C, {cond:.3g}, exceeds {self.tolconditioncov:g}"
        if self.flat_ > self.tolflatfitness:
            return f"tolflatfitness: the best and the 75%-quantile values were equal in {self.flat_} generations in a row"
        if self.regime_ == "small" and self.run_evals_ >= 0.5 * self.evals_large_:
            return "bipop: a small-regime run used half the evaluations of the large regime"
        return None

    def stop_reason(self) -> str | None:
        return self._stop

    # -- state ---------------------------------------------------------------------------------
    def _state(self) -> dict:  # arrays updated in place are copied
        return {
            "mean": self.mean_, "sigma": self.sigma_, "run_sigma0": self.run_sigma0_, "C": self.C_.copy(), "B": self.B_,
            "D": self.D_, "pc": self.pc_, "ps": self.ps_, "gen": self.gen_, "last_eig": self.last_eig_,
            "run_evals": self.run_evals_, "flat": self.flat_, "popsize": self.popsize_, "mu": self.mu_,
            "regime": self.regime_, "best_hist": self.best_hist_.copy(), "stag": self.stag_.copy(), "gamma": self.gamma_,
            "dfit": list(self.dfit_), "runs": [dict(r) for r in self.runs_], "evals_large": self.evals_large_,
            "evals_small": self.evals_small_, "lam_large": self.lam_large_, "n_restarts": self.n_restarts_,
            "stop": self._stop, "drawn": [dict(r) for r in self._drawn], "x0": self._x0,
        }

    def _load(self, state: dict) -> None:
        arr = lambda k: np.array(state[k], dtype=np.float64)  # noqa: E731
        self.popsize_, self.mu_ = int(state["popsize"]), int(state["mu"])
        self._set_strategy()
        self.mean_, self.C_, self.B_, self.D_ = arr("mean"), arr("C"), arr("B"), arr("D")
        self.pc_, self.ps_, self.best_hist_, self.stag_ = arr("pc"), arr("ps"), arr("best_hist"), arr("stag")
        self.dfit_ = [float(v) for v in state["dfit"]]
        self.sigma_, self.run_sigma0_ = float(state["sigma"]), float(state["run_sigma0"])
        self.gen_, self.last_eig_, self.run_evals_ = int(state["gen"]), int(state["last_eig"]), int(state["run_evals"])
        self.flat_, self.regime_ = int(state["flat"]), str(state["regime"])
        self.gamma_ = None if state["gamma"] is None else arr("gamma")
        self.runs_ = [dict(r) for r in state["runs"]]
        self.evals_large_, self.evals_small_ = int(state["evals_large"]), int(state["evals_small"])
        self.lam_large_, self.n_restarts_ = int(state["lam_large"]), int(state["n_restarts"])
        self._stop = state["stop"]
        self._drawn = [{"run": int(r["run"]), "gen": int(r["gen"]), "Zn": np.asarray(r["Zn"], dtype=np.float64)}
                       for r in state["drawn"]]
        self._BDt = (self.B_ * self.D_).T.copy()
        self._x0 = arr("x0")
