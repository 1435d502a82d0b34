"""Standard Particle Swarm Optimisation 2011 (SPSO-2011), Clerc's reference PSO.

Each particle i has a position x, a velocity v, its best position p (value f(p)) and a set of
informants, the particles that tell it their best positions. With l the best p among i's informants,
one move is (Clerc 2012, section "SPSO 2011"):

    G  = x + c (p + l - 2x) / 3          centre of gravity of x, x + c(p - x), x + c(l - x)
    G  = x + c (p - x) / 2               when i is its own best informant (l is p)
    x' ~ a random point in the hypersphere H(G, ||G - x||)
    v <- w v + x' - x ;  x <- x + v

with w = 1 / (2 ln 2) ~ 0.721 and c = 1/2 + ln 2 ~ 1.193. Sampling in a sphere instead of per
coordinate makes the move rotation invariant (SPSO-2006's per-coordinate update is not).

The point x' has a uniformly distributed direction; its distance to G is ||G - x|| U, uniform along
the radius (``sphere_sampling="radius"``), which is the default of Clerc's SPSO-2011 C code
(``param.distrib = 0``, marked there as the suggested value; the point is then denser near G than a
uniform point of the ball). ``sphere_sampling="volume"`` draws x' uniformly in the ball (distance
||G - x|| U^(1/d), the code's ``distrib = -1``). Measured here: with "volume" in d = 10, a particle
that is its own best informant does not contract (the expected squared step ||x' - G||^2 is
d/(d+2) r^2 instead of r^2/3), and the swarm stalls near 1e-2 on the sphere function, so
"radius" is the default.

Topology ("adaptive random"): each particle informs itself and ``n_informants`` = K particles drawn
at random (with replacement); the links are redrawn after every generation in which the best value
found by the swarm did not improve.

Confinement (the SPSO-2011 rule): a coordinate that leaves the box is set on the bound and its
velocity component becomes -0.5 v_d, so the points asked are always inside the box.

Generations: one generation moves the whole swarm once (synchronous update; the reference C code
moves the particles one after the other, asynchronously, which the ask/tell batch model cannot
express without giving up batch evaluation). Initialisation: positions uniform in the box, velocities
uniform in [lower - x, upper - x] (so that x + v is in the box), p = x.

References: M. Clerc, "Standard Particle Swarm Optimisation", technical report, HAL hal-00764996,
2012; M. Zambrano-Bigiarini, M. Clerc, R. Rojas, "Standard Particle Swarm Optimisation 2011 at
CEC-2013: A baseline for future PSO improvements", IEEE CEC 2013, pp. 2337-2344.
"""

from __future__ import annotations

import math

import numpy as np

import optkit_native.population_kernels  # noqa: F401  (registers the kernels)
from optkit.core.params import POINT, Interval, Options
from optkit.core.registry import register
from optkit.population._base import PopulationOptimizer
from optkit_native import kernel

W_SPSO = 1.0 / (2.0 * math.log(2.0))
C_SPSO = 0.5 + math.log(2.0)


def sample_in_spheres(rng: np.random.Generator, centres: np.ndarray, radii: np.ndarray, how: str = "radius") -> np.ndarray:
    """One random point in each hypersphere H(centres[i], radii[i]) (n, d).

    The direction is a normalized Gaussian vector (uniform on the sphere). The distance to the
    centre is r U with ``how="radius"`` (uniform along the radius, denser near the centre: the
    default of Clerc's SPSO-2011 C code, ``distrib = 0``) or r U^(1/d) with ``how="volume"``
    (uniform in the ball's volume, the code's ``distrib = -1``).
    """
    centres = np.asarray(centres, dtype=np.float64)
    n, d = centres.shape
    direction = rng.standard_normal((n, d))
    norm = np.linalg.norm(direction, axis=1)
    norm[norm == 0.0] = 1.0
    u = rng.random(n)
    scale = np.asarray(radii, dtype=np.float64) * (u if how == "radius" else u ** (1.0 / d)) / norm
    return centres + direction * scale[:, None]


