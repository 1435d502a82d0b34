"""Acquisition functions for minimization, and their optimizer over the (mixed) unit cube.

Conventions (every acquisition here, and the ones other BO methods add):

* an acquisition is a callable ``acq(X) -> values``: ``X`` is a float64 tensor (..., q, d) of
  candidate q-batches in the model's unit cube, the result (...,) is **larger-is-better** and
  differentiable in the continuous columns of X;
* ``acq.is_log`` says whether values are logarithms of a positive utility (LogEI, qLogEI,
  qLogNEI, log probability of feasibility): those may be added to log weights (prior
  weighting, feasibility), the others (UCB, Thompson sampling) may not;
* objectives are *minimized*: the improvement of a value f over the incumbent ``best_f`` is
  ``best_f - f``; UCB is the lower confidence bound, returned negated;
* pending points (asked, not yet evaluated) are part of the Monte-Carlo acquisitions' joint
  q-batch (``X_pending``): their improvement is credited to them, so a candidate next to a pending
  point gains nothing and parallel workers get distinct points. The analytic acquisitions take a
  model conditioned on the pending points at their posterior mean instead (:func:`believer`).

Acquisitions: :class:`LogEI` (analytic, q = 1), :class:`qLogEI`, :class:`qLogNEI` (noisy; the
incumbent is sampled jointly at the observed points), :class:`UCB`, :class:`ThompsonSampling` (one
posterior sample path), :class:`LogFeasibility` (constraints g <= 0), :class:`LogSum` (adds log
acquisitions and log weights, e.g. piBO's prior). The Monte-Carlo ones use fixed quasi-random base
samples (sample-average approximation), so they are deterministic, smooth functions of X.

:func:`optimize_acqf` maximizes an acquisition over the unit cube with integer and categorical
columns (:class:`MixedSpec`): scrambled-Sobol raw samples plus caller-given starts (e.g. the best
points perturbed), a handful of starts chosen by value (the best, then Boltzmann sampling), then a
local search that alternates L-BFGS-B on the continuous columns (preconditioned by the model's
lengthscales, all starts in one batched call) with a coordinate search over each discrete column
(every category; every value of a small integer range, else the neighbours at +-1, 2, 4, 8 steps).
Integer columns are first optimized as continuous (the relaxation) and then rounded and searched.

References: S. Ament et al., "Unexpected improvements to expected improvement for Bayesian
optimization", NeurIPS 2023 (LogEI, qLogEI, qLogNEI, eq. 9 and the smoothed max); J. Wilson et
al., "Maximizing acquisition functions for Bayesian optimization", NeurIPS 2018 (sample average
approximation, sequential greedy batches); N. Srinivas et al., "Gaussian process optimization in
the bandit setting", ICML 2010 (UCB); J. Gardner et al., "Bayesian optimization with inequality
constraints", ICML 2014 (probability of feasibility).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from scipy.optimize import minimize as _scipy_minimize
from scipy.stats import norm, qmc

from optkit.bayesopt._torch import DTYPE, compute, numpy, tensor
from optkit.bayesopt.models import GP, _cholesky
from optkit.core.errors import InvalidParameterError
from optkit.core.space import Categorical, Integer, SearchSpace

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_SQRT_PI_2 = 0.5 * math.log(0.5 * math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


# -- numerics -------------------------------------------------------------------------------------
def log_h(z: torch.Tensor) -> torch.Tensor:
    """log(phi(z) + z Phi(z)), the log expected improvement of N(0, 1) over -z, stable for all z.

    Three branches (Ament et al. 2023, eq. 9): direct for z > -1; for z <= -1 the form
    -z^2/2 - log sqrt(2 pi) + log(1 - sqrt(pi/2) |z| erfcx(|z|/sqrt 2)); below -1e3 the
    asymptotic -z^2/2 - log sqrt(2 pi) - 2 log|z| + log(1 - 3/z^2). Each branch sees only inputs
    clamped into its own range, so no NaN reaches the gradient.
    """
    z1 = z.clamp_min(-1.0)
    direct = torch.log(torch.exp(-0.5 * z1 * z1) / math.sqrt(2.0 * math.pi) + z1 * torch.special.ndtr(z1))
    z2 = z.clamp(-1e3, -1.0)
    w = _LOG_SQRT_PI_2 + torch.log(-z2) + torch.log(torch.special.erfcx(-z2 * _INV_SQRT2))
    mid = -0.5 * z2 * z2 - _LOG_SQRT_2PI + torch.log(-torch.expm1(w))
    z3 = z.clamp_max(-1e3)
    far = -0.5 * z3 * z3 - _LOG_SQRT_2PI - 2.0 * torch.log(-z3) + torch.log1p(-3.0 / (z3 * z3))
    return torch.where(z > -1.0, direct, torch.where(z > -1e3, mid, far))


def log_softplus(x: torch.Tensor) -> torch.Tensor:
    """log(log(1 + exp(x))), stable: ~x for x << 0, ~log x for x >> 0."""
    lo = x.clamp_max(-20.0)
    hi = x.clamp_min(20.0)
    mid = x.clamp(-20.0, 20.0)
    return torch.where(x < -20.0, lo, torch.where(x > 20.0, torch.log(hi + torch.log1p(torch.exp(-hi))),
                                                  torch.log(torch.log1p(torch.exp(mid)))))


def normal_base_samples(n: int, dim: int, seed: int) -> np.ndarray:
    """(n, dim) standard-normal quasi-random samples: scrambled Sobol through the normal quantile."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = qmc.Sobol(dim, scramble=True, rng=np.random.default_rng(seed)).random(n)
    return norm.ppf(np.clip(u, 1e-10, 1 - 1e-10))


