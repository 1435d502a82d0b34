"""The registry: every optimizer a user can name.

Built-in methods are listed in :data:`_BUILTIN` as ``name -> "module:Class"`` and imported on first
use, so ``import optkit`` stays light. Third-party optimizers join with :func:`register`.
"""

from __future__ import annotations

import importlib
import inspect

from optkit.core.errors import InvalidParameterError, UnknownNameError, suggest
from optkit.core.optimizer import Optimizer

# One line per built-in method. Later families add their lines here.
_BUILTIN: dict[str, str] = {
    "random": "optkit.baselines.sampling:RandomSearch",
    "sobol": "optkit.baselines.sampling:SobolSearch",
    "lhs": "optkit.baselines.sampling:LHSSearch",
    "nelder-mead": "optkit.local.scipy_local:NelderMead",
    "powell": "optkit.local.scipy_local:Powell",
    "lbfgsb": "optkit.local.scipy_local:LBFGSB",
    "pycma": "optkit.population.pycma:PyCMA",
    "cem": "optkit.population.cem:CEM",
    "xnes": "optkit.population.nes:XNES",
    "snes": "optkit.population.nes:SNES",
    "de": "optkit.population.de:DE",
    "jade": "optkit.population.shade:JADE",
    "shade": "optkit.population.shade:SHADE",
    "cmaes": "optkit.population.cmaes:CMAES",
    "pso": "optkit.population.pso:PSO",
    "clpso": "optkit.population.clpso:CLPSO",
    "ga": "optkit.population.ga:GA",
    "sep-cmaes": "optkit.population.sep_cmaes:SepCMAES",
    "one-plus-one-cmaes": "optkit.population.one_plus_one:OnePlusOneCMAES",
    "lmmaes": "optkit.population.lmmaes:LMMAES",
    "mmes": "optkit.population.mmes:MMES",
    "bo": "optkit.bayesopt.bo:BO",
    "pibo": "optkit.bayesopt.pibo:PiBO",
    "sgd": "optkit.first_order.sgd:SGD",
    "adam": "optkit.first_order.adaptive:Adam",
    "adamw": "optkit.first_order.adaptive:AdamW",
    "adagrad": "optkit.first_order.adaptive:AdaGrad",
    "rmsprop": "optkit.first_order.adaptive:RMSProp",
    "lion": "optkit.first_order.adaptive:Lion",
    "sps": "optkit.first_order.polyak:SPS",
    "psps": "optkit.first_order.polyak:PSPS",
    "coxbo": "optkit.bayesopt.coxbo:CoxBO",
    "config": "optkit.bayesopt.config:CONFIG",
    "colabo": "optkit.bayesopt.colabo:ColaBO",
    "sophia": "optkit.second_order.sophia:Sophia",
    "newton-cg": "optkit.second_order.newton:NewtonCG",
    "lbfgs": "optkit.second_order.newton:LBFGS",
    "fosi": "optkit.second_order.fosi:FOSI",
    "poly-krylov": "optkit.second_order.polynomial:PolyKrylov",
    "grams": "optkit.first_order.grams:Grams",
    "gravity": "optkit.first_order.gravity:Gravity",
    "cosmos": "optkit.first_order.cosmos:COSMOS",
    "bilevel-implicit": "optkit.bilevel.implicit:ImplicitBilevel",
    "bilevel-penalty": "optkit.bilevel.penalty:PenaltyBilevel",
    "bilevel-decentralized": "optkit.bilevel.decentralized:DecentralizedBilevel",
    "zo-sgd": "optkit.zeroth_order.zo_sgd:ZOSGD",
    "zo-signsgd": "optkit.zeroth_order.zo_sgd:ZOSignSGD",
    "zo-adam": "optkit.zeroth_order.zo_sgd:ZOAdam",
    "zo-saddle": "optkit.zeroth_order.saddle:ZOSaddle",
    "dp-sgd": "optkit.privacy.dp_sgd:DPSGD",
    "dp-ngp": "optkit.privacy.ngp:MNGP",
    "diff2": "optkit.privacy.diff2:DIFF2",
    "frank-wolfe": "optkit.zeroth_order.frank_wolfe:FrankWolfe",
    "zo-frank-wolfe": "optkit.zeroth_order.zo_frank_wolfe:ZOFrankWolfe",
    "learned-mlp": "optkit.learned.mlp_lopt:LearnedMLP",
    "learned-math": "optkit.learned.math_l2o:LearnedMath",
    "tpe": "optkit.baselines.tpe:TPE",
    "prospect": "optkit.first_order.prospect:Prospect",
    "two-losses": "optkit.first_order.two_losses:TwoLosses",
    "optex": "optkit.first_order.optex:OptEx",
    "cqr": "optkit.bayesopt.cqr:CQR",
}

_ALIASES: dict[str, str] = {"random-search": "random", "tpe-like": "tpe", "neldermead": "nelder-mead", "l-bfgs-b": "lbfgsb", "cma": "pycma"}

_LOADED: dict[str, type] = {}


def register(name: str, *, family: str):
    """Class decorator: make an :class:`Optimizer` subclass reachable as ``optkit.make(name)``."""

    def deco(cls):
        if not (inspect.isclass(cls) and issubclass(cls, Optimizer)):
            raise InvalidParameterError(f"register({name!r}): expected an Optimizer subclass; got {cls!r}")
        known = _LOADED.get(name)
        target = _BUILTIN.get(name)
        if known is not None and known is not cls and known.__qualname__ != cls.__qualname__:
            raise InvalidParameterError(f"register: the name {name!r} is taken by {known.__module__}.{known.__qualname__}")
        if target is not None and target != f"{cls.__module__}:{cls.__qualname__}":
            raise InvalidParameterError(f"register: the name {name!r} is reserved for built-in {target}")
        cls.name, cls.family = name, family
        _LOADED[name] = cls
        return cls

    return deco


def available(family: str | None = None) -> list[str]:
    """Sorted names of the registered optimizers (optionally of one family)."""
    names = sorted(set(_BUILTIN) | set(_LOADED))
    if family is None:
        return names
    return [n for n in names if get(n).family == family]


def get(name: str) -> type:
    """The optimizer class registered under ``name`` (aliases and case are forgiven)."""
    if not isinstance(name, str):
        raise InvalidParameterError(f"'method' must be a registry name (str); got {name!r}")
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key in _LOADED:
        return _LOADED[key]
    if key not in _BUILTIN:
        raise UnknownNameError(f"unknown method {name!r}.{suggest(key, available() + list(_ALIASES))} "
                               f"Known methods: {', '.join(available())}")
    module, cls_name = _BUILTIN[key].split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    _LOADED[key] = cls
    return cls


def make(name: str, space=None, *, bounds=None, **hyperparameters) -> Optimizer:
    """Build optimizer ``name`` on ``space`` (or ``bounds``) with the given hyperparameters and seed.

    Unknown hyperparameters are an error that lists the valid ones.
    """
    cls = get(name)
    valid = cls.param_names()
    unknown = [k for k in hyperparameters if k not in valid]
    if unknown:
        k = unknown[0]
        raise UnknownNameError(
            f"{cls.__name__} ({cls.name!r}) has no hyperparameter {k!r}.{suggest(k, valid)} Valid: {', '.join(valid)}"
        )
    from optkit.core.space import as_space

    return cls(as_space(space, bounds=bounds), **hyperparameters)
