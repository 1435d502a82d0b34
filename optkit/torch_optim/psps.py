"""PSPS, SGD with the preconditioned stochastic Polyak step (Abdukhakimov et al. 2024), as a
:class:`torch.optim.Optimizer`.

The update of :class:`optkit.first_order.polyak.PSPS`: with the loss ``f`` and gradient ``g`` of the
closure and a diagonal preconditioner ``D`` (per parameter tensor, elementwise)::

    p_i = D_i^{-1} g_i,    gamma = (f - f_star) / (c sum_i <g_i, p_i>)   (0 if f <= f_star or the sum <= 1e-12;
                                                                          min(gamma, gamma_max) if given)
    w_i <- w_i - gamma p_i

with ``D`` from ``preconditioner``: ``"hutchinson"`` (``D <- beta D + (1 - beta) z * (H z)``, z
Rademacher, first step started from the mean of ``init_samples`` probes, ``p = g / max(alpha, |D|)``;
Hessian-vector products by double backward), ``"adam"`` (``p = g / (sqrt(v / (1 - beta^t)) + eps)``),
``"adagrad"`` (``p = g / (sqrt(sum g^2) + eps)``) or ``"none"`` (SPS). The sum in ``gamma`` runs over
every parameter of every group (one loss, one step size); ``c``, ``f_star`` and ``gamma_max`` are read
from each group.

``step(closure)`` is required: the closure returns the loss tensor and must not call ``backward()``
(the optimizer differentiates it, twice for Hutchinson, and writes ``p.grad``).
"""

from __future__ import annotations

import torch

from optkit.core.errors import InvalidParameterError
from optkit.core.params import Interval, Options
from optkit.torch_optim._common import NONNEG, POSITIVE, UNIT, check, grads_with_graph, hvp

_REAL = Interval(float, None, None)


class PSPS(torch.optim.Optimizer):
    """SGD with the preconditioned stochastic Polyak step size (Hutchinson, Adam, AdaGrad or no metric)."""

    def __init__(self, params, preconditioner: str = "hutchinson", c: float = 1.0, f_star: float = 0.0,
                 gamma_max: float | None = None, beta: float = 0.999, alpha: float = 1e-5, eps: float = 1e-8,
                 init_samples: int = 10, generator: torch.Generator | None = None):
        check("PSPS", {"preconditioner": preconditioner, "c": c, "f_star": f_star, "gamma_max": gamma_max,
                       "beta": beta, "alpha": alpha, "eps": eps, "init_samples": init_samples},
              {"preconditioner": [Options(("hutchinson", "adam", "adagrad", "none"))], "c": [POSITIVE],
               "f_star": [_REAL], "gamma_max": [POSITIVE, None], "beta": [UNIT], "alpha": [POSITIVE],
               "eps": [NONNEG], "init_samples": [Interval(int, 1, None)]})
        super().__init__(params, {"preconditioner": preconditioner, "c": c, "f_star": f_star, "gamma_max": gamma_max,
                                  "beta": beta, "alpha": alpha, "eps": eps, "init_samples": int(init_samples)})
        self._generator = generator

    def _probe(self, p):
        z = torch.randint(0, 2, p.shape, generator=self._generator, device="cpu").to(dtype=p.dtype, device=p.device)
        return 2.0 * z - 1.0

    @torch.no_grad()
    def step(self, closure=None):
        if closure is None:
            raise InvalidParameterError(
                "PSPS.step needs a closure that returns the loss (the Polyak step size uses the loss value); "
                "got closure=None. Pass e.g. opt.step(lambda: loss_fn(model(x), y)).")
        items = [(p, group) for group in self.param_groups for p in group["params"] if p.requires_grad]
        params = [p for p, _ in items]
        hutch = [(p, group) for p, group in items if group["preconditioner"] == "hutchinson"]
        with torch.enable_grad():
            loss = closure()
            grads = grads_with_graph(loss, params, create_graph=bool(hutch))
            if hutch:
                idx = {id(p): i for i, p in enumerate(params)}
                hp = [p for p, _ in hutch]
                hg = [grads[idx[id(p)]] for p in hp]

                def probes():
                    zs = [self._probe(p) for p in hp]
                    return [z * hz for z, hz in zip(zs, hvp(hg, hp, zs))]

                for p in hp:
                    self.state[p].setdefault("ready", False)
                if not self.state[hp[0]]["ready"]:
                    n = hutch[0][1]["init_samples"]
                    acc = [torch.zeros_like(p) for p in hp]
                    for _ in range(n):
                        acc = [a + e for a, e in zip(acc, probes())]
                    for (p, _), a in zip(hutch, acc):
                        self.state[p]["D"] = a / n
                        self.state[p]["ready"] = True
                for (p, group), e in zip(hutch, probes()):
                    self.state[p]["D"].mul_(group["beta"]).add_(e, alpha=1 - group["beta"])
        grads = [g.detach() for g in grads]
        directions = []
        for (p, group), g in zip(items, grads):
            p.grad = g
            st, kind = self.state[p], group["preconditioner"]
            if kind == "hutchinson":
                d = g / torch.clamp(st["D"].abs(), min=group["alpha"])
            elif kind == "adam":
                if "v" not in st:
                    st["v"], st["step"] = torch.zeros_like(p), 0
                st["step"] += 1
                st["v"].mul_(group["beta"]).addcmul_(g, g, value=1 - group["beta"])
                d = g / ((st["v"] / (1 - group["beta"] ** st["step"])).sqrt() + group["eps"])
            elif kind == "adagrad":
                if "s" not in st:
                    st["s"] = torch.zeros_like(p)
                st["s"].addcmul_(g, g)
                d = g / (st["s"].sqrt() + group["eps"])
            else:
                d = g
            directions.append(d)
        denom = float(sum((g * d).sum() for g, d in zip(grads, directions))) if items else 0.0
        f = float(loss.detach())
        for (p, group), d in zip(items, directions):
            gap = f - group["f_star"]
            gamma = gap / (group["c"] * denom) if (denom > 1e-12 and gap > 0) else 0.0
            if group["gamma_max"] is not None:
                gamma = min(gamma, group["gamma_max"])
            self.state[p]["step_size"] = gamma
            p.add_(d, alpha=-gamma)
        return loss
