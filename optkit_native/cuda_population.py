"""CUDA sampling of populations (numba.cuda): N(m, sigma^2 C) through x = m + sigma A z, and batch evaluation.

For large populations in large dimensions (say n * d >= 10**6, and d in the hundreds for a full
covariance), the GPU draws the standard-normal vectors, maps them through ``A`` (``B D`` of CMA-ES's
``C = B D^2 B^T``, or a diagonal ``sd``) and evaluates a test function on the batch without
copying the points back and forth in between:

* :func:`transform_cuda` maps standard-normal draws ``Z`` made on the CPU (by an optimizer's seeded
  ``numpy.random.Generator``, so its draws are unchanged) to ``m + sigma Z A^T`` on the GPU;
* :class:`CudaGaussianSampler` draws ``Z`` on the GPU itself, from one xoroshiro128+ stream per row
  (``numba.cuda.random``), seeded: the same seed and the same calls give the same samples;
  :meth:`~CudaGaussianSampler.sample_evaluate` also evaluates one of the test functions that have a
  CUDA kernel (:data:`optkit_native.cuda_kernels.CUDA_KERNELS`) on the device.

The registered optimizers keep sampling on the CPU with their own generator (their results under a
seed do not depend on a GPU); these functions serve loops written around them and large batch
experiments (docs/native.md has a recipe). Layout: one thread per entry of the population for the
full transform (a 2-D grid), one thread per row for the draws; arrays live on the device in Fortran
(column-major) order, so the threads of a warp, which handle consecutive rows, touch consecutive
addresses. The full transform is a plain (untiled) product: O(n d^2) work.

Importing this module imports numba (``numba.cuda``) but needs no GPU; launching does. Under
``NUMBA_ENABLE_CUDASIM=1`` (set before numba is first imported) the kernels run in numba's CUDA
simulator on the CPU: that is how they are tested here (no GPU was available to this project's
tests; see docs/native.md).
"""

from __future__ import annotations

import numpy as np
from numba import cuda
from numba.cuda.random import create_xoroshiro128p_states, xoroshiro128p_normal_float64

from optkit_native.cuda_kernels import CUDA_KERNELS, THREADS_PER_BLOCK

#: threads per block of the 2-D kernels (rows, columns)
BLOCK_2D = (16, 8)


@cuda.jit
def _normal_rows(states, Z):
    i = cuda.grid(1)
    if i < Z.shape[0]:
        for j in range(Z.shape[1]):
            Z[i, j] = xoroshiro128p_normal_float64(states, i)


@cuda.jit
def _affine_full(Z, A, mean, sigma, X):
    i, j = cuda.grid(2)
    if i < X.shape[0] and j < X.shape[1]:
        s = 0.0
        for k in range(Z.shape[1]):
            s += Z[i, k] * A[j, k]
        X[i, j] = mean[j] + sigma * s


@cuda.jit
def _affine_diag(Z, sd, mean, sigma, X):
    i, j = cuda.grid(2)
    if i < X.shape[0] and j < X.shape[1]:
        X[i, j] = mean[j] + (sigma * sd[j]) * Z[i, j]


def _grid_2d(n: int, d: int) -> tuple[int, int]:
    return (n + BLOCK_2D[0] - 1) // BLOCK_2D[0], (d + BLOCK_2D[1] - 1) // BLOCK_2D[1]


def _check_shape(mean, sigma, A, sd) -> tuple[np.ndarray, float, np.ndarray, bool]:
    """(mean, sigma, the matrix A or the diagonal sd, full?) checked against each other."""
    mean = np.asarray(mean, dtype=np.float64).reshape(-1)
    d = mean.size
    if d == 0:
        raise ValueError("'mean' must have at least one entry; got an empty array")
    sigma = float(sigma)
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"'sigma' must be a positive finite float; got {sigma!r}")
    if (A is None) == (sd is None):
        raise ValueError("give exactly one of 'A' (d, d) and 'sd' (d,)")
    if A is not None:
        A = np.asarray(A, dtype=np.float64)
        if A.shape != (d, d):
            raise ValueError(f"'A' must have shape ({d}, {d}) to match 'mean'; got shape {A.shape}")
        return mean, sigma, A, True
    sd = np.asarray(sd, dtype=np.float64).reshape(-1)
    if sd.size != d:
        raise ValueError(f"'sd' must have {d} entries to match 'mean'; got {sd.size}")
    return mean, sigma, sd, False


def _map_on_device(d_Z, mean, sigma, shape, full):
    n, d = d_Z.shape
    d_X = cuda.device_array((n, d), dtype=np.float64, order="F")
    kern = _affine_full if full else _affine_diag
    kern[_grid_2d(n, d), BLOCK_2D](d_Z, cuda.to_device(np.ascontiguousarray(shape)), cuda.to_device(mean), sigma, d_X)
    return d_X


