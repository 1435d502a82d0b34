"""GP-BO: Gaussian-process Bayesian optimization through ask/tell.

The loop: a scrambled-Sobol initial design; then at every ``ask`` a GP (:mod:`.models`) fitted to
everything told so far, and the next points maximizing an acquisition (:mod:`.acquisition`) over
the unit cube, integer and categorical dimensions included. Built to match Optuna's GPSampler in
quality (Matern-5/2 ARD, a fixed tiny noise for deterministic objectives, LogEI, a multi-start
preconditioned L-BFGS-B that also starts next to the best points) at a similar cost per iteration.

How the pieces fit:

* encoded space: the optimizer works in the unit cube (a :class:`~optkit.Box` is rescaled to it;
  a :class:`~optkit.SearchSpace` already is one, one column per dimension). Integer and categorical
  points are always the canonical bucket centres, so what is told matches what the GP saw;
* categorical dimensions enter the GP through a Hamming-distance term with their own lengthscale
  (one column each, no one-hot blow-up); integer dimensions are ordinal columns; the acquisition
  optimizer relaxes integers, rounds, and searches discrete neighbours and every category;
* pending points (asked, not yet told) are in the joint batch of the Monte-Carlo acquisitions, or
  condition the model at their posterior mean for UCB and Thompson sampling, so parallel workers
  never get duplicates; ``ask(n)`` with n > 1 builds the batch sequentially-greedily the same way;
* black-box constraints told with ``tell(X, y, constraints)`` (feasible when <= 0) get one GP each;
  the EI-family acquisitions are multiplied by the probability of feasibility (Gardner et al.
  2014), with the incumbent the best *feasible* value (UCB and Thompson sampling ignore them);
* the state is the told data, the Sobol counter, the rng and the last fitted hyperparameters (the
  next fit starts from them); a loaded state refits the model and asks the same points.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import qmc

from optkit.bayesopt._torch import compute
from optkit.bayesopt.acquisition import (
    UCB,
    LogEI,
    LogFeasibility,
    LogSum,
    MixedSpec,
    ThompsonSampling,
    believer,
    optimize_acqf,
    perturb,
    qLogEI,
    qLogNEI,
)
from optkit.bayesopt.models import GP, fit_gp
from optkit.core.errors import InvalidParameterError
from optkit.core.optimizer import Optimizer
from optkit.core.params import Interval, Options, Predicate
from optkit.core.registry import register
from optkit.core.space import as_points


def _warm_start_ok(v) -> bool:
    if isinstance(v, dict):
        return set(v) <= {"X", "y", "constraints"} and "X" in v and "y" in v
    return isinstance(v, (list, tuple)) and len(v) in (2, 3)


WARM_START = Predicate(_warm_start_ok, "None, a dict {'X': points, 'y': values[, 'constraints': values]} or a pair (X, y)")


@register("bo", family="bayesopt")
class BO(Optimizer):
    """Gaussian-process Bayesian optimization (GP-BO) for expensive black-box functions.

    When to use: each evaluation is expensive (seconds to days: an experiment, a simulation, a
    training run) and the budget is tens to a few hundred evaluations in up to ~20 dimensions,
    mixed spaces included. The model costs O(n^3) per iteration: past ~1000 evaluations use a
    population method.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    acquisition : {"qlogei", "qlognei", "ucb", "ts"}
        ``"qlogei"``: log expected improvement (analytic LogEI for one point without pending
        points, Monte-Carlo qLogEI otherwise); ``"qlognei"``: noisy qLogEI, the incumbent sampled
        at the observed points (for ``noise="infer"``); ``"ucb"``: lower confidence bound
        ``mean - sqrt(ucb_beta) * std``; ``"ts"``: Thompson sampling, the minimum of one posterior
        sample path.
    n_init : int, optional
        Size of the scrambled-Sobol initial design (default ``max(5, min(2 d, 20))``: two points
        per dimension give every lengthscale data to be fitted on, at least 5 for a first GP, at
        most 20 so that in high dimension the budget goes to the model-based search, which the
        dimension-scaled lengthscale prior keeps well posed). Warm-start points count toward it.
    noise : "fixed", "infer" or float
        ``"fixed"`` (deterministic objectives): noise variance 1e-6 of the standardized outputs, so
        the model interpolates and the regret keeps falling; ``"infer"``: fitted (noisy
        objectives); a float: that noise variance, standardized units.
    batch : int
        Points returned by ``ask()`` without ``n``.
    ucb_beta : float
        Exploration weight of ``acquisition="ucb"``.
    n_restarts : int
        Local searches (L-BFGS-B + discrete coordinate search) per acquisition optimization.
    raw_samples : int
        Sobol points evaluated to choose the starts (plus 2 x 32 points around the best ones).
    mc_samples : int
        Quasi-Monte-Carlo samples of the Monte-Carlo acquisitions.
    warm_start : dict or pair, optional
        Evaluations made before this run, ``{"X": [[...], ...], "y": [...]}`` (points in the
        user's space, JSON-friendly lists; optional ``"constraints"`` (n, m)). They are told at
        construction: the model uses them from the first ask; they are not in the ``Result``'s
        history (which holds this run's evaluations) but :meth:`best_predicted` considers them.
    seed : int, optional

    Notes
    -----
    ``best_predicted()`` returns the evaluated point with the best posterior mean (among the
    feasible ones when constraints are told) and that mean: for noisy objectives it is the better
    recommendation; the best *observed* point is the ``Result``'s ``x`` / ``fun`` as for every
    optimizer.

    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float(((x - 0.3) ** 2).sum()), [(-1, 1)] * 2, method="bo",
    ...                       budget=15, seed=0)
    >>> bool(res.fun < 1e-3)
    True
    """

    needs_bounds = True
    _parameter_constraints = {
        "acquisition": [Options({"qlogei", "qlognei", "ucb", "ts"})],
        "n_init": [Interval(int, 1, None), None],
        "noise": [Options({"fixed", "infer"}), Interval(float, 0, None, closed="neither")],
        "batch": [Interval(int, 1, None)],
        "ucb_beta": [Interval(float, 0, None)],
        "n_restarts": [Interval(int, 1, None)],
        "raw_samples": [Interval(int, 1, None)],
        "mc_samples": [Interval(int, 1, None)],
        "warm_start": [None, WARM_START],
    }

    def __init__(self, space, *, acquisition: str = "qlogei", n_init: int | None = None, noise="fixed",
                 batch: int = 1, ucb_beta: float = 4.0, n_restarts: int = 10, raw_samples: int = 1024,
                 mc_samples: int = 128, warm_start=None, seed=None):
        super().__init__(space, seed=seed, acquisition=acquisition, n_init=n_init, noise=noise, batch=batch,
                         ucb_beta=ucb_beta, n_restarts=n_restarts, raw_samples=raw_samples,
                         mc_samples=mc_samples, warm_start=warm_start)
        self._setup()

    # -- set-up ----------------------------------------------------------------------------------
    def _setup(self) -> None:
        """Shared by subclasses: spaces, data arrays, Sobol seed, warm start."""
        d = self.dim
        self._spec = MixedSpec.from_space(self.space)
        self._lo = np.asarray(self.space.encoded_lower, dtype=np.float64)
        self._width = np.asarray(self.space.encoded_upper, dtype=np.float64) - self._lo
        self._U = np.zeros((0, d))
        self._y = np.zeros(0)
        self._C: np.ndarray | None = None
        self._sobol_seed = int(self.rng.integers(2**63 - 1))
        self._sobol_drawn = 0
        self._hyper: dict | None = None
        self._hyper_c: list = []
        self._cache: tuple | None = None
        self._n_warm = 0
        if self.warm_start is not None:
            self.warm_start = self._add_warm_start(self.warm_start)

    @property
    def batch_size(self) -> int:
        return self.batch

    @property
    def n_init_effective(self) -> int:
        """The initial design's size (``n_init`` or its default)."""
        return self.n_init if self.n_init is not None else max(5, min(2 * self.dim, 20))

    def _add_warm_start(self, ws) -> dict:
        owner = type(self).__name__
        if isinstance(ws, dict):
            X, y, C = ws["X"], ws["y"], ws.get("constraints")
        else:
            X, y, C = (list(ws) + [None])[:3]
        X = as_points(X, self.dim, "warm_start X")
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if y.shape != (X.shape[0],) or not np.all(np.isfinite(y)):
            raise InvalidParameterError(f"{owner}: warm_start 'y' must hold {X.shape[0]} finite values; got {y.tolist()!r:.80}")
        if not np.all(self.space.contains(X)):
            raise InvalidParameterError(f"{owner}: warm_start points must lie inside the space {self.space!r}")
        if C is not None:
            C = np.asarray(C, dtype=np.float64).reshape(X.shape[0], -1)
        self._append(self._to_unit(self.space.encode(X)), y, C)
        self._n_warm = X.shape[0]
        out = {"X": X.tolist(), "y": y.tolist()}
        if C is not None:
            out["constraints"] = C.tolist()
        return out

    # -- encoding --------------------------------------------------------------------------------
    def _to_unit(self, Z: np.ndarray) -> np.ndarray:
        return self._spec.snap((np.asarray(Z, dtype=np.float64) - self._lo) / self._width)

    def _from_unit(self, U: np.ndarray) -> np.ndarray:
        return self._lo + np.clip(U, 0.0, 1.0) * self._width

    def _append(self, U, y, C) -> None:
        n0 = self._y.size
        self._U = np.vstack([self._U, U])
        self._y = np.concatenate([self._y, y])
        if C is not None and C.shape[1] > 0:
            if self._C is None:
                self._C = np.full((n0, C.shape[1]), np.nan)
            if C.shape[1] != self._C.shape[1]:
                raise InvalidParameterError(
                    f"{type(self).__name__}.tell: got {C.shape[1]} constraint values per point; earlier points had {self._C.shape[1]}"
                )
            self._C = np.vstack([self._C, C])
        elif self._C is not None:
            self._C = np.vstack([self._C, np.full((U.shape[0], self._C.shape[1]), np.nan)])

    def _pending_unit(self) -> np.ndarray:
        zs = [z for lst in self._pending.values() for z in lst]
        return self._to_unit(np.array(zs)) if zs else np.zeros((0, self.dim))

    def _feasible(self) -> np.ndarray:
        if self._C is None:
            return np.ones(self._y.size, dtype=bool)
        return np.all(self._C <= 0, axis=1)  # NaN (unknown) counts as infeasible

    # -- ask / tell ------------------------------------------------------------------------------
    def _ask(self, n: int) -> np.ndarray:
        n_sobol = max(0, self.n_init_effective - self._n_warm - self._sobol_drawn)
        if self._y.size < 2:
            n_sobol = max(n_sobol, n)
        n_sobol = min(n, n_sobol)
        out = []
        if n_sobol:
            out.append(self._sobol(n_sobol))
        if n > n_sobol:
            pending = np.vstack([self._pending_unit()] + out)
            out.append(self._suggest(n - n_sobol, pending))
        return self._from_unit(np.vstack(out))

    def _sobol(self, n: int) -> np.ndarray:
        eng = qmc.Sobol(self.dim, scramble=True, rng=np.random.default_rng(self._sobol_seed))
        if self._sobol_drawn:
            eng.fast_forward(self._sobol_drawn)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            U = eng.random(n)
        self._sobol_drawn += n
        return self._initial_transform(self._spec.snap(U))

    def _initial_transform(self, U: np.ndarray) -> np.ndarray:
        """Hook: how the initial design's Sobol points are placed (piBO draws them from its prior)."""
        return U

    def _tell(self, Z, y, C) -> None:
        self._append(self._to_unit(Z), y, C)

    # -- models ----------------------------------------------------------------------------------
    def _fit_models(self) -> tuple[GP, list[GP]]:
        """The objective's GP and one GP per constraint, fitted on all data (cached per data size)."""
        key = (self._y.size, repr(self._hyper), repr(self._hyper_c))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1], self._cache[2]
        cats = self._spec.categorical
        gp = fit_gp(self._U, self._y, categorical=cats, noise=self.noise, init=self._hyper)
        cgps = []
        if self._C is not None:
            for j in range(self._C.shape[1]):
                ok = np.isfinite(self._C[:, j])
                init = self._hyper_c[j] if j < len(self._hyper_c) else None
                if ok.sum() >= 2:
                    cgps.append(fit_gp(self._U[ok], self._C[ok, j], categorical=cats, noise=self.noise, init=init))
        self._cache = (key, gp, cgps)
        return gp, cgps

    def model(self) -> GP | None:
        """The GP of the objective fitted on everything told so far (None before 2 points)."""
        if self._y.size < 2:
            return None
        return self._fit_models()[0]

    def best_predicted(self):
        """``(x, mean)``: the evaluated point with the lowest posterior mean, in the user's space,
        and that mean; among points observed feasible when constraints were told. None when nothing
        (feasible) has been told. Warm-start points count; pending points do not.
        """
        feas = self._feasible()
        if not feas.any():
            return None
        U = self._U[feas]
        if self._y.size < 2:
            mean = self._y[feas]
        else:
            mean, _ = self._fit_models()[0].predict(U)
        i = int(np.argmin(mean))
        x = self.space.decode(self._from_unit(U[i : i + 1]))[0]
        return x, float(mean[i])

    # -- the acquisition -------------------------------------------------------------------------
    def _acquisition(self, gp: GP, cgps: list[GP], pending: np.ndarray):
        """The acquisition for the next point given the pending ones (a log one for the EI family)."""
        feas = self._feasible()
        seed = int(self.rng.integers(2**31 - 1))
        kind = self.acquisition
        if kind == "ucb":
            return UCB(believer(gp, pending), self.ucb_beta)
        if kind == "ts":
            return ThompsonSampling(believer(gp, pending), np.random.default_rng(seed))
        terms = []
        if feas.any():
            if kind == "qlognei":
                terms.append(qLogNEI(gp, self._U[feas], pending, n_samples=self.mc_samples, seed=seed))
            elif pending.shape[0]:
                terms.append(qLogEI(gp, float(self._y[feas].min()), pending, n_samples=self.mc_samples, seed=seed))
            else:
                terms.append(LogEI(gp, float(self._y[feas].min())))
        if cgps:
            terms.append(LogFeasibility(cgps))
        return LogSum(*terms, weights=self._log_weights())

    def _log_weights(self) -> tuple:
        """Hook: extra log weights on the acquisition (piBO's prior)."""
        return ()

    def _starts(self, gp: GP) -> np.ndarray:
        """Extra starts: the best points (feasible first) perturbed at two scales of the lengthscales."""
        order = np.lexsort((self._y, ~self._feasible()))
        top = self._U[order[: min(4, order.size)]]
        ls = np.clip(gp.lengthscale, 1e-3, 1.0)
        return np.vstack([perturb(top, 32, self.rng, 0.1 * ls), perturb(top, 32, self.rng, 0.01 * ls)])

    def _suggest(self, n: int, pending: np.ndarray) -> np.ndarray:
        with compute():  # one thread-limiting context around the whole step (nested ones are free)
            return self._suggest_points(n, pending)

    def _suggest_points(self, n: int, pending: np.ndarray) -> np.ndarray:
        gp, cgps = self._fit_models()
        self._hyper = gp.hyperparameters()
        self._hyper_c = [c.hyperparameters() for c in cgps]
        chosen = []
        for _ in range(n):
            P = np.vstack([pending] + chosen) if chosen else pending
            acq = self._acquisition(gp, cgps, P)
            x, _ = optimize_acqf(acq, self._spec, self.rng, raw_samples=self.raw_samples, n_restarts=self.n_restarts,
                                 extra_starts=self._starts(gp), lengthscale=gp.lengthscale)
            chosen.append(x[None, :])
        return np.vstack(chosen)

    # -- state -----------------------------------------------------------------------------------
    def _get_state(self) -> dict:
        m = 0 if self._C is None else self._C.shape[1]
        return {
            "U": self._U.copy(), "y": self._y.copy(), "m": m,
            "C": self._C.copy() if self._C is not None else np.zeros((self._y.size, 0)),
            "sobol_seed": self._sobol_seed, "sobol_drawn": self._sobol_drawn, "n_warm": self._n_warm,
            "hyper": self._hyper, "hyper_c": list(self._hyper_c),
        }

    def _set_state(self, state: dict) -> None:
        self._U = np.asarray(state["U"], dtype=np.float64).reshape(-1, self.dim)
        self._y = np.asarray(state["y"], dtype=np.float64).reshape(-1)
        m = int(state["m"])
        self._C = np.asarray(state["C"], dtype=np.float64).reshape(self._y.size, m) if m else None
        self._sobol_seed, self._sobol_drawn = int(state["sobol_seed"]), int(state["sobol_drawn"])
        self._n_warm = int(state["n_warm"])
        self._hyper = state["hyper"]
        self._hyper_c = list(state["hyper_c"])
        self._cache = None
