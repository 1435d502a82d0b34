"""Real-coded GA (optkit.population.ga): SBX and polynomial mutation by hand, mixed spaces, bad input."""

import numpy as np
import pytest

import optkit
from optkit.population.ga import GA, binary_tournament, polynomial_mutation, sbx


def _sphere(x):
    return float(np.sum((np.asarray(x) - 0.25) ** 2))


@pytest.mark.parametrize(
    "u,expected",
    [
        # eta = 1, parents 0.4 / 0.6 in [0, 1]: beta = 1 + 2 * 0.4 / 0.2 = 5, alpha = 2 - 5^-2 = 1.96 (both sides)
        (0.25, (0.43, 0.57)),  # u alpha = 0.49 <= 1: beta_q = 0.49^(1/2) = 0.7
        (0.5, (0.40100505, 0.59899495)),  # beta_q = 0.98^(1/2)
        (0.75, (0.36263944, 0.63736056)),  # u alpha = 1.47 > 1: beta_q = (1 / 0.53)^(1/2) = 1.37360564
    ],
)
def test_sbx_bounded_by_hand(u, expected):
    c_low, c_high = sbx(0.6, 0.4, 0.0, 1.0, 1.0, u)
    assert (float(c_low), float(c_high)) == pytest.approx(expected, abs=1e-8)


def test_sbx_far_bounds_is_deb_agrawal():
    # bounds far away: alpha -> 2 and beta_q = (2u)^(1/(eta+1)) for u <= 1/2 (the unbounded 1995 form)
    c_low, c_high = sbx(1.0, 2.0, -1e6, 1e6, 2.0, 0.4)
    bq = 0.8 ** (1 / 3)
    assert (float(c_low), float(c_high)) == pytest.approx((1.5 - bq / 2, 1.5 + bq / 2), abs=1e-9)


def test_sbx_properties():
    rng = np.random.default_rng(0)
    y1, y2 = rng.uniform(-1, 1, (2, 5000))
    a, b = sbx(y1, y2, -1.0, 1.0, 15.0, rng.random(5000))
    assert np.all((a >= -1) & (a <= 1) & (b >= -1) & (b <= 1))
    assert np.all(a <= b + 1e-15)
    c_low, c_high = sbx([0.3, 0.3], [0.3, 0.7], 0.0, 1.0, 15.0, [0.9, 0.5])
    assert c_low[0] == c_high[0] == 0.3  # identical parents are not crossed


@pytest.mark.parametrize(
    "u,expected",
    [
        # y = 0.5 in [0, 1], eta = 1: val = 2u + (1 - 2u) 0.5^2 = 0.625 -> delta_q = 0.625^(1/2) - 1
        (0.25, 0.29056942),
        (0.75, 0.70943058),  # the mirror image
        (0.5, 0.5),
        (0.0, 0.0),  # u = 0 lands on the lower bound
        (1.0, 1.0),  # and u = 1 on the upper one
    ],
)
def test_polynomial_mutation_by_hand(u, expected):
    assert float(polynomial_mutation(0.5, 0.0, 1.0, 1.0, u)) == pytest.approx(expected, abs=1e-8)


def test_polynomial_mutation_stays_in_bounds_and_is_local():
    rng = np.random.default_rng(1)
    y = rng.uniform(-2, 3, 20000)
    m = polynomial_mutation(y, -2.0, 3.0, 20.0, rng.random(20000))
    assert np.all((m >= -2.0) & (m <= 3.0))
    assert np.median(np.abs(m - y)) < 0.05 * 5.0  # eta = 20: most steps are a few % of the range


def test_binary_tournament_picks_the_better():
    fit = np.array([3.0, 1.0, 2.0, 0.0])
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    w = binary_tournament(rng, fit, 50)
    pairs = twin.integers(0, 4, size=(50, 2))
    assert np.array_equal(fit[w], fit[pairs].min(axis=1))


def _mixed_space():
    return optkit.SearchSpace({"x": optkit.Real(-1.0, 1.0), "k": optkit.Integer(0, 9),
                               "c": optkit.Categorical(["a", "b", "c"])})


def _mixed(v):
    return (v["x"] - 0.3) ** 2 + (v["k"] - 4) ** 2 + float(v["c"] != "b")


@pytest.mark.parametrize("seed", [0, 1])
def test_mixed_space_exact_optimum(seed):
    space = _mixed_space()
    res = optkit.minimize(_mixed, space=space, method="ga", budget=2000, seed=seed)
    best = space.to_dict(res.x)
    assert best["k"] == 4 and best["c"] == "b"
    assert abs(best["x"] - 0.3) < 1e-3
    # integers and categories were explored, not just rounded noise around the start
    X = res.history.X
    assert len(np.unique(X[:, 1])) == 10 and len(np.unique(X[:, 2])) == 3
    assert np.all(X[:, 1] == np.round(X[:, 1]))


def test_discrete_mutation_always_changes_the_value():
    space = optkit.SearchSpace({"k": optkit.Integer(0, 50), "c": optkit.Categorical(["a", "b", "c", "d"]),
                                "n": optkit.Integer(1, 1000, log=True)})
    opt = GA(space, mutation_prob=1.0, seed=0)
    Z = opt._snap(np.random.default_rng(2).random((500, 3)))
    Z[:5, 0] = space.encode([[0, 0, 1]])[0, 0]  # at the lower bound: the +-1 step is reflected
    M = opt._mutate(Z)
    before, after = space.decode(Z), space.decode(M)
    assert np.all(after != before)
    assert np.array_equal(space.encode(after), M)  # mutated genes sit on bucket centres
    assert np.all(after[:5, 0] >= 0)


def test_elitism_keeps_the_best():
    opt = GA(optkit.Box(-5.0, 5.0, dim=4), popsize=20, seed=3)
    best = []
    for _ in range(15):
        X = opt.ask()
        opt.tell(X, [_sphere(x) for x in X])
        best.append(opt.fit_[0])
    assert len(opt.pop_) == 20 and np.all(np.diff(best) <= 0)


def test_sphere_d5_below_1e4():
    res = optkit.minimize(_sphere, [(-5.0, 5.0)] * 5, method="ga", budget=8000, seed=0)
    assert res.fun < 1e-4


def test_patience_stops_a_flat_run():
    res = optkit.minimize(lambda x: 1.0, [(-1.0, 1.0)] * 2, method="ga", budget=100000, patience=5, seed=0)
    assert res.status == optkit.Status.CONVERGED and res.nfev == 20 * 6


@pytest.mark.parametrize(
    "kw,name",
    [({"popsize": 3}, "popsize"), ({"n_elite": 20}, "n_elite"), ({"crossover_prob": 1.5}, "crossover_prob"),
     ({"eta_c": -1.0}, "eta_c"), ({"mutation_prob": 2.0}, "mutation_prob"), ({"patience": 0}, "patience")],
)
def test_bad_hyperparameters(kw, name):
    with pytest.raises(optkit.InvalidParameterError, match=repr(name)):
        GA(optkit.Box(-1, 1, dim=2), **kw)
