"""Population-method kernels: numba == numpy twin, known answers, the optimizers the same with
OPTKIT_NATIVE=0 and =1, and the CUDA sampling under the simulator."""

import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import optkit
import optkit_native
from optkit_native import _dispatch
from optkit_native import population_kernels as pk

ROOT = pathlib.Path(__file__).resolve().parents[2]
HAS_NUMBA = _dispatch._numba_importable()
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")
# kernels whose numba side repeats the twin's operations exactly; the others take powers (numpy's
# vectorized pow may differ from libm's in the last bit) or sum rows (numpy sums pairwise)
EXACT = {"mmes_mix", "clpso_velocity", "de_bin_trials", "de_pbest_trials"}


def _cases(name, rng):
    """Argument tuples for kernel ``name``: random ones of several shapes, then edge cases."""
    out = []
    for n, d in [(1, 1), (7, 1), (1, 9), (13, 5), (40, 37)]:
        lo, hi = -np.ones(d), np.full(d, 2.0)
        X = rng.uniform(-1.5, 2.5, (n, d))  # some coordinates outside the box
        if name == "mmes_mix":
            for m, mix in [(1, 1), (6, 4)]:
                rows = rng.integers(0, m, (n, mix))
                out.append((rng.standard_normal((m, d)), rows, rng.standard_normal((n, mix)), rng.standard_normal((n, d)),
                            0.37, 0.91))
            out.append((rng.standard_normal((3, d)), np.zeros((n, 2), np.int64), np.ones((n, 2)), np.zeros((n, d)), 0.0, 1.0))
        elif name == "spso_move":
            P = rng.uniform(-1, 2, (n, d))
            g = rng.integers(0, n, n)
            for volume in (False, True):
                direction = rng.standard_normal((n, d))
                direction[0] = 0.0  # a zero direction: its norm is taken as 1
                out.append((X, rng.standard_normal((n, d)), P, g, g == np.arange(n), direction, rng.random(n), 0.72, 1.19,
                            volume, lo, hi))
            out.append((P, np.zeros((n, d)), P.copy(), np.arange(n), np.ones(n, bool), rng.standard_normal((n, d)),
                        rng.random(n), 0.5, 1.0, False, lo, hi))  # x = p = l: a zero radius
            out.append((X, 10 * rng.standard_normal((n, d)), P, g, np.zeros(n, bool), rng.standard_normal((n, d)),
                        np.ones(n), 1.0, 3.0, False, lo, hi))  # big moves: confinement on both sides
        elif name == "clpso_velocity":
            for scale in (1.0, 50.0):  # 50: most velocities clamped
                out.append((X, scale * rng.standard_normal((n, d)), rng.uniform(-1, 2, (n, d)), rng.integers(0, n, (n, d)),
                            rng.random((n, d)), 0.7, 1.49445, 0.2 * (hi - lo)))
        elif name == "de_bin_trials":
            for current, CR in [(False, 0.5), (True, 0.9), (False, 0.0), (True, 1.0)]:
                i = [rng.integers(0, n, n) for _ in range(3)]
                out.append((X, *i, 0.8 if CR else 1.9, current, rng.random((n, d)), np.full(n, CR), rng.integers(0, d, n), lo, hi))
        elif name == "de_pbest_trials":
            for n_arch in (0, 3):
                A = rng.uniform(-1, 2, (n_arch, d))
                out.append((X, A, rng.integers(0, n, n), rng.integers(0, n, n), rng.integers(0, n + n_arch, n),
                            rng.uniform(0, 1.5, n), rng.random((n, d)), rng.random(n), rng.integers(0, d, n), lo, hi))
        elif name == "ga_crossover":
            P1, P2 = rng.uniform(-1, 2, (n, d)), rng.uniform(-1, 2, (n, d))
            P2[0] = P1[0]  # identical parents: not crossed
            P1[-1, 0], P2[-1, 0] = lo[0], hi[0]  # parents on the bounds
            u = rng.random((n, d))
            u[0, 0], u[-1, -1] = 0.0, 1.0 - 1e-16
            for eta in (0.0, 2.0, 15.0, 100.0):
                out.append((P1, P2, lo, hi, eta, u, rng.random((n, d)) < 0.6, rng.random((n, d)) < 0.5))
            out.append((P1, P2, lo, hi, 15.0, u, np.ones((n, d), bool), np.zeros((n, d), bool)))
        elif name == "ga_mutation":
            K = rng.uniform(-1, 2, (n, d))
            K[0, 0], K[-1, -1] = lo[0], hi[-1]  # genes on the bounds
            u = rng.random((n, d))
            u[0, :] = [0.0, 0.5, 1.0][: d] + [0.25] * max(0, d - 3)
            for eta in (0.0, 20.0):
                out.append((K, lo, hi, eta, u, rng.random((n, d)) < 0.5))
            out.append((K, lo, hi, 20.0, u, np.ones((n, d), bool)))
            out.append((K, lo, hi, 20.0, u, np.zeros((n, d), bool)))
    return out


