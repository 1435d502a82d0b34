"""Classical test problems: definitions, known optima, validation, native/numpy dispatch."""

import math
import pickle

import numpy as np
import pytest
from scipy.optimize import minimize

import optkit_native
from optkit.core.errors import InvalidParameterError
from optkit.core.problem import Problem
from optkit.problems import classical
from optkit.problems.classical import PROBLEMS

DIMENSION_FREE = list(classical.KERNEL_NAMES)
FIXED = {"branin": 2, "hartmann3": 3, "hartmann6": 6, "six_hump_camel": 2, "goldstein_price": 2}
EXPECTED_NAMES = set(DIMENSION_FREE) | set(FIXED)


def _problems():
    """(name, dim) pairs covering every problem, the dimension-free ones in a few dimensions."""
    cases = [(name, None) for name in FIXED]
    for name in DIMENSION_FREE:
        for d in (1, 2, 5, 10):
            if name == "rosenbrock" and d == 1:
                continue
            cases.append((name, d))
    return cases


# -- textbook definitions, one point at a time (independent of the vectorized code) ---------------
def _ref(name, x):
    x = [float(v) for v in x]
    d = len(x)
    pi = math.pi
    if name == "sphere":
        return sum(v * v for v in x)
    if name == "ellipsoid":
        return sum((1e6 ** (j / (d - 1)) if d > 1 else 1.0) * v * v for j, v in enumerate(x))
    if name == "rosenbrock":
        return sum(100 * (x[j + 1] - x[j] ** 2) ** 2 + (1 - x[j]) ** 2 for j in range(d - 1))
    if name == "rastrigin":
        return 10 * d + sum(v * v - 10 * math.cos(2 * pi * v) for v in x)
    if name == "ackley":
        return (
            -20 * math.exp(-0.2 * math.sqrt(sum(v * v for v in x) / d))
            - math.exp(sum(math.cos(2 * pi * v) for v in x) / d)
            + 20
            + math.e
        )
    if name == "griewank":
        return 1 + sum(v * v for v in x) / 4000 - math.prod(math.cos(v / math.sqrt(j + 1)) for j, v in enumerate(x))
    if name == "levy":
        w = [1 + (v - 1) / 4 for v in x]
        s = math.sin(pi * w[0]) ** 2
        s += sum((w[j] - 1) ** 2 * (1 + 10 * math.sin(pi * w[j] + 1) ** 2) for j in range(d - 1))
        return s + (w[-1] - 1) ** 2 * (1 + math.sin(2 * pi * w[-1]) ** 2)
    if name == "schwefel":
        return 418.9829 * d - sum(v * math.sin(math.sqrt(abs(v))) for v in x)
    if name == "styblinski_tang":
        return 0.5 * sum(v**4 - 16 * v * v + 5 * v for v in x)
    if name == "michalewicz":
        return -sum(math.sin(v) * math.sin((j + 1) * v * v / pi) ** 20 for j, v in enumerate(x))
    if name == "branin":
        a, b, c, r, s, t = 1, 5.1 / (4 * pi**2), 5 / pi, 6, 10, 1 / (8 * pi)
        return a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s
    if name in ("hartmann3", "hartmann6"):
        A, P = (classical._HARTMANN3_A, classical._HARTMANN3_P) if d == 3 else (classical._HARTMANN6_A, classical._HARTMANN6_P)
        alpha = [1.0, 1.2, 3.0, 3.2]
        return -sum(alpha[i] * math.exp(-sum(A[i, j] * (x[j] - P[i, j]) ** 2 for j in range(d))) for i in range(4))
    if name == "six_hump_camel":
        x1, x2 = x
        return (4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2
    if name == "goldstein_price":
        x1, x2 = x
        a = 1 + (x1 + x2 + 1) ** 2 * (19 - 14 * x1 + 3 * x1**2 - 14 * x2 + 6 * x1 * x2 + 3 * x2**2)
        b = 30 + (2 * x1 - 3 * x2) ** 2 * (18 - 32 * x1 + 12 * x1**2 + 48 * x2 - 36 * x1 * x2 + 27 * x2**2)
        return a * b
    raise KeyError(name)


def test_table_has_exactly_the_documented_names():
    assert set(PROBLEMS) == EXPECTED_NAMES
    for name, factory in PROBLEMS.items():
        p = factory()
        assert isinstance(p, Problem)
        assert p.name == name and p.vectorized and p.n_constraints == 0
        assert p.dim == FIXED.get(name, classical.DEFAULT_DIM)


@pytest.mark.parametrize("name,dim", _problems())
def test_matches_textbook_definition(name, dim):
    p = PROBLEMS[name](dim)
    X = p.space.sample(40, np.random.default_rng(1))
    X = np.vstack([X, p.space.lower, p.space.upper, p.x_opt])
    got = p.evaluate(X)
    want = np.array([_ref(name, x) for x in X])
    # absolute slack for the cancellation in the textbook forms (e.g. 10 d - 10 sum cos near 0)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-9 * max(1.0, d_scale(name, p.dim)))


def d_scale(name, d):
    return {"schwefel": 419.0 * d, "rastrigin": 10.0 * d, "ackley": 22.0}.get(name, 1.0)


@pytest.mark.parametrize("name,dim", _problems())
def test_known_optimum_value_and_location(name, dim):
    p = PROBLEMS[name](dim)
    assert p.f_opt is not None and p.x_opt is not None
    assert p.space.contains(p.x_opt)[0]
    assert p(p.x_opt) == pytest.approx(p.f_opt, rel=1e-12, abs=1e-10)


@pytest.mark.parametrize("name,dim", _problems())
def test_dense_random_sample_never_beats_f_opt(name, dim):
    p = PROBLEMS[name](dim)
    rng = np.random.default_rng(0)
    X = p.space.sample(50_000, rng)
    # and a cloud around the optimum, where a wrong f_opt would show first
    width = 0.01 * (p.space.upper - p.space.lower)
    X = np.vstack([X, np.clip(p.x_opt + width * rng.standard_normal((20_000, p.dim)), p.space.lower, p.space.upper)])
    y = p.evaluate(X)
    assert np.all(np.isfinite(y))
    assert y.min() >= p.f_opt - 1e-9 * max(1.0, abs(p.f_opt))


@pytest.mark.parametrize("name", list(FIXED) + ["styblinski_tang", "michalewicz", "schwefel"])
def test_local_search_from_the_optimum_finds_nothing_better(name):
    p = PROBLEMS[name](3 if name not in FIXED else None)
    bounds = list(zip(p.space.lower, p.space.upper))
    res = minimize(lambda x: p(x), p.x_opt, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-15, "gtol": 1e-12})
    assert res.fun >= p.f_opt - 1e-10 * max(1.0, abs(p.f_opt))


