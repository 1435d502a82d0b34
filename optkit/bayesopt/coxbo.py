"""Gaussian Cox process Bayesian optimization (``coxbo``): find where point events are densest.

Mei, Imani, Lan, "Bayesian Optimization through Gaussian Cox Process Models for Spatio-temporal
Data", ICLR 2024. The setting and the problem type are in :mod:`.coxbo_problem`, the model (MAP
and Laplace through the change of kernel, exact and Nystrom) in :mod:`.coxbo_model`.

The loop, as in the paper: a few windows from a scrambled Sobol design; then, at every ``ask``, the
Gaussian Cox model fitted to the events seen in the windows looked at so far (the intensity
integral runs over those windows only: outside them nothing is known), and the next window centred
where an acquisition over the posterior intensity is largest, among centres not already inside a
looked-at (or pending) window:

* ``"ucb"``: ``E lambda(x) + beta * sd lambda(x)`` at the centre (peak intensity);
* ``"cumulative"``: the same bound summed over the window (the expected arrivals in it, optimistic:
  the paper's cumulative-arrival detection, with the expectation in place of simulated arrivals).

How the events reach the optimizer (``tell`` carries one number per point):

* ``tell_events(X, events)``: the documented extra method, the events seen in each window (a list
  of (k_i, d) arrays in the user's space). Events already inside an earlier window are not counted
  twice.
* ``minimize(problem)`` with a :class:`~.coxbo_problem.PointEventProblem`: the loop tells the
  values and the optimizer reads the events of each window from ``problem.observe`` (the same
  realization, no extra evaluation).
* plain ``tell(X, y)`` (any other problem): ``y`` is read as a PointEventProblem's value, the
  negative empirical intensity ``-(count) / (window volume)``; the count's positions being unknown,
  it is spread evenly over the window's part not seen before (values >= 0 mean no events).

Hyperparameters of the model: the link is ``lambda = g^2``; the prior variance is set from the data
(the prior's mean intensity equals the observed one); the lengthscale (in units of the box's sides)
is chosen from a grid by the Laplace evidence unless given.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
from scipy.linalg import eigh
from scipy.ndimage import uniform_filter
from scipy.stats import qmc

from optkit.bayesopt.coxbo_model import ExactCox, NystromCox, grid, sq_dist
from optkit.bayesopt.coxbo_problem import PointEventProblem, in_box
from optkit.core.errors import InvalidParameterError
from optkit.core.optimizer import Optimizer
from optkit.core.params import Interval, Options
from optkit.core.registry import register
from optkit.core.space import Box, as_points, as_space

#: candidate lengthscales (fractions of the box's sides) for the evidence search
LENGTHSCALES = (0.05, 0.1, 0.2, 0.4)
#: dimensions the quadrature grid can cover
MAX_DIM = 3


def single_thread():
    """BLAS limited to one thread (threadpoolctl, when installed): the matrices here have a few hundred
    rows, where a thread pool on a busy machine costs 10x more than it gains."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn and torch setups
        return contextlib.nullcontext()
    return threadpool_limits(1)


class _Grid:
    """Quadrature nodes and inducing points over the unit cube."""

    def __init__(self, d: int, n_quadrature: int, n_inducing: int):
        self.d = d
        self.per_dim = max(2, int(round(n_quadrature ** (1.0 / d))))
        self.nodes = grid(self.per_dim, d)
        self.delta = 1.0 / self.nodes.shape[0]
        self.z_per_dim = max(2, int(round(n_inducing ** (1.0 / d))))
        self.inducing = grid(self.z_per_dim, d)
        self.d_zz = sq_dist(self.inducing, self.inducing)
        self.d_qz = sq_dist(self.nodes, self.inducing)
        self._eig: dict[float, tuple] = {}

    def eig(self, lengthscale: float) -> tuple:
        """``eigh`` of the unit-variance kernel matrix of the inducing points (cached per lengthscale)."""
        if lengthscale not in self._eig:
            self._eig[lengthscale] = eigh(np.exp(-0.5 * self.d_zz / lengthscale**2))
        return self._eig[lengthscale]

    def lengthscales(self, model: str) -> tuple:
        """Candidates the inducing grid can resolve (spacing / lengthscale <= 1.25)."""
        spacing = 1.0 / (self.per_dim if model == "exact" else self.z_per_dim)
        ok = tuple(ls for ls in LENGTHSCALES if ls >= 0.75 * spacing)
        return ok or (LENGTHSCALES[-1],)


