"""Classical test functions as batch kernels: ``X`` (n, d) float64 -> values (n,).

Each function here is the numpy twin (the reference) of a numba kernel of the same name in
:mod:`optkit_native._testfunctions_nb`; :func:`optkit_native.kernel` returns the numba kernel unless
``OPTKIT_NATIVE=0``. Importing this module does not import numba.

The formulas follow the usual definitions (Surjanovic & Bingham, *Virtual Library of Simulation
Experiments*, https://www.sfu.ca/~ssurjano/optimization.html; Hansen et al. for the ellipsoid). Where an
algebraically equal form is numerically better it is used, and the numba kernels perform the same
operations in the same order, so both sides round alike (sums excepted: numpy sums pairwise, numba
left to right):

* Rastrigin: ``x**2 + 10 (1 - cos(2 pi x)) = x**2 + 20 sin(pi x)**2`` (no cancellation near 0);
* Ackley: ``20 (1 - exp(-0.2 r)) + (e - exp(c))`` with ``expm1`` (exactly 0 at the optimum);
* Michalewicz: the power ``sin(.)**20`` as an explicit product chain.

:func:`batch_evaluate` picks a CUDA kernel (:mod:`optkit_native.cuda_kernels`) for large batches when a
GPU is visible, else the CPU kernel.
"""

from __future__ import annotations

import math

import numpy as np

from optkit_native._dispatch import cuda_available, kernel, native_enabled, register

SCHWEFEL_CONSTANT = 418.9829  # the "2.26" form: f = 418.9829 d - sum x sin(sqrt|x|)
ELLIPSOID_CONDITION = 1e6
MICHALEWICZ_M = 10  # steepness; the kernels hard-code the power 2m = 20

NAMES = (
    "sphere",
    "ellipsoid",
    "rosenbrock",
    "rastrigin",
    "ackley",
    "griewank",
    "levy",
    "schwefel",
    "styblinski_tang",
    "michalewicz",
)
# Functions that also have a CUDA kernel (one thread per row).
CUDA_NAMES = ("sphere", "rastrigin", "rosenbrock", "ellipsoid", "ackley")
# batch_evaluate sends a batch to the GPU from this many entries (n * d) on.
CUDA_MIN_ELEMENTS = 1_000_000


def _batch(X) -> np.ndarray:
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"'X' must be a 2-D array of shape (n, d); got shape {arr.shape}")
    return arr


def ellipsoid_weights(d: int) -> np.ndarray:
    """The ellipsoid's axis weights ``10**(6 j / (d - 1))``, j = 0..d-1 (just [1.0] when d == 1)."""
    if d <= 1:
        return np.ones(d)
    return 10.0 ** (6.0 * np.arange(d) / (d - 1))


def sphere(X) -> np.ndarray:
    """``sum x_j**2``; minimum 0 at the origin."""
    X = _batch(X)
    return np.sum(X * X, axis=1)


def ellipsoid(X) -> np.ndarray:
    """``sum 10**(6 j/(d-1)) x_j**2`` (condition number 1e6); minimum 0 at the origin."""
    X = _batch(X)
    w = ellipsoid_weights(X.shape[1])
    return np.sum(w * X * X, axis=1)


def rosenbrock(X) -> np.ndarray:
    """``sum_{j<d} 100 (x_{j+1} - x_j**2)**2 + (1 - x_j)**2``; minimum 0 at (1, ..., 1). 0 when d == 1."""
    X = _batch(X)
    a = X[:, 1:] - X[:, :-1] * X[:, :-1]
    b = 1.0 - X[:, :-1]
    return np.sum(100.0 * a * a + b * b, axis=1)


def rastrigin(X) -> np.ndarray:
    """``10 d + sum x_j**2 - 10 cos(2 pi x_j)`` (as ``sum x**2 + 20 sin(pi x)**2``); minimum 0 at 0."""
    X = _batch(X)
    s = np.sin(np.pi * X)
    return np.sum(X * X + 20.0 * (s * s), axis=1)