def _as_batch(X) -> torch.Tensor:
    X = X if isinstance(X, torch.Tensor) else tensor(X)
    if X.ndim < 2:
        raise InvalidParameterError(f"an acquisition needs X of shape (..., q, d); got {tuple(X.shape)}")
    return X


def believer(model: GP, X_pending) -> GP:
    """``model`` conditioned on pending points at their posterior mean (the "kriging believer").

    The mean is unchanged and the variance collapses at and around the pending points, so UCB and
    Thompson sampling stop proposing them again.
    """
    if X_pending is None or len(X_pending) == 0:
        return model
    mean, _ = model.predict(X_pending)
    return model.condition_on(X_pending, mean)


# -- analytic acquisitions -----------------------------------------------------------------------
class LogEI:
    """Analytic log expected improvement below ``best_f``: log E[max(best_f - f(x), 0)] (q = 1)."""

    is_log = True

    def __init__(self, model: GP, best_f: float):
        self.model, self.best_f = model, float(best_f)

    def __call__(self, X) -> torch.Tensor:
        X = _as_batch(X)
        if X.shape[-2] != 1:
            raise InvalidParameterError("LogEI is analytic for q = 1; use qLogEI for q-batches")
        mean, var = self.model.posterior(X)
        sigma = var.sqrt()
        return (log_h((self.best_f - mean) / sigma) + torch.log(sigma)).squeeze(-1)


class UCB:
    """Upper confidence bound for minimization: ``-(mean - sqrt(beta) * std)`` (q = 1)."""

    is_log = False

    def __init__(self, model: GP, beta: float = 4.0):
        self.model, self.beta = model, float(beta)

    def __call__(self, X) -> torch.Tensor:
        X = _as_batch(X)
        if X.shape[-2] != 1:
            raise InvalidParameterError("UCB takes q = 1; build batches greedily with believer()")
        mean, var = self.model.posterior(X)
        return (-(mean - math.sqrt(self.beta) * var.sqrt())).squeeze(-1)


class ThompsonSampling:
    """Thompson sampling: minus one posterior sample path ``-f_s(x)`` (q = 1), drawn with ``rng``."""

    is_log = False

    def __init__(self, model: GP, rng: np.random.Generator, n_features: int = 1024):
        self.model = model
        self.path = model.sample_paths(1, rng, n_features)

    def __call__(self, X) -> torch.Tensor:
        X = _as_batch(X)
        if X.shape[-2] != 1:
            raise InvalidParameterError("ThompsonSampling takes q = 1; draw one path per point")
        return -self.path(X)[0].squeeze(-1)


class LogFeasibility:
    """Sum over constraint models of log P(g_c(x) <= 0) (independent GPs), summed over the q-batch."""

    is_log = True

    def __init__(self, models: list[GP]):
        self.models = list(models)

    def __call__(self, X) -> torch.Tensor:
        X = _as_batch(X)
        out = torch.zeros(X.shape[:-2], dtype=DTYPE)
        for m in self.models:
            mean, var = m.posterior(X)
            out = out + torch.special.log_ndtr(-mean / var.sqrt()).sum(-1)
        return out