def _fit(grid_: _Grid, events, weights, observed, *, model, lengthscale, rank):
    """The model on unit-cube data, its lengthscale chosen by Laplace evidence when None."""
    vol = max(float(observed.sum()) * grid_.delta, grid_.delta)
    variance = max(float(np.sum(weights)), 1.0) / vol  # prior mean intensity = the observed one
    nodes = grid_.nodes[observed]
    cands = grid_.lengthscales(model) if lengthscale is None else (float(lengthscale),)
    best = None
    for ls in cands:
        if model == "exact":
            m = ExactCox(events, weights, nodes, grid_.delta, lengthscale=ls, variance=variance)
        else:
            m = NystromCox(events, weights, nodes, grid_.delta, grid_.inducing, lengthscale=ls, variance=variance, rank=rank,
                           sqdist=(grid_.d_zz, grid_.d_qz[observed]), eig=grid_.eig(ls))
        if len(cands) == 1:
            return m
        ev = m.log_evidence()
        if best is None or ev > best[0]:
            best = (ev, m)
    return best[1]


class CoxIntensity:
    """A Gaussian Cox process fitted to events in a box: the posterior intensity in the user's units.

    Built by :func:`fit_intensity` (or :meth:`CoxBO.model`). ``intensity(X)`` returns the posterior
    mean and variance of the intensity (events per unit volume of the box's coordinates) at (n, d)
    points; ``model`` is the unit-cube :class:`~.coxbo_model.NystromCox` or
    :class:`~.coxbo_model.ExactCox` (``lengthscale`` in units of the box's sides).
    """

    def __init__(self, model, box: Box):
        self.model, self.box = model, box
        self._width = box.upper - box.lower
        self._vol = float(np.prod(self._width))

    @property
    def lengthscale(self) -> float:
        return self.model.lengthscale

    def intensity(self, X) -> tuple[np.ndarray, np.ndarray]:
        U = (as_points(X, self.box.dim) - self.box.lower) / self._width
        mean, var = self.model.intensity(U)
        return mean / self._vol, var / self._vol**2

    def log_evidence(self) -> float:
        return self.model.log_evidence()


def fit_intensity(events, bounds, *, inference: str = "nystrom", lengthscale: float | None = None, n_inducing: int = 256,
                  rank: int | None = None, n_quadrature: int = 2500) -> CoxIntensity:
    """Fit the Gaussian Cox process to events observed over the whole box ``bounds``.

    ``inference`` is ``"nystrom"`` (O(n r^2)) or ``"exact"`` (O(n^3)); ``lengthscale`` in units of the
    box's sides (None: chosen by Laplace evidence); ``n_inducing`` Nystrom inducing points and
    ``rank`` its truncation; ``n_quadrature`` grid nodes of the intensity integral. Runs with BLAS
    on one thread (see :func:`single_thread`).
    """
    box = as_space(bounds)
    if not isinstance(box, Box) or box.dim > MAX_DIM or not np.all(np.isfinite(box.upper - box.lower)):
        raise InvalidParameterError(f"fit_intensity: 'bounds' must be a finite box in 1 to {MAX_DIM} dimensions; got {bounds!r:.80}")
    if inference not in ("nystrom", "exact"):
        raise InvalidParameterError(f"fit_intensity: 'inference' must be 'nystrom' or 'exact'; got {inference!r}")
    E = as_points(events, box.dim, "events") if np.size(events) else np.zeros((0, box.dim))
    if not np.all(in_box(E, box.lower, box.upper)):
        raise InvalidParameterError("fit_intensity: every event must lie inside 'bounds'")
    U = (E - box.lower) / (box.upper - box.lower)
    with single_thread():
        g = _Grid(box.dim, n_quadrature, n_inducing)
        m = _fit(g, U, np.ones(U.shape[0]), np.ones(g.nodes.shape[0], dtype=bool), model=inference,
                 lengthscale=lengthscale, rank=rank)
    return CoxIntensity(m, box)


