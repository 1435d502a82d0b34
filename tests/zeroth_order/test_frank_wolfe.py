"""Frank-Wolfe: the gap certificate, known optima, hand-derived steps, linear convergence of the away and
pairwise variants on polytopes, lazification, the Problem and functional front doors, bad input."""

import numpy as np
import pytest

import optkit
from optkit import InvalidParameterError
from optkit.core.serialize import dumps, loads
from optkit.problems.fw import matrix_completion, simplex_quadratic, sparse_regression
from optkit.zeroth_order import (
    BirkhoffPolytope,
    FrankWolfe,
    KSparsePolytope,
    L1Ball,
    L2Ball,
    LInfBall,
    NuclearNormBall,
    ProbabilitySimplex,
    UnitSimplex,
    frank_wolfe,
)

UNBOUNDED = optkit.Box(-np.inf, np.inf, dim=1)


def _run(problem, lmo, budget, **kw):
    return optkit.make("frank-wolfe", problem.space, lmo=lmo, **kw).minimize(problem, budget)


CONFIGS = [dict(variant=v, step=s, lazy=lz) for v in ("vanilla", "away", "pairwise")
           for s in ("open-loop", "short", "line-search") for lz in (False, True)]


@pytest.mark.parametrize("kw", CONFIGS, ids=lambda kw: f"{kw['variant']}-{kw['step']}-{'lazy' if kw['lazy'] else 'eager'}")
def test_gap_certifies_suboptimality_at_every_iterate(kw):
    problem, lmo = simplex_quadratic(dim=20, support=4, seed=1)
    res = _run(problem, lmo, 300, **kw)
    F = np.array([problem.objective(x) for x in res.history.X])
    known = ~np.isnan(res.gaps)
    assert known.sum() >= 1 and res.gaps.shape == (res.nit,)
    assert np.all(F[known] - problem.f_opt <= res.gaps[known] + 1e-12), "f(x_t) - f* > gap_t"
    assert res.dual_bound <= problem.f_opt + 1e-12
    assert res.fun - res.dual_bound >= res.fun - problem.f_opt - 1e-12
    assert all(lmo.contains(x) for x in res.history.X) and lmo.contains(res.x)
    assert res.fun <= F[0]  # progress from the start vertex


