"""Linear minimization oracles: each against scipy.optimize.linprog and a brute force over its vertices;
projections by their variational inequality; bad input; numba kernels == numpy twins."""

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from optkit import InvalidParameterError
from optkit.zeroth_order.lmo import (
    BirkhoffPolytope,
    BoxLMO,
    KSparsePolytope,
    L1Ball,
    L2Ball,
    LInfBall,
    NuclearNormBall,
    ProbabilitySimplex,
    UnitSimplex,
)
from optkit_native import _dispatch, kernel
from optkit_native import lmo_kernels as lk


def _vertices(lmo, d):
    """Every vertex of a small polytope, by enumeration."""
    eye = np.eye(d)
    if isinstance(lmo, ProbabilitySimplex):
        return lmo.radius * eye
    if isinstance(lmo, UnitSimplex):
        return np.vstack([np.zeros(d), lmo.radius * eye])
    if isinstance(lmo, L1Ball):
        return np.vstack([lmo.radius * eye, -lmo.radius * eye])
    if isinstance(lmo, BoxLMO):
        lo, hi = lmo.bounds(d)
        return np.array([np.where(np.array(bits), hi, lo) for bits in itertools.product([0, 1], repeat=d)])
    if isinstance(lmo, KSparsePolytope):
        out = []
        for S in itertools.combinations(range(d), lmo.k):
            for signs in itertools.product([-1.0, 1.0], repeat=lmo.k):
                v = np.zeros(d)
                v[list(S)] = lmo.radius * np.array(signs)
                out.append(v)
        return np.array(out)
    if isinstance(lmo, BirkhoffPolytope):
        n = lmo.n
        return np.array([np.eye(n)[list(p)].reshape(-1) for p in itertools.permutations(range(n))])
    raise AssertionError(lmo)


def _linprog(lmo, g):
    """min <g, x> over the set, as a linear program."""
    d = g.size
    if isinstance(lmo, ProbabilitySimplex):
        return linprog(g, A_eq=np.ones((1, d)), b_eq=[lmo.radius], bounds=[(0, None)] * d).fun
    if isinstance(lmo, UnitSimplex):
        return linprog(g, A_ub=np.ones((1, d)), b_ub=[lmo.radius], bounds=[(0, None)] * d).fun
    if isinstance(lmo, BoxLMO):
        lo, hi = lmo.bounds(d)
        return linprog(g, bounds=list(zip(lo, hi))).fun
    if isinstance(lmo, (L1Ball, KSparsePolytope)):  # x = p - q, p, q >= 0
        cap = lmo.radius * (lmo.k if isinstance(lmo, KSparsePolytope) else 1)
        ub = lmo.radius if isinstance(lmo, KSparsePolytope) else None
        A_ub = [np.ones(2 * d)]
        b_ub = [cap]
        if ub is not None:  # |x_i| <= r
            A_ub += list(np.hstack([np.eye(d), np.eye(d)]))
            b_ub += [ub] * d
        return linprog(np.concatenate([g, -g]), A_ub=np.array(A_ub), b_ub=b_ub, bounds=[(0, None)] * (2 * d)).fun
    if isinstance(lmo, BirkhoffPolytope):
        n = lmo.n
        rows = np.kron(np.eye(n), np.ones((1, n)))
        cols = np.kron(np.ones((1, n)), np.eye(n))
        return linprog(g, A_eq=np.vstack([rows, cols]), b_eq=np.ones(2 * n), bounds=[(0, None)] * d).fun
    raise AssertionError(lmo)


POLYTOPES = [
    (ProbabilitySimplex(2.0), 6),
    (UnitSimplex(1.5), 6),
    (L1Ball(3.0), 6),
    (LInfBall(0.7), 5),
    (BoxLMO([-1.0, 0.0, 2.0, -3.0], [0.5, 1.0, 2.5, 3.0]), 4),
    (KSparsePolytope(2, 1.3), 6),
    (BirkhoffPolytope(4), 16),
]


@pytest.mark.parametrize("lmo,d", POLYTOPES, ids=[repr(p[0]) for p in POLYTOPES])
def test_polytope_oracles_match_linprog_and_brute_force(lmo, d):
    rng = np.random.default_rng(0)
    V = _vertices(lmo, d)
    for _ in range(15):
        g = rng.standard_normal(d)
        v = lmo.lmo(g)
        assert v.shape == (d,) and lmo.contains(v)
        assert np.any(np.all(np.isclose(V, v), axis=1)), "the answer is not a vertex"
        best = float(np.min(V @ g))
        assert g @ v == pytest.approx(best, abs=1e-12)
        assert g @ v == pytest.approx(_linprog(lmo, g), abs=1e-7)