@register("coxbo", family="bayesopt")
class CoxBO(Optimizer):
    """Bayesian optimization over a Gaussian Cox process: the windows where events are densest.

    When to use: the black box is a look at a region of space (and time) that reveals the events in
    it (earthquakes, crimes, failures, arrivals), each look is expensive, and the question is where
    the intensity peaks. Space: a :class:`~optkit.Box` in 1 to 3 dimensions.

    Parameters
    ----------
    space : Box (finite, 1 to 3 dimensions)
    radius : float in (0, 0.5]
        Half-width of a window, as a fraction of each side of the box (must match the
        PointEventProblem's).
    acquisition : {"ucb", "cumulative"}
        Peak intensity bound at the centre, or the optimistic expected arrivals in the window.
    beta : float
        Weight of the posterior standard deviation of the intensity.
    n_init : int
        Windows of the scrambled-Sobol initial design.
    lengthscale : float, optional
        Kernel lengthscale in units of the box's sides (None: chosen by Laplace evidence).
    inference : {"nystrom", "exact"}
        The Nystrom model (O(n r^2)) or the exact representer form (O(n^3) in the n events seen).
    n_inducing : int
        Nystrom inducing points (a grid, ``round(n_inducing^(1/d))`` per side).
    rank : int, optional
        Keep at most this many Nystrom eigen-directions (None: the numerical rank).
    n_quadrature : int
        Grid nodes for the intensity integral and the candidate window centres.
    batch : int
        Windows returned by ``ask()`` without ``n``.
    seed : int, optional

    Examples
    --------
    >>> import optkit
    >>> from optkit.bayesopt.coxbo_problem import synthetic
    >>> problem = synthetic("bumps2d", n_events=1000, radius=0.08, seed=0)   # the peak is at (0.7, 0.3)
    >>> res = optkit.make("coxbo", problem.space, radius=0.08, lengthscale=0.1, seed=0).minimize(problem, 12)
    >>> bool(abs(res.x_intensity_max - [0.7, 0.3]).max() < 0.05)    # the posterior mean's peak
    True
    """

    needs_bounds = True
    _parameter_constraints = {
        "radius": [Interval(float, 0, 0.5, closed="right")],
        "acquisition": [Options({"ucb", "cumulative"})],
        "beta": [Interval(float, 0, None)],
        "n_init": [Interval(int, 1, None)],
        "lengthscale": [Interval(float, 0, None, closed="neither"), None],
        "inference": [Options({"nystrom", "exact"})],
        "n_inducing": [Interval(int, 4, None)],
        "rank": [Interval(int, 1, None), None],
        "n_quadrature": [Interval(int, 16, None)],
        "batch": [Interval(int, 1, None)],
    }

    def __init__(self, space, *, radius: float = 0.1, acquisition: str = "ucb", beta: float = 2.0, n_init: int = 4,
                 lengthscale: float | None = None, inference: str = "nystrom", n_inducing: int = 256, rank: int | None = None,
                 n_quadrature: int = 2500, batch: int = 1, seed=None):
        super().__init__(space, seed=seed, radius=radius, acquisition=acquisition, beta=beta, n_init=n_init,
                         lengthscale=lengthscale, inference=inference, n_inducing=n_inducing, rank=rank,
                         n_quadrature=n_quadrature, batch=batch)
        if not isinstance(self.space, Box):
            raise InvalidParameterError(
                f"CoxBO: 'space' must be a Box (events live in continuous space and time); got {type(self.space).__name__}"
            )
        if self.dim > MAX_DIM:
            raise InvalidParameterError(f"CoxBO: 'space' must have 1 to {MAX_DIM} dimensions (space and time); got {self.dim}")
        self._lo, self._width = self.space.lower.copy(), self.space.upper - self.space.lower
        self._grid = _Grid(self.dim, n_quadrature, n_inducing)
        self._centres = np.zeros((0, self.dim))
        self._events = np.zeros((0, self.dim))
        self._weights = np.zeros(0)
        self._observed = np.zeros(self._grid.nodes.shape[0], dtype=bool)
        self._sobol_seed = int(self.rng.integers(2**63 - 1))
        self._sobol_drawn = 0
        self._source: PointEventProblem | None = None
        self._cache: CoxIntensity | None = None

    @property
    def batch_size(self) -> int:
        return self.batch

    # -- windows ---------------------------------------------------------------------------------
    def _unit(self, X) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self._lo) / self._width

    def _win(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.maximum(u - self.radius, 0.0), np.minimum(u + self.radius, 1.0)

    def _seen(self, P: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """Which rows of ``P`` (unit cube) lie inside a window around one of ``centres``."""
        out = np.zeros(P.shape[0], dtype=bool)
        for c in centres:
            lo, hi = self._win(c)
            out |= in_box(P, lo, hi)
        return out

    def _add_window(self, u: np.ndarray, events: np.ndarray | None = None, count: float = 0.0) -> None:
        """Record a look at the window around ``u``: its events (unit cube), or only their count."""
        lo, hi = self._win(u)
        new_nodes = in_box(self._grid.nodes, lo, hi) & ~self._observed
        if events is not None:
            E = events[~self._seen(events, self._centres)] if events.size else events
            w = np.ones(E.shape[0])
        else:
            before = float(self._weights[in_box(self._events, lo, hi)].sum()) if self._weights.size else 0.0
            extra = max(0.0, count - before)
            k = int(new_nodes.sum())
            E = self._grid.nodes[new_nodes] if extra > 0 and k else np.zeros((0, self.dim))
            w = np.full(E.shape[0], extra / max(k, 1))
        self._events = np.vstack([self._events, E])
        self._weights = np.concatenate([self._weights, w])
        self._centres = np.vstack([self._centres, u[None, :]])
        self._observed |= new_nodes
        self._cache = None

    # -- ask / tell ------------------------------------------------------------------------------
    def _ask(self, n: int) -> np.ndarray:
        with single_thread():
            return self._ask_points(n)

    def _ask_points(self, n: int) -> np.ndarray:
        n_sobol = min(n, max(0, self.n_init - self._sobol_drawn))
        out = []
        if n_sobol:
            eng = qmc.Sobol(self.dim, scramble=True, rng=np.random.default_rng(self._sobol_seed))
            if self._sobol_drawn:
                eng.fast_forward(self._sobol_drawn)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Sobol balance warnings for sizes that are not powers of 2
                out.append(eng.random(n_sobol))
            self._sobol_drawn += n_sobol
        if n > n_sobol:
            zs = [z for lst in self._pending.values() for z in lst]
            busy = [self._unit(np.array(zs))] if zs else []
            out.append(self._suggest(n - n_sobol, np.vstack(busy + out) if busy or out else np.zeros((0, self.dim))))
        return self._lo + np.vstack(out) * self._width

    def _suggest(self, n: int, busy: np.ndarray) -> np.ndarray:
        score = self.acquisition_values()
        nodes = self._grid.nodes
        free = ~self._observed
        chosen = []
        for _ in range(n):
            mask = free & ~self._seen(nodes, np.vstack([busy] + chosen) if chosen else busy)
            s = np.where(mask, score, -np.inf) if mask.any() else score
            chosen.append(nodes[int(np.argmax(s))][None, :])
        return np.vstack(chosen)

    def _tell(self, Z, y, C) -> None:
        for z, v in zip(Z, y):
            u = self._unit(z)
            if self._source is not None:
                E = self._unit(self._source.observe(self.space.decode(z[None, :])[0]))
                self._add_window(u, events=E)
            else:
                lo, hi = self._win(u)
                vol = float(np.prod((hi - lo) * self._width))
                self._add_window(u, count=max(0.0, -float(v)) * vol)

    def tell_events(self, X, events) -> None:
        """Report the events seen in the windows around asked points ``X`` (n, d).

        ``events`` is a list of n arrays, the i-th of shape (k_i, d) (k_i may be 0), in the user's
        space and inside the i-th window.
        """
        owner = type(self).__name__ + ".tell_events"
        X = as_points(X, self.dim)
        if not isinstance(events, (list, tuple)) or len(events) != X.shape[0]:
            raise InvalidParameterError(f"{owner}: 'events' must be a list of {X.shape[0]} arrays (k_i, {self.dim}); got {events!r:.80}")
        Es = []
        for i, (x, e) in enumerate(zip(X, events)):
            E = as_points(e, self.dim, f"events[{i}]") if np.size(e) else np.zeros((0, self.dim))
            lo, hi = self._win(self._unit(self.space.decode(x[None, :])[0]))
            U = self._unit(E)
            if not np.all(np.isfinite(U)) or not np.all(in_box(U, lo - 1e-9, hi + 1e-9)):
                raise InvalidParameterError(f"{owner}: events[{i}] must lie inside the window around X[{i}]")
            Es.append(np.clip(U, lo, hi))
        Z = self._claim(X, owner)
        for z, U in zip(Z, Es):
            self._add_window(self._unit(z), events=U)
        self.n_told += X.shape[0]

    def _loop_started(self, problem) -> None:
        """On a PointEventProblem, the loop's tells read each window's events from the problem
        (also when ``optkit.resume`` replays a journal)."""
        if not isinstance(problem, PointEventProblem):
            return
        if problem.radius != self.radius or problem.space != self.space:
            raise InvalidParameterError(
                f"CoxBO.minimize: the problem's box and radius ({problem.space!r}, {problem.radius}) must match the "
                f"optimizer's ({self.space!r}, {self.radius})"
            )
        self._source = problem

    def _loop_ended(self) -> None:
        self._source = None

    # -- the model -------------------------------------------------------------------------------
    def model(self) -> CoxIntensity:
        """The Gaussian Cox process fitted to every event seen so far (cached until the next tell)."""
        if self._cache is None:
            m = _fit(self._grid, self._events, self._weights, self._observed, model=self.inference,
                     lengthscale=self.lengthscale, rank=self.rank)
            self._cache = CoxIntensity(m, self.space)
        return self._cache

    def acquisition_values(self) -> np.ndarray:
        """The acquisition at every candidate window centre (the quadrature nodes, unit cube)."""
        mean, var = self.model().model.intensity(self._grid.nodes)
        ucb = mean + self.beta * np.sqrt(var)
        if self.acquisition == "ucb":
            return ucb
        g = self._grid.per_dim
        size = 2 * int(round(self.radius * g)) + 1
        vals = ucb.reshape((g,) * self.dim)
        return uniform_filter(vals, size=size, mode="constant").ravel() * size**self.dim * self._grid.delta

    def best_predicted(self):
        """``(x, intensity)``: where the posterior mean intensity is largest inside the looked-at
        windows, and that mean (events per unit volume); None before any window was told."""
        if not self._observed.any():
            return None
        nodes = self._grid.nodes[self._observed]
        with single_thread():
            mean, _ = self.model().intensity(self._lo + nodes * self._width)
        i = int(np.argmax(mean))
        return self._lo + nodes[i] * self._width, float(mean[i])

    def result_extras(self) -> dict:
        best = self.best_predicted()
        if best is None:
            return {}
        return {"x_intensity_max": best[0], "intensity_max": best[1], "n_events_seen": int(round(self._weights.sum()))}

    # -- state -----------------------------------------------------------------------------------
    def _get_state(self) -> dict:
        return {"centres": self._centres.copy(), "events": self._events.copy(), "weights": self._weights.copy(),
                "sobol_seed": self._sobol_seed, "sobol_drawn": self._sobol_drawn}

    def _set_state(self, state: dict) -> None:
        self._centres = np.asarray(state["centres"], dtype=np.float64).reshape(-1, self.dim)
        self._events = np.asarray(state["events"], dtype=np.float64).reshape(-1, self.dim)
        self._weights = np.asarray(state["weights"], dtype=np.float64).reshape(-1)
        self._sobol_seed, self._sobol_drawn = int(state["sobol_seed"]), int(state["sobol_drawn"])
        self._observed = self._seen(self._grid.nodes, self._centres)
        self._cache = None
