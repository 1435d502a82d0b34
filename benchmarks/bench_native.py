"""Throughput of the numba test-function kernels against their numpy twins.

10**5 points in d = 10 and d = 100 for sphere, rastrigin, rosenbrock and ackley; the numba kernels are
warm (compiled, or loaded from numba's cache, before timing) and run on all cores (``prange``); the table also gives them on one thread (``numba.set_num_threads(1)``).

Run: ``python -m pytest benchmarks/bench_native.py --benchmark-only`` (pytest-benchmark), or
``python benchmarks/bench_native.py`` for the ratio table reported in docs/benchmarks.md.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import optkit_native
import optkit_native.testfunctions  # noqa: F401  (registers the kernels)

N = 100_000
DIMS = (10, 100)
FUNCTIONS = ("sphere", "rastrigin", "rosenbrock", "ackley")


def _batch(d: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-5.0, 5.0, (N, d))


def _warm(name: str) -> None:
    optkit_native.kernel(name, native=True)(np.zeros((2, 3)))


@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("impl", ["numpy", "numba"])
def test_kernel_throughput(benchmark, impl, name, d):
    fn = optkit_native.kernel(name, native=(impl == "numba"))
    if impl == "numba":
        _warm(name)
    X = _batch(d)
    benchmark.extra_info.update({"points": N, "dim": d})
    out = benchmark(fn, X)
    assert out.shape == (N,)


def _best_of(fn, X, repeat: int = 7) -> float:
    fn(X)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(X)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    import numba

    threads = numba.get_num_threads()
    print(f"{N} points per batch, best of 7, numba warm; {threads} numba threads on {os.cpu_count()} CPUs")
    print(
        "| function | d | numpy ms | numba ms (1 thread) | numba ms (all threads) | numpy / numba 1 thread | numpy / numba all |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in FUNCTIONS:
        _warm(name)
        for d in DIMS:
            X = _batch(d)
            t_np = _best_of(optkit_native.kernel(name, native=False), X)
            numba.set_num_threads(1)
            t_one = _best_of(optkit_native.kernel(name, native=True), X)
            numba.set_num_threads(threads)
            t_all = _best_of(optkit_native.kernel(name, native=True), X)
            print(
                f"| {name} | {d} | {1e3 * t_np:.1f} | {1e3 * t_one:.1f} | {1e3 * t_all:.1f} "
                f"| {t_np / t_one:.2f} | {t_np / t_all:.2f} |"
            )


if __name__ == "__main__":
    main()