def random_links(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """The adaptive random topology: ``links[j, i]`` is True when particle j informs particle i.

    Each particle informs itself and ``k`` particles drawn uniformly with replacement.
    """
    links = np.eye(n, dtype=bool)
    links[np.repeat(np.arange(n), k), rng.integers(0, n, size=n * k)] = True
    return links


def best_informants(links: np.ndarray, fbest: np.ndarray) -> np.ndarray:
    """Index of each particle's best informant (the particle itself on ties, as in Clerc's code)."""
    n = len(fbest)
    masked = np.where(links, fbest[:, None], np.inf)
    g = np.argmin(masked, axis=0)
    own = fbest <= fbest[g]
    g[own] = np.arange(n)[own]
    return g


def spso_centres(x: np.ndarray, p: np.ndarray, lbest: np.ndarray, own: np.ndarray, c: float) -> np.ndarray:
    """SPSO-2011's centres of gravity G (n, d); ``own[i]`` when particle i is its own best informant.

    ``PSO`` runs this, :func:`sample_in_spheres` (with the same draws) and the confinement fused in
    ``optkit_native.population_kernels.spso_move``.
    """
    three = x + c * (p + lbest - 2.0 * x) / 3.0
    two = x + c * (p - x) / 2.0
    return np.where(own[:, None], two, three)


def init_region(opt, x0, sigma0) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The box where the first population is drawn: the whole (encoded) box, or the box intersected
    with x0 +- 2 sigma0 when ``x0`` is given. Returns (low, high, x0 encoded or None)."""
    lo, hi = opt.space.encoded_lower, opt.space.encoded_upper
    if x0 is None:
        return lo.copy(), hi.copy(), None
    m = opt._initial_mean(x0)
    s = opt._initial_sigma(sigma0)
    return np.maximum(lo, m - 2 * s), np.minimum(hi, m + 2 * s), m


def swarm_collapsed(x, p, v, tol: float) -> str | None:
    """The stop message when positions ``x``, best positions ``p`` and velocities ``v`` all lie
    within ``tol`` (per coordinate), else None; None before the first generation (``x`` None)."""
    if x is None or float(np.abs(v).max()) > tol:  # the cheap test first
        return None
    if max(float(np.ptp(x, axis=0).max()), float(np.ptp(p, axis=0).max())) <= tol:
        return f"the swarm collapsed: positions, best positions and velocities within tolx * width = {tol:.3g}"
    return None


@register("pso", family="population")
class PSO(PopulationOptimizer):
    """Standard Particle Swarm Optimisation 2011 (SPSO-2011).

    When to use: a robust, parameter-free global optimizer for bounded continuous problems of low to
    moderate dimension (up to ~50) with a moderate budget; it is rotation invariant and copes with
    multimodality better than a plain local method. On smooth unimodal problems CMA-ES needs several
    times fewer evaluations; on separable multimodal ones (e.g. Rastrigin) CLPSO (``"clpso"``) is
    usually better.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    popsize : int
        Swarm size (SPSO-2011's default 40).
    n_informants : int
        K, how many particles each particle informs (besides itself) in the random topology.
    w : float
        Inertia weight, default 1 / (2 ln 2).
    c : float
        Acceleration (how far beyond p and l the centre of gravity reaches), default 1/2 + ln 2.
    sphere_sampling : {"radius", "volume"}
        How x' is drawn in the hypersphere: distance uniform along the radius (SPSO-2011 code's
        default) or uniform in the ball's volume (see the module docstring).
    x0 : array (d,), optional
        If given, particle 0 starts at ``x0`` and the others uniformly in the box intersected with
        x0 +- 2 sigma0 (default: the whole box, the SPSO-2011 rule).
    sigma0 : float, optional
        Scale of that initial region (x0 +- 2 sigma0, in encoded units; used only with ``x0``;
        default 0.3 of the box's mean width).
    tolx : float
        Stop (status converged) when the spread of the positions and of the best positions and every
        velocity component are below ``tolx`` times the box's mean width.
    seed : int, optional

    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float(x @ x), [(-5, 5)] * 3, method="pso", budget=4000, seed=0)
    >>> bool(res.fun < 1e-8)
    True
    """

    needs_bounds = True
    _parameter_constraints = {
        "popsize": [Interval(int, 2, None)],
        "n_informants": [Interval(int, 1, None)],
        "w": [Interval(float, 0, 1, closed="left")],
        "c": [Interval(float, 0, None, closed="neither")],
        "x0": [None, POINT],
        "sigma0": [None, Interval(float, 0, None, closed="neither")],
        "sphere_sampling": [Options({"radius", "volume"})],
        "tolx": [Interval(float, 0, None)],
    }

    def __init__(self, space, *, popsize=40, n_informants=3, w=W_SPSO, c=C_SPSO, sphere_sampling="radius", x0=None,
                 sigma0=None, tolx=1e-12, seed=None):
        super().__init__(space, seed=seed, popsize=popsize, n_informants=n_informants, w=w, c=c,
                         sphere_sampling=sphere_sampling, x0=x0, sigma0=sigma0, tolx=tolx)
        self.popsize_ = popsize
        self.init_low_, self.init_high_, self.x0_ = init_region(self, x0, sigma0)
        self.width_ = float(np.mean(self.space.encoded_upper - self.space.encoded_lower))
        self.x_ = self.v_ = self.p_ = self.fp_ = self.links_ = None
        self.best_ = math.inf
        self._velocities: list[np.ndarray] = []  # the velocity of each sampled generation not yet told

    # -- generations ---------------------------------------------------------------------------
    def _sample(self) -> np.ndarray:
        if self.x_ is None:  # the initial swarm
            a, b = self.init_low_, self.init_high_
            X = a + self.rng.random((self.popsize_, self.dim)) * (b - a)
            if self.x0_ is not None:
                X[0] = self.x0_
            V = (a - X) + self.rng.random(X.shape) * (b - a)
            self._velocities.append(V)
            return X
        g = best_informants(self.links_, self.fp_)
        own = g == np.arange(self.popsize_)
        # the draws of sample_in_spheres, then spso_centres, the sphere sampling and the confinement in
        # one pass (numba, or its numpy twin: optkit_native.population_kernels.spso_move)
        direction = self.rng.standard_normal((self.popsize_, self.dim))
        u = self.rng.random(self.popsize_)
        Xn, V = kernel("spso_move")(self.x_, self.v_, self.p_, g, own, direction, u, self.w, self.c,
                                    self.sphere_sampling == "volume", self.space.encoded_lower, self.space.encoded_upper)
        self._velocities.append(V)
        return Xn

    def _update(self, Z, Zeval, y, C) -> None:
        V = self._velocities.pop(0)
        if self.x_ is None:
            self.x_, self.v_, self.p_, self.fp_ = Z.copy(), V, Z.copy(), y.copy()
            self.links_ = random_links(self.rng, self.popsize_, self.n_informants)
            self.best_ = float(y.min())
            return
        self.x_, self.v_ = Z.copy(), V
        better = y < self.fp_
        self.p_[better] = Z[better]
        self.fp_[better] = y[better]
        best = float(self.fp_.min())
        if not best < self.best_:  # no improvement of the swarm's best: new random topology
            self.links_ = random_links(self.rng, self.popsize_, self.n_informants)
        self.best_ = min(best, self.best_)

    def stop_reason(self) -> str | None:
        return swarm_collapsed(self.x_, self.p_, self.v_, self.tolx * self.width_)

    # -- state ---------------------------------------------------------------------------------
    def _state(self) -> dict:
        if self.x_ is None:
            return {"velocities": list(self._velocities)}
        return {"x": self.x_, "v": self.v_, "p": self.p_, "fp": self.fp_, "links": self.links_,
                "best": self.best_, "velocities": list(self._velocities)}

    def _load(self, state: dict) -> None:
        self._velocities = [np.asarray(v, dtype=np.float64) for v in state["velocities"]]
        if "x" not in state:
            self.x_ = self.v_ = self.p_ = self.fp_ = self.links_ = None
            self.best_ = math.inf
            return
        self.x_ = np.asarray(state["x"], dtype=np.float64)
        self.v_ = np.asarray(state["v"], dtype=np.float64)
        self.p_ = np.asarray(state["p"], dtype=np.float64)
        self.fp_ = np.asarray(state["fp"], dtype=np.float64)
        self.links_ = np.asarray(state["links"], dtype=bool)
        self.best_ = float(state["best"])
