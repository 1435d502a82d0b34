"""Kernels of the linear minimization oracles (Frank-Wolfe): the numpy twins (the reference) of
:mod:`optkit_native._lmo_nb`.

An LMO is Frank-Wolfe's hot loop where the step itself is a few vector operations: the l1-ball
oracle is one pass for ``argmax |g_i|`` and the k-sparse polytope's is a top-k selection by
magnitude. The twins select in O(d) (``np.argmax``, ``np.partition``); the numba kernels do the same
in a single pass without the temporary ``|g|`` arrays. Ties are broken the same way on both sides
(the lowest index wins), so both return the same vertex bit for bit.

Used by :mod:`optkit.zeroth_order.lmo`; importing this module does not import numba.
"""

from __future__ import annotations

import numpy as np

from optkit_native._dispatch import register


def l1_argmax(g) -> int:
    """The index ``i`` of the largest ``|g_i|`` (the lowest such index on ties)."""
    return int(np.argmax(np.abs(g)))


def topk_abs(g, k: int) -> np.ndarray:
    """The indices (sorted ascending) of the ``k`` largest ``|g_i|``; among equal magnitudes at the
    threshold the lowest indices are taken. ``1 <= k <= len(g)``."""
    a = np.abs(np.asarray(g, dtype=np.float64))
    d = a.size
    if k >= d:
        return np.arange(d, dtype=np.int64)
    thr = np.partition(a, d - k)[d - k]
    above = np.flatnonzero(a > thr)
    ties = np.flatnonzero(a == thr)[: k - above.size]
    return np.sort(np.concatenate([above, ties])).astype(np.int64)


def box_vertex(g, lower, upper) -> np.ndarray:
    """The box vertex minimizing ``<g, v>``: ``lower_i`` where ``g_i > 0``, else ``upper_i``."""
    return np.where(np.asarray(g) > 0, lower, upper).astype(np.float64)


NAMES = ("l1_argmax", "topk_abs", "box_vertex")
for _name in NAMES:
    register("lmo_" + _name, globals()[_name], f"optkit_native._lmo_nb:{_name}")
del _name

__all__ = [*NAMES, "NAMES"]
