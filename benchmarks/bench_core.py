"""Optimizer overhead of the core loop, side by side with the peers in one process.

* the ask/tell loop of optkit (random search, sampling nothing but uniforms) vs a bare numpy loop:
  what the bookkeeping (validation, pending-point matching, history) costs per evaluation;
* optkit's ``pycma`` wrapper vs calling ``cma.CMAEvolutionStrategy`` directly on the same problem:
  what the wrapper adds per evaluation.

Run: ``python -m pytest benchmarks/bench_core.py --benchmark-only`` (pytest-benchmark), or
``python benchmarks/bench_core.py`` for the ratio table reported in docs/benchmarks.md.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

import optkit

DIM, BUDGET = 10, 2000


def sphere(x):
    return float(x @ x)


def run_optkit_random():
    optkit.minimize(sphere, [(-5, 5)] * DIM, method="random", budget=BUDGET, seed=0, batch=10)


def run_numpy_random():
    rng = np.random.default_rng(0)
    best = np.inf
    for _ in range(BUDGET // 10):
        X = -5 + 10 * rng.random((10, DIM))
        best = min(best, min(sphere(x) for x in X))


def run_optkit_pycma():
    optkit.minimize(sphere, [(-5, 5)] * DIM, method="pycma", budget=BUDGET, seed=0)


def run_cma_direct():
    import cma

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = cma.CMAEvolutionStrategy(np.zeros(DIM), 3.0, {"bounds": [-5, 5], "seed": 1, "verbose": -9,
                                                           "verb_log": 0, "maxfevals": BUDGET, "tolfun": 0,
                                                           "tolx": 0, "tolfunhist": 0, "tolstagnation": 10**9})
        n = 0
        while n < BUDGET:
            X = es.ask()
            es.tell(X, [sphere(np.asarray(x)) for x in X])
            n += len(X)


def test_optkit_random_loop(benchmark):
    benchmark(run_optkit_random)


def test_numpy_random_loop(benchmark):
    benchmark(run_numpy_random)


def test_optkit_pycma(benchmark):
    benchmark(run_optkit_pycma)


def test_cma_direct(benchmark):
    benchmark(run_cma_direct)


def _best_of(fn, repeat=5) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


if __name__ == "__main__":
    rows = [
        ("random search loop", _best_of(run_optkit_random), _best_of(run_numpy_random), "bare numpy loop"),
        ("pycma wrapper", _best_of(run_optkit_pycma), _best_of(run_cma_direct), "cma called directly"),
    ]
    print(f"d = {DIM}, {BUDGET} evaluations of a cheap sphere, best of 5")
    print("| optkit | seconds | peer | seconds | optkit / peer | optkit us per evaluation |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, ours, theirs, peer in rows:
        print(f"| {name} | {ours:.4f} | {peer} | {theirs:.4f} | {ours / theirs:.2f} | {1e6 * ours / BUDGET:.1f} |")
