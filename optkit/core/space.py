"""Search spaces: a :class:`Box` of reals, or a :class:`SearchSpace` of named Real/Integer/Categorical.

Points in the *user's space* are float64 arrays of shape ``(n, d)``: reals as they are, integers as
whole numbers, a categorical dimension as the index of the chosen category (``space.to_dict`` turns a
row into named values). Optimizers work in the *encoded space* ``[encoded_lower, encoded_upper]``:
for a :class:`Box` it is the box itself (bounds may be infinite); for a :class:`SearchSpace` it is the
unit cube, each dimension mapped through its own encoding (log scale, integer buckets, category
buckets). ``decode`` maps encoded points to user points and ``encode`` maps back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from optkit.core.errors import InvalidParameterError

try:  # the clip ufunc itself: np.clip's Python wrapper costs ~3x the clipping of a short row
    from numpy._core.umath import clip as _clip_ufunc
except ImportError:  # numpy < 2
    try:
        from numpy.core.umath import clip as _clip_ufunc
    except ImportError:
        _clip_ufunc = np.clip


def clip(Z: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``np.clip(Z, lower, upper)`` (a new array) without np.clip's per-call overhead."""
    return _clip_ufunc(Z, lower, upper)


def encoded_start(space, x0, rng: np.random.Generator, owner: str, *, unbounded: str, outside: str) -> np.ndarray:
    """A method's starting point ``x0`` (user space) encoded, or a uniformly random point of the box.

    ``unbounded`` finishes the error when ``x0`` is missing on an unbounded space, ``outside`` names
    where ``x0`` must lie; a wrong size or a point outside is an :class:`InvalidParameterError`.
    """
    lo, hi = space.encoded_lower, space.encoded_upper
    if x0 is None:
        if not space.bounded:
            raise InvalidParameterError(f"{owner}: on an unbounded space give 'x0' {unbounded}")
        return lo + rng.random(space.dim) * (hi - lo)
    x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
    if x0.size != space.dim:
        raise InvalidParameterError(f"{owner}: 'x0' must have {space.dim} entries; got {x0.size}")
    if not np.all(space.contains(x0)):
        raise InvalidParameterError(
            f"{owner}: 'x0' must lie inside {outside}; got {x0.tolist()!r:.120} outside "
            f"[{space.lower.tolist()!r:.60}, {space.upper.tolist()!r:.60}]"
        )
    return space.encode(x0)[0]


def as_points(X, dim: int, name: str = "X") -> np.ndarray:
    """``X`` as a float64 array of shape (n, dim); a single point (dim,) becomes (1, dim)."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"{name!r} must be an array of numbers of shape (n, {dim}); got {X!r:.80}") from exc
    if arr.ndim == 1 and arr.shape[0] == dim:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise InvalidParameterError(f"{name!r} must have shape (n, {dim}); got shape {arr.shape}")
    return arr


class Space:
    """Interface shared by :class:`Box` and :class:`SearchSpace`."""

    dim: int
    lower: np.ndarray
    upper: np.ndarray

    @property
    def encoded_lower(self) -> np.ndarray:
        return np.zeros(self.dim)

    @property
    def encoded_upper(self) -> np.ndarray:
        return np.ones(self.dim)

    @property
    def bounded(self) -> bool:
        """True when every bound is finite."""
        return bool(np.all(np.isfinite(self.lower)) and np.all(np.isfinite(self.upper)))

    def contains(self, X) -> np.ndarray:
        """Boolean (n,): whether each row lies inside the space (bounds included)."""
        X = as_points(X, self.dim)
        return np.all((X >= self.lower) & (X <= self.upper), axis=1)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` points drawn uniformly in the encoded space, decoded to the user's space."""
        lo, hi = self.encoded_lower, self.encoded_upper
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise InvalidParameterError("sampling needs finite bounds; this space has infinite bounds")
        return self.decode(lo + rng.random((n, self.dim)) * (hi - lo))

    def require_bounded(self, who: str) -> None:
        """Raise a clear error if ``who`` needs finite bounds and this space lacks them."""
        if not self.bounded:
            raise InvalidParameterError(
                f"{who} needs finite bounds on every dimension; got lower={self.lower.tolist()}, "
                f"upper={self.upper.tolist()}"
            )


