"""numba kernels of the linear minimization oracles; numpy twins in :mod:`optkit_native.lmo_kernels`.

Imported only by the dispatcher (:func:`optkit_native.kernel`). Each kernel is compiled for one
signature (float64 / int64, C-contiguous) with ``cache=True``; the public names are small wrappers
that coerce their arguments, so they take whatever the twins take. Ties are broken as in the twins
(lowest index first), so both sides return the same indices.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit("int64(float64[::1])", cache=True)
def _l1_argmax(g):
    best, at = -1.0, 0
    for i in range(g.size):
        a = abs(g[i])
        if a > best:
            best, at = a, i
    return at


@njit("int64[::1](float64[::1], int64)", cache=True)
def _topk_abs(g, k):
    d = g.size
    if k >= d:
        return np.arange(d).astype(np.int64)
    a = np.abs(g)
    thr = np.partition(a, d - k)[d - k]
    out = np.empty(k, dtype=np.int64)
    n_above = 0
    for i in range(d):
        if a[i] > thr:
            n_above += 1
    room = k - n_above
    j = 0
    for i in range(d):
        if a[i] > thr:
            out[j] = i
            j += 1
        elif a[i] == thr and room > 0:
            out[j] = i
            j += 1
            room -= 1
    return out


@njit("float64[::1](float64[::1], float64[::1], float64[::1])", cache=True)
def _box_vertex(g, lower, upper):
    v = np.empty(g.size)
    for i in range(g.size):
        v[i] = lower[i] if g[i] > 0 else upper[i]
    return v


def _f1(a):
    return np.require(np.asarray(a, dtype=np.float64).reshape(-1), requirements=["C", "W"])  # copies read-only views


def l1_argmax(g) -> int:
    """numba kernel 'l1_argmax' (twin: optkit_native.lmo_kernels.l1_argmax)."""
    return int(_l1_argmax(_f1(g)))


def topk_abs(g, k: int) -> np.ndarray:
    """numba kernel 'topk_abs' (twin: optkit_native.lmo_kernels.topk_abs)."""
    return _topk_abs(_f1(g), int(k))


def box_vertex(g, lower, upper) -> np.ndarray:
    """numba kernel 'box_vertex' (twin: optkit_native.lmo_kernels.box_vertex)."""
    g = _f1(g)
    return _box_vertex(g, _f1(np.broadcast_to(lower, g.shape)), _f1(np.broadcast_to(upper, g.shape)))