@pytest.mark.parametrize("variant", ["away", "pairwise"])
def test_away_and_pairwise_converge_linearly_on_a_polytope_where_vanilla_crawls(variant):
    problem, lmo = simplex_quadratic(dim=60, support=10, seed=0)
    fast = _run(problem, lmo, 3000, variant=variant)
    assert fast.status == optkit.Status.CONVERGED and fast.gap <= 1e-7 and fast.nit < 200
    assert np.allclose(fast.x, problem.x_opt, atol=1e-5)
    assert np.array_equal(fast.x, fast.history.X[-1])  # the certified iterate is the one returned
    # linear rate: the suboptimality falls by a constant factor per iteration
    F = np.array([problem.objective(x) for x in fast.history.X]) - problem.f_opt
    assert F[-1] <= 1e-12 and F[fast.nit // 2] < 1e-4 * F[0]  # a sublinear rate would leave F[nit/2] ~ 2 F[-1]
    slow = _run(problem, lmo, 3000, variant="vanilla")
    assert slow.status == optkit.Status.BUDGET_EXHAUSTED and slow.gap > 1e-6
    assert slow.active_set_size == 0 and fast.active_set_size <= 11


def test_pairwise_recovers_the_sparse_truth_over_the_l1_ball():
    problem, lmo = sparse_regression(n=100, dim=200, k=5, seed=3)
    res = _run(problem, lmo, 500 * problem.n_examples, variant="pairwise", step="line-search")
    assert res.status == optkit.Status.CONVERGED and res.fun - problem.f_opt <= res.gap <= 1e-7
    assert np.allclose(res.x, problem.x_opt, atol=1e-4)


def test_functional_api_finds_the_l1_projection_in_closed_form():
    b = np.array([0.8, -0.3, 0.1, 2.0])
    res = frank_wolfe(lambda x: 0.5 * float((x - b) @ (x - b)), lambda x: x - b, L1Ball(2.0), np.zeros(4),
                      variant="away", max_iter=500)
    # projection onto ||x||_1 <= 2: soft threshold at lam with sum(|b_i| - lam)_+ = 2; on the support {0, 3}:
    # (0.8 - lam) + (2.0 - lam) = 2  ->  lam = 0.4 (and 0.3, 0.1 < 0.4 are zeroed)
    assert res.status == optkit.Status.CONVERGED and res.gap <= 1e-7
    assert np.allclose(res.x, [0.4, 0.0, 0.0, 1.6], atol=1e-6)
    assert res.nit <= 500 and res.lmo_calls == res.nit and res.nfev >= res.nit


def test_functional_api_stops_at_max_iter():
    b = np.array([0.5, 0.3, 0.2])
    res = frank_wolfe(lambda x: float((x - b) @ (x - b)), lambda x: 2 * (x - b), ProbabilitySimplex(1.0), np.eye(3)[0],
                      step="open-loop", max_iter=7, tol=0.0)
    assert res.nit == 7 and res.status == optkit.Status.BUDGET_EXHAUSTED and "max_iter" in res.message
    # the minimizer of ||x||^2 over the ball centered at (2, 2, 2) is (2 - 1/sqrt(3)) * 1
    closer = frank_wolfe(lambda x: float(x @ x), lambda x: 2 * x, L2Ball(1.0, center=2.0), np.full(3, 2.0), max_iter=200)
    assert np.allclose(closer.x, 2 - 1 / np.sqrt(3), atol=1e-3)


def test_open_loop_and_short_steps_follow_their_formulas():
    b = np.array([0.2, 0.5, 0.3]) + 0.1
    fun, grad = lambda x: 0.5 * float((x - b) @ (x - b)), lambda x: x - b
    x0 = np.array([1.0, 0.0, 0.0])
    res = frank_wolfe(fun, grad, ProbabilitySimplex(1.0), x0, step="open-loop", max_iter=3, tol=0.0)
    X = res.history.X
    v0 = np.eye(3)[np.argmin(grad(X[0]))]
    assert np.array_equal(X[1], X[0] + 1.0 * (v0 - X[0]))  # gamma_0 = 2 / 2
    v1 = np.eye(3)[np.argmin(grad(X[1]))]
    assert np.allclose(X[2], X[1] + (2 / 3) * (v1 - X[1]))
    res = frank_wolfe(fun, grad, ProbabilitySimplex(1.0), x0, step="short", L=1.0, max_iter=2, tol=0.0)
    g, d = grad(x0), np.eye(3)[np.argmin(grad(x0))] - x0
    assert np.allclose(res.history.X[1], x0 + min(-(g @ d) / (d @ d), 1.0) * d)


def test_line_search_is_exact_on_a_quadratic_without_and_with_a_hessian():
    problem, lmo = simplex_quadratic(dim=10, support=3, seed=2)
    with_hvp = _run(problem, lmo, 100, step="line-search", tol=0.0)
    w0, w1 = with_hvp.history.X[0], with_hvp.history.X[1]
    g = problem.grad(w0)
    d = lmo.lmo(g) - w0
    H = np.array([problem.hvp(w0, e) for e in np.eye(10)])
    gamma = min(-(g @ d) / (d @ H @ d), 1.0)
    assert np.allclose(w1, w0 + gamma * d)
    no_hvp = frank_wolfe(problem.objective, problem.grad, lmo, w0, step="line-search", max_iter=1, tol=0.0)
    assert np.allclose(no_hvp.x, w1)  # the curvature from one extra loss value is exact for a quadratic


def test_lazy_variants_save_lmo_calls_and_reach_the_same_optimum():
    problem, lmo = sparse_regression(n=80, dim=120, k=4, seed=5)
    budget = 3000 * problem.n_examples
    eager = _run(problem, lmo, budget, variant="away")
    lazy = _run(problem, lmo, budget, variant="away", lazy=True)
    for res in (eager, lazy):
        assert res.status == optkit.Status.CONVERGED and res.fun - problem.f_opt <= 1e-9
    assert lazy.lmo_calls < eager.lmo_calls / 2


def test_nuclear_norm_ball_completes_a_low_rank_matrix():
    problem, lmo = matrix_completion(30, 25, rank=2, observed=0.6, seed=0)
    res = _run(problem, lmo, 400 * problem.n_examples, step="line-search")
    assert res.fun - problem.f_opt <= res.gap + 1e-12
    assert res.fun < 5e-3 * problem.objective(problem.w0)  # measured 1.4e-3
    X = res.x.reshape(30, 25)
    assert np.linalg.norm(X - problem.truth) < 0.1 * np.linalg.norm(problem.truth)  # measured 0.05
    assert lmo.contains(res.x, tol=1e-7)


SETS = [(ProbabilitySimplex(1.0), 6), (UnitSimplex(2.0), 6), (L1Ball(1.0), 6), (L2Ball(1.0), 6), (LInfBall(0.5), 6),
        (KSparsePolytope(2, 1.0), 6), (BirkhoffPolytope(3), 9), (NuclearNormBall((3, 2), 1.0), 6)]


@pytest.mark.parametrize("lmo,d", SETS, ids=[repr(s[0]) for s in SETS])
@pytest.mark.parametrize("variant", ["vanilla", "pairwise"])
def test_iterates_stay_in_the_set(lmo, d, variant):
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((d + 2, d)), rng.standard_normal(d + 2)
    problem = optkit.Problem(lambda x: 0.5 * float(np.sum((A @ x - b) ** 2)), optkit.Box(-np.inf, np.inf, dim=d),
                             grad=lambda x: A.T @ (A @ x - b))
    res = optkit.make("frank-wolfe", problem.space, lmo=lmo, variant=variant).minimize(problem, 300)
    assert all(lmo.contains(x, tol=1e-8) for x in res.history.X)
    assert res.fun <= problem(res.history.X[0]) + 1e-12


def test_default_feasible_set_is_the_space_box():
    box = optkit.Box([-1.0, 0.0, 2.0], [1.0, 0.5, 3.0])
    opt = optkit.make("frank-wolfe", box)
    problem = optkit.Problem(lambda x: float(np.sum((x - 5.0) ** 2)), box, grad=lambda x: 2 * (x - 5.0))
    res = opt.minimize(problem, 100)
    assert np.all(box.contains(res.history.X)) and np.allclose(res.x, [1.0, 0.5, 3.0])
    assert res.status == optkit.Status.CONVERGED


def test_a_start_outside_the_set_is_projected_and_said_so():
    res = frank_wolfe(lambda x: float(x @ x), lambda x: 2 * x, L1Ball(1.0), np.array([3.0, 1.0]), max_iter=1, tol=0.0)
    assert res.start_projected and np.allclose(res.history.X[0], [1.0, 0.0])
    inside = frank_wolfe(lambda x: float(x @ x), lambda x: 2 * x, L1Ball(1.0), np.array([0.3, 0.1]), max_iter=1)
    assert not inside.start_projected
    with pytest.raises(InvalidParameterError, match="no cheap projection"):
        frank_wolfe(lambda x: float(x @ x), lambda x: 2 * x, BirkhoffPolytope(2), np.ones(4), max_iter=3)


def test_stochastic_minibatches_make_progress():
    problem, lmo = sparse_regression(n=200, dim=50, k=3, seed=1)
    res = _run(problem, lmo, 40000, batch_size=20, seed=0)
    assert problem.objective(res.x) < 0.05 * problem.objective(problem.w0)
    assert np.isnan(res.dual_bound)  # no certificate from minibatch gradients


def test_state_round_trip_keeps_the_active_set():
    problem, lmo = simplex_quadratic(dim=15, support=3, seed=4)
    whole = _run(problem, lmo, 40, variant="pairwise", lazy=True, tol=0.0)
    a = optkit.make("frank-wolfe", problem.space, lmo=lmo, variant="pairwise", lazy=True, tol=0.0)
    a.minimize(problem, 20)
    b = optkit.make("frank-wolfe", problem.space, lmo=lmo, variant="pairwise", lazy=True, tol=0.0)
    b.load_state_dict(loads(*dumps(a.state_dict())))
    rest = b.minimize(problem, 20)
    assert np.array_equal(rest.x, whole.x) and rest.active_set_size == whole.active_set_size


def test_bad_input_is_refused_with_clear_errors():
    box = optkit.Box(-1.0, 1.0, dim=3)
    with pytest.raises(InvalidParameterError, match="unbounded"):
        FrankWolfe(optkit.Box(-np.inf, np.inf, dim=3))
    with pytest.raises(InvalidParameterError, match="reaches outside the space"):
        FrankWolfe(box, lmo=L1Ball(5.0))
    with pytest.raises(InvalidParameterError, match="'lmo'"):
        FrankWolfe(box, lmo="l1")
    with pytest.raises(InvalidParameterError, match="'L'"):
        FrankWolfe(box, L=float("inf"))
    with pytest.raises(InvalidParameterError, match="'variant'"):
        FrankWolfe(box, variant="boosted")
    with pytest.raises(InvalidParameterError, match="dimension 9"):
        FrankWolfe(optkit.Box(-np.inf, np.inf, dim=4), lmo=BirkhoffPolytope(3))
    with pytest.raises(InvalidParameterError, match="'x0' must have 3 entries"):
        FrankWolfe(box, x0=[0.0, 0.0])
    with pytest.raises(InvalidParameterError, match="zo-frank-wolfe"):
        FrankWolfe(box).minimize(optkit.Problem(lambda x: 0.0, box), 10)
    with pytest.raises(InvalidParameterError, match="'max_iter'"):
        frank_wolfe(lambda x: 0.0, lambda x: x, L1Ball(), np.zeros(2), max_iter=0)
    with pytest.raises(InvalidParameterError, match="'radius'"):
        L1Ball(radius=0.0)