def test_published_values():
    # Branin: all three minimizers, f* = 0.397887
    b = PROBLEMS["branin"]()
    np.testing.assert_allclose(b.evaluate(classical.BRANIN_MINIMIZERS), 0.397887, atol=1e-6)
    assert b.f_opt == pytest.approx(0.397887357729738, abs=1e-15)
    assert PROBLEMS["hartmann3"]().f_opt == pytest.approx(-3.86278, abs=1e-5)
    assert PROBLEMS["hartmann6"]().f_opt == pytest.approx(-3.32237, abs=1e-5)
    assert PROBLEMS["six_hump_camel"]().f_opt == pytest.approx(-1.0316, abs=1e-4)
    assert PROBLEMS["goldstein_price"]()(np.array([0.0, -1.0])) == 3.0
    # Hartmann and six-hump camel at the published (rounded) optimizers
    h3 = PROBLEMS["hartmann3"]()
    assert h3(np.array([0.114614, 0.555649, 0.852547])) == pytest.approx(-3.86278, abs=1e-5)
    h6 = PROBLEMS["hartmann6"]()
    assert h6(np.array([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])) == pytest.approx(-3.32237, abs=1e-5)
    camel = PROBLEMS["six_hump_camel"]()
    np.testing.assert_allclose(camel.evaluate([[0.0898, -0.7126], [-0.0898, 0.7126]]), -1.0316, atol=1e-4)
    # Michalewicz: -1.8013 (d=2), -4.687658 (d=5), -9.66015 (d=10); x* = (2.20, 1.57) for d = 2
    assert PROBLEMS["michalewicz"](2).f_opt == pytest.approx(-1.8013, abs=1e-4)
    assert PROBLEMS["michalewicz"](5).f_opt == pytest.approx(-4.687658, abs=1e-6)
    assert PROBLEMS["michalewicz"](10).f_opt == pytest.approx(-9.66015, abs=1e-5)
    np.testing.assert_allclose(PROBLEMS["michalewicz"](2).x_opt, [2.20, 1.57], atol=5e-3)
    # Styblinski-Tang -39.16599 d at -2.903534 (published rounded), Schwefel ~0 at 420.9687
    st = PROBLEMS["styblinski_tang"](4)
    assert st(np.full(4, -2.903534)) == pytest.approx(-39.16599 * 4, abs=1e-3)
    assert PROBLEMS["schwefel"](10)(np.full(10, 420.9687)) == pytest.approx(0.0, abs=1e-3)


