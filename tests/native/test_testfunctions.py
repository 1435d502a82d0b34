"""numba test-function kernels vs their numpy twins; the OPTKIT_NATIVE switch; CUDA kernels (simulator)."""

import ast
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import optkit_native
from optkit_native import _dispatch
from optkit_native import testfunctions as tf

ROOT = pathlib.Path(__file__).resolve().parents[2]
HAS_NUMBA = _dispatch._numba_importable()
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")

SHAPES = [(1, 1), (1, 6), (9, 1), (50, 2), (33, 10), (200, 37), (0, 4)]
# a range that exercises every branch (negative values for |x| in schwefel, beyond pi for michalewicz)
LOW, HIGH = -6.0, 6.0


def _run(code: str, **env) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), full_env.get("PYTHONPATH", "")])
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=full_env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@needs_numba
@pytest.mark.parametrize("name", tf.NAMES)
def test_numba_matches_numpy_twin(name):
    nb = optkit_native.kernel(name, native=True)
    np_fn = optkit_native.kernel(name, native=False)
    assert np_fn is getattr(tf, name)
    assert nb is not np_fn
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    for n, d in SHAPES:
        X = rng.uniform(LOW, HIGH, (n, d))
        got, want = nb(X), np_fn(X)
        assert got.shape == want.shape == (n,) and got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, err_msg=f"{name} on shape {(n, d)}")


@needs_numba
@pytest.mark.parametrize("name", tf.NAMES)
def test_numba_matches_numpy_on_special_points_and_layouts(name):
    nb = optkit_native.kernel(name, native=True)
    np_fn = getattr(tf, name)
    d = 5
    special = np.array([np.zeros(d), np.ones(d), -np.ones(d), np.full(d, 420.9687), np.full(d, -2.903534), np.full(d, np.pi)])
    np.testing.assert_allclose(nb(special), np_fn(special), rtol=1e-12, atol=1e-10)  # atol: cancellation at optima
    base = np.random.default_rng(7).uniform(LOW, HIGH, (40, 12))
    for X in (base[:, ::2], base[::3], np.asfortranarray(base), base.T.copy().T):  # strided and column-major
        np.testing.assert_allclose(nb(X), np_fn(np.ascontiguousarray(X)), rtol=1e-12, atol=0)
    assert len(nb.signatures) == 1  # one compiled signature serves every layout


def test_optkit_native_switch(monkeypatch):
    monkeypatch.setenv("OPTKIT_NATIVE", "0")
    assert not optkit_native.native_enabled()
    for name in tf.NAMES:
        assert optkit_native.kernel(name) is getattr(tf, name)
    for flag in ("false", "no", "off", "numpy"):
        monkeypatch.setenv("OPTKIT_NATIVE", flag)
        assert optkit_native.kernel("sphere") is tf.sphere
    monkeypatch.setenv("OPTKIT_NATIVE", "1")
    if HAS_NUMBA:
        assert optkit_native.kernel("sphere") is not tf.sphere
        assert optkit_native.kernel("sphere") is optkit_native.kernel("sphere", native=True)
    with pytest.raises(KeyError, match="unknown kernel"):
        optkit_native.kernel("no_such_function")


def test_numpy_twins_check_their_input():
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        tf.sphere(np.zeros(3))
    np.testing.assert_array_equal(tf.sphere([[1, 2], [3, 4]]), [5.0, 25.0])  # lists and ints accepted
    assert tf.ellipsoid_weights(1).tolist() == [1.0]
    w = tf.ellipsoid_weights(7)
    assert w[0] == 1.0 and w[-1] == pytest.approx(1e6) and np.all(np.diff(w) > 0)


