"""The Gaussian Cox process model of :mod:`optkit.bayesopt.coxbo`: MAP + Laplace by a change of kernel.

Mei, Imani, Lan, "Bayesian Optimization through Gaussian Cox Process Models for Spatio-temporal
Data", ICLR 2024. Everything here lives in the unit cube ``[0, 1]^d`` (the caller rescales).

The model. Events ``t_1..t_n`` observed in a region ``S`` (the union of the windows looked at so far)
come from a Poisson process with intensity ``lambda(x) = g(x)^2``, ``g ~ GP(0, k)``, ``k`` a squared
exponential kernel with variance ``theta`` and lengthscale ``ell`` (the quadratic link of the paper's
code; ``a`` of ``lambda = a g^2`` is folded into ``theta``). The MAP latent function minimizes

    J(g) = - sum_i c_i log g(t_i)^2 + integral_S g(x)^2 dx + 1/2 ||g||^2_k

(``c_i`` = 1 for an event; fractional weights carry counts whose positions are unknown). The
integral is a quadrature over grid nodes ``q`` in ``S`` with cell volume ``Delta``. It is quadratic
in ``g``, so it joins the RKHS norm: ``integral + 1/2 ||g||_k^2 = 1/2 ||g||^2_{k~}`` with the
*equivalent kernel* (the change of kernel; for the quadrature measure it is exact)

    k~(x, y) = k(x, y) - k(x, Q) (K_QQ + I / (2 Delta))^-1 k(Q, y),

and the representer theorem gives ``g = sum_i alpha_i k~(t_i, .)``: a finite problem, convex on
the cone where every ``g(t_i) > 0`` (``-log`` of positive linear functions plus a quadratic), solved
by a damped Newton method that stays inside it. The Laplace approximation around the mode is then
exact in the quadratic part: the posterior of ``g`` is the GP with prior ``k~`` conditioned on
pseudo-observations at the events with noise variances ``g(t_i)^2 / (2 c_i)`` (the curvature of the
log term), which is the paper's ``(K^-1 - D)^-1`` with ``D`` from ``kappa, kappa', kappa''``.

Two implementations of the same model:

* :class:`ExactCox`: the representer form above, ``alpha`` in R^n, O(n^3) per Newton step;
* :class:`NystromCox` (the paper's Lemma 3): ``k ~ psi(x)' psi(y)`` from the eigendecomposition of
  ``K_ZZ`` on ``m`` inducing points (truncated to the numerical rank, optionally to ``rank``), the
  change of kernel done in that ``r``-dimensional feature space (``A = I + 2 Delta Psi_Q' Psi_Q``),
  so ``g = phi(x)' w`` with ``w ~ N(0, I)``: O(n r^2) per Newton step and O(r^2) per prediction.
  With the inducing points containing the events and the nodes, and no truncation, it is the exact
  model (tested).

The intensity's posterior: ``g(x) ~ N(mu, s^2)`` gives ``E lambda = mu^2 + s^2`` and
``Var lambda = 2 s^4 + 4 mu^2 s^2``. ``log_evidence`` is the Laplace approximation of
``log p(events | theta, ell)`` (used to choose the lengthscale).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve, cholesky, eigh, solve_triangular
from scipy.optimize import linprog

from optkit.core.errors import InvalidParameterError

#: relative eigenvalue floor of K_ZZ: smaller directions are numerically absent
EIG_FLOOR = 1e-10


def sq_dist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Pairwise squared distances (n, m), clipped at 0."""
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d, 0.0)


def se_kernel(A: np.ndarray, B: np.ndarray, lengthscale: float, variance: float) -> np.ndarray:
    """Squared exponential ``variance * exp(-|a - b|^2 / (2 lengthscale^2))``."""
    return variance * np.exp(-0.5 * sq_dist(A, B) / lengthscale**2)


def grid(per_dim: int, d: int) -> np.ndarray:
    """Cell centres of a regular ``per_dim^d`` grid over the unit cube, C order (last axis fastest)."""
    ax = (np.arange(per_dim) + 0.5) / per_dim
    mesh = np.meshgrid(*([ax] * d), indexing="ij")
    return np.column_stack([m.ravel() for m in mesh])