def test_unit_simplex_answers_zero_for_a_nonnegative_gradient():
    assert np.array_equal(UnitSimplex(2.0).lmo(np.array([0.5, 1.0, 0.0])), np.zeros(3))


def test_l2_ball_oracle_is_the_scaled_negative_gradient_and_beats_sampled_points():
    rng = np.random.default_rng(1)
    c = np.array([1.0, -2.0, 0.5])
    lmo = L2Ball(2.0, center=c)
    for _ in range(10):
        g = rng.standard_normal(3)
        v = lmo.lmo(g)
        assert g @ v == pytest.approx(g @ c - 2.0 * np.linalg.norm(g))
        U = rng.standard_normal((2000, 3))
        U = c + 2.0 * U / np.linalg.norm(U, axis=1, keepdims=True)
        assert np.all(U @ g >= g @ v - 1e-12)


@pytest.mark.parametrize("method", ["full", "lanczos", "power"])
def test_nuclear_norm_oracle_attains_minus_radius_times_spectral_norm(method):
    rng = np.random.default_rng(2)
    for shape in ((40, 35), (33, 48)):  # tall and wide
        lmo = NuclearNormBall(shape, radius=3.0, method=method)
        for _ in range(3):
            G = rng.standard_normal(shape)
            v = lmo.lmo(G.reshape(-1))
            # min <G, X> over ||X||_* <= r is -r ||G||_2 (the spectral norm is the dual norm)
            assert G.reshape(-1) @ v == pytest.approx(-3.0 * np.linalg.norm(G, 2), rel=1e-7)
            assert np.linalg.matrix_rank(v.reshape(shape)) == 1 and lmo.contains(v, tol=1e-7)
        zero = lmo.lmo(np.zeros(lmo.size))  # a zero gradient (at an unconstrained optimum): any atom will do
        assert np.all(np.isfinite(zero)) and lmo.contains(zero, tol=1e-7)


def test_nuclear_norm_oracle_beats_rank_one_and_sampled_points():
    rng = np.random.default_rng(3)
    lmo = NuclearNormBall((6, 4), radius=1.0)
    G = rng.standard_normal((6, 4))
    best = G.reshape(-1) @ lmo.lmo(G.reshape(-1))
    for _ in range(500):  # random points of the ball: sum of rank-one atoms with weights summing to <= 1
        w = rng.dirichlet(np.ones(3))
        X = sum(wi * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v))
                for wi, u, v in zip(w, rng.standard_normal((3, 6)), rng.standard_normal((3, 4))))
        assert np.sum(G * X) >= best - 1e-12


ALL = [lmo for lmo, _ in POLYTOPES if not isinstance(lmo, BirkhoffPolytope)] + [L2Ball(1.5, center=0.3),
                                                                                 NuclearNormBall((5, 4), 2.0)]


@pytest.mark.parametrize("lmo", ALL, ids=repr)
def test_projection_of_a_start_satisfies_the_variational_inequality(lmo):
    rng = np.random.default_rng(4)
    d = lmo.size or 6
    if isinstance(lmo, BoxLMO) and lmo.size is None:
        d = 5
    for _ in range(10):
        x = 4.0 * rng.standard_normal(d)
        p = lmo.project_start(x)
        assert lmo.contains(p, tol=1e-8)
        # p is the projection iff <x - p, s - p> <= 0 for every s in the set; the worst s is lmo(-(x - p))
        s = lmo.lmo(-(x - p))
        assert (x - p) @ (s - p) <= 1e-8 * max(1.0, np.linalg.norm(x))
        inside = lmo.start(d)
        assert np.array_equal(lmo.project_start(inside), inside)


def test_birkhoff_refuses_to_project_an_infeasible_start_and_gives_a_vertex_start():
    lmo = BirkhoffPolytope(3)
    assert lmo.contains(lmo.start())
    assert lmo.contains(np.full(9, 1 / 3))
    with pytest.raises(InvalidParameterError, match="no cheap projection"):
        lmo.project_start(np.ones(9))


@pytest.mark.parametrize("make", [
    lambda: L1Ball(0.0), lambda: L1Ball(-1.0), lambda: L2Ball(float("nan")), lambda: LInfBall(float("inf")),
    lambda: ProbabilitySimplex(-2), lambda: UnitSimplex(0), lambda: KSparsePolytope(2, radius=0.0),
    lambda: NuclearNormBall((3, 3), radius=-1.0),
])
def test_a_radius_that_is_not_positive_and_finite_is_refused(make):
    with pytest.raises(InvalidParameterError, match="radius"):
        make()


