"""Search spaces as scikit-learn users write them, mapped to an optkit :class:`~optkit.SearchSpace`.

A search space is a dict ``{parameter name: what to search}``, the ``param_distributions`` of
``RandomizedSearchCV``, or a ready :class:`~optkit.SearchSpace`. Each value is one of

* a frozen scipy.stats distribution: ``uniform(loc, scale)`` -> ``Real(loc, loc + scale)``;
  ``loguniform(a, b)`` -> ``Real(a, b, log=True)``; ``randint(low, high)`` -> ``Integer(low, high - 1)``
  (scipy's ``high`` is excluded). The optimizer searches the distribution's support with the
  distribution's scale (log-uniform stays on the log scale); the density itself is not a prior;
* a list, tuple or 1-D array of values: a :class:`~optkit.Categorical` (a list is a set of choices,
  as in ``RandomizedSearchCV``; numbers in a list are categories, not a range);
* an optkit ``Real``, ``Integer`` or ``Categorical``.

Integers stay ``int`` in the parameters given to the estimator, categories are given as the chosen
object, log-uniform stays log. Anything else (another distribution, an empty list, an empty range, a
list of dicts) raises :class:`~optkit.InvalidParameterError` naming the parameter.

>>> from scipy.stats import loguniform, randint
>>> space = to_search_space({"C": loguniform(1e-3, 1e3), "degree": randint(1, 5), "kernel": ["rbf", "poly"]})
>>> space
SearchSpace({'C': Real(0.001, 1000, log=True), 'degree': Integer(1, 4), 'kernel': Categorical(['rbf', 'poly'])})
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from optkit.core.errors import InvalidParameterError, UnknownNameError, suggest
from optkit.core.space import Categorical, Integer, Real, SearchSpace

SUPPORTED = "a frozen scipy.stats uniform, loguniform or randint, a list of values, or an optkit Real/Integer/Categorical"


def _is_frozen_distribution(v) -> bool:
    return hasattr(v, "dist") and hasattr(v, "rvs") and hasattr(v, "support") and hasattr(v, "ppf")


def _describe(v) -> str:
    if _is_frozen_distribution(v):
        args = ", ".join([repr(a) for a in v.args] + [f"{k}={w!r}" for k, w in v.kwds.items()])
        return f"{v.dist.name}({args})"
    return f"{v!r:.80}"


def _plain(v):
    """numpy scalars as Python scalars (ints stay int, floats float); anything else unchanged."""
    return v.item() if isinstance(v, np.generic) else v


def _from_distribution(name: str, v):
    kind = v.dist.name
    lo, hi = (float(b) for b in v.support())
    if kind not in ("uniform", "loguniform", "reciprocal", "randint"):
        raise InvalidParameterError(
            f"search_space[{name!r}]: scipy.stats.{kind} is not supported (it has no finite range to search); "
            f"expected {SUPPORTED}. Got {_describe(v)}"
        )
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InvalidParameterError(
            f"search_space[{name!r}]: {_describe(v)} has an empty or invalid range (scipy gives support "
            f"({lo}, {hi})); expected low < high"
        )
    if kind == "randint":
        if lo == hi:  # randint(k, k + 1): the only value k
            return Categorical([int(lo)])
        return Integer(int(lo), int(hi))
    if not lo < hi:
        raise InvalidParameterError(f"search_space[{name!r}]: {_describe(v)} has an empty range [{lo}, {hi}]; expected low < high")
    if kind == "uniform":
        return Real(lo, hi)
    # loguniform(a, b, loc, scale) is log-uniform on its support only without a shift
    if lo <= 0 or not math.isclose(float(v.ppf(0.5)), math.sqrt(lo * hi), rel_tol=1e-9):
        raise InvalidParameterError(
            f"search_space[{name!r}]: {_describe(v)} is shifted by 'loc' and so not log-uniform on its support "
            f"[{lo}, {hi}]; give loguniform(low, high) with 0 < low < high"
        )
    return Real(lo, hi, log=True)


def _from_values(name: str, values) -> Categorical:
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise InvalidParameterError(f"search_space[{name!r}]: an array of choices must be 1-D; got shape {values.shape}")
    choices: list = []
    for c in values:
        c = _plain(c)
        if not any(repr(c) == repr(d) for d in choices):  # RandomizedSearchCV allows repeats; a set of choices does not
            choices.append(c)
    if not choices:
        raise InvalidParameterError(f"search_space[{name!r}]: an empty list has no value to choose; give at least one value")
    return Categorical(choices)


def to_dimension(name: str, value):
    """One search-space entry as an optkit ``Real``, ``Integer`` or ``Categorical``."""
    if isinstance(value, (Real, Integer, Categorical)):
        return value
    if _is_frozen_distribution(value):
        return _from_distribution(name, value)
    if isinstance(value, type) or (hasattr(value, "rvs") and not _is_frozen_distribution(value)):
        raise InvalidParameterError(
            f"search_space[{name!r}]: {value!r:.80} is not a frozen distribution; call it with its range, "
            "e.g. loguniform(1e-3, 1e3)"
        )
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise InvalidParameterError(f"search_space[{name!r}]: expected {SUPPORTED}; got {value!r:.80}")
    return _from_values(name, value)


def to_search_space(search_space) -> SearchSpace:
    """``search_space`` (a dict of entries, see the module docstring, or a SearchSpace) as a SearchSpace."""
    if isinstance(search_space, SearchSpace):
        return search_space
    if isinstance(search_space, Sequence) and not isinstance(search_space, (str, bytes)) and search_space \
            and all(isinstance(s, Mapping) for s in search_space):
        raise InvalidParameterError(
            "search_space: a list of dicts (alternative sub-spaces, as RandomizedSearchCV allows) is not supported; "
            "give one dict, and search over the alternatives with a categorical entry"
        )
    if not isinstance(search_space, Mapping) or not search_space:
        raise InvalidParameterError(
            f"search_space must be a non-empty dict of parameter name -> ({SUPPORTED}), or an optkit SearchSpace; "
            f"got {search_space!r:.100}"
        )
    dims = {}
    for name, value in search_space.items():
        if not isinstance(name, str):
            raise InvalidParameterError(f"search_space: parameter names must be str; got {name!r}")
        dims[name] = to_dimension(name, value)
    return SearchSpace(dims)


def check_parameter_names(space: SearchSpace, estimator, *, reserved: str | None = None) -> None:
    """Raise :class:`~optkit.UnknownNameError` (a ``ValueError``) when a name of ``space`` is not a
    parameter of ``estimator`` (``get_params(deep=True)``), listing the valid ones; also when it is
    ``reserved`` (the resource of a multi-fidelity search, set by the search itself)."""
    valid = sorted(estimator.get_params(deep=True))
    for name in space.names:
        if name == reserved:
            raise InvalidParameterError(
                f"search_space[{name!r}]: {name!r} is the resource of the multi-fidelity search (resource={reserved!r}); "
                "the search sets it, so leave it out of the search space"
            )
        if name not in valid:
            raise UnknownNameError(
                f"search_space: {type(estimator).__name__} has no parameter {name!r}.{suggest(name, valid)} "
                f"Valid parameters are: {', '.join(valid)}"
            )


def space_fingerprint(space: SearchSpace) -> dict:
    """A JSON-able description of ``space`` (categories by ``repr``, so estimators as choices work)."""
    out = {}
    for name, p in space.params.items():
        if isinstance(p, Categorical):
            out[name] = {"type": "Categorical", "choices": [repr(c) for c in p.choices]}
        else:
            out[name] = p.to_json()
    return out