class LogSum:
    """The sum of log acquisitions and log weights: ``sum_i terms_i(X) + sum_j c_j * sum_q w_j(x_q)``.

    ``weights`` are pairs ``(log_w, c)`` of a function of X (..., q, d) -> (..., q) and an exponent
    (piBO's prior^(beta/n) is ``(log_prior, beta / n)``).
    """

    is_log = True

    def __init__(self, *terms, weights=()):
        for t in terms:
            if not getattr(t, "is_log", False):
                raise InvalidParameterError(f"LogSum adds log acquisitions only; {type(t).__name__} is not one")
        self.terms, self.weights = terms, tuple(weights)

    def __call__(self, X) -> torch.Tensor:
        X = _as_batch(X)
        out = torch.zeros(X.shape[:-2], dtype=DTYPE)
        for t in self.terms:
            out = out + t(X)
        for log_w, c in self.weights:
            if c != 0.0:
                out = out + c * log_w(X).sum(-1)
        return out


# -- Monte-Carlo acquisitions ----------------------------------------------------------------------
class JointSampler:
    """Joint posterior samples of f at fixed points F (p, d) and candidates X (..., q, d).

    F's samples are drawn once (``f_F = mu_F + L_F z_F``); a candidate batch is sampled from its
    conditional given them with the same base normals, so the acquisition is a deterministic and
    differentiable function of X (Wilson et al. 2018). ``sample(X)`` returns (S, ..., p + q): the
    fixed points first.
    """

    def __init__(self, model: GP, X_fixed, n_samples: int, seed: int):
        self.model, self.n_samples, self.seed = model, int(n_samples), int(seed)
        F = np.zeros((0, model.dim)) if X_fixed is None else np.array(X_fixed, dtype=np.float64, ndmin=2)
        self.F = tensor(F)
        self.p = F.shape[0]
        self._z: dict[int, torch.Tensor] = {}
        if self.p:
            with torch.no_grad():
                mu, cov = model.posterior(self.F, full_cov=True)
                scale = float(model.outputscale * model.y_std**2)
                self._LF = _cholesky(cov + 1e-9 * scale * torch.eye(self.p, dtype=DTYPE), scale)
                self.z_fixed = tensor(normal_base_samples(self.n_samples, self.p, self.seed))
                self.f_fixed = mu + self.z_fixed @ self._LF.T  # (S, p)

    def _base(self, q: int) -> torch.Tensor:
        """Base normals (S, q) of the candidates, independent of the fixed points' (another scramble)."""
        if q not in self._z:
            self._z[q] = tensor(normal_base_samples(self.n_samples, q, self.seed + 1))
        return self._z[q]

    def sample(self, X: torch.Tensor) -> torch.Tensor:
        q = X.shape[-2]
        zX = self._base(q)  # (S, q)
        mu, cov = self.model.posterior(X, full_cov=True)  # (..., q), (..., q, q)
        scale = self.model.outputscale * self.model.y_std**2
        if self.p:
            C = self.model.posterior_cross(X, self.F)  # (..., q, p)
            A = torch.linalg.solve_triangular(self._LF, C.transpose(-1, -2), upper=False).transpose(-1, -2)
            cov = cov - A @ A.transpose(-1, -2)
            shift = torch.einsum("sp,...qp->s...q", self.z_fixed, A)
        else:
            shift = 0.0
        if q == 1:
            Lc = cov.clamp_min(1e-12 * scale).sqrt()  # (..., 1, 1)
        else:
            Lc = torch.linalg.cholesky_ex(cov + 1e-9 * scale * torch.eye(q, dtype=DTYPE))[0]
        fX = mu + shift + torch.einsum("sq,...rq->s...r", zX, Lc)  # (S, ..., q)
        if not self.p:
            return fX
        fF = self.f_fixed.reshape(self.n_samples, *([1] * (fX.ndim - 2)), self.p).expand(*fX.shape[:-1], self.p)
        return torch.cat([fF, fX], dim=-1)


def _log_mean_improvement(log_impr: torch.Tensor) -> torch.Tensor:
    """log of the sample mean of the q-batch's best improvement; log_impr (S, ..., k) -> (...)."""
    best = log_impr.amax(dim=-1)
    return torch.logsumexp(best, dim=0) - math.log(best.shape[0])


