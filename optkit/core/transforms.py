"""Composable gradient transformations (the optax ``init``/``update`` model, on flat numpy vectors).

A :class:`Transform` is a pair of pure functions:

* ``init(w) -> state``: the transform's state for parameters ``w`` (d,): a dict of numpy arrays and
  JSON scalars (so an optimizer's state stays JSON + numpy);
* ``update(u, state, ctx) -> (u, state)``: map the incoming update ``u`` (the minibatch gradient for
  the first transform of a chain; (b, d) per-example gradients for transforms that say so) to the
  next one, and the new state. ``ctx`` is the :class:`Context` of the current step.

:func:`chain` composes them left to right. As in optax, the last transform produces the *increment*
that is added to the parameters (``w <- w + u``), so a chain ends with :func:`scale_by_learning_rate`
(which multiplies by ``-lr``) or with a Polyak step (:func:`scale_by_polyak`, which also negates).
For example::

    sgd_momentum = chain(trace(0.9), scale_by_learning_rate(0.1))
    adamw        = chain(scale_by_adam(0.9, 0.999, 1e-8), add_decayed_weights(0.01), scale_by_learning_rate(1e-3))
    psps_adagrad = chain(scale_by_rss(eps=1e-8), scale_by_polyak(c=1.0))
    dp_sgd       = chain(clip_per_example(1.0), mean_of_examples(), add_gaussian_noise(std), scale_by_learning_rate(lr))

Transforms read only what the context gives them: the current iterate, the raw minibatch gradient
(Cautious masking compares against it), the minibatch loss and its lower bound (Polyak steps), the
step count (bias corrections), the optimizer's seeded generator (noise, Hutchinson probes) and the
minibatch Hessian-vector product (curvature estimates; each call is counted by the problem).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class Context:
    """What a transform may read at one step.

    ``w`` the iterate where the gradient was taken; ``grad`` the raw minibatch gradient (d,); ``loss``
    the minibatch loss at ``w``; ``step`` the number of steps done before this one (0 first);
    ``rng`` the optimizer's generator; ``hvp`` ``v -> H_B(w) v`` on the current minibatch, or None
    when the problem has no Hessian-vector product.
    """

    w: np.ndarray
    grad: np.ndarray
    loss: float
    step: int
    rng: np.random.Generator
    hvp: Callable[[np.ndarray], np.ndarray] | None = None


class Transform(NamedTuple):
    init: Callable[[np.ndarray], dict]
    update: Callable[[np.ndarray, dict, Context], tuple[np.ndarray, dict]]


def _stateless(fn: Callable[[np.ndarray, Context], np.ndarray]) -> Transform:
    return Transform(lambda w: {}, lambda u, s, ctx: (fn(u, ctx), s))


def chain(*transforms: Transform) -> Transform:
    """Apply ``transforms`` in order; the state is the list of their states."""

    def init(w):
        return {"chain": [t.init(w) for t in transforms]}

    def update(u, state, ctx):
        new = []
        for t, s in zip(transforms, state["chain"]):
            u, s = t.update(u, s, ctx)
            new.append(s)
        return u, {"chain": new}

    return Transform(init, update)


def identity() -> Transform:
    return _stateless(lambda u, ctx: u)


def scale(factor: float) -> Transform:
    """``u <- factor u``."""
    return _stateless(lambda u, ctx: factor * u)


def scale_by_learning_rate(lr: float | Callable[[int], float]) -> Transform:
    """``u <- -lr u`` (``lr`` a number or a schedule ``step -> lr``): the descent step."""
    if callable(lr):
        return _stateless(lambda u, ctx: -float(lr(ctx.step)) * u)
    return _stateless(lambda u, ctx: -lr * u)


def add_decayed_weights(weight_decay: float) -> Transform:
    """``u <- u + weight_decay w``: L2 regularization before a scaling, decoupled decay (AdamW) after it."""
    if weight_decay == 0:
        return identity()
    return _stateless(lambda u, ctx: u + weight_decay * ctx.w)


def trace(decay: float, nesterov: bool = False) -> Transform:
    """Heavy-ball momentum: ``m <- decay m + u``; ``u <- m`` (or ``u + decay m`` with ``nesterov``).

    The convention of torch.optim.SGD (dampening 0) and optax.trace.
    """
    if decay == 0:
        return identity()

    def update(u, state, ctx):
        m = decay * state["m"] + u
        return (u + decay * m if nesterov else m), {"m": m}

    return Transform(lambda w: {"m": np.zeros_like(w)}, update)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, eps_root: float = 0.0) -> Transform:
    """Adam's direction with bias correction (Kingma & Ba 2015, algorithm 1)::

        m <- b1 m + (1 - b1) u;  v <- b2 v + (1 - b2) u^2
        u <- m_hat / (sqrt(v_hat + eps_root) + eps),  m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)

    With ``b1 = 0`` it is the pure Adam *preconditioner* ``u / (sqrt(v_hat) + eps)``.
    """

    def update(u, state, ctx):
        t = state["count"] + 1
        m = b1 * state["m"] + (1 - b1) * u
        v = b2 * state["v"] + (1 - b2) * u * u
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        return m_hat / (np.sqrt(v_hat + eps_root) + eps), {"m": m, "v": v, "count": t}

    return Transform(lambda w: {"m": np.zeros_like(w), "v": np.zeros_like(w), "count": 0}, update)


def scale_by_rss(initial_accumulator_value: float = 0.0, eps: float = 1e-10) -> Transform:
    """AdaGrad's preconditioner (Duchi et al. 2011): ``s <- s + u^2``; ``u <- u / (sqrt(s) + eps)``."""

    def update(u, state, ctx):
        s = state["s"] + u * u
        return u / (np.sqrt(s) + eps), {"s": s}

    return Transform(lambda w: {"s": np.full_like(w, initial_accumulator_value)}, update)


