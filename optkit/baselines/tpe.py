"""The Tree-structured Parzen Estimator (TPE), an ask/tell sequential model-based optimizer.

After ``n_startup`` uniformly random points, TPE splits the observations into the ``gamma(n) =
min(ceil(0.1 n), 25)`` best ("good") and the rest ("bad"), fits a Parzen (kernel) density ``l(x)`` to
the good points and ``g(x)`` to the bad ones, draws ``n_ei_candidates`` points from ``l`` and returns
the one that maximizes ``log l(x) - log g(x)`` (maximizing l/g maximizes expected improvement under
the TPE model, Bergstra et al. 2011, section 4).

Everything is fitted in the encoded space scaled to the unit cube. Each estimator is a mixture of one
kernel per observation and a uniform prior component, all with weight ``1 / (n + 1)``:

* continuous and integer dimensions: Gaussians truncated to [0, 1], centred on the observations.
  Per-dimension mode (default): the bandwidth of a kernel is the larger distance to its two sorted
  neighbours (the box ends 0 and 1 are neighbours too), as in Bergstra et al.; multivariate mode:
  Scott's rule ``0.2 n^(-1/(d+4))`` for every kernel (Optuna's multivariate TPE). Both are then
  clipped to ``[1 / min(100, n + 1), 1]`` (Optuna's "magic clip", which keeps a kernel from
  collapsing on a point);
* categorical dimensions: each kernel puts ``1 + prior_weight / K`` on its own category and
  ``prior_weight / K`` on each other one (normalized), so the mixture is a smoothed frequency count.

Per-dimension mode multiplies independent one-dimensional mixtures; multivariate mode uses joint
kernels (one component index for all dimensions), which keeps correlations between dimensions.

Infeasible points (any constraint value > 0) are always bad; with no feasible point yet, the least
violated points are good. Pending points of a batch (asked, not told) count as bad (a constant liar),
which makes ``ask(n)`` return distinct points.

Reference: J. Bergstra, R. Bardenet, Y. Bengio, B. Kégl, "Algorithms for Hyper-Parameter
Optimization", NeurIPS 2011. Defaults follow Optuna's ``TPESampler`` (n_startup_trials=10,
n_ei_candidates=24, gamma = min(ceil(0.1 n), 25), magic clip); unlike Optuna, all kernels have equal
weight and the prior is uniform on the box.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr, ndtri

from optkit.core.optimizer import Optimizer
from optkit.core.params import BOOL, Interval
from optkit.core.registry import register
from optkit.core.space import SearchSpace

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def default_gamma(n: int) -> int:
    """Number of good points among ``n`` observations: ``min(ceil(0.1 n), 25)``."""
    return min(math.ceil(0.1 * n), 25)


def _log_truncnorm(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """log density on [0, 1] of N(mu, sigma^2) truncated to [0, 1], broadcast over the arguments."""
    z = (x - mu) / sigma
    mass = ndtr((1.0 - mu) / sigma) - ndtr(-mu / sigma)
    return -0.5 * z * z - _LOG_SQRT_2PI - np.log(sigma) - np.log(np.maximum(mass, 1e-300))


def _sample_truncnorm(rng: np.random.Generator, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """One draw per (mu, sigma) of the Gaussian truncated to [0, 1] (inverse CDF)."""
    a, b = ndtr(-mu / sigma), ndtr((1.0 - mu) / sigma)
    u = rng.random(mu.shape)
    p = np.clip(a + u * (b - a), 1e-300, 1 - 1e-16)
    return np.clip(mu + sigma * ndtri(p), 0.0, 1.0)


class _Parzen:
    """A Parzen estimator on the unit cube: one kernel per point plus a uniform prior component."""

    def __init__(self, U: np.ndarray, n_cats: np.ndarray, *, multivariate: bool, prior_weight: float):
        self.U = U
        self.n_cats = n_cats
        self.multivariate = multivariate
        n, d = U.shape
        self.n = n
        self.cont = n_cats == 0
        self.log_w = np.full(n + 1, -math.log(n + 1))  # n kernels + the prior, equal weights
        self.sigma = np.ones((n, d))
        if n:
            clip_lo = 1.0 / min(100.0, n + 1.0)
            if multivariate:
                self.sigma[:] = 0.2 * n ** (-1.0 / (d + 4))
            else:
                for j in np.flatnonzero(self.cont):
                    self.sigma[:, j] = _neighbour_bandwidths(U[:, j])
            self.sigma = np.clip(self.sigma, clip_lo, 1.0)
        # categorical kernels: probability tables (n, K) per categorical dimension
        self.cat_logp: dict[int, np.ndarray] = {}
        for j in np.flatnonzero(~self.cont):
            K = int(n_cats[j])
            k = self.categories(U[:, j], K)
            table = np.full((n, K), prior_weight / K)
            table[np.arange(n), k] += 1.0
            self.cat_logp[j] = np.log(table / table.sum(axis=1, keepdims=True))

    @staticmethod
    def categories(u: np.ndarray, K: int) -> np.ndarray:
        return np.clip(np.floor(u * K), 0, K - 1).astype(np.intp)

    def sample(self, rng: np.random.Generator, m: int) -> np.ndarray:
        d = self.U.shape[1]
        out = np.empty((m, d))
        # component per candidate (multivariate) or per candidate and dimension; index n is the prior
        shape = (m, 1) if self.multivariate else (m, d)
        comp = np.broadcast_to(rng.integers(0, self.n + 1, size=shape), (m, d))
        for j in range(d):
            c = comp[:, j]
            prior = c == self.n
            ck = np.minimum(c, max(self.n - 1, 0))
            if self.cont[j]:
                x = _sample_truncnorm(rng, self.U[ck, j], self.sigma[ck, j]) if self.n else np.zeros(m)
                out[:, j] = np.where(prior, rng.random(m), x)
            else:
                K = int(self.n_cats[j])
                if self.n:
                    P = np.exp(self.cat_logp[j][ck])
                    cum = np.cumsum(P, axis=1)
                    k = np.minimum((rng.random((m, 1)) * cum[:, -1:] > cum).sum(axis=1), K - 1)
                else:
                    k = np.zeros(m, dtype=np.intp)
                k = np.where(prior, rng.integers(0, K, size=m), k)
                out[:, j] = (k + 0.5) / K
        return out

    def _kernel_logpdf(self, X: np.ndarray) -> np.ndarray:
        """(m, n, d): log density of each kernel's factor for each dimension."""
        m, d = X.shape
        L = np.empty((m, self.n, d))
        for j in range(d):
            if self.cont[j]:
                L[:, :, j] = _log_truncnorm(X[:, j:j + 1], self.U[None, :, j], self.sigma[None, :, j])
            else:
                k = self.categories(X[:, j], int(self.n_cats[j]))
                L[:, :, j] = self.cat_logp[j][:, k].T
        return L

    def log_pdf(self, X: np.ndarray) -> np.ndarray:
        """log density (m,) at points X (m, d) of the unit cube (categorical dimensions: the
        probability of the category, times K, so that the uniform prior has density 1 everywhere)."""
        m, d = X.shape
        prior = np.zeros(m)  # the uniform prior's log density on the unit cube (categories: K * 1/K)
        if self.n == 0:
            return prior
        catj = np.flatnonzero(~self.cont)
        L = self._kernel_logpdf(X)
        L[:, :, catj] += np.log(self.n_cats[catj].astype(float))
        if self.multivariate:
            comps = np.concatenate([L.sum(axis=2) + self.log_w[:-1], (prior + self.log_w[-1])[:, None]], axis=1)
            return _logsumexp(comps, axis=1)
        per_dim = np.concatenate([L + self.log_w[None, :-1, None], np.full((m, 1, d), self.log_w[-1])], axis=1)
        return _logsumexp(per_dim, axis=1).sum(axis=1)


