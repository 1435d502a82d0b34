"""The population family's one layer: generations, x0/sigma0 defaults, and state.

A population method implements

* ``_sample() -> Z`` (lam, d): a new generation in the encoded space (may leave the box: the points
  evaluated are the samples clipped into the box);
* ``_update(Z, Zeval, y, C)``: one *complete* generation: the raw samples, the points evaluated,
  their values (n,) and constraint values or None;
* ``_state()`` / ``_load(state)``: its own state (JSON scalars and numpy arrays).

The layer serves ``ask(n)`` from the open generations (sampling new ones as needed, so any ``n``
works), matches told points to their generation slot, and calls ``_update`` once a generation is
complete, oldest first. Points given up with ``forget`` (``on_error="skip"``) rank last in their
generation.
"""

from __future__ import annotations

import abc
import math

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.optimizer import Optimizer, _key, _key_index
from optkit.core.space import clip, encoded_start


def default_popsize(dim: int) -> int:
    """Hansen's default lambda = 4 + floor(3 ln d)."""
    return 4 + int(3 * math.log(dim))


def _generation(Z, Zeval, y, done, asked) -> dict:
    """One generation's bookkeeping; ``slots`` maps an evaluated point's bytes to its untold indices."""
    slots: dict[bytes, list[int]] = {}
    for j in np.flatnonzero(~done):
        slots.setdefault(_key(Zeval[j]), []).append(int(j))
    return {"Z": Z, "Zeval": Zeval, "y": y, "done": done, "asked": asked, "C": None, "slots": slots}


class PopulationOptimizer(Optimizer):
    """Base of the population methods (see the module docstring)."""

    family = "population"
    needs_bounds = False

    def __init__(self, space, *, seed=None, **params):
        super().__init__(space, seed=seed, **params)
        self._gens: list[dict] = []

    # -- x0 / sigma0 ---------------------------------------------------------------------------
    def _initial_mean(self, x0) -> np.ndarray:
        """``x0`` (user space) in the encoded space, or a uniformly random point of the box."""
        return encoded_start(self.space, x0, self.rng, type(self).__name__,
                             unbounded="(and 'sigma0'); the defaults need finite bounds", outside="the space")

    def _initial_sigma(self, sigma0) -> float:
        """``sigma0`` in encoded units, default 0.3 of the box's mean width."""
        if sigma0 is not None:
            return float(sigma0)
        if not self.space.bounded:
            raise InvalidParameterError(f"{type(self).__name__}: on an unbounded space give 'sigma0'")
        return 0.3 * float(np.mean(self.space.encoded_upper - self.space.encoded_lower))

    # -- generations ---------------------------------------------------------------------------
    @abc.abstractmethod
    def _sample(self) -> np.ndarray:
        """A new generation (lam, d) in the encoded space."""

    @abc.abstractmethod
    def _update(self, Z: np.ndarray, Zeval: np.ndarray, y: np.ndarray, C: np.ndarray | None) -> None:
        """Learn from one complete generation."""

    def _state(self) -> dict:
        return {}

    def _load(self, state: dict) -> None:
        """Restore what :meth:`_state` returned."""

    def _clip(self, Z: np.ndarray) -> np.ndarray:
        return clip(Z, self.space.encoded_lower, self.space.encoded_upper)

    def _ask(self, n: int) -> np.ndarray:
        out = []
        for g in self._gens:
            free = np.flatnonzero(~g["asked"])[: n - len(out)]
            g["asked"][free] = True
            out.extend(g["Zeval"][free])
        while len(out) < n:
            Z = np.asarray(self._sample(), dtype=np.float64)
            g = _generation(Z, self._clip(Z), np.full(len(Z), np.nan), np.zeros(len(Z), bool), np.zeros(len(Z), bool))
            take = np.arange(min(n - len(out), len(Z)))
            g["asked"][take] = True
            out.extend(g["Zeval"][take])
            self._gens.append(g)
        return np.array(out)

    def _tell(self, Z, y, C) -> None:
        self._assign(Z, y, C)

    def _discard(self, Z) -> None:
        self._assign(Z, None, None)

    def _assign(self, Z: np.ndarray, y, C) -> None:
        exact = _key_index(self.dim) is None
        for i, z in enumerate(Z):
            key = _key(z)
            for g in self._gens:
                slots = g["slots"].get(key)
                if slots:
                    at = 0 if exact else next((a for a, j in enumerate(slots) if np.array_equal(g["Zeval"][j], z)), None)
                    if at is None:
                        continue
                    j = slots.pop(at)
                    g["done"][j] = True
                    g["y"][j] = np.inf if y is None else y[i]
                    if C is not None:
                        if g["C"] is None:
                            g["C"] = np.full((len(g["Z"]), C.shape[1]), np.nan)
                        g["C"][j] = C[i]
                    break
        while self._gens and self._gens[0]["done"].all():
            g = self._gens.pop(0)
            y = g["y"]
            if np.isinf(y).any():  # forgotten points rank last
                finite = y[np.isfinite(y)]
                y = np.where(np.isinf(y), (finite.max() + 1.0 + abs(finite.max())) if finite.size else 1.0, y)
            C = g["C"]
            if C is not None and np.isnan(C).any():
                C = np.where(np.isnan(C), np.nanmax(np.abs(C)) + 1.0 if np.isfinite(C).any() else 1.0, C)
            self._update(g["Z"], g["Zeval"], y, C)

    @property
    def batch_size(self) -> int:
        return int(self.popsize_)

    def _get_state(self) -> dict:
        gens = [{k: v for k, v in g.items() if v is not None and k != "slots"} for g in self._gens]
        return {"gens": gens, "own": self._state()}

    def _set_state(self, state: dict) -> None:
        self._gens = []
        for g in state["gens"]:
            gen = _generation(np.asarray(g["Z"], dtype=np.float64), np.asarray(g["Zeval"], dtype=np.float64),
                              np.asarray(g["y"], dtype=np.float64), np.asarray(g["done"], dtype=bool),
                              np.asarray(g["asked"], dtype=bool))
            if "C" in g:
                gen["C"] = np.asarray(g["C"], dtype=np.float64)
            self._gens.append(gen)
        self._load(state["own"])