def scale_by_rms(decay: float = 0.99, eps: float = 1e-8, centered: bool = False) -> Transform:
    """RMSProp (Tieleman & Hinton 2012), torch's convention: ``s <- decay s + (1 - decay) u^2``;
    ``u <- u / (sqrt(s - mean^2 if centered) + eps)``."""

    def update(u, state, ctx):
        s = decay * state["s"] + (1 - decay) * u * u
        mu = decay * state["mu"] + (1 - decay) * u if centered else state["mu"]
        denom = np.sqrt(np.maximum(s - mu * mu, 0.0) if centered else s) + eps
        return u / denom, {"s": s, "mu": mu}

    return Transform(lambda w: {"s": np.zeros_like(w), "mu": np.zeros_like(w)}, update)


def scale_by_lion(b1: float = 0.9, b2: float = 0.99) -> Transform:
    """Lion's direction (Chen et al. 2023): ``u <- sign(b1 m + (1 - b1) u)``; ``m <- b2 m + (1 - b2) u``."""

    def update(u, state, ctx):
        direction = np.sign(b1 * state["m"] + (1 - b1) * u)
        return direction, {"m": b2 * state["m"] + (1 - b2) * u}

    return Transform(lambda w: {"m": np.zeros_like(w)}, update)


def clip_by_global_norm(max_norm: float) -> Transform:
    """``u <- u min(1, max_norm / ||u||)``."""

    def fn(u, ctx):
        norm = float(np.linalg.norm(u))
        return u * (max_norm / norm) if norm > max_norm else u

    return _stateless(fn)


def clip_per_example(max_norm: float) -> Transform:
    """Per-example clipping of (b, d) rows to norm ``max_norm`` (the first step of DP-SGD)."""

    def fn(U, ctx):
        norms = np.linalg.norm(U, axis=1, keepdims=True)
        return U * np.minimum(1.0, max_norm / np.maximum(norms, 1e-300))

    return _stateless(fn)


def mean_of_examples() -> Transform:
    """(b, d) per-example rows -> their mean (d,)."""
    return _stateless(lambda U, ctx: np.mean(U, axis=0))


def add_gaussian_noise(std: float) -> Transform:
    """``u <- u + std z``, ``z ~ N(0, I)`` from the optimizer's generator."""
    return _stateless(lambda u, ctx: u + std * ctx.rng.standard_normal(u.shape))


def scale_by_hutchinson(beta: float = 0.999, alpha: float = 1e-5, init_samples: int = 10) -> Transform:
    """Hutchinson's diagonal-Hessian preconditioner (Bekas et al. 2007), as OASIS (Jahani et al. 2022)
    and PSPS use it::

        D_0 = mean_{k <= init_samples} z_k * (H z_k)              (first step, on its minibatch)
        D_t = beta D_{t-1} + (1 - beta) z_t * (H z_t),             z Rademacher
        u  <- u / max(alpha, |D_t|)                                (elementwise)

    Needs ``ctx.hvp``: 1 + ``init_samples`` Hessian-vector products on the first step, 1 after.
    """

    def probe(ctx):
        z = ctx.rng.integers(0, 2, size=ctx.w.shape).astype(np.float64) * 2.0 - 1.0
        return z * ctx.hvp(z)

    def update(u, state, ctx):
        D = state["D"]
        if not state["ready"]:
            D = np.mean([probe(ctx) for _ in range(init_samples)], axis=0)
        D = beta * D + (1 - beta) * probe(ctx)
        return u / np.maximum(alpha, np.abs(D)), {"D": D, "ready": True}

    return Transform(lambda w: {"D": np.zeros_like(w), "ready": False}, update)


def scale_by_polyak(c: float = 0.5, f_star: float = 0.0, max_step: float | None = None, eps: float = 1e-12) -> Transform:
    """The (preconditioned) stochastic Polyak step, negated to be an increment.

    With ``p`` the incoming direction (the gradient ``g``, or a preconditioned gradient ``D^{-1} g``)::

        gamma = (loss - f_star) / (c <g, p>)      (clipped to [0, max_step] when max_step is given)
        u <- -gamma p

    ``p = g`` gives SPS / SPSmax (Loizou et al. 2021); ``p = D^{-1} g`` gives PSPS (Abdukhakimov
    et al. 2023), whose ``<g, p> = ||g||^2_{D^{-1}}``. When ``<g, p> <= eps`` (a stationary point of
    the minibatch) or ``loss <= f_star`` the step is 0. The state keeps the last step size.
    """

    def update(p, state, ctx):
        denom = float(np.dot(ctx.grad, p))
        gap = ctx.loss - f_star
        gamma = gap / (c * denom) if (denom > eps and gap > 0) else 0.0
        if max_step is not None:
            gamma = min(gamma, max_step)
        return -gamma * p, {"step_size": float(gamma)}

    return Transform(lambda w: {"step_size": 0.0}, update)


__all__ = [
    "Context", "Transform", "add_decayed_weights", "add_gaussian_noise", "chain", "clip_by_global_norm",
    "clip_per_example", "identity", "mean_of_examples", "scale", "scale_by_adam", "scale_by_hutchinson",
    "scale_by_learning_rate", "scale_by_lion", "scale_by_polyak", "scale_by_rms", "scale_by_rss", "trace",
]
