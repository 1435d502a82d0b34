"""The population methods' numba kernels against their numpy twins, and whole generations both ways.

Three tables (``python benchmarks/bench_population_kernels.py``; docs/native.md and docs/benchmarks.md
report them):

1. each kernel of :mod:`optkit_native.population_kernels` at the sizes its optimizer uses
   (d = 10 / 100 / 1000 / 10000 where it makes sense), numba warm, one thread, best of several
   repeats;
2. candidates measured and *not* adopted: LM-MA-ES's sampling as the paper's loop of rank-one
   transforms in numba against the closed form (two BLAS matrix products) that ``lmmaes`` uses, and
   a weighted recombination ``w @ Y[idx]`` in numba against numpy's gather + BLAS;
3. the optimizer's own time per generation (``ask`` + ``tell`` on a cheap function, so almost all
   of it is the optimizer) with ``OPTKIT_NATIVE=0`` and ``=1``, for the optimizers that call the
   kernels.

Every timing runs on one core (one numba thread, one BLAS thread).

Run: ``python benchmarks/bench_population_kernels.py`` (a few minutes on 2 cores), or
``python -m pytest benchmarks/bench_population_kernels.py --benchmark-only`` for table 1 through
pytest-benchmark.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest

import optkit_native
import optkit_native.population_kernels  # noqa: F401  (registers the kernels)


def _cases():
    """(kernel, size label, argument tuple) at the sizes the optimizers use."""
    rng = np.random.default_rng(0)
    out = []
    for d in (100, 1000, 10000):  # MMES: h = ceil(lam / 2) directions from m = 2 ceil(sqrt d) paths, l = 4
        lam = 4 + int(3 * math.log(d))
        h, m = math.ceil(lam / 2), 2 * math.ceil(math.sqrt(d))
        out.append(("mmes_mix", f"d={d} h={h} m={m}", (rng.standard_normal((m, d)), rng.integers(0, m, (h, 4)),
                                                     rng.standard_normal((h, 4)), rng.standard_normal((h, d)), 0.3, 0.9)))
    for d in (10, 100, 1000):
        lo, hi = -5 * np.ones(d), 5 * np.ones(d)
        n = 40  # PSO, CLPSO: 40 particles
        X, V, P = rng.uniform(-5, 5, (n, d)), rng.standard_normal((n, d)), rng.uniform(-5, 5, (n, d))
        g = rng.integers(0, n, n)
        out.append(("spso_move", f"n={n} d={d}", (X, V, P, g, g == np.arange(n), rng.standard_normal((n, d)),
                                                  rng.random(n), 0.72, 1.19, False, lo, hi)))
        out.append(("clpso_velocity", f"n={n} d={d}", (X, V, P, rng.integers(0, n, (n, d)), rng.random((n, d)), 0.7,
                                                       1.49, 0.2 * (hi - lo))))
        n = 100  # DE family: NP = min(10 d, 100)
        X = rng.uniform(-5, 5, (n, d))
        idx = [rng.integers(0, n, n) for _ in range(3)]
        R, CR, jr = rng.random((n, d)), np.full(n, 0.9), rng.integers(0, d, n)
        out.append(("de_bin_trials", f"n={n} d={d}", (X, *idx, 0.5, False, R, CR, jr, lo, hi)))
        out.append(("de_pbest_trials", f"n={n} d={d} archive={n}", (X, rng.uniform(-5, 5, (n, d)), idx[0], idx[1],
                                                                   rng.integers(0, 2 * n, n), rng.random(n), R,
                                                                   rng.random(n), jr, lo, hi)))
        pairs = 50  # GA: popsize 100, SBX on half the genes of 90% of the pairs, mutation 1/d per gene
        P1, P2 = rng.uniform(-5, 5, (pairs, d)), rng.uniform(-5, 5, (pairs, d))
        do = (rng.random((pairs, 1)) < 0.9) & (rng.random((pairs, d)) < 0.5)
        out.append(("ga_crossover", f"pairs={pairs} d={d}", (P1, P2, lo, hi, 15.0, rng.random((pairs, d)), do,
                                                             rng.random((pairs, d)) < 0.5)))
        K = rng.uniform(-5, 5, (2 * pairs, d))
        out.append(("ga_mutation", f"n={2 * pairs} d={d}", (K, lo, hi, 20.0, rng.random(K.shape),
                                                            rng.random(K.shape) < 1.0 / d)))
    return out


#: CPU time of the process: other jobs sharing the cores inflate it little (everything runs on one thread)
_clock = time.process_time


def _best(fn, args, budget: float = 0.3, repeat: int = 7) -> float:
    """Best time of one call (seconds): ``repeat`` rounds of enough calls to fill ``budget / repeat``."""
    fn(*args)
    t = _clock()
    fn(*args)
    one = max(_clock() - t, 1e-7)
    number = max(1, int(budget / repeat / one))
    best = math.inf
    for _ in range(repeat):
        t = _clock()
        for _ in range(number):
            fn(*args)
        best = min(best, (_clock() - t) / number)
    return best


@pytest.mark.parametrize("impl", ["numpy", "numba"])
@pytest.mark.parametrize("case", _cases(), ids=lambda c: f"{c[0]}[{c[1]}]")
def test_kernel(benchmark, impl, case):
    name, _, args = case
    fn = optkit_native.kernel(name, native=impl == "numba")
    fn(*args)
    benchmark(fn, *args)


def _fmt(t: float) -> str:
    return f"{1e6 * t:.1f}" if t < 1e-2 else f"{1e6 * t:.0f}"


def kernel_table() -> None:
    print("| kernel | size | numpy us | numba us | numpy / numba |")
    print("| --- | --- | --- | --- | --- |")
    for name, label, args in _cases():
        t_np = _best(optkit_native.kernel(name, native=False), args)
        t_nb = _best(optkit_native.kernel(name, native=True), args)
        print(f"| {name} | {label} | {_fmt(t_np)} | {_fmt(t_nb)} | {t_np / t_nb:.1f} |")


def rejected_table() -> None:
    from numba import njit

    from optkit.population.lmmaes import product_form, transform

    @njit(cache=True)
    def paper_loop(Z, M, c_d):  # d = A_k ... A_1 z, A_j = (1 - c_j) I + c_j m_j m_j^T, one sample at a time
        n, d = Z.shape
        D = Z.copy()
        for i in range(n):
            for j in range(M.shape[0]):
                s = 0.0
                for t in range(d):
                    s += M[j, t] * D[i, t]
                for t in range(d):
                    D[i, t] = (1.0 - c_d[j]) * D[i, t] + c_d[j] * s * M[j, t]
        return D

    @njit(cache=True)
    def recombine(Y, idx, w):
        out = np.zeros(Y.shape[1])
        for i in range(idx.size):
            row = idx[i]
            for t in range(Y.shape[1]):
                out[t] += w[i] * Y[row, t]
        return out

    rng = np.random.default_rng(1)
    print("| candidate | size | numpy us | numba us | numpy / numba |")
    print("| --- | --- | --- | --- | --- |")
    for d in (1000, 10000):
        lam = m = 4 + int(3 * math.log(d))
        Z, M = rng.standard_normal((lam, d)), rng.standard_normal((m, d)) / math.sqrt(d)
        c_d = 1.0 / (d * 1.5 ** np.arange(m))
        np.testing.assert_allclose(paper_loop(Z, M, c_d), transform(Z, M, c_d), rtol=1e-9, atol=1e-12)
        t_np = _best(lambda Z, M, c_d: transform(Z, M, c_d, product_form(M, c_d)), (Z, M, c_d))
        t_nb = _best(paper_loop, (Z, M, c_d))
        print(f"| LM-MA-ES sampling: closed form (numpy) vs the paper's loop (numba) | d={d} lam=m={lam} "
              f"| {_fmt(t_np)} | {_fmt(t_nb)} | {t_np / t_nb:.2f} |")
    for lam, d in ((1000, 1000), (100, 10000)):
        Y, w = rng.standard_normal((lam, d)), rng.random(lam // 2)
        idx = rng.permutation(lam)[: lam // 2]
        t_np = _best(lambda Y, idx, w: w @ Y[idx], (Y, idx, w))
        t_nb = _best(recombine, (Y, idx, w))
        t_draw = _best(lambda gen, lam, d: gen.standard_normal((lam, d)), (rng, lam, d))
        print(f"| weighted recombination w @ Y[idx] (drawing the generation's samples: {_fmt(t_draw)} us) "
              f"| lam={lam} mu={lam // 2} d={d} | {_fmt(t_np)} | {_fmt(t_nb)} | {t_np / t_nb:.2f} |")


def _generation_times(method: str, d: int, params: dict, gens: int = 30, reps: int = 7) -> tuple[float, float]:
    """Best mean time per generation with OPTKIT_NATIVE=0 and =1, the two interleaved run by run (so
    both see the same load on a shared machine)."""
    import optkit

    space = optkit.Box(-5 * np.ones(d), 5 * np.ones(d))
    best = {"0": math.inf, "1": math.inf}
    try:
        for rep in range(reps):
            for flag in ("0", "1"):
                os.environ["OPTKIT_NATIVE"] = flag
                opt = optkit.make(method, space=space, seed=rep, **params)
                X = opt.ask()
                opt.tell(X, np.sum(X * X, axis=1))  # the initial population of DE / PSO / GA: not timed
                t = _clock()
                for _ in range(gens):
                    X = opt.ask()
                    opt.tell(X, np.sum(X * X, axis=1))
                best[flag] = min(best[flag], (_clock() - t) / gens)
    finally:
        del os.environ["OPTKIT_NATIVE"]
    return best["0"], best["1"]


GENERATION_CASES = [
    ("mmes", {}, (1000, 10000)),
    ("pso", {}, (10, 100, 1000)),
    ("clpso", {"popsize": 40}, (10, 100, 1000)),
    ("de", {}, (10, 100, 1000)),
    ("shade", {}, (10, 100, 1000)),
    ("ga", {}, (10, 100, 1000)),
]


def generation_table() -> None:
    print("| optimizer | d | popsize | OPTKIT_NATIVE=0 us/generation | =1 us/generation | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    import optkit

    for method, params, dims in GENERATION_CASES:
        for d in dims:
            popsize = optkit.make(method, space=optkit.Box(-np.ones(d), np.ones(d)), seed=0, **params).batch_size
            t0, t1 = _generation_times(method, d, params)
            print(f"| {method} | {d} | {popsize} | {_fmt(t0)} | {_fmt(t1)} | {t0 / t1:.2f} |")


def main() -> None:
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(1)
    with threadpool_limits(1):  # one BLAS thread too: both sides on one core
        print(f"CPU time, best of 7 rounds (7 runs of 30 generations each way in table 3, interleaved), numba warm, one numba thread, "
              f"one BLAS thread; {os.cpu_count()} CPUs\n")
        kernel_table()
        print()
        rejected_table()
        print()
        generation_table()


if __name__ == "__main__":
    main()