def intensity_moments(mu: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of ``lambda = g^2`` for ``g ~ N(mu, var)``."""
    return mu**2 + var, 2.0 * var**2 + 4.0 * mu**2 * var


def _positive_start(F: np.ndarray, w: np.ndarray) -> np.ndarray | None:
    """A ``w`` with ``F w > 0``, or None when the cone is empty.

    First relaxation steps from ``w`` (Agmon-Motzkin: towards ``F_i w = margin`` for the rows still
    at or below zero, damped by the square root of their number; cheap, and enough for kernel
    features); then phase one as a linear program.
    """
    n, r = F.shape
    sq = np.einsum("ij,ij->i", F, F) + 1e-300
    for _ in range(200):
        v = F @ w
        bad = v <= 0
        if not bad.any():
            return w
        margin = 0.1 * max(float(np.median(v)), 1e-12)
        w = w + F[bad].T @ ((margin - v[bad]) / sq[bad]) / np.sqrt(bad.sum())  # damped: many rows at once
        if not np.all(np.isfinite(w)):
            break
    cost = np.zeros(r + 1)
    cost[-1] = -1.0  # maximize the smallest margin s subject to F w >= s, |w| <= 1
    A = np.hstack([-F, np.ones((n, 1))])
    res = linprog(cost, A_ub=A, b_ub=np.zeros(n), bounds=[(-1.0, 1.0)] * r + [(None, 1.0)], method="highs")
    if res.status != 0 or res.x[-1] <= 1e-12:
        return None
    return res.x[:-1]


def _objective(v: np.ndarray, c: np.ndarray, quad: float) -> float:
    return float(-np.sum(c * np.log(v * v)) + 0.5 * quad)


class _Fit:
    """Shared bookkeeping of a fitted model (diagnostics for tests and benchmarks)."""

    n_iter: int = 0
    converged: bool = True
    objective: float = 0.0


class NystromCox(_Fit):
    """Nystrom Gaussian Cox process: features of the equivalent kernel, MAP and Laplace in weight space.

    Parameters
    ----------
    events : (n, d) event locations in the unit cube; weights : (n,) positive weights (1 per event)
    nodes : (q, d) quadrature nodes inside the observed region; delta : cell volume of a node
    inducing : (m, d) inducing points; lengthscale, variance : of the SE kernel
    rank : keep at most this many eigen-directions of K_ZZ (None: all above the numerical floor)
    sqdist : optional precomputed squared distances ``(Z-Z (m, m), nodes-Z (q, m))``, and
    eig : optional ``eigh`` of the unit-variance ``K_ZZ`` at this lengthscale (neither depends on the
        data: a search over lengthscales in a BO loop computes them once)
    """

    def __init__(self, events, weights, nodes, delta, inducing, *, lengthscale, variance, rank=None,
                 max_iter=100, tol=1e-13, sqdist=None, eig=None):
        self.lengthscale, self.variance, self.delta = float(lengthscale), float(variance), float(delta)
        self.Z = np.asarray(inducing, dtype=np.float64)
        nodes = np.asarray(nodes, dtype=np.float64)
        Dzz, Dqz = sqdist if sqdist is not None else (sq_dist(self.Z, self.Z), sq_dist(nodes, self.Z))
        # K_ZZ = variance * K0 = U (variance lam0) U'; eig: a cached eigh of K0 (the lengthscale's)
        lam0, U = eig if eig is not None else eigh(np.exp(-0.5 * Dzz / self.lengthscale**2))
        lam = self.variance * lam0
        keep = lam > EIG_FLOOR * lam[-1]
        if rank is not None:
            keep &= np.arange(lam.size) >= lam.size - int(rank)
        lam, U = lam[keep], U[:, keep]
        # psi(x) = lam^-1/2 U' k(Z, x); the change of kernel: A = I + 2 Delta Psi_Q' Psi_Q = R R'
        # and phi(x) = R^-1 psi(x), so that phi' phi = psi' A^-1 psi = k~
        P = U / np.sqrt(lam)
        Psi_q = (self.variance * np.exp(-0.5 * Dqz / self.lengthscale**2)) @ P
        R = cholesky(np.eye(lam.size) + 2.0 * self.delta * (Psi_q.T @ Psi_q), lower=True)
        self._T = solve_triangular(R, P.T, lower=True).T  # phi(x) = T' k(Z, x)
        self.logdet_A = 2.0 * float(np.sum(np.log(np.diag(R))))
        self.rank = int(lam.size)
        t = np.asarray(events, dtype=np.float64).reshape(-1, self.Z.shape[1])
        c = np.asarray(weights, dtype=np.float64).reshape(-1)
        ok = c > 0
        self.events, self.weights = t[ok], c[ok]
        F = self.features(self.events)
        self.w, self._LH = self._map(F, self.weights, max_iter, tol)

    def features(self, X) -> np.ndarray:
        """Equivalent-kernel features ``phi(X)`` (n, r): ``k~(x, y) ~= phi(x)' phi(y)``."""
        return se_kernel(np.asarray(X, dtype=np.float64), self.Z, self.lengthscale, self.variance) @ self._T

    def _map(self, F: np.ndarray, c: np.ndarray, max_iter: int, tol: float):
        r = F.shape[1]
        if c.size == 0:
            self.objective = 0.0
            return np.zeros(r), np.eye(r)
        w = F.T @ c
        if np.any(F @ w <= 0):
            w = _positive_start(F, w)
            if w is None:
                raise InvalidParameterError(
                    "NystromCox: no latent function in the model's span is positive at every event; "
                    "raise 'n_inducing' or the lengthscale"
                )
        w *= np.sqrt(2.0 * c.sum() / (w @ w))  # the best scale along the ray
        v = F @ w
        J = _objective(v, c, w @ w)
        self.converged = False
        for it in range(1, max_iter + 1):
            grad = -2.0 * F.T @ (c / v) + w
            H = np.eye(r) + 2.0 * F.T @ ((c / v**2)[:, None] * F)
            L = cho_factor(H)
            step = -cho_solve(L, grad)
            dec = -float(grad @ step)
            self.n_iter = it
            if dec < 2.0 * tol * max(1.0, abs(J)):
                self.converged = True
                break
            w, v, J = _line_search(w, v, J, step, F @ step, grad @ step, c, lambda u: u @ u)
        v = F @ w
        H = np.eye(r) + 2.0 * F.T @ ((c / v**2)[:, None] * F)
        self.objective = _objective(v, c, w @ w)
        return w, cholesky(H, lower=True)

    def predict(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the latent ``g`` at ``X`` (n, d)."""
        F = self.features(X)
        mu = F @ self.w
        V = solve_triangular(self._LH, F.T, lower=True)
        return mu, np.maximum(np.einsum("ij,ij->j", V, V), 0.0)

    def intensity(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the intensity ``g^2`` at ``X`` (events per unit volume)."""
        return intensity_moments(*self.predict(X))

    def log_evidence(self) -> float:
        """Laplace approximation of ``log p(events)`` (both modes +-g counted)."""
        logdet_H = 2.0 * float(np.sum(np.log(np.diag(self._LH))))
        return -0.5 * self.logdet_A - self.objective - 0.5 * logdet_H + np.log(2.0)


class ExactCox(_Fit):
    """The exact (representer-form) Gaussian Cox process model: ``alpha`` in R^n, O(n^3).

    Same parameters as :class:`NystromCox` without the inducing points.
    """

    def __init__(self, events, weights, nodes, delta, *, lengthscale, variance, max_iter=100, tol=1e-13):
        self.lengthscale, self.variance, self.delta = float(lengthscale), float(variance), float(delta)
        self.Q = np.asarray(nodes, dtype=np.float64)
        d = self.Q.shape[1]
        Kqq = se_kernel(self.Q, self.Q, self.lengthscale, self.variance)
        self._LQ = cho_factor(Kqq + np.eye(self.Q.shape[0]) / (2.0 * self.delta), lower=True)
        # det(I + 2 Delta K_QQ) = det(2 Delta (K_QQ + I / (2 Delta)))
        self.logdet_A = 2.0 * float(np.sum(np.log(np.diag(self._LQ[0])))) + self.Q.shape[0] * np.log(2.0 * self.delta)
        t = np.asarray(events, dtype=np.float64).reshape(-1, d)
        c = np.asarray(weights, dtype=np.float64).reshape(-1)
        ok = c > 0
        self.events, self.weights = t[ok], c[ok]
        self._Wq_t = self._whiten_q(self.events)
        self.K = self.kernel(self.events, self.events, self._Wq_t, self._Wq_t)
        self.alpha = self._map(self.K, self.weights, max_iter, tol)
        v = self.K @ self.alpha
        self._sW = np.sqrt(2.0 * self.weights) / np.abs(v) if v.size else v
        B = np.eye(v.size) + self._sW[:, None] * self.K * self._sW[None, :]
        self._LB = cho_factor(B, lower=True)

    def _whiten_q(self, X: np.ndarray) -> np.ndarray:
        return solve_triangular(self._LQ[0], se_kernel(self.Q, X, self.lengthscale, self.variance), lower=True)

    def kernel(self, X, Y, Wx=None, Wy=None) -> np.ndarray:
        """The equivalent kernel ``k~(X, Y)``."""
        Wx = self._whiten_q(X) if Wx is None else Wx
        Wy = self._whiten_q(Y) if Wy is None else Wy
        return se_kernel(X, Y, self.lengthscale, self.variance) - Wx.T @ Wy

    def _map(self, K: np.ndarray, c: np.ndarray, max_iter: int, tol: float) -> np.ndarray:
        n = c.size
        if n == 0:
            self.objective = 0.0
            return np.zeros(0)
        a = c.copy()
        if np.any(K @ a <= 0):
            a = _positive_start(K, a)
            if a is None:
                raise InvalidParameterError("ExactCox: no latent function is positive at every event")
        v = K @ a
        a *= np.sqrt(2.0 * c.sum() / (a @ v))
        v = K @ a
        J = _objective(v, c, a @ v)
        self.converged = False
        for it in range(1, max_iter + 1):
            # Newton on alpha: (I + D K) step = 2c/v - alpha with D = diag(2c/v^2), solved through
            # the symmetric B = I + D^1/2 K D^1/2 (as in Rasmussen & Williams' Laplace GP classifier)
            sD = np.sqrt(2.0 * c) / v
            B = np.eye(n) + sD[:, None] * K * sD[None, :]
            rhs = 2.0 * c / v - a
            step = sD * cho_solve(cho_factor(B, lower=True), rhs / sD)
            Ks = K @ step
            grad_dot = float((a - 2.0 * c / v) @ Ks)  # grad = K (alpha - 2c/v)
            self.n_iter = it
            if -grad_dot < 2.0 * tol * max(1.0, abs(J)):
                self.converged = True
                break
            a, v, J = _line_search(a, v, J, step, Ks, grad_dot, c, lambda u, K=K: u @ (K @ u))
        self.objective = _objective(v, c, a @ v)
        return a

    def predict(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the latent ``g`` at ``X`` (n, d)."""
        X = np.asarray(X, dtype=np.float64)
        Wx = self._whiten_q(X)
        prior = self.variance - np.sum(Wx * Wx, axis=0)
        if self.alpha.size == 0:
            return np.zeros(X.shape[0]), np.maximum(prior, 0.0)
        Kxt = self.kernel(X, self.events, Wx, self._Wq_t)
        mu = Kxt @ self.alpha
        V = solve_triangular(self._LB[0], (Kxt * self._sW[None, :]).T, lower=True)
        return mu, np.maximum(prior - np.sum(V * V, axis=0), 0.0)

    def intensity(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the intensity ``g^2`` at ``X``."""
        return intensity_moments(*self.predict(X))

    def log_evidence(self) -> float:
        """Laplace approximation of ``log p(events)``."""
        logdet_B = 2.0 * float(np.sum(np.log(np.diag(self._LB[0])))) if self.alpha.size else 0.0
        return -0.5 * self.logdet_A - self.objective - 0.5 * logdet_B + np.log(2.0)


def _line_search(x, v, J, step, v_step, grad_dot, c, quad, shrink=0.5, armijo=1e-4):
    """Backtracking along ``step`` keeping every ``v > 0`` and decreasing ``J`` (Armijo)."""
    t = 1.0
    neg = v_step < 0
    if neg.any():
        t = min(1.0, 0.99 * float(np.min(-v[neg] / v_step[neg])))
    for _ in range(60):
        x_new, v_new = x + t * step, v + t * v_step
        J_new = _objective(v_new, c, quad(x_new))
        if J_new <= J + armijo * t * grad_dot:
            return x_new, v_new, J_new
        t *= shrink
    return x, v, J
