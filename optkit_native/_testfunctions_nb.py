"""numba kernels of the classical test functions; numpy twins in :mod:`optkit_native.testfunctions`.

Imported only by the dispatcher (:func:`optkit_native.kernel`), never at ``import optkit_native``.
Each kernel has the one signature ``float64[:](float64[:, :])`` (any layout), is compiled with
``parallel=True`` (rows spread over threads with ``prange``), ``fastmath=False`` and ``cache=True``,
and repeats its twin's floating-point operations in the same order.

Kernels are compiled on first access of the module attribute (module ``__getattr__``), one at a time,
so a process that needs only ``sphere`` neither compiles nor loads the others.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

SIGNATURE = "float64[:](float64[:, :])"
SCHWEFEL_CONSTANT = 418.9829  # keep equal to optkit_native.testfunctions.SCHWEFEL_CONSTANT


def _sphere(X):
    n, d = X.shape
    out = np.empty(n)
    for i in prange(n):
        s = 0.0
        for j in range(d):
            x = X[i, j]
            s += x * x
        out[i] = s
    return out


def _ellipsoid(X):
    n, d = X.shape
    w = np.ones(d)
    if d > 1:
        for j in range(d):
            w[j] = 10.0 ** (6.0 * j / (d - 1))
    out = np.empty(n)
    for i in prange(n):
        s = 0.0
        for j in range(d):
            x = X[i, j]
            s += w[j] * x * x
        out[i] = s
    return out


def _rosenbrock(X):
    n, d = X.shape
    out = np.empty(n)
    for i in prange(n):
        s = 0.0
        for j in range(d - 1):
            x = X[i, j]
            a = X[i, j + 1] - x * x
            b = 1.0 - x
            s += 100.0 * a * a + b * b
        out[i] = s
    return out


def _rastrigin(X):
    n, d = X.shape
    out = np.empty(n)
    for i in prange(n):
        s = 0.0
        for j in range(d):
            x = X[i, j]
            t = math.sin(math.pi * x)
            s += x * x + 20.0 * (t * t)
        out[i] = s
    return out


def _ackley(X):
    n, d = X.shape
    out = np.empty(n)
    for i in prange(n):
        s1 = 0.0
        s2 = 0.0
        for j in range(d):
            x = X[i, j]
            s1 += x * x
            s2 += math.cos(2.0 * math.pi * x)
        m1 = s1 / d
        m2 = s2 / d
        out[i] = 20.0 * -math.expm1(-0.2 * math.sqrt(m1)) + (math.e - math.exp(m2))
    return out


def _griewank(X):
    n, d = X.shape
    root = np.empty(d)
    for j in range(d):
        root[j] = math.sqrt(j + 1.0)
    out = np.empty(n)
    for i in prange(n):
        s = 0.0
        p = 1.0
        for j in range(d):
            x = X[i, j]
            s += x * x
            p *= math.cos(x / root[j])
        out[i] = s / 4000.0 - p + 1.0
    return out


def _levy(X):
    n, d = X.shape
    out = np.empty(n)
    for i in prange(n):
        u = (X[i, 0] - 1.0) * 0.25
        s0 = math.sin(math.pi * (1.0 + u))
        mid = 0.0
        for j in range(d - 1):
            u = (X[i, j] - 1.0) * 0.25
            t = math.sin(math.pi * (1.0 + u) + 1.0)
            mid += u * u * (1.0 + 10.0 * (t * t))
        u = (X[i, d - 1] - 1.0) * 0.25
        t = math.sin(2.0 * math.pi * (1.0 + u))
        out[i] = s0 * s0 + mid + u * u * (1.0 + t * t)
    return out


def _schwefel(X):
    n, d = X.shape
    c = SCHWEFEL_CONSTANT * d
    out = np.empty(n)
    for i in prange(n):
        s = 0.0
        for j in range(d):
            x = X[i, j]
            s += x * math.sin(math.sqrt(abs(x)))
        out[i] = c - s
    return out


def _styblinski_tang(X):
    n, d = X.shape
    out = np.empty(n)
    for i in prange(n):
        s = 0.0
        for j in range(d):
            x = X[i, j]
            x2 = x * x
            s += x2 * x2 - 16.0 * x2 + 5.0 * x
        out[i] = 0.5 * s
    return out


def _michalewicz(X):
    n, d = X.shape
    out = np.empty(n)
    for i in prange(n):
        s = 0.0
        for j in range(d):
            x = X[i, j]
            t = math.sin((j + 1.0) * x * x / math.pi)
            t2 = t * t
            t4 = t2 * t2
            t8 = t4 * t4
            t16 = t8 * t8
            s += math.sin(x) * (t16 * t4)
        out[i] = -s
    return out


_SOURCES = {
    "sphere": _sphere,
    "ellipsoid": _ellipsoid,
    "rosenbrock": _rosenbrock,
    "rastrigin": _rastrigin,
    "ackley": _ackley,
    "griewank": _griewank,
    "levy": _levy,
    "schwefel": _schwefel,
    "styblinski_tang": _styblinski_tang,
    "michalewicz": _michalewicz,
}


def _compile(name: str):
    return njit(SIGNATURE, cache=True, parallel=True, fastmath=False)(_SOURCES[name])


def __getattr__(name: str):
    if name in _SOURCES:
        fn = _compile(name)
        globals()[name] = fn  # later lookups bypass __getattr__
        return fn
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SOURCES))
