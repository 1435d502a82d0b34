"""Classic DE: the operators on given inputs, one generation checked independently, known optima, bad input."""

import itertools

import numpy as np
import pytest

import optkit
from optkit.population.de import DEPopulation, binomial_crossover, distinct_indices, repair_midpoint


def rastrigin(X):
    X = np.atleast_2d(X)
    return 10 * X.shape[1] + np.sum(X**2 - 10 * np.cos(2 * np.pi * X), axis=1)


def test_repair_puts_violations_halfway_between_parent_and_bound():
    V = np.array([[-7.0, 0.5, 9.0], [4.0, -5.5, 5.0]])
    X = np.array([[-1.0, 0.0, 2.0], [3.0, -4.0, 1.0]])
    lo, hi = np.full(3, -5.0), np.full(3, 5.0)
    expected = np.array([[(-5 - 1) / 2, 0.5, (5 + 2) / 2], [4.0, (-5 - 4) / 2, 5.0]])  # 5.0 is on the bound: kept
    np.testing.assert_array_equal(repair_midpoint(V, X, lo, hi), expected)


def test_binomial_crossover_extremes_and_draw_order():
    rng = np.random.default_rng(0)
    X, V = np.zeros((50, 6)), np.ones((50, 6))
    np.testing.assert_array_equal(binomial_crossover(rng, X, V, 1.0), V)
    U = binomial_crossover(rng, X, V, 0.0)
    assert np.all(U.sum(axis=1) == 1)  # CR = 0: exactly the j_rand coordinate comes from the mutant
    # documented draw order: a uniform per coordinate (u < CR_i takes the mutant), then j_rand per row
    CR = np.linspace(0, 1, 50)
    U = binomial_crossover(np.random.default_rng(7), X, V, CR)
    r = np.random.default_rng(7)
    mask = r.random((50, 6)) < CR[:, None]
    mask[np.arange(50), r.integers(0, 6, size=50)] = True
    np.testing.assert_array_equal(U, mask.astype(float))


def test_distinct_indices_are_distinct_uniform_and_avoid_exclusions():
    rng = np.random.default_rng(1)
    n, m = 7, 20000
    excl = np.stack([np.arange(m) % n, (np.arange(m) + 3) % n], axis=1)
    R = distinct_indices(rng, n, 3, excl)
    assert R.min() >= 0 and R.max() < n
    full = np.concatenate([excl, R], axis=1)
    assert all(len(set(row)) == 5 for row in full[:2000].tolist())
    # rows excluding {0, 3}: each of the other 5 values is equally likely in each position
    rows = R[(excl[:, 0] == 0)]
    for j in range(3):
        counts = np.bincount(rows[:, j], minlength=n)
        assert counts[0] == counts[3] == 0
        freq = counts[[1, 2, 4, 5, 6]] / len(rows)
        np.testing.assert_allclose(freq, 0.2, atol=0.03)


def test_selection_is_one_to_one_greedy_with_ties_replacing():
    pop = DEPopulation(np.full(2, -10.0), np.full(2, 10.0), 3)
    pop.X, pop.f, pop.initialized = np.array([[0.0, 0], [1, 1], [2, 2]]), np.array([1.0, 2.0, 3.0]), True
    U, fu = np.array([[5.0, 5], [6, 6], [7, 7]]), np.array([0.5, 2.0, 4.0])
    won, old, gain = pop.select(U, fu, np.array([0, 1, 2]))
    np.testing.assert_array_equal(pop.X, [[5, 5], [6, 6], [2, 2]])  # better and tied trials replace
    np.testing.assert_array_equal(pop.f, [0.5, 2.0, 3.0])
    np.testing.assert_array_equal(won, [0])  # only the strict improvement is a success
    np.testing.assert_array_equal(old, [[0, 0]])
    np.testing.assert_array_equal(gain, [0.5])


def _explain(u, x, X, i, F, lo, hi, strategy):
    """True if trial u of parent x = X[i] is a binomial crossover of x with some valid mutant."""
    n = len(X)
    best = int(np.argmin(_explain.f))
    others = [j for j in range(n) if j != i]
    k = 3 if strategy == "rand/1/bin" else 2
    for r in itertools.permutations(others, k):
        if strategy == "rand/1/bin":
            v = X[r[0]] + F * (X[r[1]] - X[r[2]])
        elif strategy == "best/1/bin":
            v = X[best] + F * (X[r[0]] - X[r[1]])
        else:
            v = x + F * (X[best] - x) + F * (X[r[0]] - X[r[1]])
        v = np.where(v < lo, (lo + x) / 2, v)
        v = np.where(v > hi, (hi + x) / 2, v)
        from_v = np.isclose(u, v, rtol=0, atol=1e-12)
        from_x = u == x
        if np.all(from_v | from_x) and np.any(from_v & ~from_x):
            return True
    return False