@needs_numba
@pytest.mark.parametrize("name", pk.NAMES)
def test_numba_matches_numpy_twin(name):
    nb, twin = optkit_native.kernel(name, native=True), optkit_native.kernel(name, native=False)
    assert twin is getattr(pk, name) and nb is not twin
    rng = np.random.default_rng(sum(map(ord, name)))
    for k, args in enumerate(_cases(name, rng)):
        got, want = nb(*args), twin(*args)
        got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape and g.dtype == np.float64, (name, k)
            if name in EXACT:
                np.testing.assert_array_equal(g, w, err_msg=f"{name} case {k}")
            else:
                np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15, err_msg=f"{name} case {k}")


@needs_numba
def test_numba_kernels_take_what_the_twins_take():
    rng = np.random.default_rng(3)
    nb = optkit_native.kernel("de_bin_trials", native=True)
    Xb = rng.uniform(-1, 2, (20, 12))
    X = Xb[::2, ::2]  # strided
    i = [rng.integers(0, 10, 10).astype(np.int32) for _ in range(3)]  # int32 indices
    args = (X, *i, 0.5, False, np.asfortranarray(rng.random((10, 6))), np.full(10, 0.9)[::-1], rng.integers(0, 6, 10), -np.ones(6), 2 * np.ones(6))
    np.testing.assert_array_equal(nb(*args), pk.de_bin_trials(*args))
    assert len(nb.compiled.signatures) == 1


# -- known answers of the twins (the numba side equals them, above) ---------------------------------
def test_mmes_mix_by_hand():
    Q = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    rows, r, N = np.array([[0, 2], [1, 1]]), np.array([[2.0, -1.0], [1.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 2.0]])
    want = np.array([0.5 * (2 * Q[0] - Q[2]) + 3 * N[0], 0.5 * (2 * Q[1]) + 3 * N[1]])
    np.testing.assert_allclose(pk.mmes_mix(Q, rows, r, N, 0.5, 3.0), want, rtol=1e-15)


def test_spso_move_by_hand():
    X, V, P = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[0.1, -0.1], [0.0, 0.0]]), np.array([[0.6, 0.0], [0.9, 1.2]])
    g, own = np.array([1, 1]), np.array([False, True])
    direction, u = np.array([[0.0, 2.0], [3.0, 4.0]]), np.array([0.5, 0.0])
    lo, hi = np.array([-1.0, -1.0]), np.array([1.0, 1.1])
    Xn, Vn = pk.spso_move(X, V, P, g, own, direction, u, 0.5, 1.5, False, lo, hi)
    G0 = X[0] + 1.5 * (P[0] + P[1] - 2 * X[0]) / 3  # (0.75, 0.6): radius 0.96, half of it along +y
    x0 = G0 + np.array([0.0, 0.5 * np.linalg.norm(G0)])
    v0 = 0.5 * V[0] + x0 - X[0]
    G1 = X[1] + 1.5 * (P[1] - X[1]) / 2  # own best: u = 0 puts x' on G
    v1 = G1 - X[1]
    x1 = X[1] + v1  # (0.925, 1.15): y leaves the box
    np.testing.assert_allclose(Xn, [X[0] + v0, [x1[0], 1.1]], rtol=1e-14)
    np.testing.assert_allclose(Vn, [v0, [v1[0], -0.5 * v1[1]]], rtol=1e-14)


def test_de_trials_by_hand():
    X = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2.0, -1.0, 0.5], [0.5, 0.5, 0.5]])
    lo, hi = -np.ones(3), 1.5 * np.ones(3)
    i0, i1, i2 = np.array([1, 2, 3, 0]), np.array([2, 3, 0, 1]), np.array([3, 0, 1, 2])
    R, jrand = np.zeros((4, 3)), np.zeros(4, np.int64)
    V = X[i0] + 0.5 * (X[i1] - X[i2])
    V = np.where(V < lo, (lo + X) / 2, np.where(V > hi, (hi + X) / 2, V))
    np.testing.assert_array_equal(pk.de_bin_trials(X, i0, i1, i2, 0.5, False, R, np.ones(4), jrand, lo, hi), V)
    U = pk.de_bin_trials(X, i0, i1, i2, 0.5, False, R, np.zeros(4), jrand, lo, hi)  # CR = 0: only j_rand = 0
    np.testing.assert_array_equal(U[:, 0], V[:, 0])
    np.testing.assert_array_equal(U[:, 1:], X[:, 1:])
    cur = X + 0.5 * (X[i0] - X) + 0.5 * (X[i1] - X[i2])
    cur = np.where(cur < lo, (lo + X) / 2, np.where(cur > hi, (hi + X) / 2, cur))
    np.testing.assert_array_equal(pk.de_bin_trials(X, i0, i1, i2, 0.5, True, R, np.ones(4), jrand, lo, hi), cur)
    A = np.array([[9.0, 9.0, 9.0]])  # r2 = 4 is the archive's row
    F = np.array([0.5, 0.5, 0.5, 0.1])
    want = X + F[:, None] * (X[i0] - X + X[i1] - np.vstack([X, A])[[4, 0, 1, 2]])
    want = np.where(want < lo, (lo + X) / 2, np.where(want > hi, (hi + X) / 2, want))
    got = pk.de_pbest_trials(X, A, i0, i1, np.array([4, 0, 1, 2]), F, R, np.ones(4), jrand, lo, hi)
    np.testing.assert_array_equal(got, want)