def test_importing_the_twins_does_not_import_numba_or_optkit():
    out = _run(
        """
        import sys
        import optkit_native, optkit_native.testfunctions as tf
        assert "numba" not in sys.modules, "numba imported"
        assert not any(m == "optkit" or m.startswith("optkit.") for m in sys.modules), "optkit imported"
        import optkit.problems.classical as c
        p = c.PROBLEMS["rastrigin"](3)
        assert "numba" not in sys.modules, "building a problem imported numba"
        print("ok")
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_optkit_native_source_never_imports_optkit():
    for path in (ROOT / "optkit_native").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [node.module or ""]
            else:
                continue
            for m in mods:
                assert m.split(".")[0] != "optkit", f"{path.name} imports {m}"


def test_batch_evaluate_on_cpu(monkeypatch):
    X = np.random.default_rng(0).uniform(-3, 3, (25, 4))
    for name in tf.NAMES:
        np.testing.assert_allclose(tf.batch_evaluate(name, X), getattr(tf, name)(X), rtol=1e-12)
    monkeypatch.setattr(tf, "cuda_available", lambda: False)
    np.testing.assert_allclose(tf.batch_evaluate("sphere", X, min_elements=0), tf.sphere(X), rtol=1e-12)
    with pytest.raises(KeyError, match="unknown test function"):
        tf.batch_evaluate("nope", X)


def test_batch_evaluate_skips_the_gpu_when_native_is_off(monkeypatch):
    monkeypatch.setenv("OPTKIT_NATIVE", "0")
    monkeypatch.setattr(tf, "cuda_available", lambda: pytest.fail("must not probe CUDA with OPTKIT_NATIVE=0"))
    X = np.ones((3, 2))
    np.testing.assert_array_equal(tf.batch_evaluate("rastrigin", X, min_elements=0), tf.rastrigin(X))


@needs_numba
def test_cuda_kernels_match_numpy_under_the_simulator():
    out = _run(
        """
        import sys
        import numpy as np
        from optkit_native import cuda_available
        from optkit_native import testfunctions as tf
        from optkit_native.cuda_kernels import CUDA_KERNELS, evaluate_cuda

        assert cuda_available()
        assert sorted(CUDA_KERNELS) == sorted(tf.CUDA_NAMES)
        rng = np.random.default_rng(0)
        for shape in [(64, 5), (3, 1), (130, 2)]:
            X = rng.uniform(-5.0, 5.0, shape)
            for name in tf.CUDA_NAMES:
                got, want = evaluate_cuda(name, X), getattr(tf, name)(X)
                assert got.shape == want.shape, (name, shape)
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, err_msg=f"{name} {shape}")
        F = np.asfortranarray(rng.uniform(-5.0, 5.0, (64, 5)))
        np.testing.assert_allclose(evaluate_cuda("ackley", F), tf.ackley(np.ascontiguousarray(F)), rtol=1e-12)
        assert evaluate_cuda("sphere", np.zeros((0, 3))).shape == (0,)
        try:
            evaluate_cuda("levy", F)
        except KeyError:
            pass
        else:
            raise AssertionError("levy has no CUDA kernel")

        # batch_evaluate routes big batches (here: any batch) of CUDA-capable functions to the GPU
        X = rng.uniform(-5.0, 5.0, (64, 5))
        calls = []
        import optkit_native.cuda_kernels as ck
        real = ck.evaluate_cuda
        ck.evaluate_cuda = lambda name, X: calls.append(name) or real(name, X)
        np.testing.assert_allclose(tf.batch_evaluate("rosenbrock", X, min_elements=0), tf.rosenbrock(X), rtol=1e-12)
        np.testing.assert_allclose(tf.batch_evaluate("levy", X, min_elements=0), tf.levy(X), rtol=1e-12)
        np.testing.assert_allclose(tf.batch_evaluate("sphere", X), tf.sphere(X), rtol=1e-12)  # small: CPU
        assert calls == ["rosenbrock"], calls
        print("ok")
        """,
        NUMBA_ENABLE_CUDASIM="1",
        OPTKIT_NATIVE="1",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
