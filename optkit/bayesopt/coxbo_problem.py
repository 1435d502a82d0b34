"""Point-event problems for :mod:`optkit.bayesopt.coxbo`: windows over events, synthetic processes, quakes.

The setting (the paper's): one realization of a point process (earthquakes, crimes, arrivals, spikes)
lies in a box of space and, optionally, time; nobody has seen it. An *evaluation* looks at the window
``[x - r, x + r]`` (clipped to the box, ``r = radius * (upper - lower)`` per dimension) around a query
``x`` and reveals every event in it. The goal is to find where the intensity is highest with few
looks.

:class:`PointEventProblem` is a :class:`~optkit.Problem` whose value at ``x`` is the negative
empirical intensity of its window, ``-(events in the window) / (window volume)``, so that plain
minimization seeks the hot spot and every optimizer can run on it; :class:`~optkit.bayesopt.coxbo.CoxBO`
in addition reads the events' positions through :meth:`PointEventProblem.observe`.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.problem import Problem
from optkit.core.space import Box, as_points, as_space


def window(x: np.ndarray, lower: np.ndarray, upper: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """The observation window around ``x``: ``x -+ radius * (upper - lower)``, clipped to the box."""
    half = radius * (upper - lower)
    return np.maximum(x - half, lower), np.minimum(x + half, upper)


def in_box(P: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Which rows of ``P`` lie in the closed box ``[lo, hi]``."""
    return np.all((P >= lo) & (P <= hi), axis=1)


def _check_radius(owner: str, radius) -> float:
    if isinstance(radius, bool) or not isinstance(radius, (int, float, np.floating)) or not 0 < radius <= 0.5:
        raise InvalidParameterError(f"{owner}: 'radius' must be a float in (0, 0.5] (a fraction of the box's sides); got {radius!r}")
    return float(radius)


class PointEventProblem(Problem):
    """One realization of a point process in a box, revealed window by window.

    Parameters
    ----------
    events : (n, d) array
        Event locations (space and, if wanted, time as one more coordinate) inside ``bounds``.
    bounds : Box or sequence of (low, high) pairs
    radius : float in (0, 0.5]
        Half-width of the observation window, as a fraction of each side of the box.
    intensity : callable, optional
        The true intensity ``intensity(X (n, d)) -> (n,)`` in events per unit volume, when known
        (synthetic processes); benchmarks and tests compare the model with it.
    name : str

    Notes
    -----
    ``problem(x)`` is ``-(events in the window of x) / (window volume)``. ``observe(x)`` returns the
    events themselves. A problem remembers nothing between calls: the same window always reveals the
    same events (it is one realization).
    """

    def __init__(self, events, bounds, *, radius: float = 0.1, intensity=None, name: str = "point-events"):
        space = as_space(bounds)
        if not isinstance(space, Box):
            raise InvalidParameterError(f"PointEventProblem: 'bounds' must be a Box or (low, high) pairs; got {bounds!r:.80}")
        if not np.all(np.isfinite(space.lower)) or not np.all(np.isfinite(space.upper)):
            raise InvalidParameterError("PointEventProblem: 'bounds' must be finite")
        E = as_points(events, space.dim, "events") if np.size(events) else np.zeros((0, space.dim))
        if not np.all(np.isfinite(E)) or not np.all(in_box(E, space.lower, space.upper)):
            raise InvalidParameterError(f"PointEventProblem: every event must be finite and inside {space!r}")
        if intensity is not None and not callable(intensity):
            raise InvalidParameterError(f"PointEventProblem: 'intensity' must be callable or None; got {intensity!r:.80}")
        self.radius = _check_radius("PointEventProblem", radius)
        self.events = E
        self.intensity = intensity
        super().__init__(self._value, space, name=name)

    @property
    def n_events(self) -> int:
        return self.events.shape[0]

    def window(self, x) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, hi)`` of the window around ``x``."""
        x = as_points(x, self.dim, "x")[0]
        return window(x, self.space.lower, self.space.upper, self.radius)

    def observe(self, x) -> np.ndarray:
        """The events in the window around ``x``, shape (k, d)."""
        lo, hi = self.window(x)
        return self.events[in_box(self.events, lo, hi)]

    def _value(self, x) -> float:
        lo, hi = self.window(x)
        return -float(in_box(self.events, lo, hi).sum()) / float(np.prod(hi - lo))


def sample_poisson(intensity, bounds, lam_max: float, seed=None) -> np.ndarray:
    """Events of an inhomogeneous Poisson process on a box by thinning (Lewis & Shedler 1979).

    ``intensity(X (n, d)) -> (n,)`` in events per unit volume, bounded by ``lam_max`` on the box:
    draw a homogeneous process of rate ``lam_max`` and keep each point with probability
    ``intensity(x) / lam_max``. Returns (n, d) events; ``seed`` makes it reproducible.
    """
    space = as_space(bounds)
    if not (isinstance(lam_max, (int, float)) and lam_max > 0 and np.isfinite(lam_max)):
        raise InvalidParameterError(f"sample_poisson: 'lam_max' must be a positive finite number; got {lam_max!r}")
    rng = np.random.default_rng(seed)
    vol = float(np.prod(space.upper - space.lower))
    n = rng.poisson(lam_max * vol)
    P = space.lower + rng.random((n, space.dim)) * (space.upper - space.lower)
    lam = np.asarray(intensity(P), dtype=np.float64).reshape(-1)
    if lam.size and (np.any(lam < 0) or np.any(lam > lam_max * (1 + 1e-9)) or not np.all(np.isfinite(lam))):
        raise InvalidParameterError(f"sample_poisson: the intensity must lie in [0, lam_max={lam_max}]; got values up to {lam.max():.4g}")
    return P[rng.random(n) * lam_max < lam]


def _bumps(X: np.ndarray) -> np.ndarray:
    """Two Gaussian bumps on a floor over [0, 1]^2 (unnormalized); the peak is at (0.7, 0.3)."""
    X = np.asarray(X, dtype=np.float64)
    a = np.exp(-np.sum((X - [0.7, 0.3]) ** 2, axis=1) / (2 * 0.08**2))
    b = np.exp(-np.sum((X - [0.25, 0.7]) ** 2, axis=1) / (2 * 0.12**2))
    return 0.2 + 3.0 * a + 1.5 * b


def _adams(X: np.ndarray) -> np.ndarray:
    """Adams et al. (2009)'s first 1-D intensity on [0, 50]: 2 exp(-t/15) + exp(-((t - 25)/10)^2)."""
    t = np.asarray(X, dtype=np.float64)[:, 0]
    return 2.0 * np.exp(-t / 15.0) + np.exp(-(((t - 25.0) / 10.0) ** 2))


