"""Constrained engineering / BO test problems: formulations, published optima, validation."""

import math
import pickle

import numpy as np
import pytest
from scipy.optimize import minimize

from optkit.core.errors import InvalidParameterError
from optkit.core.problem import Problem
from optkit.problems import constrained
from optkit.problems.constrained import PROBLEMS

# name -> (dim, number of constraints)
SHAPES = {
    "gardner": (2, 1),
    "gramacy": (2, 2),
    "pressure_vessel": (4, 4),
    "spring": (3, 4),
    "welded_beam": (4, 7),
    "speed_reducer": (7, 11),
}

# Natural size of each constraint, to judge "nearly feasible" relative to it.
SCALES = {
    "gardner": [1.0],
    "gramacy": [1.0, 1.0],
    "pressure_vessel": [1.0, 1.0, 1296000.0, 240.0],
    "spring": [1.0, 1.0, 1.0, 1.0],
    "welded_beam": [13600.0, 30000.0, 1.0, 5.0, 1.0, 0.25, 6000.0],
    "speed_reducer": [1.0] * 11,
}

# Published (rounded) optimizers and values: (x*, f*, tolerance on f, tolerance on scaled constraints)
LITERATURE = {
    "gramacy": ([0.1954, 0.4044], 0.5998, 1e-4, 1e-3),
    "pressure_vessel": ([0.8125, 0.4375, 42.098446, 176.636596], 6059.714335, 1e-3, 1e-6),
    "spring": ([0.051689, 0.356718, 11.288966], 0.012665, 1e-6, 1e-5),
    "welded_beam": ([0.205730, 3.470489, 9.036624, 0.205730], 1.724852, 1e-5, 1e-5),
    "speed_reducer": ([3.5, 0.7, 17.0, 7.3, 7.715320, 3.350215, 5.286654], 2994.471066, 1e-3, 1e-6),
}


def _cases():
    return [
        ("gardner", {}),
        ("gardner", {"threshold": -0.5}),
        ("gramacy", {}),
        ("pressure_vessel", {}),
        ("pressure_vessel", {"discrete": False}),
        ("spring", {}),
        ("welded_beam", {}),
        ("speed_reducer", {}),
    ]


def _ids():
    return [name + "".join(f"-{k}={v}" for k, v in kw.items()) for name, kw in _cases()]


def _scaled(name, C):
    return C / np.asarray(SCALES[name])


def test_table_and_shapes():
    assert set(PROBLEMS) == set(SHAPES)
    for name, (d, m) in SHAPES.items():
        p = PROBLEMS[name]()
        assert isinstance(p, Problem) and p.vectorized and p.name == name
        assert (p.dim, p.n_constraints) == (d, m)
        X = p.space.sample(6, np.random.default_rng(0))
        assert p.evaluate(X).shape == (6,)
        assert p.evaluate_constraints(X).shape == (6, m)
        rec = p.evaluate_records(X)
        assert rec.C.shape == (6, m)


@pytest.mark.parametrize("name,kw", _cases(), ids=_ids())
def test_known_optimum_is_feasible_and_gives_f_opt(name, kw):
    p = PROBLEMS[name](**kw)
    assert p.space.contains(p.x_opt)[0]
    assert p(p.x_opt) == pytest.approx(p.f_opt, rel=1e-12, abs=1e-12)
    c = _scaled(name, p.evaluate_constraints(p.x_opt)[0])
    assert c.max() <= 1e-12  # active constraints are zero up to rounding


@pytest.mark.parametrize("name", sorted(LITERATURE))
def test_published_optimum_is_nearly_feasible_and_matches(name):
    x_lit, f_lit, f_tol, c_tol = LITERATURE[name]
    p = PROBLEMS[name]()
    x_lit = np.array(x_lit)
    assert p(x_lit) == pytest.approx(f_lit, abs=f_tol)
    assert _scaled(name, p.evaluate_constraints(x_lit)[0]).max() <= c_tol
    assert p.f_opt == pytest.approx(f_lit, abs=f_tol)


@pytest.mark.parametrize("name,kw", _cases(), ids=_ids())
def test_dense_random_feasible_sample_never_beats_f_opt(name, kw):
    p = PROBLEMS[name](**kw)
    rng = np.random.default_rng(0)
    X = p.space.sample(100_000, rng)
    width = 0.02 * (p.space.upper - p.space.lower)
    X = np.vstack([X, np.clip(p.x_opt + width * rng.standard_normal((50_000, p.dim)), p.space.lower, p.space.upper)])
    with np.errstate(all="ignore"):
        y = p.evaluate(X)
        C = p.evaluate_constraints(X)
    feasible = np.all(C <= 0, axis=1) & np.isfinite(y)
    assert feasible.sum() > 100
    assert y[feasible].min() >= p.f_opt - 1e-9 * max(1.0, abs(p.f_opt))


