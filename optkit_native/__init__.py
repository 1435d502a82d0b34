"""optkit_native: numba kernels for optkit's hot loops, each with a numpy twin.

Every kernel lives beside its numpy twin in the same module. The twin is the reference; the numba
version must agree with it (the tests assert it). ``OPTKIT_NATIVE=0`` in the environment selects the
numpy twins everywhere. numba is imported on first use only, never at ``import optkit_native``.

This package imports nothing from ``optkit``.
"""

from optkit_native._dispatch import cuda_available, kernel, native_enabled

__all__ = ["cuda_available", "kernel", "native_enabled"]
