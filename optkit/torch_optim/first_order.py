"""Cautious AdamW / Lion, Grams and Gravity as :class:`torch.optim.Optimizer` s.

The update math is that of :mod:`optkit.first_order.adaptive`, :mod:`optkit.first_order.cautious`,
:mod:`optkit.first_order.grams` and :mod:`optkit.first_order.gravity`, applied per parameter tensor
(``g`` its gradient, elementwise operations):

* ``CAdamW``: ``u = m_hat / (sqrt(v_hat) + eps)``; ``phi = 1[u g > 0]``;
  ``p <- p - lr (u phi / max(mean(phi), 1e-3) + weight_decay p)``;
* ``CLion``: the same mask on ``u = sign(b1 m + (1 - b1) g)`` (``m <- b2 m + (1 - b2) g`` after);
* ``Grams``: ``p <- p - lr (sign(g) |u| + weight_decay p)`` with Adam's ``u``;
* ``Gravity``: ``zeta = g / (1 + (g M)^2)``, ``M = max |g|``; ``beta_t = (beta t + 1)/(t + 2)``;
  ``v <- beta_t v + (1 - beta_t) zeta`` (``v_0 ~ N(0, (alpha/lr)^2)``); ``p <- p - lr v``.

The cautious mask's mean and Gravity's ``M`` are taken over each parameter tensor (the numpy versions
see one flat vector, so they agree when the model has a single parameter tensor).
"""

from __future__ import annotations

import torch

from optkit.torch_optim._common import NONNEG, POSITIVE, UNIT, check, check_betas


def _closure_loss(closure):
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


class _AdamMoments(torch.optim.Optimizer):
    """Adam's bias-corrected moments and the step loop shared by CAdamW and Grams; a subclass defines
    ``_direction(p, g, group)``, the step before weight decay and the learning rate."""

    def _adam_dir(self, p, g, group):
        st = self.state[p]
        if not st:
            st["step"] = 0
            st["exp_avg"] = torch.zeros_like(p)
            st["exp_avg_sq"] = torch.zeros_like(p)
        b1, b2 = group["betas"]
        st["step"] += 1
        t = st["step"]
        st["exp_avg"].mul_(b1).add_(g, alpha=1 - b1)
        st["exp_avg_sq"].mul_(b2).addcmul_(g, g, value=1 - b2)
        m_hat = st["exp_avg"] / (1 - b1**t)
        v_hat = st["exp_avg_sq"] / (1 - b2**t)
        return m_hat / (v_hat.sqrt() + group["eps"])

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    u = self._direction(p, p.grad, group)
                    p.add_(u + group["weight_decay"] * p, alpha=-group["lr"])
        return loss


def _cautious(u, g):
    phi = (u * g > 0).to(u.dtype)
    return u * phi / max(float(phi.mean()) if phi.numel() else 0.0, 1e-3)


class CAdamW(_AdamMoments):
    """Cautious AdamW (Liang et al. 2024): AdamW's step only where it agrees in sign with the gradient.

    ``cautious=False`` gives plain AdamW (optkit's convention: decay added to the direction, then ``-lr``).
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.01,
                 cautious: bool = True):
        b = check_betas("CAdamW", betas)
        check("CAdamW", {"lr": lr, "eps": eps, "weight_decay": weight_decay},
              {"lr": [POSITIVE], "eps": [NONNEG], "weight_decay": [NONNEG]})
        super().__init__(params, {"lr": lr, "betas": b, "eps": eps, "weight_decay": weight_decay,
                                  "cautious": bool(cautious)})

    def _direction(self, p, g, group):
        u = self._adam_dir(p, g, group)
        return _cautious(u, g) if group["cautious"] else u


class Grams(_AdamMoments):
    """Grams (Cao, Li & Song 2024): Adam's magnitudes with the current gradient's signs."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        b = check_betas("Grams", betas)
        check("Grams", {"lr": lr, "eps": eps, "weight_decay": weight_decay},
              {"lr": [POSITIVE], "eps": [NONNEG], "weight_decay": [NONNEG]})
        super().__init__(params, {"lr": lr, "betas": b, "eps": eps, "weight_decay": weight_decay})

    def _direction(self, p, g, group):
        return torch.sign(g) * self._adam_dir(p, g, group).abs()


class CLion(torch.optim.Optimizer):
    """Cautious Lion (Liang et al. 2024); ``cautious=False`` gives Lion (Chen et al. 2023)."""

    def __init__(self, params, lr: float = 1e-4, betas=(0.9, 0.99), weight_decay: float = 0.0, cautious: bool = True):
        b = check_betas("CLion", betas)
        check("CLion", {"lr": lr, "weight_decay": weight_decay}, {"lr": [POSITIVE], "weight_decay": [NONNEG]})
        super().__init__(params, {"lr": lr, "betas": b, "weight_decay": weight_decay, "cautious": bool(cautious)})

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                st = self.state[p]
                if not st:
                    st["exp_avg"] = torch.zeros_like(p)
                m = st["exp_avg"]
                u = torch.sign(b1 * m + (1 - b1) * g)
                m.mul_(b2).add_(g, alpha=1 - b2)
                if group["cautious"]:
                    u = _cautious(u, g)
                p.add_(u + group["weight_decay"] * p, alpha=-group["lr"])
        return loss


class Gravity(torch.optim.Optimizer):
    """Gravity (Bahrami & Zadeh 2021): a damped-gradient velocity with a warming-up average.

    ``generator`` (a :class:`torch.Generator`) draws the random initial velocity; None uses torch's global one.
    """

    def __init__(self, params, lr: float = 0.1, alpha: float = 0.01, beta: float = 0.9,
                 generator: torch.Generator | None = None):
        check("Gravity", {"lr": lr, "alpha": alpha, "beta": beta},
              {"lr": [POSITIVE], "alpha": [NONNEG], "beta": [UNIT]})
        super().__init__(params, {"lr": lr, "alpha": alpha, "beta": beta})
        self._generator = generator

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr, beta = group["lr"], group["beta"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    z = torch.randn(p.shape, generator=self._generator, dtype=p.dtype, device="cpu").to(p.device)
                    st["velocity"] = z * (group["alpha"] / lr)
                t = st["step"]
                M = float(g.abs().max()) if g.numel() else 0.0
                zeta = g / (1.0 + (g * M) ** 2)
                beta_t = (beta * t + 1.0) / (t + 2.0)
                v = st["velocity"]
                v.mul_(beta_t).add_(zeta, alpha=1.0 - beta_t)
                st["step"] = t + 1
                p.add_(v, alpha=-lr)
        return loss