@pytest.mark.parametrize(
    "name,kw",
    [c for c in _cases() if not (c[0] == "pressure_vessel" and c[1].get("discrete", True))],
    ids=[i for c, i in zip(_cases(), _ids()) if not (c[0] == "pressure_vessel" and c[1].get("discrete", True))],
)
def test_slsqp_from_the_optimum_finds_nothing_better(name, kw):
    p = PROBLEMS[name](**kw)
    scales = np.asarray(SCALES[name])
    cons = [
        {"type": "ineq", "fun": (lambda x, j=j: -p.constraints[j](x[None, :])[0] / scales[j])} for j in range(p.n_constraints)
    ]
    bounds = list(zip(p.space.lower, p.space.upper))
    x0 = p.x_opt + 1e-3 * (p.space.upper - p.space.lower) * np.random.default_rng(1).standard_normal(p.dim)
    x0 = np.clip(x0, p.space.lower, p.space.upper)
    res = minimize(lambda x: p(x), x0, method="SLSQP", bounds=bounds, constraints=cons, options={"ftol": 1e-14, "maxiter": 1000})
    # SLSQP may stop slightly infeasible (and then lower); a feasible end point must not beat f_opt
    if _scaled(name, p.evaluate_constraints(res.x)[0]).max() <= 1e-9:
        assert res.fun >= p.f_opt - 1e-7 * max(1.0, abs(p.f_opt))


def test_pressure_vessel_discrete_thickness():
    p = PROBLEMS["pressure_vessel"]()
    x = np.array([0.80, 0.44, 42.0, 177.0])
    snapped = np.array([0.8125, 0.4375, 42.0, 177.0])
    assert p(x) == p(snapped)
    np.testing.assert_array_equal(p.evaluate_constraints(x), p.evaluate_constraints(snapped))
    q = PROBLEMS["pressure_vessel"](discrete=False)
    assert q(x) != p(x)
    assert q.f_opt == pytest.approx(5885.332774, abs=1e-5) and p.f_opt == pytest.approx(6059.714335, abs=1e-5)
    # the discrete optimum is the best thickness pair: the continuous relaxation is a lower bound
    assert q.f_opt < p.f_opt


def test_pressure_vessel_discrete_optimum_by_enumeration():
    # For each thickness pair (multiples of 0.0625), the best (R, L) has the volume constraint active and
    # R as large as g1, g2 allow (the cost grows with R and L); scan R on a fine grid.
    step = constrained.PRESSURE_VESSEL_THICKNESS_STEP
    best = np.inf
    for i in range(10, 20):
        for k in range(5, 12):
            ts, th = i * step, k * step
            r_max = min(ts / 0.0193, th / 0.00954, 200.0)
            r = np.linspace(10.0, r_max, 20_001)
            length = np.maximum(10.0, (1296000.0 - 4.0 / 3.0 * math.pi * r**3) / (math.pi * r**2))
            ok = length <= 200.0
            X = np.column_stack([np.full(ok.sum(), ts), np.full(ok.sum(), th), r[ok], length[ok]])
            if len(X):
                best = min(best, constrained.pressure_vessel(X).min())
    assert best >= PROBLEMS["pressure_vessel"]().f_opt - 1e-6
    assert best == pytest.approx(6059.714335, abs=0.05)


def test_gardner_variants():
    p = PROBLEMS["gardner"]()
    np.testing.assert_allclose(p.x_opt, [1.5 * math.pi, 0.0])
    assert p.f_opt == -2.0
    # cos(x1)cos(x2) - sin(x1)sin(x2) = cos(x1 + x2)
    X = p.space.sample(50, np.random.default_rng(2))
    np.testing.assert_allclose(p.evaluate_constraints(X)[:, 0], np.cos(X.sum(axis=1)) - 0.5, atol=1e-12)
    q = PROBLEMS["gardner"](threshold=-0.5)
    assert q.f_opt == pytest.approx(-1.88875136, abs=1e-8)
    assert q.x_opt.sum() == pytest.approx(10 * math.pi / 3)  # on the constraint boundary
    other = PROBLEMS["gardner"](threshold=0.2)
    assert other.f_opt is None and other.x_opt is None
    for bad in ("0.5", None, float("nan")):
        with pytest.raises(InvalidParameterError, match="'threshold'"):
            PROBLEMS["gardner"](threshold=bad)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_dim_must_be_none_or_own(name):
    d = SHAPES[name][0]
    assert PROBLEMS[name](None).dim == d
    assert PROBLEMS[name](d).dim == d
    with pytest.raises(InvalidParameterError, match=rf"'dim' must be None or {d}.*got {d + 1}"):
        PROBLEMS[name](d + 1)
    with pytest.raises(InvalidParameterError, match="'dim'"):
        PROBLEMS[name]("2")


def test_on_error_and_input_checks():
    assert PROBLEMS["spring"](on_error="penalize").on_error == "penalize"
    with pytest.raises(InvalidParameterError, match="on_error"):
        PROBLEMS["spring"](on_error="nope")
    with pytest.raises(InvalidParameterError, match=r"shape \(n, 4\)"):
        constrained.welded_beam_constraints(np.zeros((2, 3)))


def test_problems_pickle():
    for name in SHAPES:
        p = PROBLEMS[name]()
        q = pickle.loads(pickle.dumps(p))
        X = p.space.sample(4, np.random.default_rng(0))
        np.testing.assert_array_equal(q.evaluate(X), p.evaluate(X))
        np.testing.assert_array_equal(q.evaluate_constraints(X), p.evaluate_constraints(X))
    g = pickle.loads(pickle.dumps(PROBLEMS["gardner"](threshold=-0.5)))
    assert g.constraints[0].fun.threshold == -0.5