class qLogEI:
    """Monte-Carlo log expected improvement of a q-batch (joint with the pending points) below ``best_f``.

    ``log mean_s max_j log_softplus_tau(best_f - f_s(x_j))`` with the ReLU smoothed at temperature
    ``tau`` (relative to the outputs' standard deviation), as in Ament et al. (2023); with q = 1 and
    no pending points it converges to :class:`LogEI` as the samples grow.
    """

    is_log = True

    def __init__(self, model: GP, best_f: float, X_pending=None, *, n_samples: int = 128, seed: int = 0,
                 tau: float = 1e-6):
        self.model, self.best_f = model, float(best_f)
        self.sampler = JointSampler(model, X_pending, n_samples, seed)
        self.tau = float(tau) * model.y_std

    def __call__(self, X) -> torch.Tensor:
        f = self.sampler.sample(_as_batch(X))
        log_impr = log_softplus((self.best_f - f) / self.tau) + math.log(self.tau)
        return _log_mean_improvement(log_impr)


class qLogNEI:
    """Monte-Carlo log *noisy* expected improvement: the incumbent is ``min_i f_s(x_i)`` over the
    observed points ``X_baseline``, sampled jointly with the candidates and the pending points.

    The baseline is pruned to the points that are the best in at least one of ``n_samples`` joint
    posterior samples (at most 64 of them), as BoTorch does.
    """

    is_log = True

    def __init__(self, model: GP, X_baseline, X_pending=None, *, n_samples: int = 128, seed: int = 0,
                 tau: float = 1e-6):
        self.model = model
        B = _prune_baseline(model, np.array(X_baseline, dtype=np.float64, ndmin=2), n_samples, seed)
        P = np.zeros((0, model.dim)) if X_pending is None else np.array(X_pending, dtype=np.float64, ndmin=2)
        self.n_base = B.shape[0]
        self.sampler = JointSampler(model, np.vstack([B, P]), n_samples, seed)
        self.tau = float(tau) * model.y_std

    def __call__(self, X) -> torch.Tensor:
        f = self.sampler.sample(_as_batch(X))
        best = f[..., : self.n_base].amin(dim=-1, keepdim=True)
        log_impr = log_softplus((best - f[..., self.n_base:]) / self.tau) + math.log(self.tau)
        return _log_mean_improvement(log_impr)


def _prune_baseline(model: GP, B: np.ndarray, n_samples: int, seed: int, max_points: int = 64) -> np.ndarray:
    if B.shape[0] <= 1:
        return B
    mean, _ = model.predict(B)
    order = np.argsort(mean, kind="stable")[: 4 * max_points]  # the candidates for best, by mean
    S = model.sample(B[order], n_samples, np.random.default_rng(seed))
    counts = np.bincount(np.argmin(S, axis=1), minlength=order.size)
    keep = np.flatnonzero(counts > 0)
    keep = keep[np.argsort(-counts[keep], kind="stable")][:max_points]
    return B[order[np.sort(keep)]]