class Box(Space):
    """The box ``lower <= x <= upper`` in R^d (bounds may be infinite for methods that allow it).

    ``Box(-5, 5, dim=10)`` broadcasts scalar bounds.
    """

    def __init__(self, lower, upper, *, dim: int | None = None):
        lo = np.array(lower, dtype=np.float64, ndmin=1)
        hi = np.array(upper, dtype=np.float64, ndmin=1)
        if dim is not None:
            if not isinstance(dim, (int, np.integer)) or dim < 1:
                raise InvalidParameterError(f"Box: 'dim' must be a positive int; got {dim!r}")
            lo, hi = np.broadcast_to(lo, (dim,)).copy(), np.broadcast_to(hi, (dim,)).copy()
        if lo.ndim != 1 or hi.ndim != 1 or lo.shape != hi.shape or lo.size == 0:
            raise InvalidParameterError(
                f"Box: 'lower' and 'upper' must be 1-D of the same length >= 1; got shapes {lo.shape} and {hi.shape}"
            )
        if np.isnan(lo).any() or np.isnan(hi).any():
            raise InvalidParameterError(f"Box: bounds must not be NaN; got lower={lo.tolist()}, upper={hi.tolist()}")
        bad = np.flatnonzero(lo >= hi)
        if bad.size:
            i = int(bad[0])
            raise InvalidParameterError(
                f"Box: 'lower' must be < 'upper' in every dimension; dimension {i} has lower={float(lo[i])!r} >= upper={float(hi[i])!r}"
            )
        self.lower, self.upper, self.dim = lo, hi, lo.size

    @property
    def encoded_lower(self) -> np.ndarray:
        return self.lower

    @property
    def encoded_upper(self) -> np.ndarray:
        return self.upper

    def encode(self, X) -> np.ndarray:
        return as_points(X, self.dim).copy()

    def decode(self, Z) -> np.ndarray:
        return clip(as_points(Z, self.dim, "Z"), self.lower, self.upper)

    def to_json(self) -> dict:
        return {"type": "Box", "lower": self.lower.tolist(), "upper": self.upper.tolist()}

    def __eq__(self, other) -> bool:
        return isinstance(other, Box) and np.array_equal(self.lower, other.lower) and np.array_equal(self.upper, other.upper)

    def __repr__(self) -> str:
        if np.all(self.lower == self.lower[0]) and np.all(self.upper == self.upper[0]):
            return f"Box({self.lower[0]:g}, {self.upper[0]:g}, dim={self.dim})"
        return f"Box({self.lower.tolist()}, {self.upper.tolist()})"


class Real:
    """A real dimension on [low, high], optionally on a log scale (then low > 0)."""

    kind = "real"

    def __init__(self, low: float, high: float, *, log: bool = False):
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
            raise InvalidParameterError(f"Real: need finite low < high; got low={low!r}, high={high!r}")
        if log and low <= 0:
            raise InvalidParameterError(f"Real: log=True needs low > 0; got low={low!r}")
        self.low, self.high, self.log = low, high, bool(log)

    @property
    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        u = np.clip(u, 0.0, 1.0)
        if self.log:
            a, b = math.log(self.low), math.log(self.high)
            return np.clip(np.exp(a + u * (b - a)), self.low, self.high)
        return self.low + u * (self.high - self.low)

    def to_unit(self, v: np.ndarray) -> np.ndarray:
        if self.log:
            a, b = math.log(self.low), math.log(self.high)
            return (np.log(np.maximum(v, 1e-300)) - a) / (b - a)
        return (v - self.low) / (self.high - self.low)

    def value(self, v: float):
        return float(v)

    def index(self, value) -> float:
        return float(value)

    def to_json(self) -> dict:
        return {"type": "Real", "low": self.low, "high": self.high, "log": self.log}

    def __repr__(self) -> str:
        return f"Real({self.low:g}, {self.high:g}{', log=True' if self.log else ''})"


class Integer:
    """An integer dimension ``low <= k <= high`` (both included), optionally log-scaled."""

    kind = "integer"

    def __init__(self, low: int, high: int, *, log: bool = False):
        if int(low) != low or int(high) != high or low >= high:
            raise InvalidParameterError(f"Integer: need integers low < high; got low={low!r}, high={high!r}")
        if log and low < 1:
            raise InvalidParameterError(f"Integer: log=True needs low >= 1; got low={low!r}")
        self.low, self.high, self.log = int(low), int(high), bool(log)

    @property
    def bounds(self) -> tuple[float, float]:
        return float(self.low), float(self.high)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        u = np.clip(u, 0.0, 1.0)
        if self.log:
            a, b = math.log(self.low - 0.5), math.log(self.high + 0.5)
            v = np.round(np.exp(a + u * (b - a)))
        else:
            v = self.low + np.floor(u * (self.high - self.low + 1))
        return np.clip(v, self.low, self.high)

    def to_unit(self, v: np.ndarray) -> np.ndarray:
        if self.log:
            a, b = math.log(self.low - 0.5), math.log(self.high + 0.5)
            return (np.log(v) - a) / (b - a)
        return (v - self.low + 0.5) / (self.high - self.low + 1)

    def value(self, v: float):
        return int(round(v))

    def index(self, value) -> float:
        return float(value)

    def to_json(self) -> dict:
        return {"type": "Integer", "low": self.low, "high": self.high, "log": self.log}

    def __repr__(self) -> str:
        return f"Integer({self.low}, {self.high}{', log=True' if self.log else ''})"


