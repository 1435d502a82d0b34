"""CLPSO (optkit.population.clpso): the paper's formulas by hand, bound rule, a known optimum, bad input."""

import math

import numpy as np
import pytest

import optkit
from optkit.population.clpso import CLPSO, choose_exemplars, learning_probabilities


def _rastrigin(x):
    x = np.asarray(x)
    return float(10 * len(x) + np.sum(x**2 - 10 * np.cos(2 * np.pi * x)))


def test_learning_probabilities_by_hand():
    pc = learning_probabilities(11)
    assert pc[0] == pytest.approx(0.05, abs=1e-15)
    assert pc[-1] == pytest.approx(0.5, abs=1e-15)
    # i = 6 of 11: 0.05 + 0.45 (e^5 - 1) / (e^10 - 1) = 0.05 + 0.45 * 147.4131591 / 22025.4657948
    assert pc[5] == pytest.approx(0.0530117829, abs=1e-9)
    assert np.all(np.diff(pc) > 0)


def test_exemplars_from_tournaments_of_others():
    rng = np.random.default_rng(0)
    fbest = np.arange(10.0)  # particle k has value k: a tournament winner is the smaller index
    E = np.array([choose_exemplars(rng, 4, 1.0, fbest, 2000)])
    assert not np.any(E == 4)  # pc = 1: every dimension learns from another particle
    # winner = min of two uniform draws among the 9 others: P(winner = 0) = 1 - (8/9)^2
    assert np.mean(E == 0) == pytest.approx(1 - (8 / 9) ** 2, abs=0.03)
    E0 = np.array([choose_exemplars(rng, 4, 0.0, fbest, 5) for _ in range(200)])
    assert np.all(np.sum(E0 != 4, axis=1) == 1)  # pc = 0: exactly one dimension learns from another


def test_inertia_schedule():
    opt = CLPSO(optkit.Box(-1, 1, dim=2), popsize=10, max_evals=1000, seed=0)
    assert opt.max_gen_ == 100
    assert opt.inertia(0) == pytest.approx(0.9)
    assert opt.inertia(50) == pytest.approx(0.65)
    assert opt.inertia(100) == pytest.approx(0.4)
    assert opt.inertia(500) == pytest.approx(0.4)
    assert CLPSO(optkit.Box(-1, 1, dim=4), seed=0).max_gen_ == 3000 * 4 // 10  # default run length


def _primed():
    opt = CLPSO(optkit.Box(-1.0, 1.0, dim=2), popsize=3, seed=0)
    X = opt.ask()
    opt.tell(X, [1.0, 2.0, 3.0])
    return opt


def test_one_move_number_by_number():
    opt = _primed()
    opt.x_ = np.array([[0.0, 0.0], [0.5, 0.5], [-0.5, 0.2]])
    opt.v_ = np.array([[0.1, 0.1], [0.0, 0.0], [0.3, -0.39]])
    opt.p_ = np.array([[0.1, 0.2], [0.5, 0.4], [-0.2, 0.3]])
    opt.exemplars_ = np.array([[1, 0], [1, 2], [2, 2]])
    twin = np.random.default_rng()
    twin.bit_generator.state = opt.rng.bit_generator.state
    Z = opt.ask()
    w, c, vmax = opt.inertia(0), 1.49445, 0.4
    E = np.array([[0.5, 0.2], [0.5, 0.3], [-0.2, 0.3]])  # pbest[f_i(d)]_d
    V = np.clip(w * opt.v_ + c * twin.random((3, 2)) * (E - opt.x_), -vmax, vmax)
    assert Z == pytest.approx(opt.x_ + V, abs=1e-14)
    assert np.all(np.abs(V) <= vmax)


def test_outside_the_box_does_not_update_pbest():
    opt = _primed()
    opt.x_ = np.array([[0.95, 0.0], [0.0, 0.0], [0.0, 0.0]])
    opt.v_ = np.array([[0.4, 0.0], [0.0, 0.0], [0.0, 0.0]])
    opt.p_ = np.array([[0.95, 0.0], [0.0, 0.0], [0.0, 0.0]])
    opt.exemplars_ = np.array([[0, 0], [1, 1], [2, 2]])  # learns from itself: keeps flying out
    opt.stall_ = np.zeros(3, dtype=np.int64)
    X = opt.ask()
    assert X[0, 0] == 1.0  # evaluated clipped into the box
    before = opt.p_.copy(), opt.fp_.copy()
    opt.tell(X, [-10.0, -10.0, -10.0])  # better values everywhere
    assert opt.x_[0, 0] > 1.0  # the particle itself stays outside
    assert np.array_equal(opt.p_[0], before[0][0]) and opt.fp_[0] == before[1][0]
    assert opt.fp_[1] == -10.0 and opt.fp_[2] == -10.0  # inside: updated
    assert opt.stall_[0] == 0  # not counted as a failure either


def test_refresh_after_gap():
    opt = _primed()
    opt.exemplars_ = np.zeros((3, 2), dtype=np.int64)
    for _ in range(opt.refresh_gap - 1):
        X = opt.ask()
        opt.tell(X, [1e9] * 3)
    assert np.all(opt.stall_[np.all(opt.x_ == np.clip(opt.x_, -1, 1), axis=1)] >= 1)
    X = opt.ask()
    opt.tell(X, [1e9] * 3)
    inside = np.all(opt.x_ == np.clip(opt.x_, -1, 1), axis=1)
    assert np.all(opt.stall_[inside] == 0)  # refreshed (unless outside the box, which does not count)


def test_rastrigin_d10_below_1():
    res = optkit.minimize(_rastrigin, [(-5.12, 5.12)] * 10, method="clpso", budget=30000, max_evals=30000, seed=0)
    assert res.fun < 1.0
    assert res.nfev == 30000


@pytest.mark.parametrize(
    "kw,name",
    [({"popsize": 2}, "popsize"), ({"refresh_gap": 0}, "refresh_gap"), ({"vmax_frac": 0.0}, "vmax_frac"),
     ({"w_start": 1.5}, "w_start"), ({"max_evals": 0}, "max_evals"), ({"c": -1.0}, "c")],
)
def test_bad_hyperparameters(kw, name):
    with pytest.raises(optkit.InvalidParameterError, match=repr(name)):
        CLPSO(optkit.Box(-1, 1, dim=2), **kw)


def test_unbounded_rejected():
    with pytest.raises(optkit.InvalidParameterError, match="finite bounds"):
        CLPSO(optkit.Box(-1.0, math.inf, dim=2))
