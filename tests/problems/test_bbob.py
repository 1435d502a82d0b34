"""COCO's 24 noiseless BBOB functions: values, optima and instances against COCO's own C code (cocoex)."""

import pickle

import numpy as np
import pytest

from optkit.core.errors import InvalidParameterError
from optkit.core.problem import Problem
from optkit.core.space import Box
from optkit.problems.bbob import BBOB_FUNCTIONS, BBOBFunction, bbob

FUNCTIONS = range(1, 25)
DIMS = (2, 3, 5, 10, 20, 40)
INSTANCES = (1, 2, 5, 15, 42, 101)
RTOL = 1e-9  # |ours - coco| <= RTOL * max(1, |coco|)


@pytest.fixture(scope="module")
def cocoex():
    return pytest.importorskip("cocoex")


def _points(fun: BBOBFunction, rng: np.random.Generator) -> np.ndarray:
    d = fun.dim
    n_box = 40 if d <= 10 else 20 if d <= 20 else 12
    return np.vstack(
        [
            rng.uniform(-5.0, 5.0, (n_box, d)),  # the region of interest
            fun.x_opt + 1e-8 * rng.standard_normal((2, d)),  # near the optimum
            fun.x_opt + 1e-3 * rng.standard_normal((3, d)),
            rng.uniform(-12.0, 12.0, (4, d)),  # mostly outside the box: penalties, clipping
            np.where(rng.random((2, d)) < 0.5, -5.5, 5.5),
            fun.x_opt,
            np.zeros(d),
        ]
    )


@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_matches_coco(cocoex, function, dim):
    rng = np.random.default_rng(1000 * function + dim)
    for instance in INSTANCES:
        ours = BBOBFunction(function, dim, instance)
        ref = cocoex.BareProblem("bbob", function, dim, instance)
        where = f"f{function} d{dim} i{instance}"

        X = _points(ours, rng)
        y = ours(X)
        y_ref = np.array([ref(x) for x in X])
        bad = np.abs(y - y_ref) > RTOL * np.maximum(1.0, np.abs(y_ref))
        assert not bad.any(), f"{where}: rows {np.flatnonzero(bad).tolist()}: ours {y[bad]}, coco {y_ref[bad]}"

        assert ours.f_opt == pytest.approx(ref.best_value(), rel=1e-13, abs=1e-13), where
        assert np.allclose(ours.x_opt, np.asarray(ref.best_parameter()), rtol=0.0, atol=1e-12), where
        # the optimum is the minimum: no sampled point is better
        assert y.min() >= ours.f_opt - 1e-9 * max(1.0, abs(ours.f_opt)), where


@pytest.mark.parametrize("function", FUNCTIONS)
def test_value_at_x_opt_is_f_opt(function):
    for dim in (2, 7, 40):
        for instance in (1, 3):
            f = BBOBFunction(function, dim, instance)
            if function == 20:
                # COCO's x_opt for Schwefel has rounded digits (4.2096874633 against 4.2096874637)
                assert f(f.x_opt) == pytest.approx(f.f_opt, abs=1e-8)
            else:
                assert f(f.x_opt) == pytest.approx(f.f_opt, rel=1e-14, abs=1e-14)


# f_opt, f at linspace(-4, 4, 5), f at 6.0 everywhere; d=5, instance 1 (recorded from cocoex 2.8.2)
REFERENCE_D5_I1 = [
    (1, 79.48, 143.43997568, 300.89277568),
    (2, -209.88, 5422104.644326393, 18230096.79876575),
    (3, -462.09, -306.73256485462707, 602.9159942795152),
    (4, -462.09, 2126.9334440152775, 19307.874815765692),
    (5, -9.21, 134.91958392682483, 100.78999999999999),
    (6, 35.9, 394048.3078686333, 950895.0818016636),
    (7, 92.94, 320.6619085750891, 2337.8588586851897),
    (8, 149.15, 12970.546495591601, 622384.1143171084),
    (9, 123.83, 90324.56268059819, 1042380.6727373479),
    (10, -54.94, 2942993.8237899453, 28717747.246117264),
    (11, 76.27, 1919118.4730432741, 74113853.57143566),
    (12, -621.11, 165042854.67692664, 379425741.13451797),
    (13, 29.97, 1960.229776461683, 3098.5240547327326),
    (14, -52.35, 21.760127966057745, 793.7400423258623),
    (15, 1000.0, 1274.9855903125967, 1592.0208583213753),
    (16, 71.35, 145.38404304675038, 125.0555969971574),
    (17, -16.94, 269.02837320835675, 126.99401000328784),
    (18, -16.94, 817.9492283434269, 622.1047817032049),
    (19, -102.55, -68.05886854209915, 956.4106200266397),
    (20, -546.5, 19229.604780754882, 106156.81725595916),
    (21, 40.78, 112.58147208103384, 125.89789527821284),
    (22, -1000.0, -938.7387676243196, -908.4354123062108),
    (23, 6.87, 12.040866238522892, 23.75962571420481),
    (24, 102.61, 158.25316537184193, 50468.610377195524),
]