def _logsumexp(A: np.ndarray, axis: int) -> np.ndarray:
    mx = np.max(A, axis=axis, keepdims=True)
    return np.squeeze(mx, axis=axis) + np.log(np.sum(np.exp(A - mx), axis=axis))


def _neighbour_bandwidths(mu: np.ndarray) -> np.ndarray:
    """Per kernel: the larger distance to its sorted neighbours, the box ends 0 and 1 included."""
    order = np.argsort(mu, kind="stable")
    s = np.concatenate([[0.0], mu[order], [1.0]])
    width = np.maximum(s[1:-1] - s[:-2], s[2:] - s[1:-1])
    out = np.empty_like(mu)
    out[order] = width
    return out


@register("tpe", family="smbo")
class TPE(Optimizer):
    """Tree-structured Parzen Estimator (Bergstra et al., 2011), for mixed hyperparameter spaces.

    When to use: expensive black boxes with tens to a few hundred evaluations, especially
    hyperparameter search over log-scaled reals, integers and categories; it is cheap per step (no
    Gaussian process), so it scales to many evaluations, but converges only slowly to a precise
    optimum (use ``cmaes`` or ``bo`` for that).

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    n_startup : int
        Uniformly random points before the model is used (Optuna's ``n_startup_trials``).
    n_ei_candidates : int
        Candidates drawn from l(x) per point; the best by log l - log g is returned.
    multivariate : bool
        Joint kernels with Scott's-rule bandwidths (keeps correlations between dimensions) instead of
        one independent Parzen estimator per dimension with neighbour-distance bandwidths.
    prior_weight : float
        Smoothing of the categorical kernels (pseudo-count spread over the K categories).
    batch : int
        Points returned by ``ask()`` without ``n`` (pending points count as bad: a constant liar).
    seed : int, optional

    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float(x @ x), [(-5, 5)] * 2, method="tpe", budget=100, seed=0)
    >>> bool(res.fun < 0.5)
    True
    """

    family = "smbo"
    _parameter_constraints = {
        "n_startup": [Interval(int, 1, None)],
        "n_ei_candidates": [Interval(int, 1, None)],
        "multivariate": [BOOL],
        "prior_weight": [Interval(float, 0, None, closed="neither")],
        "batch": [Interval(int, 1, None)],
    }

    def __init__(self, space, *, n_startup: int = 10, n_ei_candidates: int = 24, multivariate: bool = False,
                 prior_weight: float = 1.0, batch: int = 1, seed=None):
        super().__init__(space, seed=seed, n_startup=n_startup, n_ei_candidates=n_ei_candidates,
                         multivariate=multivariate, prior_weight=prior_weight, batch=batch)
        if isinstance(self.space, SearchSpace):
            self._n_cats = np.array([len(p.choices) if p.kind == "categorical" else 0 for p in self.space.params.values()])
        else:
            self._n_cats = np.zeros(self.dim, dtype=int)
        self._U = np.zeros((0, self.dim))  # observations, scaled to the unit cube
        self._y = np.zeros(0)
        self._viol = np.zeros(0)  # total constraint violation (0 = feasible)
        #: the last model step's candidates (user space) and their scores log l - log g, for inspection
        self.last_candidates_: np.ndarray | None = None
        self.last_scores_: np.ndarray | None = None

    @property
    def batch_size(self) -> int:
        return self.batch

    # -- unit-cube scaling ----------------------------------------------------------------------
    def _to_unit(self, Z: np.ndarray) -> np.ndarray:
        lo, hi = self.space.encoded_lower, self.space.encoded_upper
        return np.clip((Z - lo) / (hi - lo), 0.0, 1.0)

    def _from_unit(self, U: np.ndarray) -> np.ndarray:
        lo, hi = self.space.encoded_lower, self.space.encoded_upper
        return lo + U * (hi - lo)

    # -- the model ------------------------------------------------------------------------------
    def split(self, U_pending: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(good, bad) observations on the unit cube; pending points join the bad ones."""
        n = self._y.size
        feasible = self._viol <= 0
        n_feas = int(feasible.sum())
        # feasible points by value, then infeasible ones by violation (then value)
        order = np.lexsort((self._y, self._viol, ~feasible))
        n_good = default_gamma(n)
        if n_feas:
            n_good = min(n_good, n_feas)
        good, bad = self._U[order[:n_good]], self._U[order[n_good:]]
        if U_pending is not None and U_pending.size:
            bad = np.vstack([bad, U_pending])
        return good, bad

    def _fit(self, U_pending):
        good, bad = self.split(U_pending)
        kw = dict(multivariate=self.multivariate, prior_weight=self.prior_weight)
        return _Parzen(good, self._n_cats, **kw), _Parzen(bad, self._n_cats, **kw)

    def _ask(self, n: int) -> np.ndarray:
        _, Zp = self.pending()
        pend = [self._to_unit(Zp)] if Zp.size else []
        # decoded points already evaluated or pending: a batch never repeats them
        seen = {x.tobytes() for x in self.space.decode(self._from_unit(np.vstack([self._U, *pend])))}
        out = []
        for _ in range(n):
            U_pend = np.vstack(pend) if pend else np.zeros((0, self.dim))
            if self._y.size + U_pend.shape[0] < self.n_startup or self._y.size == 0:
                u = self.rng.random(self.dim)
            else:
                u = self._model_point(U_pend, seen)
            seen.add(self.space.decode(self._from_unit(u[None]))[0].tobytes())
            pend.append(u[None])
            out.append(u)
        return self._from_unit(np.array(out))

    def _model_point(self, U_pend: np.ndarray, seen: set) -> np.ndarray:
        good, bad = self._fit(U_pend)  # the densities l(x) and g(x)
        C = good.sample(self.rng, self.n_ei_candidates)
        score = good.log_pdf(C) - bad.log_pdf(C)
        self.last_candidates_ = self.space.decode(self._from_unit(C))
        self.last_scores_ = score
        for i in np.argsort(-score, kind="stable"):  # the best candidate not already evaluated or pending
            if self.space.decode(self._from_unit(C[i:i + 1]))[0].tobytes() not in seen:
                return C[i]
        for _ in range(100):  # every candidate repeats a point (small discrete space): a fresh random one
            u = self.rng.random(self.dim)
            if self.space.decode(self._from_unit(u[None]))[0].tobytes() not in seen:
                return u
        return C[int(np.argmax(score))]

    def _tell(self, Z, y, C) -> None:
        U = self._to_unit(Z)
        if isinstance(self.space, SearchSpace):  # snap categories to their bucket centres
            for j in np.flatnonzero(self._n_cats):
                K = int(self._n_cats[j])
                U[:, j] = (_Parzen.categories(U[:, j], K) + 0.5) / K
        viol = np.zeros(len(y)) if C is None or C.shape[1] == 0 else np.sum(np.maximum(C, 0.0), axis=1)
        self._U = np.vstack([self._U, U])
        self._y = np.concatenate([self._y, y])
        self._viol = np.concatenate([self._viol, viol])

    def _get_state(self) -> dict:
        return {"U": self._U, "y": self._y, "viol": self._viol}

    def _set_state(self, state: dict) -> None:
        self._U = np.asarray(state["U"], dtype=np.float64).reshape(-1, self.dim)
        self._y = np.asarray(state["y"], dtype=np.float64).reshape(-1)
        self._viol = np.asarray(state["viol"], dtype=np.float64).reshape(-1)
