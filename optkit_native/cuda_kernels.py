"""CUDA kernels (numba.cuda) for batch evaluation of a few classical test functions.

One thread per row. The batch is copied to the device in Fortran (column-major) order, so the
threads of a warp, which handle consecutive rows, read consecutive addresses. Each kernel performs
the same operations as its numpy twin in :mod:`optkit_native.testfunctions`.

Importing this module imports numba (``numba.cuda``) but needs no GPU; launching does. Under
``NUMBA_ENABLE_CUDASIM=1`` (set before numba is first imported) the kernels run in numba's CUDA
simulator on the CPU, which is how the tests check them on machines without a GPU.

>>> from optkit_native.cuda_kernels import CUDA_KERNELS
>>> sorted(CUDA_KERNELS)
['ackley', 'ellipsoid', 'rastrigin', 'rosenbrock', 'sphere']
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

THREADS_PER_BLOCK = 128


@cuda.jit
def _sphere(X, w, out):
    i = cuda.grid(1)
    if i < X.shape[0]:
        s = 0.0
        for j in range(X.shape[1]):
            x = X[i, j]
            s += x * x
        out[i] = s


@cuda.jit
def _ellipsoid(X, w, out):
    i = cuda.grid(1)
    if i < X.shape[0]:
        s = 0.0
        for j in range(X.shape[1]):
            x = X[i, j]
            s += w[j] * x * x
        out[i] = s


@cuda.jit
def _rosenbrock(X, w, out):
    i = cuda.grid(1)
    if i < X.shape[0]:
        s = 0.0
        for j in range(X.shape[1] - 1):
            x = X[i, j]
            a = X[i, j + 1] - x * x
            b = 1.0 - x
            s += 100.0 * a * a + b * b
        out[i] = s


@cuda.jit
def _rastrigin(X, w, out):
    i = cuda.grid(1)
    if i < X.shape[0]:
        s = 0.0
        for j in range(X.shape[1]):
            x = X[i, j]
            t = math.sin(math.pi * x)
            s += x * x + 20.0 * (t * t)
        out[i] = s


@cuda.jit
def _ackley(X, w, out):
    i = cuda.grid(1)
    if i < X.shape[0]:
        d = X.shape[1]
        s1 = 0.0
        s2 = 0.0
        for j in range(d):
            x = X[i, j]
            s1 += x * x
            s2 += math.cos(2.0 * math.pi * x)
        m1 = s1 / d
        m2 = s2 / d
        out[i] = 20.0 * -math.expm1(-0.2 * math.sqrt(m1)) + (math.e - math.exp(m2))


CUDA_KERNELS = {
    "sphere": _sphere,
    "ellipsoid": _ellipsoid,
    "rosenbrock": _rosenbrock,
    "rastrigin": _rastrigin,
    "ackley": _ackley,
}


def evaluate_cuda(name: str, X) -> np.ndarray:
    """Evaluate ``name`` on the batch ``X`` (n, d) on the GPU: copy in, launch, copy back."""
    try:
        kern = CUDA_KERNELS[name]
    except KeyError:
        raise KeyError(f"no CUDA kernel for {name!r}; available: {sorted(CUDA_KERNELS)}") from None
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"'X' must be a 2-D array of shape (n, d); got shape {X.shape}")
    n, d = X.shape
    if n == 0:
        return np.zeros(0)
    if d == 0:
        raise ValueError("'X' must have at least one column; got shape (n, 0)")
    if name == "ellipsoid":
        from optkit_native.testfunctions import ellipsoid_weights

        w = ellipsoid_weights(d)
    else:
        w = np.ones(1)
    d_X = cuda.to_device(np.asfortranarray(X))
    d_w = cuda.to_device(w)
    d_out = cuda.device_array(n, dtype=np.float64)
    blocks = (n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK
    kern[blocks, THREADS_PER_BLOCK](d_X, d_w, d_out)
    return d_out.copy_to_host()


__all__ = ["CUDA_KERNELS", "THREADS_PER_BLOCK", "evaluate_cuda"]
