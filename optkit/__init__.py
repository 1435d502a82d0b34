"""optkit: classical optimization and black-box solving behind one ask/tell interface.

>>> import optkit
>>> res = optkit.minimize(lambda x: float((x ** 2).sum()), [(-5, 5)] * 2, method="sobol", budget=64, seed=0)
>>> res.nfev
64
"""

from optkit.core.api import minimize, resume
from optkit.core.errors import (
    InvalidParameterError,
    JournalError,
    ObjectiveError,
    OptkitError,
    OptkitWarning,
    StateError,
    UnknownNameError,
)
from optkit.core.optimizer import Optimizer
from optkit.core.problem import Problem
from optkit.core.registry import available, get, make, register
from optkit.core.result import History, Status
from optkit.core.space import Box, Categorical, Integer, Real, SearchSpace
from optkit.core.stochastic import StochasticProblem

__version__ = "0.1.0"

__all__ = [
    "Box", "Categorical", "History", "Integer", "InvalidParameterError", "JournalError", "ObjectiveError",
    "Optimizer", "OptkitError", "OptkitWarning", "Problem", "Real", "Result", "SearchSpace", "StateError",
    "Status", "StochasticProblem", "UnknownNameError", "available", "get", "make", "minimize", "problems", "register",
    "resume", "testing",
]


def __getattr__(name):
    # subpackages that are heavier than the core load on first use: optkit.problems, optkit.testing
    if name == "Result":
        from optkit.core.result import _result_class

        return _result_class()
    if name in ("problems", "testing"):
        import importlib

        return importlib.import_module(f"optkit.{name}")
    raise AttributeError(f"module 'optkit' has no attribute {name!r}")