def test_ga_kernels_by_hand():
    # Deb's SBX, eta = 1, parents 0.4 and 0.6 in [0, 1], u = 0.5: beta_q = (0.5 alpha)^(1/2) with
    # alpha = 2 - (1 + 2 * 0.4 / 0.2)^-2 = 2 - 1/25 (the same for the upper child: 1 + 2 * 0.4 / 0.2)
    bq = np.sqrt(0.5 * (2 - 1 / 25))
    C1, C2 = pk.ga_crossover(np.array([[0.6, 0.3]]), np.array([[0.4, 0.7]]), np.zeros(2), np.ones(2), 1.0,
                             np.full((1, 2), 0.5), np.array([[True, False]]), np.array([[False, False]]))
    np.testing.assert_allclose(C1, [[0.5 - 0.1 * bq, 0.3]], rtol=1e-14)
    np.testing.assert_allclose(C2, [[0.5 + 0.1 * bq, 0.7]], rtol=1e-14)
    # polynomial mutation, eta = 1, y = 0.5 in [0, 1], u = 0.25: delta_q = (0.5 + 0.5 * 0.25)^(1/2) - 1
    out = pk.ga_mutation(np.array([[0.5, 0.5]]), np.zeros(2), np.ones(2), 1.0, np.full((1, 2), 0.25), np.array([[True, False]]))
    np.testing.assert_allclose(out, [[0.5 + np.sqrt(0.625) - 1.0, 0.5]], rtol=1e-14)


def test_switch_selects_the_twins(monkeypatch):
    monkeypatch.setenv("OPTKIT_NATIVE", "0")
    for name in pk.NAMES:
        assert optkit_native.kernel(name) is getattr(pk, name)


# -- the optimizers: same points with OPTKIT_NATIVE=0 and =1 -----------------------------------------
MIXED = optkit.SearchSpace({"x": optkit.Real(-2.0, 3.0), "y": optkit.Real(-1.0, 1.0), "k": optkit.Integer(0, 9),
                            "c": optkit.Categorical(["a", "b", "c"])})
RUNS = [  # (method, dim or space, hyperparameters, kernel used, exact)
    ("mmes", 30, {}, "mmes_mix", True),
    ("clpso", 6, {}, "clpso_velocity", True),
    ("de", 5, {}, "de_bin_trials", True),
    ("de", 5, {"strategy": "current-to-best/1/bin"}, "de_bin_trials", True),
    ("de", 5, {"strategy": "best/1/bin"}, "de_bin_trials", True),
    ("jade", 5, {}, "de_pbest_trials", True),
    ("shade", 5, {}, "de_pbest_trials", True),
    ("pso", 6, {"popsize": 12}, "spso_move", False),
    ("pso", 6, {"popsize": 12, "sphere_sampling": "volume"}, "spso_move", False),
    ("ga", 8, {"mutation_prob": 0.3}, "ga_crossover", False),
    ("ga", MIXED, {"popsize": 16, "mutation_prob": 0.4}, "ga_mutation", False),
]


def _run(method, space, params, gens=12):
    if isinstance(space, int):
        space = optkit.Box(-3 * np.ones(space), 2 * np.ones(space))  # optimum 1 inside, off-centre
    opt = optkit.make(method, space=space, seed=4, **params)
    asked = []
    for _ in range(gens):
        X = opt.ask()
        asked.append(X)
        Z = space.encode(X) if isinstance(space, optkit.SearchSpace) else X
        opt.tell(X, np.sum((Z - 0.3) ** 2, axis=1) + np.sum(np.sin(5 * Z), axis=1))
    return np.vstack(asked)


