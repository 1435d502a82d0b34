"""Prospect: spectral-risk minimization with bias and variance reduction (Mehta, Roulet, Pillutla &
Harchaoui, "Distributionally Robust Optimization with Bias and Variance Reduction", ICLR 2024;
github.com/ronakdm/prospect).

The objective over per-example losses ``l_i(w)`` (problem.loss(w, [i])) and a spectrum
``sigma_1 <= ... <= sigma_n`` (nonnegative, summing to 1) with shift cost ``nu >= 0``::

    R(w) = max_{q in P(sigma)} sum_i q_i l_i(w) - nu * n / 2 * ||q - 1/n||^2

where ``P(sigma)`` is the permutahedron of ``sigma`` (``nu = 0``: the spectral risk, e.g. CVaR).
The maximizer ``q(l)`` is the Euclidean projection of ``1/n + l / (n nu)`` onto ``P(sigma)`` (by
isotonic regression, pool-adjacent-violators); with ``nu = 0`` it sorts ``sigma`` along ``l``.

One iteration at ``w`` (``2b`` oracle calls: a minibatch ``B`` of ``b`` examples from the sampler
and ``b`` distinct examples ``J`` uniform; the paper's method is ``b = 1``)::

    loss table:  l_k <- l_k(w) for k in B and J;  q <- q(l)                 (bias reduction)
    direction:   v = (n/b) sum_{i in B} (q_i grad l_i(w) - rho_i g_i) + gbar   (variance reduction)
    tables:      g_i <- grad l_i(w);  rho_i <- q_i (i in B);  gbar = sum_k rho_k g_k
    step:        w <- w - lr v

The first step also fills the tables at ``w0`` (``n`` calls). A single step size ``lr`` is the only
tuning knob, as in the paper. This implementation refreshes the loss table at the current iterate
(the paper refreshes it at the new one: the same update shifted by one iteration).
"""

from __future__ import annotations

import numpy as np

from optkit.core import transforms as tx
from optkit.core.errors import InvalidParameterError
from optkit.core.gradient import COMMON_CONSTRAINTS, POSITIVE, GradientOptimizer
from optkit.core.params import Interval, Options
from optkit.core.registry import register

SPECTRA = ("cvar", "extremile", "esrm", "erm")


def spectrum(name: str, n: int, param: float | None = None) -> np.ndarray:
    """The discretized spectrum ``sigma_i = int_{(i-1)/n}^{i/n} s(t) dt`` (ascending, sums to 1).

    ``cvar`` (superquantile) at level ``param = alpha`` in (0, 1]: ``s(t) = 1[t >= 1 - alpha] / alpha``;
    ``extremile`` with ``param = r >= 1``: ``s(t) = r t^(r-1)``; ``esrm`` with ``param = rho > 0``:
    ``s(t) = rho e^(rho t) / (e^rho - 1)``; ``erm``: ``1/n`` each.
    """
    if name not in SPECTRA:
        raise InvalidParameterError(f"spectrum: 'name' must be one of {SPECTRA}; got {name!r}")
    t = np.arange(n + 1) / n
    if name == "erm":
        cdf = t
    elif name == "cvar":
        a = 0.5 if param is None else float(param)
        if not 0 < a <= 1:
            raise InvalidParameterError(f"spectrum: the cvar level must be in (0, 1]; got {param!r}")
        cdf = np.maximum(t - (1 - a), 0.0) / a
    elif name == "extremile":
        r = 2.0 if param is None else float(param)
        if not r >= 1:
            raise InvalidParameterError(f"spectrum: the extremile parameter must be >= 1; got {param!r}")
        cdf = t ** r
    else:
        rho = 1.0 if param is None else float(param)
        if not rho > 0:
            raise InvalidParameterError(f"spectrum: the esrm parameter must be > 0; got {param!r}")
        cdf = np.expm1(rho * t) / np.expm1(rho)
    s = np.diff(cdf)
    return s / s.sum()


def _isotonic_decreasing(y: np.ndarray) -> np.ndarray:
    """argmin_{v_1 >= ... >= v_n} ||v - y||^2 (pool adjacent violators)."""
    vals, sizes = [], []
    for x in y:
        vals.append(float(x))
        sizes.append(1)
        while len(vals) > 1 and vals[-2] < vals[-1]:
            s = sizes[-2] + sizes[-1]
            vals[-2] = (vals[-2] * sizes[-2] + vals[-1] * sizes[-1]) / s
            sizes[-2] = s
            vals.pop()
            sizes.pop()
    return np.repeat(vals, sizes)


