"""Random search and quasi-random search (Sobol, Latin hypercube) in the encoded space.

They ignore the values they are told; they are the baselines every method must beat, and the initial
designs other methods start from.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import qmc

from optkit.core.optimizer import Optimizer
from optkit.core.params import BOOL, Interval, Options
from optkit.core.registry import register


class _Sampler(Optimizer):
    """Shared part: draw points, remember nothing but the draw counter."""

    family = "sampling"

    @property
    def batch_size(self) -> int:
        return self.batch

    def _to_space(self, U: np.ndarray) -> np.ndarray:
        lo, hi = self.space.encoded_lower, self.space.encoded_upper
        return lo + U * (hi - lo)

    def _tell(self, Z, y, C) -> None:
        """Values do not steer a sampler."""


@register("random", family="sampling")
class RandomSearch(_Sampler):
    """Uniform random search in the (encoded) search space.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    batch : int
        Points returned by ``ask()`` without ``n``.
    seed : int, optional

    Examples
    --------
    >>> import optkit
    >>> opt = optkit.make("random", optkit.Box(-1, 1, dim=3), seed=0)
    >>> opt.ask(4).shape
    (4, 3)
    """

    _parameter_constraints = {"batch": [Interval(int, 1, None)]}

    def __init__(self, space, *, batch: int = 1, seed=None):
        super().__init__(space, seed=seed, batch=batch)

    def _ask(self, n: int) -> np.ndarray:
        return self._to_space(self.rng.random((n, self.dim)))


@register("sobol", family="sampling")
class SobolSearch(_Sampler):
    """Scrambled Sobol' sequence (scipy.stats.qmc), continued across ``ask`` calls.

    Batches of a power of two keep the sequence's balance properties best; any ``n`` works.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    scramble : bool
        Owen scrambling (randomized QMC); False gives the plain deterministic sequence.
    batch : int
    seed : int, optional
    """

    _parameter_constraints = {"batch": [Interval(int, 1, None)], "scramble": [BOOL]}

    def __init__(self, space, *, scramble: bool = True, batch: int = 1, seed=None):
        super().__init__(space, seed=seed, scramble=scramble, batch=batch)
        self._engine_seed = int(self.rng.integers(2**63 - 1))
        self._drawn = 0
        self._engine = None

    def _make_engine(self):
        eng = qmc.Sobol(self.dim, scramble=self.scramble, rng=np.random.default_rng(self._engine_seed))
        if self._drawn:
            eng.fast_forward(self._drawn)
        return eng

    def _ask(self, n: int) -> np.ndarray:
        if self._engine is None:
            self._engine = self._make_engine()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # balance warning for non-powers of two
            U = self._engine.random(n)
        self._drawn += n
        return self._to_space(U)

    def _get_state(self) -> dict:
        return {"engine_seed": self._engine_seed, "drawn": self._drawn}

    def _set_state(self, state: dict) -> None:
        self._engine_seed, self._drawn = int(state["engine_seed"]), int(state["drawn"])
        self._engine = None


@register("lhs", family="sampling")
class LHSSearch(_Sampler):
    """Latin hypercube designs of ``design_size`` points, served in order; a new design when used up.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    design_size : int, optional
        Points per Latin hypercube (default ``10 * dim``). Each consecutive block of
        ``design_size`` points is a Latin hypercube.
    optimization : {None, "random-cd", "lloyd"}
        scipy's design improvement (slower, better space filling).
    batch : int
    seed : int, optional
    """

    _parameter_constraints = {
        "design_size": [Interval(int, 1, None), None],
        "optimization": [None, Options({"random-cd", "lloyd"})],
        "batch": [Interval(int, 1, None)],
    }

    def __init__(self, space, *, design_size: int | None = None, optimization: str | None = None, batch: int = 1, seed=None):
        super().__init__(space, seed=seed, design_size=design_size, optimization=optimization, batch=batch)
        self._design = np.zeros((0, self.dim))
        self._pos = 0

    def _ask(self, n: int) -> np.ndarray:
        size = self.design_size or 10 * self.dim
        out = []
        while n > 0:
            if self._pos >= self._design.shape[0]:
                eng = qmc.LatinHypercube(self.dim, optimization=self.optimization, rng=self.rng)
                self._design, self._pos = eng.random(size), 0
            take = min(n, self._design.shape[0] - self._pos)
            out.append(self._design[self._pos : self._pos + take])
            self._pos += take
            n -= take
        return self._to_space(np.vstack(out))

    def _get_state(self) -> dict:
        return {"design": self._design, "pos": self._pos}

    def _set_state(self, state: dict) -> None:
        self._design, self._pos = np.asarray(state["design"], dtype=np.float64), int(state["pos"])
