"""optkit's exceptions and warnings.

Every error a user can cause is an :class:`OptkitError`. Each subclass also derives from the builtin
exception a Python user would expect (``ValueError``, ``TypeError``, ``LookupError``), so existing
``except ValueError`` code keeps working. Messages name the argument, what was received and what was
expected.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class OptkitError(Exception):
    """Base class of every error raised by optkit."""


class InvalidParameterError(OptkitError, ValueError, TypeError):
    """An argument or hyperparameter has the wrong type, shape or value."""


class UnknownNameError(OptkitError, LookupError, ValueError):
    """A method, problem or hyperparameter name that optkit does not know."""


class ObjectiveError(OptkitError, RuntimeError):
    """The objective raised or returned a non-finite value under ``on_error="raise"``."""


class JournalError(OptkitError, RuntimeError):
    """A journal cannot be used: corrupted, belongs to another problem, or cannot be replayed."""


class StateError(OptkitError, ValueError):
    """An optimizer was used out of protocol (e.g. told points it never asked) or given a bad state."""


class OptkitWarning(UserWarning):
    """Base class of optkit's warnings."""


def suggest(name: str, choices: Iterable[str]) -> str:
    """A ' Did you mean ...?' hint for ``name`` among ``choices`` (empty when nothing is close)."""
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"
