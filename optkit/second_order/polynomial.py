"""Polynomial preconditioning of the gradient method with the adaptive Krylov choice (Doikov &
Rodomanov, "Polynomial Preconditioning for Gradient Methods", ICML 2023; arXiv:2301.13194).

For a convex ``f`` whose curvature is measured by ``B`` (``f(y) <= f(x) + <g, y - x> + L/2 ||y - x||_B^2``),
a *polynomial preconditioner* ``P = p(B)`` of degree ``tau - 1`` gives the preconditioned gradient step
``x+ = x - (1/L) p(B) g``; the paper's fixed choices (elementary symmetric polynomials of ``B``'s
spectrum) provably cut the gaps between the top eigenvalues without knowing them. Its *adaptive*
variant does not fix ``p``: every such step lies in the Krylov space
``K_tau = span{g, B g, ..., B^(tau-1) g}``, so it takes the best one, minimizing the upper model over
``K_tau``, with ``L`` found by a backtracking search. Here ``B`` is the minibatch Hessian at ``w``
(through Hessian-vector products, the structured problems' ``A^T D A``), and one step is::

    Q, T = Lanczos(H, g, tau)              Q (tau, d) orthonormal basis of K_tau, T = Q H Q^T
    c    = -T^{-1} Q g                     (eigenvalues of T floored at 1e-12 times the largest)
    repeat: s = c / L;  accept if f(w + Q^T s) <= f(w) + <g, Q^T s> + L/2 s^T T s  (+ 64 eps |f| for rounding);
            else L <- 2 L
    w <- w + Q^T s;  L <- max(L / 2, L_min)

i.e. ``w+ = w - (1/L) p*(H) g`` with ``p*`` the degree ``tau - 1`` polynomial that minimizes the
quadratic model (``tau`` steps of conjugate gradients on ``H p = -g``, scaled by ``1/L``). With
``tau = 1`` it is the gradient method with an exact model step; a quadratic whose Hessian has at most
``tau`` distinct eigenvalues is solved in one step (tested). Its difference from Newton-CG: the degree
is fixed (no residual test), and the step comes from the upper model with an adaptive ``L``, not from a
line search along a Newton direction; the paper's fixed symmetric-polynomial preconditioners (which
need traces of powers of ``B``) are not implemented.

A step costs ``b (1 + tau + trials)`` oracle calls (gradient, ``tau`` Hessian-vector products, one loss
evaluation per trial of ``L``); ``max_backtracks`` bounds the trials (the step is 0 when none passes).
Meant for convex problems (the paper's setting); on a non-convex one ``T``'s negative eigenvalues
are floored, which makes the model no upper bound.
"""

from __future__ import annotations

import numpy as np

from optkit.core import transforms as tx
from optkit.core.gradient import COMMON_CONSTRAINTS, POSITIVE
from optkit.core.params import Interval
from optkit.core.registry import register
from optkit.core.stochastic import HVP_METHODS
from optkit.second_order._base import SecondOrderOptimizer, lanczos

HVP_METHODS.setdefault("poly-krylov", "(always: its Krylov basis is built from Hessian-vector products)")


def krylov_step(hvp, g: np.ndarray, tau: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(Q, T, c)``: the Krylov basis, the projected Hessian and the model minimizer's coordinates at L = 1."""
    Q, T = lanczos(hvp, g, tau)
    evals, evecs = np.linalg.eigh(T)
    evals = np.maximum(evals, 1e-12 * max(float(np.max(np.abs(evals))), 1e-300))
    c = -(evecs @ ((evecs.T @ (Q @ g)) / evals))
    return Q, T, c


def scale_by_poly_krylov(tau: int, L0: float, L_min: float, max_backtracks: int) -> tx.Transform:
    def update(g, state, ctx):
        L = state["L"]
        if not np.any(g):
            return np.zeros_like(g), state
        Q, T, c = krylov_step(ctx.hvp, g, tau)
        Qg = Q @ g
        for _ in range(max_backtracks):
            s = c / L
            u = Q.T @ s
            f, _ = ctx.evaluate(ctx.w + u)
            slack = 64 * np.finfo(float).eps * max(1.0, abs(ctx.loss))  # the model is exact on a quadratic
            if np.isfinite(f) and f <= ctx.loss + Qg @ s + 0.5 * L * (s @ T @ s) + slack:
                return u, {"L": max(0.5 * L, L_min)}
            L *= 2.0
        return np.zeros_like(g), {"L": L}

    return tx.Transform(lambda w: {"L": float(L0)}, update)


@register("poly-krylov", family="second_order")
class PolyKrylov(SecondOrderOptimizer):
    """Gradient method with the adaptive polynomial (Krylov) preconditioner of Doikov & Rodomanov."""

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "tau": [Interval(int, 1, None)],
        "L0": [POSITIVE],
        "L_min": [POSITIVE],
        "max_backtracks": [Interval(int, 1, None)],
    }

    def __init__(self, space, *, tau: int = 5, L0: float = 1.0, L_min: float = 1.0, max_backtracks: int = 30,
                 batch_size: int | None = None, sampling: str = "shuffle", seed=None):
        super().__init__(space, tau=tau, L0=L0, L_min=L_min, max_backtracks=max_backtracks, batch_size=batch_size,
                         sampling=sampling, seed=seed)

    @property
    def needs_hvp(self) -> bool:
        return True

    def oracle_cost(self, b: int, step: int) -> int:
        return b * (1 + min(self.tau, self.dim) + self.max_backtracks)

    def min_cost(self, b: int, step: int) -> int:
        return b * (2 + min(self.tau, self.dim))

    def _build(self) -> tx.Transform:
        return scale_by_poly_krylov(self.tau, self.L0, self.L_min, self.max_backtracks)
