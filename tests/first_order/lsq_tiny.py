"""A 3-example least-squares problem and its hand-written gradient, shared by the first-order tests."""

import numpy as np

from optkit.core.stochastic import StochasticProblem

A = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
B = np.array([1.0, -2.0, 0.5])


def lsq_grad(w):
    """Full-batch gradient of 1/(2n) ||A w - b||^2, written out independently of the problem."""
    return A.T @ (A @ w - B) / 3


def lsq_loss(w):
    return 0.5 * np.mean((A @ w - B) ** 2)


def tiny_problem():
    """A 3-example least-squares problem in R^2 started at w0 = (1, -1); run it full batch to be deterministic."""

    def rows(idx):
        return (A, B) if idx is None else (A[idx], B[idx])

    def loss(w, idx):
        Ai, bi = rows(idx)
        return 0.5 * np.mean((Ai @ w - bi) ** 2)

    def grad(w, idx):
        Ai, bi = rows(idx)
        return Ai.T @ (Ai @ w - bi) / len(bi)

    def hvp(w, v, idx):
        Ai, _ = rows(idx)
        return Ai.T @ (Ai @ v) / len(Ai)

    return StochasticProblem(loss, grad, 3, np.array([1.0, -1.0]), hvp=hvp, name="tiny")
