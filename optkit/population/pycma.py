"""``pycma``: a thin ask/tell wrapper of the ``cma`` package (Hansen's reference CMA-ES).

It is the reference that optkit's own CMA-ES is measured against. Differences from calling ``cma``
directly: samples come from optkit's seeded generator (``cma``'s ``randn`` option), so the global
numpy random state is neither used nor changed; the box is handled by ``cma``'s own boundary
handler (``BoundTransform``) in the encoded space, normalized to the unit cube; nothing is
written to disk or printed.

State: ``cma``'s internal object cannot be written as JSON, and the method is deterministic given its
samples and values, so the state is the generator's initial state plus every told generation; loading
replays them.
"""

from __future__ import annotations

import warnings

import numpy as np

from optkit.core.optimizer import Optimizer
from optkit.core.params import POINT, Interval
from optkit.core.registry import register


@register("pycma", family="population")
class PyCMA(Optimizer):
    """CMA-ES from the ``cma`` package, in the box normalized to the unit cube.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    sigma0 : float
        Initial step size, as a fraction of the box width.
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

    family = "population"
    _parameter_constraints = {
        "sigma0": [Interval(float, 0, None, closed="neither")],
        "popsize": [None, Interval(int, 2, None)],
        "x0": [None, POINT],
    }

    def __init__(self, space, *, sigma0: float = 0.3, popsize: int | None = None, x0=None, seed=None):
        super().__init__(space, seed=seed, sigma0=sigma0, popsize=popsize, x0=x0)
        self._lo = self.space.encoded_lower
        self._span = self.space.encoded_upper - self._lo
        self._rng0 = self.rng.bit_generator.state
        self._log: list[tuple[np.ndarray, np.ndarray]] = []  # told generations (U, f)
        self._es = self._new_es()
        self._gens: list[dict] = []  # open generations: {"U": (lam, d), "f": (lam,), "told": bool mask}

    def _u0(self) -> np.ndarray:
        if self.x0 is None:
            return np.full(self.dim, 0.5)
        x0 = np.asarray(self.x0, dtype=np.float64).reshape(self.dim)
        return np.clip((self.space.encode(x0)[0] - self._lo) / self._span, 0, 1)

    def _new_es(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cma warns at import when matplotlib is missing
            import cma

        opts = {
            "bounds": [0.0, 1.0],
            "seed": np.nan,
            "randn": lambda *shape: self.rng.standard_normal(shape),
            "verbose": -9,
            "verb_log": 0,
            "verb_disp": 0,
            "tolfun": 0.0,
            "tolfunhist": 0.0,
            "tolx": 0.0,
            "tolstagnation": 10**9,
        }
        if self.popsize is not None:
            opts["popsize"] = self.popsize
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cma.CMAEvolutionStrategy(self._u0(), self.sigma0, opts)

    @property
    def batch_size(self) -> int:
        return int(self._es.popsize)

    def _ask(self, n: int) -> np.ndarray:
        out = []
        for g in self._gens:
            free = np.flatnonzero(~g["asked"])
            take = free[: n - len(out)]
            g["asked"][take] = True
            out.extend(g["U"][take])
        while len(out) < n:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                U = np.array(self._es.ask(), dtype=np.float64)
            g = {"U": U, "f": np.full(len(U), np.nan), "asked": np.zeros(len(U), bool)}
            take = np.arange(min(n - len(out), len(U)))
            g["asked"][take] = True
            out.extend(U[take])
            self._gens.append(g)
        return self._lo + np.clip(np.array(out), 0, 1) * self._span

    def _tell(self, Z, y, C) -> None:
        self._assign((Z - self._lo) / self._span, y)

    def _discard(self, Z) -> None:
        self._assign((Z - self._lo) / self._span, None)

    def _assign(self, U: np.ndarray, y) -> None:
        for i, u in enumerate(U):
            for g in self._gens:
                hit = np.flatnonzero(g["asked"] & np.isnan(g["f"]) & np.all(np.abs(np.clip(g["U"], 0, 1) - u) <= 1e-12, axis=1))
                if hit.size:
                    g["f"][hit[0]] = np.inf if y is None else y[i]
                    break
        while self._gens and not np.isnan(self._gens[0]["f"]).any():
            g = self._gens.pop(0)
            f = g["f"].copy()
            if np.isinf(f).any():  # skipped points rank last
                finite = f[np.isfinite(f)]
                f[np.isinf(f)] = (finite.max() + 1.0) if finite.size else 1.0
            self._tell_es(g["U"], f)

    def _tell_es(self, U: np.ndarray, f: np.ndarray) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._es.tell(list(U), f.tolist())
        self._log.append((U, f))

    def stop_reason(self) -> str | None:
        stop = {k: v for k, v in self._es.stop().items() if k not in ("tolfun", "tolx", "tolfunhist", "tolstagnation")}
        return f"cma stopped: {stop}" if stop else None

    def _get_state(self) -> dict:
        return {
            "rng0": self._rng0,
            "log_U": [u for u, _ in self._log],
            "log_f": [f for _, f in self._log],
            "gens": [{"U": g["U"], "f": g["f"], "asked": g["asked"]} for g in self._gens],
        }

    def _set_state(self, state: dict) -> None:
        rng_now = self.rng.bit_generator.state
        self.rng.bit_generator.state = state["rng0"]
        self._rng0 = state["rng0"]
        self._es, self._log, self._gens = self._new_es(), [], []
        for U, f in zip(state["log_U"], state["log_f"]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._es.ask()
            self._tell_es(np.asarray(U, dtype=np.float64), np.asarray(f, dtype=np.float64))
        for g in state["gens"]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._es.ask()
            self._gens.append({"U": np.asarray(g["U"], dtype=np.float64), "f": np.asarray(g["f"], dtype=np.float64),
                               "asked": np.asarray(g["asked"], dtype=bool)})
        self.rng.bit_generator.state = rng_now