def transform_cuda(Z, mean, sigma: float, *, A=None, sd=None) -> np.ndarray:
    """``mean + sigma * Z @ A.T`` (or ``mean + (sigma * sd) * Z`` with a diagonal) computed on the GPU.

    ``Z`` (n, d) standard-normal draws (e.g. from an optimizer's generator), ``A`` (d, d) with
    ``C = A A^T`` (CMA-ES's ``B D``) or ``sd`` (d,) the standard deviations of a diagonal ``C``.
    """
    mean, sigma, shape, full = _check_shape(mean, sigma, A, sd)
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[1] != mean.size:
        raise ValueError(f"'Z' must have shape (n, {mean.size}); got shape {Z.shape}")
    if Z.shape[0] == 0:
        return np.zeros((0, mean.size))
    d_X = _map_on_device(cuda.to_device(np.asfortranarray(Z)), mean, sigma, shape, full)
    return np.ascontiguousarray(d_X.copy_to_host())


def evaluate_on_device(name: str, d_X) -> np.ndarray:
    """Values (n,) of test function ``name`` at the rows of the device array ``d_X``, copied to the host."""
    try:
        kern = CUDA_KERNELS[name]
    except KeyError:
        raise KeyError(f"no CUDA kernel for {name!r}; available: {sorted(CUDA_KERNELS)}") from None
    n, d = d_X.shape
    if name == "ellipsoid":
        from optkit_native.testfunctions import ellipsoid_weights

        w = ellipsoid_weights(d)
    else:
        w = np.ones(1)
    d_out = cuda.device_array(n, dtype=np.float64)
    kern[(n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK, THREADS_PER_BLOCK](d_X, cuda.to_device(w), d_out)
    return d_out.copy_to_host()


class CudaGaussianSampler:
    """Populations from N(mean, sigma^2 C) drawn on the GPU, one xoroshiro128+ stream per row.

    Parameters
    ----------
    max_rows : int
        The largest population asked for (one RNG stream per row).
    seed : int
        Seeds the streams: the same seed and the same sequence of calls give the same samples.

    Examples
    --------
    >>> sampler = CudaGaussianSampler(max_rows=1024, seed=0)            # doctest: +SKIP
    >>> X, Z = sampler.sample(np.zeros(500), 0.3, 1024, sd=np.ones(500))  # doctest: +SKIP
    >>> X, Z, f = sampler.sample_evaluate("rastrigin", np.zeros(500), 0.3, 1024, A=np.eye(500))  # doctest: +SKIP
    """

    def __init__(self, max_rows: int, seed: int = 0):
        if int(max_rows) < 1:
            raise ValueError(f"'max_rows' must be an int >= 1; got {max_rows!r}")
        self.max_rows = int(max_rows)
        self.seed = int(seed)
        self._states = create_xoroshiro128p_states(self.max_rows, seed=self.seed)

    def _normal_device(self, n: int, d: int):
        if not 0 <= n <= self.max_rows:
            raise ValueError(f"'n' must be in [0, max_rows = {self.max_rows}]; got {n!r}")
        d_Z = cuda.device_array((n, d), dtype=np.float64, order="F")
        if n:
            _normal_rows[(n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK, THREADS_PER_BLOCK](self._states, d_Z)
        return d_Z

    def standard_normal(self, n: int, d: int) -> np.ndarray:
        """(n, d) standard-normal draws made on the GPU, copied to the host."""
        return np.ascontiguousarray(self._normal_device(int(n), int(d)).copy_to_host())

    def _sample_device(self, mean, sigma, n, A, sd):
        mean, sigma, shape, full = _check_shape(mean, sigma, A, sd)
        d_Z = self._normal_device(int(n), mean.size)
        return d_Z, _map_on_device(d_Z, mean, sigma, shape, full)

    def sample(self, mean, sigma: float, n: int, *, A=None, sd=None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` points ``X = mean + sigma * Z @ A.T`` (or with the diagonal ``sd``) and their draws ``Z``."""
        d_Z, d_X = self._sample_device(mean, sigma, n, A, sd)
        return np.ascontiguousarray(d_X.copy_to_host()), np.ascontiguousarray(d_Z.copy_to_host())

    def sample_evaluate(self, name: str, mean, sigma: float, n: int, *, A=None, sd=None):
        """As :meth:`sample`, and the values of test function ``name`` at the points, evaluated on the GPU.

        Returns (X, Z, f). ``name`` is one of :data:`optkit_native.cuda_kernels.CUDA_KERNELS`.
        """
        if name not in CUDA_KERNELS:
            raise KeyError(f"no CUDA kernel for {name!r}; available: {sorted(CUDA_KERNELS)}")
        d_Z, d_X = self._sample_device(mean, sigma, n, A, sd)
        f = evaluate_on_device(name, d_X) if n else np.zeros(0)
        return np.ascontiguousarray(d_X.copy_to_host()), np.ascontiguousarray(d_Z.copy_to_host()), f


__all__ = ["BLOCK_2D", "CudaGaussianSampler", "evaluate_on_device", "transform_cuda"]