# -- the mixed search space ------------------------------------------------------------------------
class MixedSpec:
    """Which unit-cube columns are continuous, integer or categorical, and how to snap them.

    ``MixedSpec(dim)`` is all-continuous; ``MixedSpec.from_space(space)`` reads a
    :class:`~optkit.SearchSpace` (Real -> continuous, Integer -> integer, Categorical ->
    categorical) or a :class:`~optkit.Box` (all continuous). Discrete columns hold the canonical
    encoded values of :class:`~optkit.SearchSpace` (the centres of the value's bucket).
    """

    def __init__(self, dim: int, discrete: dict | None = None):
        self.dim = int(dim)
        self.discrete = dict(sorted((discrete or {}).items()))
        for j, p in self.discrete.items():
            if not (0 <= j < self.dim and isinstance(p, (Integer, Categorical))):
                raise InvalidParameterError(f"MixedSpec: column {j} must be < {self.dim} with an Integer or Categorical")
        self.integer = [j for j, p in self.discrete.items() if isinstance(p, Integer)]
        self.categorical_cols = [j for j, p in self.discrete.items() if isinstance(p, Categorical)]
        self.continuous = [j for j in range(self.dim) if j not in self.discrete]

    @classmethod
    def from_space(cls, space) -> MixedSpec:
        if isinstance(space, SearchSpace):
            disc = {j: p for j, p in enumerate(space.params.values()) if isinstance(p, (Integer, Categorical))}
            return cls(space.dim, disc)
        return cls(space.dim)

    @property
    def categorical(self) -> dict[int, int]:
        """{column: number of categories}, as :func:`~optkit.bayesopt.models.fit_gp` takes it."""
        return {j: len(self.discrete[j].choices) for j in self.categorical_cols}

    def snap(self, U: np.ndarray) -> np.ndarray:
        """U (n, d) with every discrete column moved to its canonical bucket centre."""
        U = np.clip(np.array(U, dtype=np.float64, ndmin=2), 0.0, 1.0)
        for j, p in self.discrete.items():
            U[:, j] = p.to_unit(p.from_unit(U[:, j]))
        return U

    def candidates(self, j: int, u: np.ndarray) -> np.ndarray:
        """Candidate encoded values (B, C) for discrete column j at current values u (B,)."""
        p = self.discrete[j]
        if isinstance(p, Categorical):
            vals = p.to_unit(np.arange(len(p.choices), dtype=np.float64))
            return np.broadcast_to(vals, (u.size, vals.size))
        if p.high - p.low + 1 <= 16:
            vals = p.to_unit(np.arange(p.low, p.high + 1, dtype=np.float64))
            return np.broadcast_to(vals, (u.size, vals.size))
        v = p.from_unit(u)[:, None]
        steps = np.array([-8, -4, -2, -1, 1, 2, 4, 8], dtype=np.float64)
        return p.to_unit(np.clip(v + steps, p.low, p.high))


