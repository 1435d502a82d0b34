"""TRPO pieces (1502.05477): conjugate gradient on a Fisher-vector product, the natural-gradient step
scaled to the KL radius, and a backtracking line search; :func:`trpo_step` ties them together for a
list of parameters given closures for the surrogate loss and the mean KL(pi_old || pi_theta).

With the exact KL (full next-token distributions, cheap on a tiny vocabulary) the Hessian of the KL at
theta_old is the exact Fisher matrix, so :func:`make_fvp` gives exact Fisher-vector products.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from optkit.core.errors import InvalidParameterError


def conjugate_gradient(fvp: Callable, b: torch.Tensor, iters: int = 10, tol: float = 1e-10) -> torch.Tensor:
    """Solve ``F x = b`` for a symmetric positive definite F given only ``fvp(v) = F v``."""
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = r @ r
    for _ in range(iters):
        if float(rr) < tol:
            break
        Ap = fvp(p)
        alpha = rr / (p @ Ap)
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def natural_gradient_step(grad: torch.Tensor, fvp: Callable, max_kl: float = 0.01, cg_iters: int = 10):
    """The TRPO step for the loss gradient ``grad`` (a flat tensor; the step DEcreases the loss):
    ``-sqrt(2 delta / (s^T F s)) s`` with ``s = F^-1 grad``. Returns (step, expected_decrease)."""
    if not max_kl > 0:
        raise InvalidParameterError(f"The 'max_kl' of the TRPO step must be a float > 0. Got {max_kl!r} instead.")
    s = conjugate_gradient(fvp, grad, cg_iters)
    shs = float(s @ fvp(s))
    if shs <= 0:
        return torch.zeros_like(grad), 0.0
    scale = (2 * max_kl / shs) ** 0.5
    step = -scale * s
    return step, float(-(grad @ step))


def flat_params(params) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


def set_flat_params(params, flat: torch.Tensor) -> None:
    i = 0
    with torch.no_grad():
        for p in params:
            n = p.numel()
            p.copy_(flat[i:i + n].view_as(p))
            i += n


def flat_grad(y: torch.Tensor, params, create_graph: bool = False) -> torch.Tensor:
    gs = torch.autograd.grad(y, params, create_graph=create_graph, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in zip(gs, params)])


def make_fvp(kl_fn: Callable, params, damping: float = 0.1) -> Callable:
    """``v -> (H_KL + damping I) v`` with H_KL the Hessian of ``kl_fn()`` (mean KL(pi_old || pi_theta)
    recomputed with grad) at the current parameters, via double backward."""

    def fvp(v):
        g = flat_grad(kl_fn(), params, create_graph=True)
        hv = flat_grad(g @ v, params)
        return hv + damping * v

    return fvp


def trpo_step(params, loss_fn: Callable, kl_fn: Callable, max_kl: float = 0.01, damping: float = 0.1,
              cg_iters: int = 10, backtrack: float = 0.5, max_backtracks: int = 10, accept_ratio: float = 0.1) -> dict:
    """One TRPO update, in place on ``params``. ``loss_fn()`` returns the surrogate loss (to minimize) and
    ``kl_fn()`` the mean KL(pi_old || pi_theta), both recomputed from the current parameters with grad.
    The step is accepted at the first backtracking fraction with ``KL <= max_kl`` and an actual decrease
    at least ``accept_ratio`` times the linear prediction; otherwise parameters are restored."""
    params = list(params)
    x0 = flat_params(params)
    loss0 = loss_fn()
    g = flat_grad(loss0, params)
    step, expected = natural_gradient_step(g, make_fvp(kl_fn, params, damping), max_kl, cg_iters)
    info = {"trpo_expected": expected, "trpo_accepted": 0.0, "trpo_frac": 0.0, "loss_before": float(loss0.detach())}
    frac = 1.0
    for _ in range(max_backtracks):
        set_flat_params(params, x0 + frac * step)
        with torch.no_grad():
            new_loss, kl = float(loss_fn()), float(kl_fn())
        if kl <= max_kl and (info["loss_before"] - new_loss) >= accept_ratio * frac * expected:
            info.update({"trpo_accepted": 1.0, "trpo_frac": frac, "kl": kl, "loss_after": new_loss})
            return info
        frac *= backtrack
    set_flat_params(params, x0)
    return info
