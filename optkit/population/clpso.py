"""Comprehensive Learning Particle Swarm Optimizer (CLPSO), Liang, Qin, Suganthan & Baskar 2006.

Each particle learns, dimension by dimension, from the best position of an *exemplar* particle:

    v_d <- w v_d + c U_d (pbest[f_i(d)]_d - x_d),   v_d clamped to +-vmax_d,   x <- x + v

f_i(d) is particle i's exemplar for dimension d. With probability Pc_i it is the winner of a binary
tournament between two other particles' pbest values, otherwise i itself; if all d exemplars are i,
one random dimension learns from a tournament winner. Learning probabilities grow with the index:

    Pc_i = 0.05 + 0.45 (exp(10 (i - 1) / (ps - 1)) - 1) / (exp(10) - 1),   i = 1..ps

so some particles mostly exploit their own best and others mix many. The exemplars of a particle are
drawn again when it has not improved its pbest for m (refresh gap, 7) generations in a row. The
inertia weight decreases linearly from 0.9 to 0.4 over the run, c = 1.49445, and vmax is 20% of the
box width.

Bounds (the paper's rule, in ask/tell form): particles may fly out of the box. The paper does not
evaluate a particle outside the box; here every asked point is evaluated, so the point evaluated is
the particle clipped into the box, and that value does *not* update the particle's pbest (nor its
no-improvement counter) -- as in the paper, the exemplars, which are all inside the box, pull it
back. The value still counts for the run's best (the history holds it).

Differences from the authors' MATLAB code (CLPSO_new_func.m), which was released later with other
settings: that code uses Pc_i from 0 to 0.5 with exp(5 t), w from 0.9 to 0.2, a gap of 5 counted as
total (not consecutive) failures since the last refresh, and tournaments that may include the
particle itself. This module follows the paper's text.

Run length: the inertia schedule needs the number of generations, taken as ``max_evals / popsize``
(``max_evals`` default 3000 d, the paper's 30,000 evaluations at d = 10); set ``max_evals`` to your
budget. After that w stays at its final value.

Reference: J. J. Liang, A. K. Qin, P. N. Suganthan, S. Baskar, "Comprehensive learning particle swarm
optimizer for global optimization of multimodal functions", IEEE Transactions on Evolutionary
Computation 10(3):281-295, 2006.
"""

from __future__ import annotations

import math

import numpy as np

import optkit_native.population_kernels  # noqa: F401  (registers the kernels)
from optkit.core.params import POINT, Interval
from optkit.core.registry import register
from optkit.population._base import PopulationOptimizer
from optkit.population.pso import init_region, swarm_collapsed
from optkit_native import kernel


def learning_probabilities(ps: int) -> np.ndarray:
    """The paper's Pc_i = 0.05 + 0.45 (exp(10 (i-1)/(ps-1)) - 1) / (exp(10) - 1) for i = 1..ps."""
    t = 10.0 * np.arange(ps) / (ps - 1)
    return 0.05 + 0.45 * np.expm1(t) / math.expm1(10.0)


def choose_exemplars(rng: np.random.Generator, i: int, pc: float, fbest: np.ndarray, d: int) -> np.ndarray:
    """Particle ``i``'s exemplar index per dimension (d,): a tournament winner among two other
    particles (by pbest value) with probability ``pc``, else ``i``; at least one dimension learns
    from another particle."""
    n = len(fbest)
    others = np.delete(np.arange(n), i)
    a = others[rng.integers(0, n - 1, size=d)]
    b = others[rng.integers(0, n - 1, size=d)]
    winner = np.where(fbest[a] <= fbest[b], a, b)
    learn = rng.random(d) < pc
    if not learn.any():
        learn[rng.integers(0, d)] = True
    return np.where(learn, winner, i)