class Categorical:
    """A choice among ``choices`` (any JSON-serializable values); numerically, the choice's index."""

    kind = "categorical"

    def __init__(self, choices: Sequence):
        choices = list(choices)
        if len(choices) < 1:
            raise InvalidParameterError("Categorical: 'choices' must hold at least one value; got []")
        if len(set(map(repr, choices))) != len(choices):
            raise InvalidParameterError(f"Categorical: 'choices' must be distinct; got {choices!r}")
        self.choices = choices

    @property
    def bounds(self) -> tuple[float, float]:
        return 0.0, float(len(self.choices) - 1)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        k = len(self.choices)
        return np.clip(np.floor(np.clip(u, 0.0, 1.0) * k), 0, k - 1)

    def to_unit(self, v: np.ndarray) -> np.ndarray:
        return (v + 0.5) / len(self.choices)

    def value(self, v: float):
        return self.choices[int(round(v))]

    def index(self, value) -> float:
        for i, c in enumerate(self.choices):
            if c == value:
                return float(i)
        raise InvalidParameterError(f"Categorical: {value!r} is not one of {self.choices!r}")

    def to_json(self) -> dict:
        return {"type": "Categorical", "choices": list(self.choices)}

    def __repr__(self) -> str:
        return f"Categorical({self.choices!r})"


_DIMENSIONS = {"Real": Real, "Integer": Integer, "Categorical": Categorical}


class SearchSpace(Space):
    """Named dimensions: ``SearchSpace({"lr": Real(1e-4, 1, log=True), "depth": Integer(1, 8),
    "act": Categorical(["relu", "tanh"])})``. The encoded space is the unit cube."""

    def __init__(self, params: Mapping):
        if not isinstance(params, Mapping) or not params:
            raise InvalidParameterError(f"SearchSpace: 'params' must be a non-empty dict of name -> Real/Integer/Categorical; got {params!r}")
        for k, p in params.items():
            if not isinstance(p, (Real, Integer, Categorical)):
                raise InvalidParameterError(
                    f"SearchSpace: parameter {k!r} must be a Real, Integer or Categorical; got {p!r}"
                )
        self.params = dict(params)
        self.names = list(self.params)
        self.dim = len(self.names)
        self.lower = np.array([p.bounds[0] for p in self.params.values()])
        self.upper = np.array([p.bounds[1] for p in self.params.values()])

    def encode(self, X) -> np.ndarray:
        X = as_points(X, self.dim)
        return np.column_stack([p.to_unit(X[:, j]) for j, p in enumerate(self.params.values())])

    def decode(self, Z) -> np.ndarray:
        Z = as_points(Z, self.dim, "Z")
        return np.column_stack([p.from_unit(Z[:, j]) for j, p in enumerate(self.params.values())])

    def to_dict(self, x) -> dict:
        """One numeric point (d,) as ``{name: value}`` with ints as int and categories as the choice."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        return {k: p.value(x[j]) for j, (k, p) in enumerate(self.params.items())}

    def from_dict(self, values: Mapping) -> np.ndarray:
        """A ``{name: value}`` dict as the numeric point (d,)."""
        missing = [k for k in self.names if k not in values]
        if missing:
            raise InvalidParameterError(f"SearchSpace.from_dict: missing values for {missing}")
        return np.array([p.index(values[k]) for k, p in self.params.items()])

    def to_json(self) -> dict:
        return {"type": "SearchSpace", "params": {k: p.to_json() for k, p in self.params.items()}}

    def __eq__(self, other) -> bool:
        return isinstance(other, SearchSpace) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return f"SearchSpace({self.params!r})"


def space_from_json(data: dict) -> Space:
    """Inverse of ``space.to_json()``."""
    if data.get("type") == "Box":
        return Box(data["lower"], data["upper"])
    if data.get("type") == "SearchSpace":
        params = {}
        for k, p in data["params"].items():
            p = dict(p)
            cls = _DIMENSIONS[p.pop("type")]
            params[k] = cls(p.pop("choices")) if cls is Categorical else cls(p.pop("low"), p.pop("high"), **p)
        return SearchSpace(params)
    raise InvalidParameterError(f"not a serialized space: {data!r:.100}")


def as_space(space=None, *, bounds=None) -> Space:
    """Accept a Space, a dict of dimensions, ``[(lo, hi), ...]`` pairs or a scipy ``Bounds``."""
    obj = space if space is not None else bounds
    if obj is None:
        raise InvalidParameterError("a search space is required: pass 'space' (a Box or SearchSpace) or 'bounds'")
    if isinstance(obj, Space):
        return obj
    if isinstance(obj, Mapping):
        return SearchSpace(obj)
    if hasattr(obj, "lb") and hasattr(obj, "ub"):  # scipy.optimize.Bounds
        return Box(obj.lb, obj.ub)
    try:
        pairs = np.asarray(obj, dtype=np.float64)
    except (TypeError, ValueError):
        pairs = None
    if pairs is None or pairs.ndim != 2 or pairs.shape[1] != 2:
        raise InvalidParameterError(
            f"'bounds' must be a sequence of (low, high) pairs, a Box, a SearchSpace or a dict of dimensions; got {obj!r:.100}"
        )
    return Box(pairs[:, 0], pairs[:, 1])