@needs_numba
@pytest.mark.parametrize("method, space, params, name, exact", RUNS, ids=lambda v: v if isinstance(v, str) else "")
def test_optimizer_same_with_and_without_numba(monkeypatch, method, space, params, name, exact):
    calls = []
    twin, path = _dispatch._TABLE[name]
    monkeypatch.setitem(_dispatch._TABLE, name, (lambda *a: calls.append(1) or twin(*a), path))
    monkeypatch.setenv("OPTKIT_NATIVE", "0")
    X0 = _run(method, space, params)
    assert calls, f"{method} did not call kernel {name!r}"
    monkeypatch.setenv("OPTKIT_NATIVE", "1")
    X1 = _run(method, space, params)
    if exact:
        np.testing.assert_array_equal(X1, X0)
    else:
        np.testing.assert_allclose(X1, X0, rtol=1e-9, atol=1e-12)


def _subprocess(code: str, **env) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), full_env.get("PYTHONPATH", "")])
    full_env.update(env)
    return subprocess.run([sys.executable, "-W", "ignore", "-c", textwrap.dedent(code)], env=full_env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_importing_the_population_methods_does_not_import_numba():
    out = _subprocess(
        """
        import sys
        import optkit
        import optkit.population.mmes, optkit.population.pso, optkit.population.clpso
        import optkit.population.de, optkit.population.shade, optkit.population.ga
        assert "numba" not in sys.modules
        print("ok")
        """
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"


@needs_numba
def test_cuda_sampling_under_the_simulator():
    out = _subprocess(
        """
        import numpy as np
        from optkit_native import cuda_available, testfunctions as tf
        from optkit_native.cuda_population import CudaGaussianSampler, transform_cuda

        assert cuda_available()
        rng = np.random.default_rng(0)
        for n, d in [(19, 3), (1, 1), (5, 9)]:
            Z, A, m, sd = rng.standard_normal((n, d)), rng.standard_normal((d, d)), rng.standard_normal(d), rng.random(d)
            np.testing.assert_allclose(transform_cuda(Z, m, 0.7, A=A), m + 0.7 * Z @ A.T, rtol=1e-12, atol=1e-14)
            np.testing.assert_array_equal(transform_cuda(Z, m, 0.7, sd=sd), m + (0.7 * sd) * Z)
        assert transform_cuda(np.zeros((0, 2)), np.zeros(2), 1.0, sd=np.ones(2)).shape == (0, 2)

        s = CudaGaussianSampler(max_rows=8, seed=5)
        m, A = np.array([1.0, -2.0, 0.5]), np.array([[2.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.5, 3.0]])
        X, Z = s.sample(m, 0.5, 8, A=A)
        assert X.shape == Z.shape == (8, 3) and X.flags.c_contiguous
        np.testing.assert_allclose(X, m + 0.5 * Z @ A.T, rtol=1e-12, atol=1e-14)
        X2, Z2 = s.sample(m, 0.5, 8, A=A)
        assert not np.array_equal(Z, Z2)                       # the streams move on
        X3, Z3 = CudaGaussianSampler(max_rows=8, seed=5).sample(m, 0.5, 8, A=A)
        np.testing.assert_array_equal(Z3, Z)                   # same seed, same draws
        assert not np.array_equal(CudaGaussianSampler(8, seed=6).standard_normal(8, 3), Z)
        big = np.vstack([s.standard_normal(8, 25) for _ in range(2)])   # 400 draws
        assert abs(big.mean()) < 0.25 and 0.8 < big.std() < 1.2, (big.mean(), big.std())

        for name, kw in [("rastrigin", {"A": A}), ("ellipsoid", {"sd": np.ones(3)})]:
            X, Z, f = s.sample_evaluate(name, m, 0.5, 6, **kw)
            assert X.shape == (6, 3) and f.shape == (6,)
            np.testing.assert_allclose(f, getattr(tf, name)(X), rtol=1e-12)
        for bad, kw in [("sigma", dict(sigma=-1.0, A=A)), ("exactly one", dict(sigma=1.0)),
                        ("shape", dict(sigma=1.0, A=np.eye(2))), ("entries", dict(sigma=1.0, sd=np.ones(2)))]:
            try:
                s.sample(m, n=2, **kw)
            except ValueError as e:
                assert bad in str(e), (bad, str(e))
            else:
                raise AssertionError(bad)
        try:
            s.sample(m, 1.0, 9, sd=np.ones(3))
        except ValueError as e:
            assert "max_rows" in str(e)
        else:
            raise AssertionError("n > max_rows accepted")
        try:
            s.sample_evaluate("levy", m, 1.0, 2, sd=np.ones(3))
        except KeyError:
            pass
        else:
            raise AssertionError("levy has no CUDA kernel")
        print("ok")
        """,
        NUMBA_ENABLE_CUDASIM="1",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