def test_michalewicz_optimum_matches_brute_force_per_coordinate():
    x_opt, f_opt = classical.michalewicz_optimum(12)
    t = np.linspace(0.0, math.pi, 400_001)
    for j in range(1, 13):
        term = -np.sin(t) * np.sin(j * t * t / math.pi) ** 20
        assert term.min() >= classical._michalewicz_term(x_opt[j - 1], j) - 1e-12
    assert f_opt == pytest.approx(sum(classical._michalewicz_term(x_opt[j - 1], j) for j in range(1, 13)))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "3", np.float64(4.0)])
def test_dimension_free_rejects_bad_dim(bad):
    with pytest.raises(InvalidParameterError, match="'dim'") as info:
        PROBLEMS["sphere"](bad)
    assert repr(bad) in str(info.value)


def test_rosenbrock_needs_two_dimensions():
    with pytest.raises(InvalidParameterError, match=r"'dim' must be an int >= 2.*got 1"):
        PROBLEMS["rosenbrock"](1)
    assert PROBLEMS["rosenbrock"](np.int64(2)).dim == 2


@pytest.mark.parametrize("name,d", list(FIXED.items()))
def test_fixed_dim_accepts_none_or_own_dim_only(name, d):
    assert PROBLEMS[name](None).dim == d
    assert PROBLEMS[name](d).dim == d
    with pytest.raises(InvalidParameterError, match=rf"'dim' must be None or {d}.*got {d + 1}"):
        PROBLEMS[name](d + 1)
    with pytest.raises(InvalidParameterError, match="'dim'"):
        PROBLEMS[name](True)


def test_on_error_is_passed_and_checked():
    assert PROBLEMS["ackley"](3, on_error="penalize").on_error == "penalize"
    assert PROBLEMS["branin"](on_error="skip").on_error == "skip"
    with pytest.raises(InvalidParameterError, match="on_error"):
        PROBLEMS["levy"](2, on_error="ignore")


def test_fixed_functions_check_their_input():
    with pytest.raises(InvalidParameterError, match=r"shape \(n, 2\)"):
        classical.branin(np.zeros((3, 3)))
    with pytest.raises(InvalidParameterError, match=r"shape \(n, 6\)"):
        classical.hartmann6(np.zeros(6))


def test_evaluation_honours_optkit_native_at_call_time(monkeypatch):
    p = PROBLEMS["rastrigin"](4)  # built before the switch: the choice is made per evaluation
    X = np.random.default_rng(3).uniform(-5, 5, (9, 4))
    loaded = []
    real_load = optkit_native._dispatch._load

    def spy(path):
        loaded.append(path)
        return real_load(path)

    monkeypatch.setattr(optkit_native._dispatch, "_load", spy)
    monkeypatch.setenv("OPTKIT_NATIVE", "0")
    np.testing.assert_array_equal(p.evaluate(X), classical.rastrigin(X))
    assert loaded == []
    if optkit_native._dispatch._numba_importable():
        monkeypatch.setenv("OPTKIT_NATIVE", "1")
        np.testing.assert_allclose(p.evaluate(X), classical.rastrigin(X), rtol=1e-12)
        assert loaded == ["optkit_native._testfunctions_nb:rastrigin"]


def test_problems_pickle_and_run_through_records():
    for name in ("sphere", "michalewicz", "hartmann6"):
        p = PROBLEMS[name](None)
        q = pickle.loads(pickle.dumps(p))
        X = p.space.sample(5, np.random.default_rng(0))
        np.testing.assert_array_equal(q.evaluate(X), p.evaluate(X))
        rec = p.evaluate_records(X)
        assert rec.error == [None] * 5 and rec.C is None
        np.testing.assert_array_equal(rec.y, p.evaluate(X))


def test_non_contiguous_batches():
    p = PROBLEMS["griewank"](3)
    X = np.asfortranarray(np.random.default_rng(5).uniform(-600, 600, (11, 3)))
    np.testing.assert_allclose(p.evaluate(X), classical.griewank(np.ascontiguousarray(X)), rtol=1e-12)
