"""Gaussian-process surrogates on the unit cube: fit, predict, sample, condition.

The model every optkit BO method builds on (GP-BO, piBO, and the constrained, prior-guided and
Cox-process methods that reuse it):

* inputs ``X`` (n, d) in the unit cube, one column per search dimension (the encoded space of a
  :class:`~optkit.SearchSpace`, or a :class:`~optkit.Box` rescaled to [0, 1]^d); a categorical
  column holds the category's bucket ``(k + 0.5) / K`` (any value in bucket k means category k);
* outputs ``y`` (n,) standardized inside (zero mean, unit variance); every prediction, sample and
  path comes back in the units of ``y`` as given;
* kernel: Matern-5/2 with one lengthscale per column (ARD) times an outputscale. A categorical
  column enters the squared distance as ``[k != k'] / l_j^2`` (the Hamming kernel of CoCaBO and
  Optuna's GPSampler). This equals a Matern-5/2 on a one-hot embedding scaled by 1/sqrt(2): one
  lengthscale per categorical column whatever its number of categories, exact random-Fourier-feature
  paths, and no relaxation of the category choice;
* hyperparameters by maximum a posteriori marginal likelihood (L-BFGS-B on the log parameters,
  gradients by torch), priors: the dimension-scaled log-normal lengthscale prior of Hvarfner et al.
  (2024), ``LogNormal(sqrt(2) + log(d) / 2, sqrt(3))`` (BoTorch's default since 0.12); Gamma(2, 1)
  on the outputscale (standardized units; Optuna's choice); LogNormal(-4, 1) on an inferred noise
  variance with a floor of 1e-6;
* noise: ``"fixed"`` (default, deterministic objectives): the noise variance is 1e-6 of the
  standardized scale, so the model interpolates and the regret keeps falling where an inferred
  noise floor would stall it; ``"infer"``: fitted; a float: that fixed noise variance;
* robust: float64, jitter added on a failed Cholesky factorization (up to 1e-2 of the signal
  variance), the fit restarted from the default and from perturbed hyperparameters when it fails,
  and fixed default hyperparameters as the last resort. ``fit_gp`` does not raise on numerical
  trouble and prints nothing; ``GP.fit_info`` says which path was taken.

Entry points: :func:`fit_gp` (fit and return a :class:`GP`), :class:`GP` (fixed hyperparameters),
``GP.posterior`` (torch, differentiable in X), ``GP.predict`` (numpy), ``GP.sample`` (joint samples
at given points), ``GP.sample_paths`` (function-space posterior samples by Matheron's rule on random
Fourier features, Wilson et al. 2020), ``GP.condition_on`` (fantasies without refitting).

References: C. E. Rasmussen, C. K. I. Williams, *Gaussian Processes for Machine Learning*, MIT
Press 2006 (algorithm 2.1, eq. 4.17 for the Matern kernel, eq. 5.8 for the marginal likelihood);
C. Hvarfner, E. O. Hellsten, L. Nardi, "Vanilla Bayesian optimization performs great in high
dimensions", ICML 2024; A. Rahimi, B. Recht, "Random features for large-scale kernel machines",
NeurIPS 2007; J. T. Wilson et al., "Efficiently sampling functions from Gaussian process
posteriors", ICML 2020.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from scipy.optimize import minimize as _scipy_minimize

from optkit.bayesopt._torch import DTYPE, compute, numpy, tensor
from optkit.core.errors import InvalidParameterError, OptkitError

#: noise variance (standardized units) of ``noise="fixed"`` and the floor of ``noise="infer"``
FIXED_NOISE = 1e-6
#: bounds of the fitted hyperparameters (lengthscale on the unit cube; variances standardized)
LENGTHSCALE_BOUNDS = (5e-3, 1e3)
OUTPUTSCALE_BOUNDS = (1e-3, 1e3)
NOISE_BOUNDS = (FIXED_NOISE, 10.0)
_JITTERS = (1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2)
_SQRT5 = math.sqrt(5.0)


class _Matern52(torch.autograd.Function):
    """Matern-5/2 as a function of the *squared* scaled distance s: (1 + r + r^2/3) exp(-r), r = sqrt(5 s).

    Its derivative in s, -5/6 (1 + r) exp(-r), is finite at s = 0 where autograd through sqrt is not.
    """

    @staticmethod
    def forward(ctx, s):
        r = torch.sqrt(5.0 * s)
        e = torch.exp(-r)
        ctx.save_for_backward(-(5.0 / 6.0) * (1.0 + r) * e)
        return (1.0 + r + r * r / 3.0) * e

    @staticmethod
    def backward(ctx, grad):
        (deriv,) = ctx.saved_tensors
        return grad * deriv


def matern52(s: torch.Tensor) -> torch.Tensor:
    """Matern-5/2 correlation of squared scaled distances ``s`` (any shape)."""
    return _Matern52.apply(s)


class NotPositiveDefinite(OptkitError, ArithmeticError):
    """A covariance matrix stayed singular after the largest jitter (only with extreme hyperparameters)."""


def _cholesky(K: torch.Tensor, scale: float) -> torch.Tensor:
    """Cholesky factor of K, adding jitter ``j * scale`` (j = 1e-9 ... 1e-2) until it succeeds."""
    L, info = torch.linalg.cholesky_ex(K)
    if not bool(torch.any(info != 0)) and bool(torch.isfinite(L).all()):
        return L
    eye = torch.eye(K.shape[-1], dtype=DTYPE)
    for j in _JITTERS:
        L, info = torch.linalg.cholesky_ex(K + (j * scale) * eye)
        if not bool(torch.any(info != 0)) and bool(torch.isfinite(L).all()):
            return L
    raise NotPositiveDefinite(f"a {K.shape[-1]}x{K.shape[-1]} covariance matrix is not positive definite even with jitter {_JITTERS[-1]:g}")


def _check_categorical(categorical, d: int) -> dict[int, int]:
    cats = {} if categorical is None else dict(categorical)
    for j, k in cats.items():
        if not (isinstance(j, (int, np.integer)) and 0 <= j < d and isinstance(k, (int, np.integer)) and k >= 1):
            raise InvalidParameterError(
                f"'categorical' must map column indices in [0, {d}) to category counts >= 1; got {categorical!r}"
            )
    return {int(j): int(k) for j, k in sorted(cats.items())}


class GP:
    """An exact GP regression model with fixed hyperparameters (use :func:`fit_gp` to fit them).

    Parameters
    ----------
    X : array (n, d)
        Inputs in the unit cube (categorical columns hold their bucket, see the module docstring).
    y : array (n,)
        Outputs; standardized inside.
    lengthscale : array (d,)
        Per-column lengthscales (unit-cube units; for a categorical column, the scale of the
        Hamming term).
    outputscale : float
        Signal variance in standardized units.
    noise : float
        Observation-noise variance in standardized units.
    categorical : dict {column: number of categories}, optional
    y_mean, y_std : float, optional
        Standardization to use instead of y's own (``condition_on`` keeps its parent's).

    Attributes
    ----------
    X, y : the training data (numpy); ``n``, ``dim``
    lengthscale, outputscale, noise, categorical, y_mean, y_std
    fit_info : str
        How the hyperparameters were obtained ("fixed", "fitted", "fitted after retry", "fallback").
    """

    def __init__(self, X, y, *, lengthscale, outputscale: float, noise: float, categorical=None,
                 y_mean: float | None = None, y_std: float | None = None, fit_info: str = "fixed"):
        X = np.array(X, dtype=np.float64, ndmin=2)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if X.shape[0] != y.shape[0] or X.shape[0] < 1:
            raise InvalidParameterError(f"GP: need X (n, d) and y (n,) with n >= 1; got {X.shape} and {y.shape}")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise InvalidParameterError("GP: X and y must be finite")
        self.X, self.y = X, y
        self.n, self.dim = X.shape
        self.categorical = _check_categorical(categorical, self.dim)
        ls = np.broadcast_to(np.asarray(lengthscale, dtype=np.float64), (self.dim,)).copy()
        self.lengthscale, self.outputscale, self.noise = ls, float(outputscale), float(noise)
        if y_mean is None:
            y_mean = float(np.mean(y))
            sd = float(np.std(y))
            y_std = sd if sd > 1e-12 * max(1.0, abs(y_mean)) else 1.0
        self.y_mean, self.y_std = float(y_mean), float(y_std)
        self.fit_info = fit_info
        self._cat_cols = torch.tensor(list(self.categorical), dtype=torch.long)
        self._cat_k = tensor(list(self.categorical.values()))
        with compute():
            self._Xt = tensor(X)
            self._ys = tensor((y - self.y_mean) / self.y_std)
            self._inv_ls2 = tensor(1.0 / ls**2)
            K = self._kernel_from_sqdiff(self._sqdiff(self._Xt, self._Xt), self._inv_ls2, self.outputscale)
            K = K + self.noise * torch.eye(self.n, dtype=DTYPE)
            self._L = _cholesky(K, self.outputscale)
            self._alpha = torch.cholesky_solve(self._ys.unsqueeze(-1), self._L).squeeze(-1)

    # -- kernel ----------------------------------------------------------------------------------
    def _codes(self, A: torch.Tensor) -> torch.Tensor:
        """Category indices of the categorical columns of A (..., m, d) -> (..., m, n_cat)."""
        u = A[..., self._cat_cols].detach()
        return torch.minimum(torch.floor(u * self._cat_k).clamp_min(0), self._cat_k - 1)

    def _sqdiff(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        """Per-column squared differences (..., m, p, d); categorical columns as [k != k']."""
        D = (A.unsqueeze(-2) - B.unsqueeze(-3)) ** 2
        if self.categorical:
            neq = (self._codes(A).unsqueeze(-2) != self._codes(B).unsqueeze(-3)).to(DTYPE)
            D = D.clone()
            D[..., self._cat_cols] = neq
        return D

    @staticmethod
    def _kernel_from_sqdiff(D, inv_ls2, outputscale):
        return outputscale * matern52(D @ inv_ls2)

    def kernel(self, A, B) -> torch.Tensor:
        """Prior covariance k(A, B) in standardized units, A (..., m, d), B (..., p, d) -> (..., m, p)."""
        return self._kernel_from_sqdiff(self._sqdiff(tensor(A), tensor(B)), self._inv_ls2, self.outputscale)

    # -- posterior -------------------------------------------------------------------------------
    def _solve_v(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """k(X, X_train) (M, n) and V = L^-1 k(X_train, X) (n, M) for X (..., d) flattened to (M, d)."""
        kx = self.kernel(X.reshape(-1, self.dim), self._Xt)
        V = torch.linalg.solve_triangular(self._L, kx.T, upper=False)
        return kx, V

    def posterior(self, X, full_cov: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and variance of the latent f at X (..., m, d), in y's units.

        Returns ``mean`` (..., m) and ``var`` (..., m), or the covariance (..., m, m) with
        ``full_cov=True``. Differentiable in X.
        """
        X = X if isinstance(X, torch.Tensor) else tensor(X)
        shape = X.shape[:-1]
        kx, V = self._solve_v(X)
        mean = (kx @ self._alpha).reshape(shape)
        if full_cov:
            Vb = V.T.reshape(*shape, self.n)  # (..., m, n)
            cov = self.kernel(X, X) - Vb @ Vb.transpose(-1, -2)
            cov = 0.5 * (cov + cov.transpose(-1, -2))
            return self.y_mean + self.y_std * mean, cov * self.y_std**2
        var = (self.outputscale - (V * V).sum(0)).clamp_min(1e-12 * self.outputscale).reshape(shape)
        return self.y_mean + self.y_std * mean, var * self.y_std**2

    def posterior_cross(self, A, B) -> torch.Tensor:
        """Posterior covariance of f(A) (..., m, d) with f(B) (p, d): (..., m, p), in y's units squared."""
        A = A if isinstance(A, torch.Tensor) else tensor(A)
        B = B if isinstance(B, torch.Tensor) else tensor(B)
        _, VA = self._solve_v(A)
        _, VB = self._solve_v(B)
        cross = (VA.T @ VB).reshape(*A.shape[:-1], B.shape[0])
        return (self.kernel(A, B) - cross) * self.y_std**2

    def predict(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance (numpy, (m,) each) of the latent f at X (m, d)."""
        X = np.array(X, dtype=np.float64, ndmin=2)
        with compute(), torch.no_grad():
            m, v = self.posterior(tensor(X))
        return numpy(m), numpy(v)

    def sample(self, X, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """Joint posterior samples of f at X (m, d): (n_samples, m), normals drawn from ``rng``."""
        X = np.array(X, dtype=np.float64, ndmin=2)
        with compute(), torch.no_grad():
            m, C = self.posterior(tensor(X), full_cov=True)
            L = _cholesky(C, float(C.diagonal().mean().clamp_min(1e-300)))
            z = tensor(rng.standard_normal((n_samples, X.shape[0])))
            return numpy(m + z @ L.T)

    def condition_on(self, X_new, y_new) -> GP:
        """The posterior after also observing ``y_new`` at ``X_new``, same hyperparameters, no refit.

        With ``y_new`` set to the posterior mean this is the "kriging believer" fantasy used for
        pending points: the mean is unchanged and the variance shrinks around ``X_new``.
        """
        X_new = np.array(X_new, dtype=np.float64, ndmin=2)
        y_new = np.asarray(y_new, dtype=np.float64).reshape(-1)
        return GP(np.vstack([self.X, X_new]), np.concatenate([self.y, y_new]), lengthscale=self.lengthscale,
                  outputscale=self.outputscale, noise=self.noise, categorical=self.categorical,
                  y_mean=self.y_mean, y_std=self.y_std, fit_info=self.fit_info)

    def sample_paths(self, n_paths: int, rng: np.random.Generator, n_features: int = 1024) -> SamplePaths:
        """``n_paths`` posterior sample functions (see :class:`SamplePaths`), random numbers from ``rng``."""
        return SamplePaths(self, n_paths, rng, n_features)

    # -- hyperparameters -------------------------------------------------------------------------
    def hyperparameters(self) -> dict:
        """JSON-friendly hyperparameters: lengthscale (list), outputscale, noise (standardized units)."""
        return {"lengthscale": self.lengthscale.tolist(), "outputscale": self.outputscale, "noise": self.noise}

    def __repr__(self) -> str:
        ls = np.array2string(self.lengthscale, precision=3, max_line_width=200)
        return (f"GP(n={self.n}, d={self.dim}, lengthscale={ls}, outputscale={self.outputscale:.4g}, "
                f"noise={self.noise:.3g}, {self.fit_info})")


class SamplePaths:
    """Posterior sample *functions* f_1..f_P of a :class:`GP`, callable anywhere, differentiable in x.

    Matheron's rule (Wilson et al. 2020): ``f(x) = f0(x) + k(x, X) (K + s2 I)^-1 (y - f0(X) - e)``
    with ``f0`` a prior path drawn with random Fourier features (Rahimi & Recht 2007; the
    Matern-5/2 spectral density is a multivariate Student-t with 5 degrees of freedom) and
    ``e ~ N(0, s2 I)``. Near the data the correction is exact; away from it the prior part carries
    a feature-count error of order 1/sqrt(n_features).

    ``paths(X)`` with X (..., m, d) returns (P, ..., m) in y's units; ``paths.prior(X)`` the prior
    draws f0 (standardized, zero-mean), which prior-reweighting methods need.
    """

    def __init__(self, gp: GP, n_paths: int, rng: np.random.Generator, n_features: int = 1024):
        self.gp, self.n_paths, self.n_features = gp, int(n_paths), int(n_features)
        cont = [j for j in range(gp.dim) if j not in gp.categorical]
        self._cont = torch.tensor(cont, dtype=torch.long)
        width = len(cont) + sum(gp.categorical.values())
        M = self.n_features
        g = rng.standard_normal((M, width))
        u = rng.chisquare(5.0, size=(M, 1))
        self._omega = tensor(g * np.sqrt(5.0 / u))
        self._b = tensor(rng.uniform(0.0, 2.0 * np.pi, size=M))
        self._w = tensor(rng.standard_normal((self.n_paths, M)))
        eps = tensor(rng.standard_normal((self.n_paths, gp.n)) * math.sqrt(gp.noise))
        with compute(), torch.no_grad():
            f0 = self.prior(gp._Xt)  # (P, n)
            resid = gp._ys.unsqueeze(0) - f0 - eps
            self._v = torch.cholesky_solve(resid.T, gp._L).T  # (P, n)

    def _embed(self, X: torch.Tensor) -> torch.Tensor:
        gp = self.gp
        parts = [X[..., self._cont] / tensor(gp.lengthscale[self._cont.numpy()])]
        if gp.categorical:
            codes = gp._codes(X).long()
            for i, (j, k) in enumerate(gp.categorical.items()):
                onehot = torch.nn.functional.one_hot(codes[..., i], k).to(DTYPE)
                parts.append(onehot / (math.sqrt(2.0) * gp.lengthscale[j]))
        return torch.cat(parts, dim=-1)

    def prior(self, X) -> torch.Tensor:
        """Prior path values f0 at X (..., m, d): (P, ..., m), standardized units."""
        X = tensor(X) if not isinstance(X, torch.Tensor) else X
        phi = torch.cos(self._embed(X) @ self._omega.T + self._b)  # (..., m, M)
        scale = math.sqrt(2.0 * self.gp.outputscale / self.n_features)
        out = scale * (phi @ self._w.T)  # (..., m, P)
        return out.movedim(-1, 0)

    def __call__(self, X) -> torch.Tensor:
        X = tensor(X) if not isinstance(X, torch.Tensor) else X
        gp = self.gp
        kx = gp.kernel(X, gp._Xt)  # (..., m, n)
        upd = (kx @ self._v.T).movedim(-1, 0)  # (P, ..., m)
        return gp.y_mean + gp.y_std * (self.prior(X) + upd)


# -- fitting ---------------------------------------------------------------------------------------
def _lengthscale_prior(d: int) -> tuple[float, float]:
    """(loc, scale) of the log-normal lengthscale prior of Hvarfner et al. (2024) in dimension d."""
    return math.sqrt(2.0) + 0.5 * math.log(d), math.sqrt(3.0)


def default_hyperparameters(d: int, noise) -> dict:
    """Where the fit starts (and the fallback): the prior's mode for the lengthscales, outputscale 1."""
    loc, scale = _lengthscale_prior(d)
    ls = float(np.clip(math.exp(loc - scale**2), 0.05, 1.0))
    nv = 1e-3 if noise == "infer" else (FIXED_NOISE if noise == "fixed" else float(noise))
    return {"lengthscale": [ls] * d, "outputscale": 1.0, "noise": nv}


def _check_noise(noise):
    if noise in ("fixed", "infer"):
        return noise
    if isinstance(noise, (int, float, np.floating)) and not isinstance(noise, bool) and math.isfinite(noise) and noise > 0:
        return float(noise)
    raise InvalidParameterError(f"'noise' must be 'fixed', 'infer' or a positive float; got {noise!r}")


class _Objective:
    """Negative log marginal posterior per data point, and its gradient, in the log parameters."""

    def __init__(self, gp: GP, infer_noise: bool, fixed_noise: float):
        self.gp, self.infer, self.fixed = gp, infer_noise, fixed_noise
        self.D = gp._sqdiff(gp._Xt, gp._Xt)
        self.y = gp._ys
        self.n, self.d = gp.n, gp.dim
        self.loc, self.scale = _lengthscale_prior(self.d)
        self.eye = torch.eye(self.n, dtype=DTYPE)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.tensor(theta, dtype=DTYPE, requires_grad=True)
        with torch.enable_grad():
            log_ls, log_os = t[: self.d], t[self.d]
            os_ = torch.exp(log_os)
            nv = torch.exp(t[self.d + 1]) if self.infer else torch.tensor(self.fixed, dtype=DTYPE)
            K = self.gp._kernel_from_sqdiff(self.D, torch.exp(-2.0 * log_ls), os_) + nv * self.eye
            try:
                L = _cholesky(K, float(os_.detach()))
            except NotPositiveDefinite:
                return 1e10, np.zeros_like(theta)
            a = torch.linalg.solve_triangular(L, self.y.unsqueeze(-1), upper=False).squeeze(-1)
            mll = -0.5 * (a @ a) - torch.log(torch.diagonal(L)).sum() - 0.5 * self.n * math.log(2 * math.pi)
            # log-normal density of each lengthscale (Hvarfner et al. 2024), Gamma(2, 1) outputscale
            lp = (-log_ls - (log_ls - self.loc) ** 2 / (2 * self.scale**2)).sum()
            lp = lp + (log_os - os_)
            if self.infer:
                lp = lp + (-t[self.d + 1] - (t[self.d + 1] + 4.0) ** 2 / 2.0)
            loss = -(mll + lp) / self.n
            loss.backward()
        val = float(loss.detach())
        grad = t.grad.numpy().copy()
        if not (math.isfinite(val) and np.all(np.isfinite(grad))):
            return 1e10, np.zeros_like(theta)
        return val, grad


def fit_gp(X, y, *, categorical: Mapping[int, int] | None = None, noise="fixed", init: Mapping | None = None,
           rng: np.random.Generator | None = None, max_iter: int = 200) -> GP:
    """Fit a :class:`GP` to ``(X, y)`` by maximum a posteriori marginal likelihood. Never raises on
    numerical trouble.

    Parameters
    ----------
    X : array (n, d) in the unit cube; y : array (n,)
    categorical : dict {column: number of categories}, optional
    noise : "fixed", "infer" or float
        See the module docstring (the float is a noise variance in standardized units).
    init : dict, optional
        Hyperparameters to start from (e.g. the previous fit's ``gp.hyperparameters()``); the fit
        also starts from the default and keeps the better optimum, so the result depends only on the
        data, ``init`` and ``rng``.
    rng : numpy Generator, optional
        Used only when the fit must be retried from perturbed hyperparameters (default: seed 0).
    max_iter : int
        L-BFGS-B iterations per start.
    """
    noise = _check_noise(noise)
    X = np.array(X, dtype=np.float64, ndmin=2)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    d = X.shape[1]
    cats = _check_categorical(categorical, d)
    infer = noise == "infer"
    fixed = FIXED_NOISE if noise in ("fixed", "infer") else float(noise)
    default = default_hyperparameters(d, noise)

    def pack(h: Mapping) -> np.ndarray:
        v = list(np.log(np.clip(np.asarray(h["lengthscale"], dtype=np.float64), *LENGTHSCALE_BOUNDS)))
        v.append(math.log(float(np.clip(h["outputscale"], *OUTPUTSCALE_BOUNDS))))
        if infer:
            v.append(math.log(float(np.clip(h["noise"], *NOISE_BOUNDS))))
        return np.array(v)

    def unpack(theta: np.ndarray) -> dict:
        return {"lengthscale": np.exp(theta[:d]), "outputscale": float(np.exp(theta[d])),
                "noise": float(np.exp(theta[d + 1])) if infer else fixed}

    bounds = [tuple(np.log(LENGTHSCALE_BOUNDS))] * d + [tuple(np.log(OUTPUTSCALE_BOUNDS))]
    if infer:
        bounds.append(tuple(np.log(NOISE_BOUNDS)))

    with compute():
        try:
            base = GP(X, y, categorical=cats, **default)
        except NotPositiveDefinite:
            base = None
        if base is not None:
            obj = _Objective(base, infer, fixed)
            starts = [pack(default)]
            if init is not None and len(init.get("lengthscale", ())) == d:
                starts.insert(0, pack(init))
            best, info = _multistart(obj, starts, bounds, max_iter)
            if best is None:
                rng = rng if rng is not None else np.random.default_rng(0)
                retry = [pack(default) + rng.normal(0.0, 0.5, size=len(bounds)) for _ in range(2)]
                best, _ = _multistart(obj, [np.clip(r, *np.array(bounds).T) for r in retry], bounds, max_iter)
                info = "fitted after retry"
            if best is not None:
                try:
                    return GP(X, y, categorical=cats, fit_info=info, **unpack(best))
                except NotPositiveDefinite:
                    pass
        # last resort: default hyperparameters with a noise large enough to factorize
        for nv in (default["noise"], 1e-4, 1e-2, 1.0):
            try:
                return GP(X, y, categorical=cats, fit_info="fallback", **{**default, "noise": max(nv, default["noise"])})
            except NotPositiveDefinite:
                continue
    raise AssertionError("unreachable: a noise variance of 1 always factorizes")  # pragma: no cover


def _multistart(obj: _Objective, starts, bounds, max_iter):
    best, best_val = None, math.inf
    for theta0 in starts:
        try:
            res = _scipy_minimize(obj, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
                                  options={"maxiter": max_iter, "gtol": 1e-5})
        except (ValueError, RuntimeError, FloatingPointError):
            continue
        if math.isfinite(res.fun) and res.fun < 1e9 and res.fun < best_val:
            best, best_val = res.x, float(res.fun)
    return best, "fitted"