@pytest.mark.parametrize(("function", "f_opt", "at_line", "at_six"), REFERENCE_D5_I1)
def test_recorded_coco_values(function, f_opt, at_line, at_six):
    """Runs without cocoex: a few values recorded from it."""
    f = BBOBFunction(function, 5, 1)
    assert f.f_opt == pytest.approx(f_opt, rel=1e-13)
    X = np.vstack([np.linspace(-4.0, 4.0, 5), np.full(5, 6.0)])
    assert f(X) == pytest.approx([at_line, at_six], rel=RTOL)


def test_names_cover_the_24_functions():
    assert sorted(BBOB_FUNCTIONS) == list(range(1, 25))
    assert BBOB_FUNCTIONS[1] == "sphere" and BBOB_FUNCTIONS[24] == "lunacek_bi_rastrigin"
    assert len(set(BBOB_FUNCTIONS.values())) == 24


@pytest.mark.parametrize("function", FUNCTIONS)
def test_batch_single_point_and_pickle(function):
    f = BBOBFunction(function, 6, 4)
    X = np.random.default_rng(function).uniform(-6.0, 6.0, (9, 6))
    y = f(X)
    assert y.shape == (9,) and y.dtype == np.float64
    one = f(X[3])
    assert np.ndim(one) == 0 and isinstance(float(one), float)
    assert one == pytest.approx(y[3], rel=1e-13)  # BLAS may round a lone row differently from a batch
    assert np.array_equal(f(X.tolist()), y)
    assert f(np.empty((0, 6))).shape == (0,)
    g = pickle.loads(pickle.dumps(f))
    assert np.array_equal(g(X), y) and g.f_opt == f.f_opt and np.array_equal(g.x_opt, f.x_opt)
    assert np.isnan(f(np.full(6, np.nan)))


def test_instances_differ_and_are_reproducible():
    a, b, c = BBOBFunction(15, 10, 1), BBOBFunction(15, 10, 2), BBOBFunction(15, 10, 1)
    assert not np.array_equal(a.x_opt, b.x_opt) and a.f_opt != b.f_opt
    assert np.array_equal(a.x_opt, c.x_opt) and a.f_opt == c.f_opt


def test_bbob_problem():
    p = bbob(8, dim=5, instance=2, on_error="penalize")
    f = BBOBFunction(8, 5, 2)
    assert isinstance(p, Problem)
    assert p.name == "bbob_f8_d5_i2" and p.dim == 5 and p.vectorized and p.on_error == "penalize"
    assert isinstance(p.space, Box)
    assert np.array_equal(p.space.lower, np.full(5, -5.0)) and np.array_equal(p.space.upper, np.full(5, 5.0))
    assert p.f_opt == f.f_opt and np.array_equal(p.x_opt, f.x_opt)
    X = np.random.default_rng(0).uniform(-5.0, 5.0, (4, 5))
    assert np.array_equal(p.evaluate(X), f(X))
    assert p(p.x_opt) == pytest.approx(p.f_opt)
    assert bbob(1).dim == 10 and bbob(1).name == "bbob_f1_d10_i1"
    assert bbob(np.int64(3), np.int64(4), np.int64(2)).name == "bbob_f3_d4_i2"


@pytest.mark.parametrize(
    ("kwargs", "name", "shown"),
    [
        (dict(function=25), "function", "25"),
        (dict(function=0), "function", "0"),
        (dict(function=1.0), "function", "1.0"),
        (dict(function=True), "function", "True"),
        (dict(function="3"), "function", "'3'"),
        (dict(function=1, dim=1), "dim", "1"),
        (dict(function=1, dim=0), "dim", "0"),
        (dict(function=1, dim=2.5), "dim", "2.5"),
        (dict(function=1, dim=None), "dim", "None"),
        (dict(function=1, instance=0), "instance", "0"),
        (dict(function=1, instance=-3), "instance", "-3"),
        (dict(function=1, instance=1.0), "instance", "1.0"),
    ],
)
def test_bad_arguments(kwargs, name, shown):
    with pytest.raises(InvalidParameterError, match=rf"bbob\(\): '{name}' must be .*got {shown}$"):
        bbob(**kwargs)
    args = {"dim": 3, **kwargs}
    with pytest.raises(InvalidParameterError, match=rf"BBOBFunction: '{name}' must be"):
        BBOBFunction(**args)
    with pytest.raises(ValueError):  # InvalidParameterError is a ValueError
        bbob(**kwargs)


def test_bad_on_error_and_bad_points():
    with pytest.raises(InvalidParameterError, match="on_error"):
        bbob(1, 3, on_error="ignore")
    f = BBOBFunction(2, 3)
    for X in (np.zeros((2, 4)), np.zeros(4), np.zeros((2, 3, 1)), 1.0):
        with pytest.raises(InvalidParameterError, match=r"'X' must have shape \(n, 3\) or \(3,\)"):
            f(X)
