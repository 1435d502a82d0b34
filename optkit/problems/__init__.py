"""Test problems: COCO's 24 BBOB functions, classical functions with known optima, and constrained
engineering problems with published optima. Every one is an :class:`optkit.Problem`, evaluable on a
batch.

>>> import optkit
>>> p = optkit.problems.bbob(8, dim=10, instance=1)      # Rosenbrock, COCO instance 1
>>> h6 = optkit.problems.get("hartmann6")
>>> "welded_beam" in optkit.problems.available()
True
"""

from __future__ import annotations

import importlib

from optkit.core.errors import UnknownNameError, suggest
from optkit.problems.bbob import BBOB_FUNCTIONS, BBOBFunction, bbob

_MODULES = ("optkit.problems.classical", "optkit.problems.constrained", "optkit.problems.ml", "optkit.problems.zo")


def _table() -> dict:
    table = {}
    for mod in _MODULES:
        table.update(importlib.import_module(mod).PROBLEMS)
    return table


def available() -> list[str]:
    """Names accepted by :func:`get` (BBOB functions are reached through :func:`bbob`)."""
    return sorted(_table())


def get(name: str, dim: int | None = None, *, on_error: str = "raise"):
    """The named test problem (``dim`` for the dimension-free ones).

    The finite-sum problems of :mod:`optkit.problems.ml` (``logreg_*``, ``softmax_*``, ``ridge_*``,
    ``least_squares*``, ``mlp_*``) are :class:`~optkit.StochasticProblem` objects for gradient methods.
    """
    table = _table()
    key = str(name).strip().lower().replace("-", "_")
    if key not in table:
        raise UnknownNameError(f"unknown problem {name!r}.{suggest(key, table)} Known: {', '.join(sorted(table))}")
    return table[key](dim, on_error=on_error)


__all__ = ["BBOBFunction", "BBOB_FUNCTIONS", "available", "bbob", "get"]
