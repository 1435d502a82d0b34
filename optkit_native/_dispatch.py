"""Choosing between a numba kernel and its numpy twin.

A module of kernels registers pairs with :func:`register`; callers fetch the active implementation
with :func:`kernel`. The numba side is built lazily (its module is imported on first request), so
importing optkit never imports numba.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from functools import cache

# name -> (numpy twin, "module:attribute" of the numba kernel)
_TABLE: dict[str, tuple[Callable, str]] = {}


def register(name: str, numpy_fn: Callable, native_path: str) -> None:
    """Record that ``numpy_fn`` has a numba twin at ``native_path`` ("module:attr")."""
    if name in _TABLE and _TABLE[name][0] is not numpy_fn:
        raise ValueError(f"kernel {name!r} is registered twice")
    _TABLE[name] = (numpy_fn, native_path)


def native_enabled() -> bool:
    """True unless ``OPTKIT_NATIVE`` is set to 0/false/no/numpy, or numba is not installed."""
    flag = os.environ.get("OPTKIT_NATIVE", "1").strip().lower()
    if flag in {"0", "false", "no", "off", "numpy"}:
        return False
    return _numba_importable()


@cache
def _numba_importable() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


@cache
def _load(path: str) -> Callable:
    module, attr = path.split(":")
    return getattr(importlib.import_module(module), attr)


def kernel(name: str, *, native: bool | None = None) -> Callable:
    """The implementation of kernel ``name``: numba when enabled, else the numpy twin.

    ``native=True`` / ``False`` forces one side (the tests use it to compare both).
    """
    try:
        numpy_fn, path = _TABLE[name]
    except KeyError:
        raise KeyError(f"unknown kernel {name!r}; known: {sorted(_TABLE)}") from None
    use_native = native_enabled() if native is None else native
    return _load(path) if use_native else numpy_fn


def cuda_available() -> bool:
    """True when numba can see a CUDA GPU (or runs under ``NUMBA_ENABLE_CUDASIM=1``)."""
    if not _numba_importable():
        return False
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:  # any driver/runtime failure means: no usable GPU
        return False
