"""Constrained test problems for Frank-Wolfe, each with its feasible set and a known optimum.

Each function returns ``(problem, lmo)``: a :class:`~optkit.StochasticProblem` (loss, gradient and
Hessian-vector product, ``f_opt`` and ``x_opt`` of the *constrained* problem) and the
:mod:`optkit.zeroth_order.lmo` oracle of its feasible set::

    problem, lmo = sparse_regression(n=200, dim=500, k=10)
    res = optkit.make("frank-wolfe", problem.space, lmo=lmo, variant="pairwise").minimize(problem, 10**6)

* :func:`sparse_regression`: least squares with a k-sparse truth over the l1 ball of radius
  ``||w_true||_1``. Without noise the truth has loss 0, so ``f_opt = 0`` and ``x_opt = w_true``; the
  optimum lies on the ball's boundary (a face of dimension k - 1).
* :func:`matrix_completion`: observed entries of a synthetic rank-r matrix ``M = U V^T`` over the
  nuclear-norm ball of radius ``||M||_*``; ``M`` fits every observation, so ``f_opt = 0``.
* :func:`simplex_quadratic`: a strongly convex quadratic over the probability simplex whose
  minimizer is planted on a face by its KKT conditions (``f_opt`` and ``x_opt`` exact).
"""

from __future__ import annotations

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.stochastic import StochasticProblem


def _int(owner: str, arg: str, v, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise InvalidParameterError(f"{owner}: {arg!r} must be an int >= {lo}; got {v!r}")
    return int(v)


def _real(owner: str, arg: str, v, lo: float, hi: float = np.inf) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not lo <= v <= hi:
        raise InvalidParameterError(f"{owner}: {arg!r} must be a number in [{lo:g}, {hi:g}]; got {v!r}")
    return float(v)


def _rows(a, idx):
    return a if idx is None else a[idx]


def sparse_regression(n: int = 200, dim: int = 500, k: int = 10, *, noise: float = 0.0, seed: int = 0):
    """``1/(2n) ||A w - b||^2`` over ``{||w||_1 <= ||w_true||_1}``, ``A`` Gaussian (n, dim), ``w_true``
    k-sparse with +-1 entries, ``b = A w_true + noise * N(0, I)``. Returns ``(problem, L1Ball)``;
    ``f_opt = 0`` and ``x_opt = w_true`` when ``noise = 0`` (None otherwise). Start: ``w0 = 0``."""
    from optkit.zeroth_order.lmo import L1Ball

    n, dim = _int("sparse_regression", "n", n, 1), _int("sparse_regression", "dim", dim, 1)
    k = _int("sparse_regression", "k", k, 1)
    if k > dim:
        raise InvalidParameterError(f"sparse_regression: 'k' must be <= 'dim'; got k={k}, dim={dim}")
    noise = _real("sparse_regression", "noise", noise, 0.0)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, dim))
    w_true = np.zeros(dim)
    w_true[rng.choice(dim, k, replace=False)] = rng.choice([-1.0, 1.0], k)
    b = A @ w_true + noise * rng.standard_normal(n)

    def loss_grad(w, idx=None):
        Ai, bi = _rows(A, idx), _rows(b, idx)
        r = Ai @ w - bi
        return 0.5 * float(r @ r) / Ai.shape[0], Ai.T @ r / Ai.shape[0]

    def hvp(w, v, idx=None):
        Ai = _rows(A, idx)
        return Ai.T @ (Ai @ v) / Ai.shape[0]

    exact = noise == 0.0
    problem = StochasticProblem(lambda w, idx: loss_grad(w, idx)[0], lambda w, idx: loss_grad(w, idx)[1], n, np.zeros(dim),
                                loss_and_grad=loss_grad, hvp=hvp, f_opt=0.0 if exact else None,
                                x_opt=w_true if exact else None, name=f"sparse_regression_n{n}_d{dim}_k{k}")
    return problem, L1Ball(radius=float(np.abs(w_true).sum()))


