"""COSMOS: the first step by hand, Newton-Schulz, the shapes check, and training the numpy MLP."""

import numpy as np
import pytest

import optkit
from optkit.core.errors import InvalidParameterError
from optkit.core.stochastic import StochasticProblem
from optkit.first_order.cosmos import newton_schulz5
from optkit.problems.ml import mlp

MLP_SHAPES = [(64, 32), (32,), (32, 10), (10,)]


def _lsq(d=8, n=30, seed=0):
    rng = np.random.default_rng(seed)
    A, b = rng.standard_normal((n, d)), rng.standard_normal(n)
    return StochasticProblem(lambda w, idx: 0.5 * float(np.mean((A @ w - b) ** 2)), lambda w, idx: A.T @ (A @ w - b) / n,
                             n, rng.standard_normal(d), name="lsq8")


def _ns5(X, steps=5):
    """Muon's iteration, written out again: X <- a X + b (X X^T) X + c (X X^T)^2 X on the wide orientation."""
    a, b, c = 3.4445, -4.7750, 2.0315
    Y = X / (np.linalg.norm(X) + 1e-7)  # the same eps as the library
    flip = Y.shape[0] > Y.shape[1]
    Y = Y.T if flip else Y
    for _ in range(steps):
        Y = a * Y + b * (Y @ Y.T) @ Y + c * (Y @ Y.T) @ (Y @ Y.T) @ Y
    return Y.T if flip else Y


def test_first_step_by_hand():
    p = _lsq()
    lr, b1, b2, eps, ratio = 0.01, 0.9, 0.96, 1e-8, 0.1
    opt = optkit.make("cosmos", p.space, shapes=[(3, 2), (2,)], rank=1, lr=lr, lr_ratio=ratio, batch_size=None)
    res = opt.minimize(p, 1000, callback=lambda r: True)
    w0, g = p.w0, p.grad(p.w0)
    G, M = g[:6].reshape(3, 2), (1 - b1) * g[:6].reshape(3, 2)
    evals, evecs = np.linalg.eigh(G @ G.T)
    P = evecs[:, [-1]]  # the leading eigenvector of G G^T (rank 1)
    V = (1 - b2) * (P.T @ G) ** 2
    A = (lr / (1 - b1)) * P @ ((P.T @ M) / (np.sqrt(V / (1 - b2)) + eps))
    N = _ns5(M - P @ (P.T @ M))
    N = N / (np.linalg.norm(N) + eps)
    s = np.sqrt(6) * ratio * lr
    D = A + s * N
    step = np.concatenate([(-s * D / (np.linalg.norm(D) + eps)).ravel(), -lr * g[6:] / (np.abs(g[6:]) + eps)])
    np.testing.assert_allclose(res.x, w0 + step, rtol=1e-10, atol=1e-14)
    assert np.linalg.norm(step[:6]) == pytest.approx(s, rel=1e-6)  # the matrix step has Frobenius norm s


def test_newton_schulz_approximately_orthogonalizes():
    G = np.random.default_rng(1).standard_normal((7, 4))
    X = newton_schulz5(G)
    np.testing.assert_allclose(X, _ns5(G), rtol=1e-12)
    sv = np.linalg.svd(X, compute_uv=False)
    assert np.all((sv > 0.6) & (sv < 1.25))  # Muon's quintic maps singular values into about [0.7, 1.2]
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    assert np.sum(X * (U @ Vt)) / np.linalg.norm(X) / np.linalg.norm(U @ Vt) > 0.98


def test_shapes_must_match_the_dimension():
    p = mlp()
    with pytest.raises(InvalidParameterError, match="'shapes'.*2048.*2410"):
        optkit.make("cosmos", p.space, shapes=[(64, 32)])
    with pytest.raises(InvalidParameterError, match="shapes"):
        optkit.make("cosmos", p.space, shapes=[(64, 0)])
    optkit.make("cosmos", p.space, shapes=MLP_SHAPES)  # the MLP's layout is accepted


def test_rank_is_capped_by_the_rows_and_vectors_take_adams_step():
    p = _lsq()
    res = optkit.make("cosmos", p.space, shapes=[(2, 3), (2,)], rank=64, batch_size=None).minimize(p, 60)
    assert np.all(np.isfinite(res.x)) and res.fun < p.objective(p.w0)


def test_trains_the_numpy_mlp_like_adamw():
    p = mlp()
    budget = 8 * p.n_examples
    # the best lr of {0.003, 0.01, 0.03} for both (measured: cosmos 0.0154, adamw 0.0165 after 8 epochs)
    cos = optkit.make("cosmos", p.space, shapes=MLP_SHAPES, lr=0.03, batch_size=64, seed=0).minimize(p, budget)
    adamw = optkit.make("adamw", p.space, lr=0.03, batch_size=64, seed=0).minimize(p, budget)
    start = p.objective(p.w0)
    assert cos.fun < 0.01 * start and cos.fun < 1.5 * adamw.fun, (start, cos.fun, adamw.fun)
