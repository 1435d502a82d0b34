"""LM-MA-ES: the limited-memory matrix adaptation evolution strategy (Loshchilov, Glasmachers & Beyer 2019).

A large-scale ES that never forms a d x d matrix. It keeps m = 4 + floor(3 ln d) direction vectors
M_1..M_m (evolution paths with different learning rates) and samples, for z ~ N(0, I),

    d = A_k ... A_1 z,   A_j = (1 - c_d,j) I + c_d,j M_j M_j^T,   x = m + sigma * d

with k = min(generation, m) and c_d,j = 1 / (1.5^(j-1) d). After ranking,

    m   <- m + sigma * sum_i w_i d_(i)
    p_s <- (1 - c_s) p_s + sqrt(mu_eff c_s (2 - c_s)) z_w,          z_w = sum_i w_i z_(i)
    M_j <- (1 - c_c,j) M_j + sqrt(mu_eff c_c,j (2 - c_c,j)) z_w,    c_c,j = lambda / (4^(j-1) d)
    sigma <- sigma * exp(c_s / 2 * (||p_s||^2 / d - 1)),             c_s = 2 lambda / d

(the paper's Algorithm 1). Memory is O(m d); time per generation O(m d lambda).

Where the paper's rates exceed what a moving average allows (c_s, c_c,j > 1, i.e. d < 2 lambda: small
problems the method is not meant for), they are capped at 1 (measured on the sphere and an ellipsoid
at d = 5..40: caps of 1/2, 0.8 and 1 perform alike); c_d,j is capped at 1/2 (it reaches 1 only at
d = 1, where A_1 would be singular).

Sampling is vectorized over the population. The product A_k ... A_1 has the closed form
alpha I + M K M^T with a k x k matrix K built in O(k^2 d) from the Gram matrix of the M_j (expand
(alpha I + M K M^T)(a I + b m m^T) = alpha a I + [M m] [[a K, b K M^T m], [0, alpha b]] [M m]^T), so
that the whole generation is two matrix products ``D = alpha Z + ((Z M^T) K) M`` instead of k
memory-bound passes over the lambda x d samples: the same flops as the paper's loop, at BLAS-3 speed.

Reference: I. Loshchilov, T. Glasmachers, H.-G. Beyer, "Large scale black-box optimization by
limited-memory matrix adaptation", IEEE Transactions on Evolutionary Computation 23(2):353-358,
2019 (arXiv:1705.06693).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import lapack

from optkit.core.params import Interval
from optkit.core.registry import register
from optkit.population._base import PopulationOptimizer, default_popsize
from optkit.population._es_common import ES_PARAMETERS, FunTolerance, check_mu, log_weights, penalize_bounds

#: stop when sigma * max std has grown by this factor over sigma0 (a diverging run)
_TOLUPSIGMA = 1e20
#: the largest learning rates used where the paper's formulas exceed 1 (small d)
_RATE_CAP = 1.0
_C_D_CAP = 0.5


def product_form(M: np.ndarray, c_d: np.ndarray) -> tuple[float, np.ndarray]:
    """``(alpha, K)`` with ``A_1 A_2 ... A_k = alpha I + M^T K M`` for rows ``M`` (k, d), A_j = (1 - c_j) I + c_j m_j m_j^T.

    Row samples transform as ``D = Z A_1 ... A_k`` (the column form d = A_k ... A_1 z, transposed; each
    A_j is symmetric), i.e. ``D = alpha Z + ((Z M^T) K) M``. With a_j = 1 - c_j, beta_j = c_j / a_j and
    G = M M^T: A_1 ... A_k = alpha (I + M^T T M), alpha = prod a_j, where T is upper triangular with
    T^{-1} = diag(1/beta) - triu(G, 1) (the compact WY form of a product of rank-one modifications of
    I; induction on k: appending a factor adds the column T[:j, j] = beta_j T[:j, :j] G[:j, j]).
    """
    k = M.shape[0]
    a = 1.0 - c_d[:k]
    alpha = float(np.prod(a))
    U = -np.triu(M @ M.T, 1)
    U[np.diag_indices(k)] = a / c_d[:k]
    # LAPACK's triangular inverse: microseconds for k ~ 30 (scipy's solve_triangular, via trtrs, took
    # milliseconds per call for such sizes in our measurements)
    T, info = lapack.dtrtri(U, lower=0)
    if info != 0:
        T = np.linalg.pinv(U)
    return alpha, alpha * T


def transform(Z: np.ndarray, M: np.ndarray, c_d: np.ndarray, form=None) -> np.ndarray:
    """``D`` (n, d): each row of ``Z`` sent through A_k ... A_1 (the paper's loop, in closed form)."""
    if M.shape[0] == 0:
        return Z.copy()
    alpha, K = product_form(M, c_d) if form is None else form
    return alpha * Z + ((Z @ M.T) @ K) @ M


def inverse_transform(D: np.ndarray, M: np.ndarray, c_d: np.ndarray) -> np.ndarray:
    """``Z`` with ``transform(Z) = D``: A_j^{-1} = (I - b/(a + b ||m||^2) m m^T) / a, applied from j = k down to 1."""
    Z = D.copy()
    for j in range(M.shape[0] - 1, -1, -1):
        a, b, m = 1.0 - c_d[j], c_d[j], M[j]
        Z -= np.outer((b / (a + b * float(m @ m))) * (Z @ m), m)
        Z /= a
    return Z


def transform_variances(M: np.ndarray, c_d: np.ndarray, form=None) -> np.ndarray:
    """diag(P P^T) for P = A_1 ... A_k: the per-coordinate variance of a transformed N(0, I) sample, O(k^2 d)."""
    if M.shape[0] == 0:
        return np.ones(M.shape[1])
    alpha, K = product_form(M, c_d) if form is None else form
    S = alpha * (K + K.T) + K @ (M @ M.T) @ K.T
    return alpha**2 + np.einsum("id,id->d", S @ M, M)


@register("lmmaes", family="population")
class LMMAES(PopulationOptimizer):
    """LM-MA-ES: O(m d) memory, O(m d lambda) time per generation, for thousands of dimensions.

    When to use: d in the thousands (tested to d = 10,000 in well under 1 GB), non-separable and
    ill-conditioned problems where full CMA-ES's d x d covariance is too slow or too big. Below a
    hundred dimensions full CMA-ES (or sep-CMA-ES on separable problems) learns faster.

    Parameters
    ----------
    space : Box or SearchSpace
    popsize : int, optional
        Offspring per generation lambda (default ``4 + floor(3 ln d)``).
    mu : int, optional
        Parents recombined with log weights (default ``popsize // 2``).
    n_vectors : int, optional
        Direction vectors m (default ``4 + floor(3 ln d)``).
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
    squared distance to it (``optkit.population._es_common``); the update uses the raw samples.

    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float((x ** 2).sum()), [(-5, 5)] * 50, method="lmmaes",
    ...                       budget=12000, seed=0)
    >>> bool(res.fun < 1e-8)
    True
    """

    _parameter_constraints = {
        **ES_PARAMETERS,
        "n_vectors": [None, Interval(int, 1, None)],
    }

    def __init__(self, space, *, popsize=None, mu=None, n_vectors=None, x0=None, sigma0=None, tolx=1e-11,
                 tolfun=1e-11, seed=None):
        super().__init__(space, seed=seed, popsize=popsize, mu=mu, n_vectors=n_vectors, x0=x0, sigma0=sigma0,
                         tolx=tolx, tolfun=tolfun)
        d = self.dim
        lam = self.popsize_ = int(popsize or default_popsize(d))
        self.mu_ = check_mu(type(self).__name__, mu, lam)
        self.weights_, self.mu_eff_ = log_weights(lam, self.mu_)
        self.m_ = int(n_vectors or 4 + int(3 * math.log(d)))
        j = np.arange(self.m_)
        self.c_d_ = np.minimum(1.0 / (d * 1.5**j), _C_D_CAP)
        self.c_c_ = np.minimum(lam / (d * 4.0**j), _RATE_CAP)
        self.c_s_ = min(2.0 * lam / d, _RATE_CAP)
        self.mean_ = self._initial_mean(x0)
        self.sigma0_ = self._initial_sigma(sigma0)
        self.sigma_ = self.sigma0_
        self.p_s_ = np.zeros(d)
        self.M_ = np.zeros((self.m_, d))
        self.generation_ = 0
        self._fun = FunTolerance(d, lam, tolfun)
        self._stop: str | None = None
        self._open: list[tuple[int, np.ndarray]] = []   # (generation drawn in, its N(0, I) samples)
        self._form = None                                # (generation, alpha, K) of the current transform

    @property
    def _k(self) -> int:
        return min(self.generation_, self.m_)

    def _current_form(self):
        """(alpha, K) of the current transform, computed once per generation."""
        if self._k == 0:
            return None
        if self._form is None or self._form[0] != self.generation_:
            self._form = (self.generation_, *product_form(self.M_[: self._k], self.c_d_))
        return self._form[1:]

    def _sample(self) -> np.ndarray:
        Zn = self.rng.standard_normal((self.popsize_, self.dim))
        self._open.append((self.generation_, Zn))
        return self.mean_ + self.sigma_ * transform(Zn, self.M_[: self._k], self.c_d_, self._current_form())

    def _update(self, Z, Zeval, y, C) -> None:
        stamp, Zn = self._open.pop(0)
        sigma, k = self.sigma_, self._k
        if stamp == self.generation_:
            D = (Z - self.mean_) / sigma
        else:   # drawn from an older distribution: re-read through the current one (_es_common)
            D = transform(Zn, self.M_[:k], self.c_d_, self._current_form())
        yr = penalize_bounds(y, Z, Zeval, sigma**2 * float(np.sum(D**2)) / len(D))
        sel = np.argsort(yr, kind="stable")[: self.mu_]
        w = self.weights_
        z_w = w @ Zn[sel]
        self.mean_ = self.mean_ + sigma * (w @ D[sel])
        c_s, mu_eff = self.c_s_, self.mu_eff_
        self.p_s_ = (1 - c_s) * self.p_s_ + math.sqrt(mu_eff * c_s * (2 - c_s)) * z_w
        cc = self.c_c_[:, None]
        self.M_ = (1 - cc) * self.M_ + np.sqrt(mu_eff * cc * (2 - cc)) * z_w
        self.sigma_ = sigma * math.exp(min(1.0, c_s / 2 * (float(self.p_s_ @ self.p_s_) / self.dim - 1)))
        self.generation_ += 1
        self._fun.push(y)
        self._stop = self._check_stop()

    def _check_stop(self) -> str | None:
        sigma = self.sigma_
        if not (math.isfinite(sigma) and sigma > 0 and np.all(np.isfinite(self.M_)) and np.all(np.isfinite(self.mean_))):
            return "numerical breakdown: the step size or the direction vectors are no longer finite"
        # each factor A_j has singular values 1 - c_j and 1 - c_j + c_j ||M_j||^2, so every coordinate's
        # standard deviation lies in [alpha, prod_j ||A_j||] (times sigma): the O(k^2 d) variances are
        # computed only when one of the two bounds can trip a rule
        k = self._k
        c = self.c_d_[:k]
        lo = sigma * float(np.prod(1.0 - c))
        hi = sigma * float(np.prod(1.0 - c + c * np.einsum("ij,ij->i", self.M_[:k], self.M_[:k])))
        if lo < self.tolx * self.sigma0_ or hi > _TOLUPSIGMA * self.sigma0_:
            var = transform_variances(self.M_[:k], self.c_d_, self._current_form())
            sd_max = sigma * math.sqrt(float(np.max(var)))
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
        return {"mean": self.mean_, "sigma": self.sigma_, "p_s": self.p_s_, "M": self.M_, "generation": self.generation_,
                "fun": self._fun.state(), "stop": self._stop, "open_stamps": [s for s, _ in self._open],
                "open_z": [z for _, z in self._open]}

    def _load(self, state: dict) -> None:
        self.mean_ = np.asarray(state["mean"], dtype=np.float64)
        self.sigma_ = float(state["sigma"])
        self.p_s_ = np.asarray(state["p_s"], dtype=np.float64)
        self.M_ = np.asarray(state["M"], dtype=np.float64).reshape(self.m_, self.dim)
        self.generation_ = int(state["generation"])
        self._fun.load(state["fun"])
        self._stop = state["stop"]
        self._open = [(int(s), np.asarray(z, dtype=np.float64)) for s, z in zip(state["open_stamps"], state["open_z"])]
        self._form = None
