"""Zeroth-order stochastic Frank-Wolfe: gradient-free *and* projection-free (Sahu, Zaheer & Kar,
"Towards gradient free and projection free stochastic optimization", AISTATS 2019).

Per iteration t at the iterate x_t (in the feasible set C of ``lmo``), with m = ``n_directions``::

    z_j ~ N(0, I_d),  j = 1..m                                  (fresh Gaussian directions)
    g_t = (1/m) sum_j (f(x_t + c_t z_j) - f(x_t)) / c_t * z_j   (RDSA; m > 1 is the paper's I-RDSA)
    d_t = (1 - rho_t) d_{t-1} + rho_t g_t,  d_0 = 0             (the averaged gradient estimate)
    v_t = argmin_{s in C} <d_t, s>                              (one LMO call, no projection)
    x_t+1 = (1 - gamma_t) x_t + gamma_t v_t

with the convex-case schedules of the paper: gamma_t = 2 / (t + 8), rho_t = 4 / ((1 + d/m)^(1/3)
(t + 8)^(2/3)), and c_t = smoothing / (t + 8)^(1/3), ``smoothing`` defaulting to the paper's RDSA
constant 2 / d^(3/2) for every m (the bias of the estimate, O(c_t d^(3/2)), does not depend on m). One
iteration costs m + 1 evaluations (one directional derivative per
direction); the averaging makes the biased, high-variance RDSA estimate usable, at the rate
E f(x_T) - f* = O(d^(1/3) / T^(1/3)).

Through ask/tell: each ``ask`` round serves the base point x_t and then its perturbed points (the
evaluations can run in parallel); a round ends, and the Frank-Wolfe step is taken, once every asked
point is told. Asking more points than ``n_directions + 1`` adds directions to the same round (all are
averaged). A perturbed point outside the space's box is clipped into it and its estimate uses the
actual displacement delta (``(f(x + delta) - f(x)) delta / c^2``). If the base point fails
(``on_error="skip"``), the round is dropped and repeated at the same x_t.

``res.x`` is the best *evaluated* point (optkit's convention): with the default feasible set (the
space's box) every evaluated point is feasible; with a smaller ``lmo`` a perturbed point can lie up
to about c_t outside the set, so ``res.x_iterate`` (the last Frank-Wolfe iterate, always in the set)
is the point to use then. ``res.gap_estimate`` is <d_t, x_t - v_t>, the gap of the estimated gradient.
"""

from __future__ import annotations

import math

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.optimizer import Optimizer, _key
from optkit.core.params import POINT, Interval
from optkit.core.registry import register
from optkit.core.space import Box, clip
from optkit.zeroth_order.frank_wolfe import LMO_CONSTRAINT, _resolve_lmo