def matrix_completion(m: int = 200, n: int = 200, rank: int = 5, *, observed: float = 0.2, seed: int = 0):
    """Complete a rank-``rank`` matrix ``M = U V^T`` (Gaussian factors scaled by 1/sqrt(rank)) from a random
    fraction ``observed`` of its entries: ``F(X) = 1/(2|O|) sum_{(i,j) in O} (X_ij - M_ij)^2`` over the
    nuclear-norm ball of radius ``||M||_*``. One example = one observed entry (minibatches sample them).
    Returns ``(problem, NuclearNormBall)``; ``f_opt = 0`` with ``x_opt = M`` (flattened row-major).
    The matrix is the problem's ``truth`` attribute (m, n). Start: ``X0 = 0``."""
    from optkit.zeroth_order.lmo import NuclearNormBall

    m, n = _int("matrix_completion", "m", m, 2), _int("matrix_completion", "n", n, 2)
    rank = _int("matrix_completion", "rank", rank, 1)
    observed = _real("matrix_completion", "observed", observed, 1e-9, 1.0)
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n)) / np.sqrt(rank)
    n_obs = max(1, int(round(observed * m * n)))
    where = np.sort(rng.choice(m * n, n_obs, replace=False))
    vals = M.reshape(-1)[where]

    def loss_grad(w, idx=None):
        at, mv = _rows(where, idx), _rows(vals, idx)
        r = w[at] - mv
        g = np.zeros(m * n)
        g[at] = r / at.size  # the entries of a minibatch are distinct
        return 0.5 * float(r @ r) / at.size, g

    def hvp(w, v, idx=None):
        at = _rows(where, idx)
        out = np.zeros(m * n)
        out[at] = v[at] / at.size
        return out

    problem = StochasticProblem(lambda w, idx: loss_grad(w, idx)[0], lambda w, idx: loss_grad(w, idx)[1], n_obs,
                                np.zeros(m * n), loss_and_grad=loss_grad, hvp=hvp, f_opt=0.0, x_opt=M.reshape(-1),
                                name=f"matrix_completion_{m}x{n}_r{rank}")
    problem.truth = M
    radius = float(np.linalg.svd(M, compute_uv=False).sum())
    return problem, NuclearNormBall((m, n), radius=radius)


def simplex_quadratic(dim: int = 50, support: int = 5, *, condition: float = 10.0, seed: int = 0):
    """``1/2 x^T Q x + c^T x`` over the probability simplex, ``Q`` SPD with eigenvalues in
    [1/condition, 1]; the minimizer ``x_opt`` is planted on a face with ``support`` non-zeros by
    choosing ``c`` from the KKT conditions (``Q x* + c = lam 1`` on the support, ``> lam`` off it,
    strictly: the face is identified). Returns ``(problem, ProbabilitySimplex)``, one example; start:
    the vertex ``e_0`` (outside the support)."""
    from optkit.zeroth_order.lmo import ProbabilitySimplex

    dim = _int("simplex_quadratic", "dim", dim, 2)
    support = _int("simplex_quadratic", "support", support, 1)
    if support >= dim:
        raise InvalidParameterError(f"simplex_quadratic: 'support' must be < 'dim'; got support={support}, dim={dim}")
    condition = _real("simplex_quadratic", "condition", condition, 1.0)
    rng = np.random.default_rng(seed)
    V, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    Q = (V * condition ** (-np.linspace(0, 1, dim))) @ V.T
    S = 1 + rng.choice(dim - 1, support, replace=False)  # e_0 is the start, off the support
    x_opt = np.zeros(dim)
    x_opt[S] = rng.dirichlet(np.ones(support))
    slack = rng.uniform(0.1, 1.0, dim)
    slack[S] = 0.0
    c = -Q @ x_opt + 1.0 + slack
    f_opt = float(0.5 * x_opt @ Q @ x_opt + c @ x_opt)

    def loss_grad(w, idx=None):
        Qw = Q @ w
        return float(0.5 * w @ Qw + c @ w), Qw + c

    problem = StochasticProblem(lambda w, idx: loss_grad(w)[0], lambda w, idx: loss_grad(w)[1], 1, np.eye(dim)[0],
                                loss_and_grad=loss_grad, hvp=lambda w, v, idx: Q @ v, f_opt=f_opt, x_opt=x_opt,
                                name=f"simplex_quadratic_d{dim}_s{support}")
    return problem, ProbabilitySimplex(1.0)


__all__ = ["matrix_completion", "simplex_quadratic", "sparse_regression"]