@pytest.mark.parametrize("strategy", ["rand/1/bin", "best/1/bin", "current-to-best/1/bin"])
def test_one_generation_checked_independently(strategy):
    box = optkit.Box(-2.0, 2.0, dim=3)
    opt = optkit.make("de", box, popsize=6, F=0.7, CR=0.5, strategy=strategy, seed=4)
    X0 = opt.ask()
    np.testing.assert_allclose(X0, -2 + 4 * np.random.default_rng(4).random((6, 3)))  # uniform initial population
    f0 = np.sum(X0**2, axis=1)
    opt.tell(X0, f0)
    U = opt.ask()
    _explain.f = f0
    lo, hi = box.lower, box.upper
    for i in range(6):
        assert _explain(U[i], X0[i], X0, i, 0.7, lo, hi, strategy), f"trial {i} is not a DE trial of its parent"
    fu = np.sum(U**2, axis=1)
    opt.tell(U, fu)
    keep = fu <= f0
    np.testing.assert_array_equal(opt.pop_.X, np.where(keep[:, None], U, X0))
    np.testing.assert_array_equal(opt.pop_.f, np.minimum(fu, f0))


def test_x0_is_the_first_member_and_no_point_leaves_the_box():
    box = optkit.Box(-1.0, 1.0, dim=4)
    opt = optkit.make("de", box, x0=[0.9, -0.9, 0.5, 0.0], seed=0)
    X = opt.ask()
    np.testing.assert_array_equal(X[0], [0.9, -0.9, 0.5, 0.0])
    opt = optkit.make("de", box, x0=[0.9, -0.9, 0.5, 0.0], seed=0)
    prob = optkit.Problem(lambda X: np.sum((X - 3) ** 2, axis=1), box, vectorized=True)  # optimum outside the box
    res = opt.minimize(prob, 3000)
    assert np.all(box.contains(res.history.X))
    np.testing.assert_allclose(res.x, 1.0, atol=1e-3)  # the corner, approached by midpoint repairs


def test_default_popsize_is_ten_d_capped_at_100():
    assert optkit.make("de", optkit.Box(0, 1, dim=3)).popsize_ == 30
    assert optkit.make("de", optkit.Box(0, 1, dim=40)).popsize_ == 100


def test_de_solves_the_sphere_in_10d():
    box = optkit.Box(-5, 5, dim=10)
    prob = optkit.Problem(lambda X: np.sum((X - 1.5) ** 2, axis=1), box, vectorized=True)
    res = optkit.make("de", box, seed=0).minimize(prob, 25000)
    assert res.fun <= 1e-8


def test_de_solves_rastrigin_in_5d():
    box = optkit.Box(-5.12, 5.12, dim=5)
    res = optkit.make("de", box, seed=0).minimize(optkit.Problem(rastrigin, box, vectorized=True), 30000)
    assert res.fun <= 1e-8
    low_cr = optkit.make("de", box, seed=0, CR=0.1).minimize(optkit.Problem(rastrigin, box, vectorized=True), 10000)
    assert low_cr.fun <= 1e-8  # a low CR exploits separability, as Storn & Price advise


def test_batches_asked_ahead_compete_and_converge():
    box = optkit.Box(-3, 3, dim=3)
    opt = optkit.make("de", box, popsize=12, seed=2)
    X = opt.ask(30)  # the initial population, a random batch competing with it, and part of a third batch
    opt.tell(X, np.sum(X**2, axis=1))
    for _ in range(300):
        X = opt.ask(17)
        opt.tell(X, np.sum(X**2, axis=1))
    assert np.min(opt.pop_.f) < 1e-8


def test_stops_when_the_population_has_converged():
    box = optkit.Box(-5, 5, dim=2)
    res = optkit.make("de", box, seed=3).minimize(optkit.Problem(lambda x: float(x @ x), box), 100000)
    assert res.status == optkit.Status.CONVERGED and res.nfev < 100000


@pytest.mark.parametrize("param,value", [("F", 0.0), ("F", 2.5), ("CR", 1.5), ("strategy", "rand/2/exp"),
                                         ("popsize", 3), ("tolx", -1.0)])
def test_bad_hyperparameters_are_rejected(param, value):
    with pytest.raises(optkit.InvalidParameterError, match=repr(param)):
        optkit.make("de", optkit.Box(-1, 1, dim=3), **{param: value})


def test_needs_finite_bounds():
    with pytest.raises(optkit.OptkitError):
        optkit.make("de", optkit.Box(-np.inf, np.inf, dim=3))
