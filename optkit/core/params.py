"""Declarative validation of hyperparameters (the scikit-learn ``_param_validation`` model).

An optimizer declares ``_parameter_constraints = {"popsize": [Interval(int, 2, None), None], ...}``;
the base class checks every constructor argument against its list at construction (a value passes if
it satisfies any entry; ``None`` in the list allows ``None``). Messages read::

    The 'popsize' parameter of CMAES must be an int in [2, inf) or None. Got 1 instead.
"""

from __future__ import annotations

import abc
import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from optkit.core.errors import InvalidParameterError


class Constraint(abc.ABC):
    """One admissible set of values. Subclasses implement ``ok`` and ``__str__``."""

    @abc.abstractmethod
    def ok(self, value) -> bool:
        """Whether ``value`` is admissible."""

    def invalid_example(self):
        """A value that violates this constraint (used by the conformance checks), or None."""
        return None


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


@dataclass(frozen=True)
class Interval(Constraint):
    """Numbers of ``kind`` (``int`` or ``float``) in an interval; ``None`` bounds are infinite.

    ``closed`` is one of "both", "left", "right", "neither". Reals accept ints too; NaN never passes.
    """

    kind: type
    low: float | None
    high: float | None
    closed: str = "both"

    def ok(self, value) -> bool:
        if self.kind is int and not _is_int(value):
            return False
        if self.kind is not int and not _is_real(value):
            return False
        v = float(value)
        if math.isnan(v):
            return False
        lo_closed = self.closed in ("both", "left")
        hi_closed = self.closed in ("both", "right")
        if self.low is not None and (v < self.low or (v == self.low and not lo_closed)):
            return False
        if self.high is not None and (v > self.high or (v == self.high and not hi_closed)):
            return False
        return True

    def __str__(self) -> str:
        kind = "an int" if self.kind is int else "a float"
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"{kind} in {left}{lo}, {hi}{right}"

    def invalid_example(self):
        if self.low is not None:
            return self.low - 1
        if self.high is not None:
            return self.high + 1
        return "not-a-number"


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of values (usually strings)."""

    choices: frozenset

    def __init__(self, choices: Iterable):
        object.__setattr__(self, "choices", frozenset(choices))

    def ok(self, value) -> bool:
        try:
            return value in self.choices
        except TypeError:
            return False

    def __str__(self) -> str:
        return "one of {" + ", ".join(repr(c) for c in sorted(self.choices, key=str)) + "}"

    def invalid_example(self):
        return "__not_an_option__"


@dataclass(frozen=True)
class InstanceOf(Constraint):
    """Any instance of the given type(s)."""

    types: tuple
    description: str = ""

    def ok(self, value) -> bool:
        if bool not in self.types and isinstance(value, bool) and not any(t is object for t in self.types):
            return bool in self.types
        return isinstance(value, self.types)

    def __str__(self) -> str:
        if self.description:
            return self.description
        return "an instance of " + " or ".join(t.__name__ for t in self.types)

    def invalid_example(self):
        return object()


@dataclass(frozen=True)
class Predicate(Constraint):
    """A value for which ``check(value)`` is true; ``description`` says what that means."""

    check: Callable
    description: str

    def ok(self, value) -> bool:
        try:
            return bool(self.check(value))
        except Exception:
            return False

    def __str__(self) -> str:
        return self.description


BOOL = InstanceOf((bool, np.bool_), "a bool")
POINT = Predicate(
    lambda v: np.asarray(v, dtype=np.float64).ndim == 1 and bool(np.all(np.isfinite(np.asarray(v, dtype=np.float64)))),
    "a finite point (a 1-D sequence of numbers)",
)
SEED = Predicate(
    lambda v: v is None or (_is_int(v) and v >= 0) or isinstance(v, np.random.SeedSequence),
    "None, a non-negative int or a numpy SeedSequence",
)


def _describe(constraints: list) -> str:
    parts = ["None" if c is None else str(c) for c in constraints]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def validate(owner: str, name: str, value, constraints: list) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` satisfies one of ``constraints``."""
    for c in constraints:
        if c is None:
            if value is None:
                return
        elif c.ok(value):
            return
    raise InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {_describe(constraints)}. Got {value!r} instead."
    )


def validate_all(owner: str, values: dict, table: dict) -> None:
    """Validate every entry of ``values`` that has a row in ``table``."""
    for name, constraints in table.items():
        if name in values:
            validate(owner, name, values[name], constraints)