def ackley(X) -> np.ndarray:
    """``-20 exp(-0.2 sqrt(mean x**2)) - exp(mean cos(2 pi x)) + 20 + e``; minimum 0 at the origin."""
    X = _batch(X)
    d = X.shape[1]
    m1 = np.sum(X * X, axis=1) / d
    m2 = np.sum(np.cos(2.0 * np.pi * X), axis=1) / d
    return 20.0 * -np.expm1(-0.2 * np.sqrt(m1)) + (math.e - np.exp(m2))


def griewank(X) -> np.ndarray:
    """``1 + sum x_j**2 / 4000 - prod cos(x_j / sqrt(j))``; minimum 0 at the origin."""
    X = _batch(X)
    root = np.sqrt(np.arange(1, X.shape[1] + 1, dtype=np.float64))
    return np.sum(X * X, axis=1) / 4000.0 - np.prod(np.cos(X / root), axis=1) + 1.0


def levy(X) -> np.ndarray:
    """Levy's function with ``w = 1 + (x - 1)/4``; minimum 0 at (1, ..., 1)."""
    X = _batch(X)
    u = (X - 1.0) * 0.25  # w - 1
    w = 1.0 + u
    s0 = np.sin(np.pi * w[:, 0])
    sm = np.sin(np.pi * w[:, :-1] + 1.0)
    sl = np.sin(2.0 * np.pi * w[:, -1])
    mid = np.sum(u[:, :-1] * u[:, :-1] * (1.0 + 10.0 * (sm * sm)), axis=1)
    return s0 * s0 + mid + u[:, -1] * u[:, -1] * (1.0 + sl * sl)


def schwefel(X) -> np.ndarray:
    """Schwefel 2.26: ``418.9829 d - sum x_j sin(sqrt|x_j|)``; minimum ~1.2728e-5 d at x_j = 420.9687..."""
    X = _batch(X)
    return SCHWEFEL_CONSTANT * X.shape[1] - np.sum(X * np.sin(np.sqrt(np.abs(X))), axis=1)


def styblinski_tang(X) -> np.ndarray:
    """``0.5 sum x_j**4 - 16 x_j**2 + 5 x_j``; minimum -39.16616570377... d at x_j = -2.903534..."""
    X = _batch(X)
    x2 = X * X
    return 0.5 * np.sum(x2 * x2 - 16.0 * x2 + 5.0 * X, axis=1)


def michalewicz(X) -> np.ndarray:
    """``-sum sin(x_j) sin(j x_j**2 / pi)**20`` (m = 10), j = 1..d."""
    X = _batch(X)
    i = np.arange(1, X.shape[1] + 1, dtype=np.float64)
    s = np.sin(i * X * X / np.pi)
    s2 = s * s
    s4 = s2 * s2
    s8 = s4 * s4
    s16 = s8 * s8
    return -np.sum(np.sin(X) * (s16 * s4), axis=1)


for _name in NAMES:
    register(_name, globals()[_name], f"optkit_native._testfunctions_nb:{_name}")
del _name


def batch_evaluate(name: str, X, *, min_elements: int | None = None) -> np.ndarray:
    """Evaluate test function ``name`` on the batch ``X`` (n, d) on the best device at hand.

    A CUDA kernel when native kernels are enabled, a GPU is visible (:func:`cuda_available`), the
    function has one (:data:`CUDA_NAMES`) and the batch holds at least ``min_elements`` entries
    (default :data:`CUDA_MIN_ELEMENTS`, 10**6; below that the transfers cost more than they save);
    otherwise the CPU kernel from :func:`optkit_native.kernel` (numba, or numpy with ``OPTKIT_NATIVE=0``).
    """
    if name not in NAMES:
        raise KeyError(f"unknown test function {name!r}; known: {list(NAMES)}")
    X = _batch(X)
    threshold = CUDA_MIN_ELEMENTS if min_elements is None else int(min_elements)
    if name in CUDA_NAMES and X.size >= threshold and X.size > 0 and native_enabled() and cuda_available():
        from optkit_native.cuda_kernels import evaluate_cuda

        return evaluate_cuda(name, X)
    return kernel(name)(X)


__all__ = [*NAMES, "CUDA_MIN_ELEMENTS", "CUDA_NAMES", "NAMES", "batch_evaluate", "ellipsoid_weights"]