@register("clpso", family="population")
class CLPSO(PopulationOptimizer):
    """Comprehensive Learning Particle Swarm Optimizer.

    When to use: multimodal problems, especially separable or nearly separable ones (Rastrigin,
    Schwefel, Griewank types), with a generous budget (thousands of evaluations per dimension). It
    keeps the swarm diverse and is slow on unimodal problems: for those use CMA-ES or ``"pso"``.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    popsize : int, optional
        Swarm size ps (default: 10 for d <= 10, else 40, the paper's settings for 10-D and 30-D).
    refresh_gap : int
        m, generations in a row without improvement of a particle's pbest before its exemplars are
        drawn again.
    c : float
        Acceleration coefficient.
    w_start, w_end : float
        Inertia weight at the first and at the last generation (linear in between).
    vmax_frac : float
        Velocity clamp as a fraction of the box width per coordinate.
    max_evals : int, optional
        Planned run length for the inertia schedule (default 3000 d).
    x0 : array (d,), optional
        If given, particle 0 starts at ``x0`` and the others uniformly in the box intersected with
        x0 +- 2 sigma0 (default: the whole box).
    sigma0 : float, optional
        Size of that initial region (used only with ``x0``; default 0.3 of the box's mean width).
    tolx : float
        Stop (status converged) when the spread of the positions and of the pbests and every
        velocity component are below ``tolx`` times the box's mean width.
    seed : int, optional

    Examples
    --------
    >>> import numpy as np, optkit
    >>> rastrigin = lambda x: float(10 * len(x) + np.sum(x ** 2 - 10 * np.cos(2 * np.pi * x)))
    >>> res = optkit.minimize(rastrigin, [(-5.12, 5.12)] * 4, method="clpso", budget=12000,
    ...                       max_evals=12000, seed=0)
    >>> bool(res.fun < 1e-6)
    True
    """

    needs_bounds = True
    _parameter_constraints = {
        "popsize": [None, Interval(int, 3, None)],
        "refresh_gap": [Interval(int, 1, None)],
        "c": [Interval(float, 0, None, closed="neither")],
        "w_start": [Interval(float, 0, 1)],
        "w_end": [Interval(float, 0, 1)],
        "vmax_frac": [Interval(float, 0, 1, closed="right")],
        "max_evals": [None, Interval(int, 1, None)],
        "x0": [None, POINT],
        "sigma0": [None, Interval(float, 0, None, closed="neither")],
        "tolx": [Interval(float, 0, None)],
    }

    def __init__(self, space, *, popsize=None, refresh_gap=7, c=1.49445, w_start=0.9, w_end=0.4, vmax_frac=0.2,
                 max_evals=None, x0=None, sigma0=None, tolx=1e-12, seed=None):
        super().__init__(space, seed=seed, popsize=popsize, refresh_gap=refresh_gap, c=c, w_start=w_start,
                         w_end=w_end, vmax_frac=vmax_frac, max_evals=max_evals, x0=x0, sigma0=sigma0, tolx=tolx)
        self.popsize_ = popsize or (10 if self.dim <= 10 else 40)
        self.max_gen_ = max(1, (max_evals or 3000 * self.dim) // self.popsize_)
        self.pc_ = learning_probabilities(self.popsize_)
        self.vmax_ = vmax_frac * (self.space.encoded_upper - self.space.encoded_lower)
        self.init_low_, self.init_high_, self.x0_ = init_region(self, x0, sigma0)
        self.width_ = float(np.mean(self.space.encoded_upper - self.space.encoded_lower))
        self.x_ = self.v_ = self.p_ = self.fp_ = self.exemplars_ = self.stall_ = None
        self.gen_ = 0
        self._velocities: list[np.ndarray] = []  # the velocity of each sampled generation not yet told

    def inertia(self, generation: int) -> float:
        """w at a generation (0 = the first move), linear from w_start to w_end over max_gen_."""
        frac = min(1.0, generation / self.max_gen_)
        return self.w_start + (self.w_end - self.w_start) * frac

    def _refresh(self, i: int) -> None:
        self.exemplars_[i] = choose_exemplars(self.rng, i, self.pc_[i], self.fp_, self.dim)
        self.stall_[i] = 0

    # -- generations ---------------------------------------------------------------------------
    def _sample(self) -> np.ndarray:
        if self.x_ is None:  # the initial swarm
            a, b = self.init_low_, self.init_high_
            X = a + self.rng.random((self.popsize_, self.dim)) * (b - a)
            if self.x0_ is not None:
                X[0] = self.x0_
            self._velocities.append((2 * self.rng.random(X.shape) - 1) * self.vmax_)
            return X
        # clip(w v + c U (pbest[exemplar]_d - x), -vmax, vmax) in one pass (numba, or its numpy twin)
        V = kernel("clpso_velocity")(self.x_, self.v_, self.p_, self.exemplars_, self.rng.random(self.x_.shape),
                                     self.inertia(self.gen_), self.c, self.vmax_)
        self._velocities.append(V)
        return self.x_ + V

    def _update(self, Z, Zeval, y, C) -> None:
        V = self._velocities.pop(0)
        if self.x_ is None:
            self.x_, self.v_, self.p_, self.fp_ = Z.copy(), V, Zeval.copy(), y.copy()
            self.exemplars_ = np.empty((self.popsize_, self.dim), dtype=np.int64)
            self.stall_ = np.zeros(self.popsize_, dtype=np.int64)
            for i in range(self.popsize_):
                self._refresh(i)
            return
        self.x_, self.v_ = Z.copy(), V
        self.gen_ += 1
        inside = np.all(Z == Zeval, axis=1)
        better = inside & (y < self.fp_)
        self.p_[better] = Z[better]
        self.fp_[better] = y[better]
        self.stall_[better] = 0
        self.stall_[inside & ~better] += 1
        for i in np.flatnonzero(self.stall_ >= self.refresh_gap):
            self._refresh(int(i))

    def stop_reason(self) -> str | None:
        return swarm_collapsed(self.x_, self.p_, self.v_, self.tolx * self.width_)

    # -- state ---------------------------------------------------------------------------------
    def _state(self) -> dict:
        state = {"velocities": list(self._velocities), "gen": self.gen_}
        if self.x_ is not None:
            state.update(x=self.x_, v=self.v_, p=self.p_, fp=self.fp_, exemplars=self.exemplars_, stall=self.stall_)
        return state

    def _load(self, state: dict) -> None:
        self._velocities = [np.asarray(v, dtype=np.float64) for v in state["velocities"]]
        self.gen_ = int(state["gen"])
        if "x" not in state:
            self.x_ = self.v_ = self.p_ = self.fp_ = self.exemplars_ = self.stall_ = None
            return
        self.x_ = np.asarray(state["x"], dtype=np.float64)
        self.v_ = np.asarray(state["v"], dtype=np.float64)
        self.p_ = np.asarray(state["p"], dtype=np.float64)
        self.fp_ = np.asarray(state["fp"], dtype=np.float64)
        self.exemplars_ = np.asarray(state["exemplars"], dtype=np.int64)
        self.stall_ = np.asarray(state["stall"], dtype=np.int64)