def max_weights(losses, sigma, shift_cost: float = 0.0) -> np.ndarray:
    """``q(l) = argmax_{q in P(sigma)} q.l - shift_cost n/2 ||q - 1/n||^2`` (``sigma`` ascending)."""
    losses = np.asarray(losses, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    n = losses.size
    order = np.argsort(-losses, kind="stable")  # descending losses
    q = np.empty(n)
    if shift_cost == 0:
        q[order] = sigma[::-1]
        return q
    z = 1.0 / n + losses[order] / (n * shift_cost)  # descending
    q[order] = z - _isotonic_decreasing(z - sigma[::-1])
    return q


def spectral_risk(losses, sigma, shift_cost: float = 0.0) -> float:
    """``max_{q in P(sigma)} q.l - shift_cost n/2 ||q - 1/n||^2`` for a vector of per-example losses."""
    losses = np.asarray(losses, dtype=np.float64)
    q = max_weights(losses, sigma, shift_cost)
    n = losses.size
    return float(q @ losses - shift_cost * n / 2 * np.sum((q - 1.0 / n) ** 2))


def spectral_objective(problem, w, sigma, shift_cost: float = 0.0) -> float:
    """The spectral risk of ``problem``'s per-example losses at ``w`` (uncounted evaluations)."""
    losses = [problem.loss(w, np.array([i])) for i in range(problem.n_examples)]
    return spectral_risk(losses, sigma, shift_cost)


@register("prospect", family="first_order")
class Prospect(GradientOptimizer):
    """Prospect: SAGA-like variance reduction on the gradients, a refreshed loss table for the weights."""

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "lr": [POSITIVE],
        "spectrum": [Options(SPECTRA)],
        "risk_param": [Interval(float, 0, None, closed="neither"), None],
        "shift_cost": [Interval(float, 0, None)],
    }

    def __init__(self, space, *, lr: float = 0.01, spectrum: str = "cvar", risk_param: float | None = 0.5,
                 shift_cost: float = 1.0, batch_size: int = 1, sampling: str = "iid", seed=None):
        super().__init__(space, lr=lr, spectrum=spectrum, risk_param=risk_param, shift_cost=shift_cost,
                         batch_size=batch_size, sampling=sampling, seed=seed)
        self._n = None
        self._tab = None

    def _build(self) -> tx.Transform:
        return tx.scale_by_learning_rate(self.lr)

    def oracle_cost(self, b: int, step: int) -> int:
        fill = self._tab is None or self._tab["t0"] == step  # the step that fills the tables
        return 2 * b + (self._n or 0) * fill

    def minimize(self, problem, budget, *, callback=None, progress=False, journal=None, executor=None):
        n = getattr(problem, "n_examples", None)
        if n is not None and self._n not in (None, n):
            raise InvalidParameterError(f"Prospect.minimize: the problem has {n} examples; its tables hold {self._n}")
        self._n = n
        return super().minimize(problem, budget, callback=callback, progress=progress, journal=journal,
                                executor=executor)

    def _oracle(self, problem, w, idx):
        n = self._n
        if self._tab is None:
            sigma = spectrum(self.spectrum, n, self.risk_param)
            G = np.empty((n, w.size))
            L = np.empty(n)
            for k in range(n):
                L[k], G[k] = problem.loss_and_grad(w, np.array([k]))
            rho = max_weights(L, sigma, self.shift_cost)
            self._tab = {"sigma": sigma, "L": L, "G": G, "rho": rho, "gbar": rho @ G, "t0": self._t}
        tab = self._tab
        i = np.arange(n) if idx is None else np.asarray(idx)
        j = self.rng.choice(n, i.size, replace=False)
        gi = np.empty((i.size, w.size))
        for r, k in enumerate(i):
            tab["L"][k], gi[r] = problem.loss_and_grad(w, np.array([k]))
        for k in j:
            tab["L"][k] = problem.loss(w, np.array([k]))
        q = max_weights(tab["L"], tab["sigma"], self.shift_cost)
        diff = q[i] @ gi - tab["rho"][i] @ tab["G"][i]
        v = (n / i.size) * diff + tab["gbar"]
        tab["gbar"] = tab["gbar"] + diff
        tab["G"][i], tab["rho"][i] = gi, q[i]
        loss = float(q @ tab["L"])
        return loss, v, v

    def _get_state(self) -> dict:
        return {**super()._get_state(), "n": self._n, "tab": self._tab}

    def _set_state(self, state: dict) -> None:
        super()._set_state(state)
        self._n, self._tab = state.get("n"), state.get("tab")
