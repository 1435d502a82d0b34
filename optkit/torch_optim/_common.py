"""Shared pieces of the torch adapters: hyperparameter checks and the closure convention."""

from __future__ import annotations

import torch

from optkit.core.errors import InvalidParameterError
from optkit.core.params import Interval, validate_all

POSITIVE = Interval(float, 0, None, closed="neither")
UNIT = Interval(float, 0, 1, closed="left")
NONNEG = Interval(float, 0, None)


def check(owner: str, values: dict, table: dict) -> None:
    """Raise :class:`~optkit.InvalidParameterError` for a hyperparameter outside its admissible set."""
    validate_all(owner, values, table)


def check_betas(owner: str, betas) -> tuple[float, float]:
    try:
        b1, b2 = (float(b) for b in betas)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"The 'betas' parameter of {owner} must be a pair of floats in [0, 1). Got {betas!r} instead.") from None
    check(owner, {"betas[0]": b1, "betas[1]": b2}, {"betas[0]": [UNIT], "betas[1]": [UNIT]})
    return b1, b2


def grads_with_graph(loss: torch.Tensor, params: list[torch.Tensor], create_graph: bool = True) -> list[torch.Tensor]:
    """Gradients of ``loss``; with ``create_graph`` they keep their graph (for Hessian-vector products)."""
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        raise InvalidParameterError(
            "The closure must return the loss as a tensor attached to the parameters' graph (do not call "
            f"backward() in it); got {type(loss).__name__}.")
    grads = torch.autograd.grad(loss, params, create_graph=create_graph, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def hvp(grads: list[torch.Tensor], params: list[torch.Tensor], vs: list[torch.Tensor]) -> list[torch.Tensor]:
    """``H v`` for each parameter, by double backward through ``grads`` (the graph is retained)."""
    out = torch.autograd.grad(grads, params, grad_outputs=vs, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if h is None else h.detach() for p, h in zip(params, out)]