def test_bad_shapes_and_arguments_are_refused():
    with pytest.raises(InvalidParameterError, match="k=4 exceeds the dimension 3"):
        KSparsePolytope(4).lmo(np.ones(3))
    with pytest.raises(InvalidParameterError, match="'k'"):
        KSparsePolytope(0)
    with pytest.raises(InvalidParameterError, match="dimension 16"):
        BirkhoffPolytope(4).lmo(np.ones(15))
    with pytest.raises(InvalidParameterError, match="dimension 12"):
        NuclearNormBall((3, 4)).lmo(np.ones(10))
    with pytest.raises(InvalidParameterError, match="shape"):
        NuclearNormBall((3, 0))
    with pytest.raises(InvalidParameterError, match="'grad' must be finite"):
        L1Ball().lmo(np.array([1.0, np.nan]))
    with pytest.raises(InvalidParameterError, match="1-D"):
        L1Ball().lmo(np.ones((2, 2)))
    with pytest.raises(InvalidParameterError, match="'lower' must be < 'upper'"):
        BoxLMO([0.0, 1.0], [1.0, 1.0])
    with pytest.raises(InvalidParameterError, match="give the dimension"):
        L1Ball().start()


needs_numba = pytest.mark.skipif(not _dispatch._numba_importable(), reason="numba is not installed")


@needs_numba
def test_numba_kernels_agree_with_their_numpy_twins():
    rng = np.random.default_rng(5)
    cases = [rng.standard_normal(d) for d in (1, 2, 7, 100, 1001)]
    cases += [np.array([1.0, -1.0, 1.0, 0.5, -1.0]), np.zeros(4), np.array([-2.0, 2.0, 2.0, -2.0])]  # ties
    for g in cases:
        assert kernel("lmo_l1_argmax", native=True)(g) == lk.l1_argmax(g)
        lo, hi = -np.arange(g.size) - 1.0, np.arange(g.size) + 1.0
        assert np.array_equal(kernel("lmo_box_vertex", native=True)(g, lo, hi), lk.box_vertex(g, lo, hi))
        for k in {min(2, g.size), 1, max(1, g.size // 2), g.size}:
            a, b = kernel("lmo_topk_abs", native=True)(g, k), lk.topk_abs(g, k)
            assert np.array_equal(a, b) and a.size == k
    ro = np.arange(5.0)
    ro.setflags(write=False)  # read-only views (broadcast bounds) are accepted
    assert kernel("lmo_l1_argmax", native=True)(ro) == 4


def test_topk_twin_takes_the_k_largest_magnitudes_lowest_index_first_on_ties():
    g = np.array([0.1, -3.0, 2.0, -2.0, 2.0])
    assert lk.topk_abs(g, 1).tolist() == [1]
    assert lk.topk_abs(g, 2).tolist() == [1, 2]
    assert lk.topk_abs(g, 3).tolist() == [1, 2, 3]
    assert lk.l1_argmax(np.array([1.0, -2.0, 2.0])) == 1


SPECS = [L1Ball(2.0), ProbabilitySimplex(), UnitSimplex(0.5), L2Ball(1.0, center=[0.0, 1.0, 2.0]), LInfBall(0.5),
         BoxLMO([0.0, -1.0, 0.0], [1.0, 1.0, 2.0]), KSparsePolytope(2, 0.5), BirkhoffPolytope(3),
         NuclearNormBall((3, 3), 2.0, method="power")]


@pytest.mark.parametrize("lmo", SPECS, ids=repr)
def test_a_json_spec_rebuilds_the_same_oracle(lmo):
    import json

    from optkit.zeroth_order.lmo import from_spec

    again = from_spec(json.loads(json.dumps(lmo.spec())))
    assert type(again) is type(lmo) and repr(again) == repr(lmo)
    g = np.random.default_rng(6).standard_normal(lmo.size or 9)
    assert np.allclose(again.lmo(g), lmo.lmo(g))


def test_a_bad_spec_is_refused():
    from optkit.zeroth_order.lmo import from_spec

    with pytest.raises(InvalidParameterError, match="'type'"):
        from_spec({"type": "Simplex"})
    with pytest.raises(InvalidParameterError, match="does not take"):
        from_spec({"type": "L1Ball", "r": 1.0})
