"""``pycma``: a thin ask/tell wrapper of the ``cma`` package (Hansen's reference CMA-ES).

It is the reference that optkit's own CMA-ES is measured against. Differences from calling ``cma``
directly: samples come from optkit's seeded generator (``cma``'s ``randn`` option), so the global
numpy random state is neither used nor changed; the box is handled by ``cma``'s own boundary
handler (``BoundTransform``), with the step size scaled per coordinate to the box's widths
(``CMA_stds``); nothing is written to disk or printed.

State: ``cma``'s internal object cannot be written as JSON, and the method is deterministic given its
samples and values, so the state is the generator's initial state plus every told generation; loading
replays them.
"""

from __future__ import annotations

import warnings

import numpy as np

from optkit.core.params import POINT, Interval
from optkit.core.registry import register
from optkit.population._base import PopulationOptimizer

# cma's own stopping rules that are switched off: optkit's loop decides on the budget, and these
# would stop runs long before the benchmark targets of 1e-8
_OFF = {"tolfun": 0.0, "tolfunhist": 0.0, "tolx": 0.0, "tolstagnation": 10**9}


@register("pycma", family="population")
class PyCMA(PopulationOptimizer):
    """CMA-ES from the ``cma`` package.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    sigma0 : float
        Initial step size, as a fraction of each coordinate's box width.
    popsize : int, optional
        Population size lambda (default ``4 + floor(3 ln d)``).
    x0 : array (d,), optional
        Initial mean (default: the centre of the box).
    seed : int, optional

    Examples
    --------
    >>> import optkit
    >>> res = optkit.minimize(lambda x: float((x ** 2).sum()), [(-3, 3)] * 4, method="pycma",
    ...                       budget=1500, seed=3)
    >>> bool(res.fun < 1e-8)
    True
    """

    needs_bounds = True
    _parameter_constraints = {
        "sigma0": [Interval(float, 0, None, closed="neither")],
        "popsize": [None, Interval(int, 2, None)],
        "x0": [None, POINT],
    }

    def __init__(self, space, *, sigma0: float = 0.3, popsize: int | None = None, x0=None, seed=None):
        super().__init__(space, seed=seed, sigma0=sigma0, popsize=popsize, x0=x0)
        lo, hi = self.space.encoded_lower, self.space.encoded_upper
        self._m0 = (lo + hi) / 2 if x0 is None else self._initial_mean(x0)
        self._rng0 = self.rng.bit_generator.state
        self._log: list[tuple[np.ndarray, np.ndarray]] = []  # told generations (Z, y)
        self._es = self._new_es()
        self.popsize_ = int(self._es.popsize)

    def _new_es(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cma warns at import when matplotlib is missing
            import cma

            lo, hi = self.space.encoded_lower, self.space.encoded_upper
            opts = {
                "bounds": [list(lo), list(hi)],
                "CMA_stds": list(hi - lo),
                "seed": np.nan,
                "randn": lambda *shape: self.rng.standard_normal(shape),
                "verbose": -9,
                "verb_log": 0,
                "verb_disp": 0,
                **_OFF,
            }
            if self.popsize is not None:
                opts["popsize"] = self.popsize
            return cma.CMAEvolutionStrategy(self._m0, self.sigma0, opts)

    def _sample(self) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.array(self._es.ask(), dtype=np.float64)

    def _update(self, Z, Zeval, y, C) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._es.tell(list(Z), y.tolist())
        self._log.append((Z, y))

    def stop_reason(self) -> str | None:
        stop = {k: v for k, v in self._es.stop().items() if k not in _OFF}
        return f"cma stopped: {stop}" if stop else None

    def _state(self) -> dict:
        return {"rng0": self._rng0, "log_Z": [z for z, _ in self._log], "log_y": [y for _, y in self._log]}

    def _load(self, state: dict) -> None:
        rng_now = self.rng.bit_generator.state
        self.rng.bit_generator.state = self._rng0 = state["rng0"]
        self._es, self._log = self._new_es(), []
        for Z, y in zip(state["log_Z"], state["log_y"]):
            self._sample()
            Z = np.asarray(Z, dtype=np.float64)
            self._update(Z, Z, np.asarray(y, dtype=np.float64), None)
        for _ in self._gens:  # the open generations were sampled too
            self._sample()
        self.rng.bit_generator.state = rng_now