# -- optimization ------------------------------------------------------------------------------------
def evaluate(acq, U: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Acquisition values (n,) of single points U (n, d), without gradients."""
    out = []
    with compute(), torch.no_grad():
        for i in range(0, U.shape[0], chunk):
            out.append(numpy(acq(tensor(U[i : i + chunk, None, :]))))
    v = np.concatenate(out) if out else np.zeros(0)
    return np.where(np.isnan(v), -np.inf, v)


def sobol_points(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """n scrambled-Sobol points in [0, 1]^dim, the scrambling seeded from ``rng``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return qmc.Sobol(dim, scramble=True, rng=np.random.default_rng(int(rng.integers(2**63 - 1)))).random(n)


def perturb(U: np.ndarray, n: int, rng: np.random.Generator, scale) -> np.ndarray:
    """n points around the rows of U (cycled): Gaussian steps of ``scale`` (scalar or (d,)), clipped."""
    if U.shape[0] == 0 or n <= 0:
        return np.zeros((0, U.shape[1]))
    base = U[np.arange(n) % U.shape[0]]
    return np.clip(base + rng.normal(size=base.shape) * scale, 0.0, 1.0)


def _select_starts(vals: np.ndarray, k: int, rng: np.random.Generator, must: list[int]) -> np.ndarray:
    """``must`` first, then Boltzmann sampling on standardized values (eta = 2), without replacement."""
    chosen = list(dict.fromkeys(i for i in must if np.isfinite(vals[i])))[:k]
    finite = np.flatnonzero(np.isfinite(vals))
    rest = np.setdiff1d(finite, chosen)
    m = k - len(chosen)
    if m > 0 and rest.size:
        v = vals[rest]
        z = (v - v.max()) / (v.std() + 1e-12)
        w = np.exp(2.0 * z)
        take = min(m, int(np.count_nonzero(w > 0)))
        if take:
            chosen += list(rng.choice(rest, size=take, replace=False, p=w / w.sum()))
    if not chosen:  # every value was -inf or NaN
        chosen = list(rng.choice(vals.size, size=min(k, vals.size), replace=False))
    return np.array(chosen, dtype=int)


def _lbfgsb(acq, X: np.ndarray, cols: list[int], scale: np.ndarray, max_iter: int) -> np.ndarray:
    """Maximize acq over columns ``cols`` of every row of X at once (the sum over rows is separable)."""
    if not cols or X.shape[0] == 0:
        return X
    B = X.shape[0]
    cols_t = torch.tensor(cols, dtype=torch.long)
    s = scale[cols]
    s_t = tensor(s)
    base = tensor(X)

    def fun(w: np.ndarray):
        wt = torch.tensor(w.reshape(B, len(cols)), dtype=DTYPE, requires_grad=True)
        with torch.enable_grad():
            Xt = base.clone()
            Xt[:, cols_t] = wt * s_t
            vals = acq(Xt.unsqueeze(-2))
            total = -vals.sum()
            total.backward()
        g = wt.grad.numpy().reshape(-1)
        val = float(total.detach())
        if not math.isfinite(val) or not np.all(np.isfinite(g)):
            return 1e300, np.zeros_like(w)
        return val, g.copy()

    w0 = (X[:, cols] / s).reshape(-1)
    bounds = [(0.0, 1.0 / sj) for sj in s] * B
    try:
        res = _scipy_minimize(fun, w0, jac=True, method="L-BFGS-B", bounds=bounds,
                              options={"maxiter": max_iter, "gtol": 1e-6})
        w = res.x
    except (ValueError, RuntimeError, FloatingPointError):
        return X
    out = X.copy()
    out[:, cols] = np.clip(w.reshape(B, len(cols)) * s, 0.0, 1.0)
    return out


def _coordinate_search(acq, X: np.ndarray, vals: np.ndarray, spec: MixedSpec) -> tuple[np.ndarray, np.ndarray, bool]:
    """One pass over the discrete columns: move each row to its best candidate value of the column."""
    changed = False
    for j in spec.discrete:
        C = spec.candidates(j, X[:, j])  # (B, C)
        B, nc = C.shape
        cand = np.repeat(X[:, None, :], nc, axis=1)
        cand[:, :, j] = C
        cv = evaluate(acq, cand.reshape(B * nc, -1)).reshape(B, nc)
        k = np.argmax(cv, axis=1)
        best = cv[np.arange(B), k]
        better = best > vals
        if better.any():
            X = X.copy()
            X[better, j] = C[better, k[better]]
            vals = np.where(better, best, vals)
            changed = True
    return X, vals, changed


def local_search(acq, X0: np.ndarray, spec: MixedSpec, *, lengthscale=None, max_iter: int = 200,
                 rounds: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Improve every row of X0 (B, d): see the module docstring. Returns snapped points and values."""
    d = spec.dim
    scale = np.ones(d) if lengthscale is None else np.clip(np.asarray(lengthscale, dtype=np.float64), 1e-2, 1e1)
    X = spec.snap(X0)
    vals = evaluate(acq, X)
    with compute():
        # continuous relaxation of the integer columns first, then rounding
        Xr = spec.snap(_lbfgsb(acq, X, spec.continuous + spec.integer, scale, max_iter))
        vr = evaluate(acq, Xr)
        up = vr > vals
        X[up], vals[up] = Xr[up], vr[up]
        if not spec.discrete:
            return X, vals
        for _ in range(rounds):
            X, vals, changed = _coordinate_search(acq, X, vals, spec)
            if not changed:
                break
            Xc = _lbfgsb(acq, X, spec.continuous, scale, max_iter)
            vc = evaluate(acq, Xc)
            up = vc > vals
            X[up], vals[up] = Xc[up], vc[up]
    return X, vals


def optimize_acqf(acq, spec: MixedSpec, rng: np.random.Generator, *, raw_samples: int = 1024, n_restarts: int = 10,
                  extra_starts: np.ndarray | None = None, lengthscale=None, max_iter: int = 200) -> tuple[np.ndarray, float]:
    """Maximize ``acq`` over the unit cube of ``spec``; returns (x (d,), value).

    ``raw_samples`` scrambled-Sobol points (seeded from ``rng``) and ``extra_starts`` are evaluated;
    ``n_restarts`` of them start :func:`local_search`: the best raw point, the best extra start,
    then Boltzmann sampling on the values. ``lengthscale`` (d,) preconditions L-BFGS-B.
    """
    raw = spec.snap(sobol_points(raw_samples, spec.dim, rng))
    must = [0]
    if extra_starts is not None and len(extra_starts):
        extra = spec.snap(extra_starts)
        raw = np.vstack([raw, extra])
    vals = evaluate(acq, raw)
    must = [int(np.argmax(vals[:raw_samples]))]
    if raw.shape[0] > raw_samples:
        must.append(raw_samples + int(np.argmax(vals[raw_samples:])))
    idx = _select_starts(vals, n_restarts, rng, must)
    X, v = local_search(acq, raw[idx], spec, lengthscale=lengthscale, max_iter=max_iter)
    i = int(np.argmax(v))
    if not np.isfinite(v[i]):
        i = 0
    return X[i].copy(), float(v[i])