#: name -> (unnormalized intensity, bounds, its maximum on the box, its argmax)
SYNTHETIC = {
    "bumps2d": (_bumps, [(0.0, 1.0), (0.0, 1.0)], float(_bumps(np.array([[0.7, 0.3]]))[0]), (0.7, 0.3)),
    "adams1d": (_adams, [(0.0, 50.0)], 2.0, (0.0,)),
}


def synthetic(name: str = "bumps2d", *, n_events: float = 1000.0, radius: float = 0.1, seed=None) -> PointEventProblem:
    """A :class:`PointEventProblem` drawn from a known intensity scaled to ``n_events`` expected events.

    ``"bumps2d"``: two Gaussian bumps on a floor over the unit square, the highest at (0.7, 0.3);
    ``"adams1d"``: Adams et al. (2009)'s ``2 exp(-t/15) + exp(-((t-25)/10)^2)`` on [0, 50], highest
    at t = 0. The problem's ``intensity`` is the scaled truth, ``x_opt`` its argmax.
    """
    if name not in SYNTHETIC:
        raise InvalidParameterError(f"synthetic: 'name' must be one of {sorted(SYNTHETIC)}; got {name!r}")
    if not (isinstance(n_events, (int, float)) and n_events > 0):
        raise InvalidParameterError(f"synthetic: 'n_events' must be a positive number; got {n_events!r}")
    fun, bounds, top, argmax = SYNTHETIC[name]
    box = Box(*zip(*bounds))
    g = grid_points(box, 200 if box.dim == 1 else 100)
    vol = float(np.prod(box.upper - box.lower))
    scale = float(n_events) / (float(np.mean(fun(g))) * vol)

    def intensity(X, fun=fun, scale=scale):
        return scale * fun(np.asarray(X, dtype=np.float64))

    events = sample_poisson(intensity, box, scale * top, seed=seed)
    prob = PointEventProblem(events, box, radius=radius, intensity=intensity, name=name)
    prob.x_opt = np.array(argmax, dtype=np.float64)
    return prob


def grid_points(box: Box, per_dim: int) -> np.ndarray:
    """Cell centres of a ``per_dim^d`` grid over ``box`` (for integrals and error metrics)."""
    axes = [lo + (np.arange(per_dim) + 0.5) / per_dim * (hi - lo) for lo, hi in zip(box.lower, box.upper)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.column_stack([m.ravel() for m in mesh])


QUAKES_COLUMNS = ("lat", "long", "depth", "mag", "stations")


def load_quakes() -> np.ndarray:
    """R's ``quakes`` data set: 1000 seismic events near Fiji since 1964, shape (1000, 5).

    Columns :data:`QUAKES_COLUMNS`: latitude, longitude (degrees), depth (km), Richter magnitude,
    number of reporting stations. Harvard PRIM-H project data, shipped with R (GPL-2); see
    ``optkit/bayesopt/data/README.md``.
    """
    text = resources.files("optkit.bayesopt").joinpath("data/quakes.csv").read_text()
    return np.loadtxt(text.splitlines(), delimiter=",", skiprows=1)


def quakes(columns=("long", "lat"), *, radius: float = 0.1) -> PointEventProblem:
    """The quakes as a :class:`PointEventProblem` over the named columns (default longitude, latitude).

    The box is the events' bounding box widened by 1% per side.
    """
    cols = list(columns)
    bad = [c for c in cols if c not in QUAKES_COLUMNS]
    if bad or not cols:
        raise InvalidParameterError(f"quakes: 'columns' must name some of {QUAKES_COLUMNS}; got {columns!r}")
    E = load_quakes()[:, [QUAKES_COLUMNS.index(c) for c in cols]]
    lo, hi = E.min(0), E.max(0)
    pad = 0.01 * (hi - lo)
    return PointEventProblem(E, Box(lo - pad, hi + pad), radius=radius, name="quakes")