@register("zo-frank-wolfe", family="zeroth_order")
class ZOFrankWolfe(Optimizer):
    """Zeroth-order stochastic Frank-Wolfe (see the module docstring).

    Parameters
    ----------
    space : Box or SearchSpace
        With ``lmo=None`` its box (the encoded unit cube for a SearchSpace) is the feasible set.
    lmo : LMO or dict, optional
        The feasible set (a Box space only; the space must contain it), or its JSON spec
        ``lmo.spec()``: a journaled run (``minimize(..., journal=...)``) needs the spec.
    n_directions : int
        Gaussian directions per iteration (m; 1 is the paper's RDSA, m > 1 its I-RDSA).
    smoothing : float, optional
        c_0 of the perturbation size c_t = c_0 / (t + 8)^(1/3); default 2 / d^(3/2).
    x0 : array (d,), optional
        Start (default: the LMO's vertex ``lmo.start(d)``); projected onto the set if outside it.
    seed : int, optional

    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float(((x - 0.3) ** 2).sum()), [(-1, 1)] * 2, method="zo-frank-wolfe",
    ...                       budget=2000, seed=0)
    >>> bool(res.fun < 1e-3)
    True
    """

    needs_bounds = False
    _parameter_constraints = {
        "lmo": [None, LMO_CONSTRAINT],
        "n_directions": [Interval(int, 1, None)],
        "smoothing": [None, Interval(float, 0, None, closed="neither")],
        "x0": [None, POINT],
    }

    def __init__(self, space, *, lmo=None, n_directions: int = 1, smoothing: float | None = None, x0=None, seed=None):
        super().__init__(space, seed=seed, lmo=lmo, n_directions=n_directions, smoothing=smoothing, x0=x0)
        owner = type(self).__name__
        if smoothing is not None and not math.isfinite(smoothing):
            raise InvalidParameterError(f"The 'smoothing' parameter of {owner} must be finite. Got {smoothing!r} instead.")
        if lmo is not None and not isinstance(self.space, Box):
            raise InvalidParameterError(f"{owner}: an 'lmo' needs a Box space; got {type(self.space).__name__}")
        lo, hi = self.space.encoded_lower, self.space.encoded_upper
        self.lmo_ = _resolve_lmo(owner, Box(lo, hi), lmo)
        d = self.dim
        self.c0_ = float(smoothing) if smoothing is not None else 2.0 / d**1.5
        if x0 is None:
            x = self.lmo_.start(d)
        else:
            x = np.asarray(x0, dtype=np.float64).reshape(-1)
            if x.size != d:
                raise InvalidParameterError(f"{owner}: 'x0' must have {d} entries; got {x.size}")
            x = self.space.encode(x)[0]
        self.start_projected_ = not self.lmo_.contains(x)
        self.x_ = self.lmo_.project_start(x) if self.start_projected_ else x
        self.d_ = np.zeros(d)
        self.t_ = 0
        self.gap_ = float("nan")
        self._round: dict | None = None

    @property
    def batch_size(self) -> int:
        return self.n_directions + 1

    # -- schedules --------------------------------------------------------------------------------
    def _c(self) -> float:
        return self.c0_ / (self.t_ + 8.0) ** (1.0 / 3.0)

    def _rho(self) -> float:
        return min(1.0, 4.0 / ((1.0 + self.dim / self.n_directions) ** (1.0 / 3.0) * (self.t_ + 8.0) ** (2.0 / 3.0)))

    def _gamma(self) -> float:
        return 2.0 / (self.t_ + 8.0)

    # -- ask/tell ---------------------------------------------------------------------------------
    def _ask(self, n: int) -> np.ndarray:
        r = self._round
        if r is None:
            r = self._round = {"Z": [], "y": [], "state": []}  # state: 0 asked, 1 told, 2 forgotten
        out = []
        lo, hi = self.space.encoded_lower, self.space.encoded_upper
        for _ in range(n):
            if not r["Z"]:
                z = self.x_.copy()
            else:
                z = clip(self.x_ + self._c() * self.rng.standard_normal(self.dim), lo, hi)
            r["Z"].append(z)
            r["y"].append(np.nan)
            r["state"].append(0)
            out.append(z)
        return np.array(out)

    def _find(self, z) -> int:
        r = self._round
        k = _key(z)
        for j, (zj, s) in enumerate(zip(r["Z"], r["state"])):
            if s == 0 and _key(zj) == k and np.array_equal(zj, z):
                return j
        raise InvalidParameterError(f"{type(self).__name__}: a told point does not belong to the open round")

    def _tell(self, Z, y, C) -> None:
        for z, v in zip(Z, y):
            j = self._find(z)
            self._round["y"][j], self._round["state"][j] = float(v), 1
        self._maybe_step()

    def _discard(self, Z) -> None:
        for z in Z:
            self._round["state"][self._find(z)] = 2
        self._maybe_step()

    def _maybe_step(self) -> None:
        r = self._round
        if r is None or 0 in r["state"]:
            return
        self._round = None
        if r["state"][0] != 1 or 1 not in r["state"][1:]:
            return  # the base point or every direction failed: repeat the round at the same x_t
        c, y0 = self._c(), r["y"][0]
        g = np.zeros(self.dim)
        used = 0
        for z, y, s in zip(r["Z"][1:], r["y"][1:], r["state"][1:]):
            if s == 1:
                g += (y - y0) * (z - self.x_) / (c * c)
                used += 1
        g /= used
        rho = self._rho()
        self.d_ = (1.0 - rho) * self.d_ + rho * g
        v = self.lmo_.lmo(self.d_)
        self.gap_ = float(self.d_ @ (self.x_ - v))
        gamma = self._gamma()
        self.x_ = (1.0 - gamma) * self.x_ + gamma * v
        self.t_ += 1

    # -- result and state -------------------------------------------------------------------------
    def result_extras(self) -> dict:
        return {"x_iterate": self.space.decode(self.x_[None, :])[0], "gap_estimate": self.gap_,
                "iterations": self.t_, "start_projected": self.start_projected_}

    def _get_state(self) -> dict:
        r = self._round
        return {"x": self.x_.copy(), "d": self.d_.copy(), "t": self.t_, "gap": self.gap_,
                "round": None if r is None else {"Z": np.array(r["Z"]), "y": np.array(r["y"]),
                                                 "state": np.array(r["state"], dtype=np.int64)}}

    def _set_state(self, state: dict) -> None:
        self.x_ = np.asarray(state["x"], dtype=np.float64)
        self.d_ = np.asarray(state["d"], dtype=np.float64)
        self.t_, self.gap_ = int(state["t"]), float(state["gap"])
        r = state["round"]
        self._round = None if r is None else {
            "Z": [np.array(z, dtype=np.float64) for z in np.asarray(r["Z"])],
            "y": [float(v) for v in np.asarray(r["y"])], "state": [int(s) for s in np.asarray(r["state"])]}


__all__ = ["ZOFrankWolfe"]
