"""JADE and SHADE / L-SHADE: parameter sampling, adaptation on a constructed generation, known optima, bad input."""

import math

import numpy as np
import pytest

import optkit
from optkit.population.shade import (
    TERMINAL,
    current_to_pbest,
    jade_adapt,
    n_best,
    sample_CR,
    sample_F,
    shade_memory_update,
)


def rosenbrock(X):
    X = np.atleast_2d(X)
    return np.sum(100 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1 - X[:, :-1]) ** 2, axis=1)


# -- parameter sampling ------------------------------------------------------------------------------
def test_F_is_cauchy_redrawn_when_nonpositive_and_truncated_to_one():
    loc = np.full(20000, 0.5)
    F = sample_F(np.random.default_rng(0), loc)
    assert np.all(F > 0) and np.all(F <= 1)
    # Cauchy(0.5, 0.1) has P(F >= 1) = 1/2 - atan(5)/pi; those are truncated to exactly 1
    assert np.mean(F == 1.0) == pytest.approx(0.5 - math.atan(5) / math.pi, abs=0.01)
    # the first draws, recomputed: loc + 0.1 tan(pi (u - 1/2))
    u = np.random.default_rng(3).random(4)
    raw = 0.3 + 0.1 * np.tan(np.pi * (u - 0.5))
    F = sample_F(np.random.default_rng(3), np.full(4, 0.3))
    ok = (raw > 0) & (raw < 1)
    np.testing.assert_allclose(F[ok], raw[ok], rtol=1e-15)


def test_CR_is_a_clipped_normal_and_zero_for_terminal_entries():
    loc = np.array([0.5, 0.95, 0.02, TERMINAL])
    CR = sample_CR(np.random.default_rng(1), loc)
    expected = np.clip(np.random.default_rng(1).normal(loc, 0.1), 0, 1)
    np.testing.assert_allclose(CR[:3], expected[:3], rtol=1e-15)
    assert CR[3] == 0.0


def test_current_to_pbest_mutant_by_hand():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [-1.0, 1.0]])
    f = np.array([4.0, 0.1, 3.0, 0.2, 5.0])  # the two best are members 1 and 3
    archive = np.array([[0.5, -0.5]])
    F = np.full(5, 0.5)
    lo, hi = np.full(2, -10.0), np.full(2, 10.0)
    V = current_to_pbest(np.random.default_rng(2), X, f, archive, F, 2, lo, hi)
    union = np.concatenate([X, archive])
    for i in range(5):  # some pbest in {1, 3}, r1 != i, r2 in P u A different from i and r1 explains V[i]
        found = any(np.allclose(V[i], X[i] + 0.5 * (X[pb] - X[i] + X[r1] - union[r2]))
                    for pb in (1, 3) for r1 in range(5) if r1 != i for r2 in range(6) if r2 not in (i, r1))
        assert found, f"mutant {i} is not current-to-pbest/1"


def test_n_best_is_at_least_two():
    assert int(n_best(0.05, 100)) == 5 and int(n_best(0.05, 20)) == 2 and int(n_best(0.11, 18)) == 2
    np.testing.assert_array_equal(n_best(np.array([0.02, 0.2]), 100), [2, 20])


# -- adaptation, by hand ---------------------------------------------------------------------------
def test_jade_update_by_hand():
    S_F, S_CR = np.array([0.6, 0.8, 0.9]), np.array([0.2, 0.5, 0.9])
    mu_F, mu_CR = jade_adapt(0.5, 0.5, S_F, S_CR, 0.1)
    lehmer = (0.36 + 0.64 + 0.81) / (0.6 + 0.8 + 0.9)
    assert mu_F == pytest.approx(0.9 * 0.5 + 0.1 * lehmer, rel=1e-14)
    assert mu_CR == pytest.approx(0.9 * 0.5 + 0.1 * (1.6 / 3), rel=1e-14)
    assert jade_adapt(0.3, 0.7, np.zeros(0), np.zeros(0), 0.1) == (0.3, 0.7)  # no success: no change


def test_shade_memory_update_by_hand():
    M_F, M_CR = np.full(3, 0.5), np.full(3, 0.5)
    S_F, S_CR, gain = np.array([0.4, 0.8]), np.array([0.3, 0.9]), np.array([1.0, 3.0])  # weights 1/4, 3/4
    k = shade_memory_update(M_F, M_CR, 2, S_F, S_CR, gain, lehmer_cr=False)
    assert k == 0  # the position cycles
    assert M_F[2] == pytest.approx((0.25 * 0.16 + 0.75 * 0.64) / (0.25 * 0.4 + 0.75 * 0.8), rel=1e-14)  # 0.742857
    assert M_CR[2] == pytest.approx(0.25 * 0.3 + 0.75 * 0.9, rel=1e-14)  # weighted mean 0.75
    k = shade_memory_update(M_F, M_CR, 0, S_F, S_CR, gain, lehmer_cr=True)  # L-SHADE: weighted Lehmer mean
    assert k == 1 and M_CR[0] == pytest.approx((0.25 * 0.09 + 0.75 * 0.81) / (0.25 * 0.3 + 0.75 * 0.9))  # 0.84
    shade_memory_update(M_F, M_CR, 1, S_F, np.zeros(2), gain, lehmer_cr=True)
    assert M_CR[1] == TERMINAL  # max(S_CR) = 0: terminal, and it stays so
    shade_memory_update(M_F, M_CR, 1, S_F, S_CR, gain, lehmer_cr=True)
    assert M_CR[1] == TERMINAL
    np.testing.assert_array_equal(M_F[:2], M_F[2])


def _constructed_generation(name, **kw):
    """Tell an initial population, ask trials, and make the trials of members 0, 2, 5 succeed by 1, 2, 5."""
    box = optkit.Box(-5, 5, dim=4)
    opt = optkit.make(name, box, popsize=8, seed=11, **kw)
    X0 = opt.ask()
    f0 = np.arange(8, dtype=float) + 10.0
    opt.tell(X0, f0)
    U = opt.ask()
    batch = opt.pop_.pending_[0]
    F, CR = batch["F"].copy(), batch["CR"].copy()
    fu = f0 + 1.0                   # every trial worse ...
    win, gain = np.array([0, 2, 5]), np.array([1.0, 2.0, 5.0])
    fu[win] = f0[win] - gain        # ... except three
    fu[7] = f0[7]                   # a tie replaces but is no success
    opt.tell(U, fu)
    return opt, X0, U, F, CR, win, gain


def test_jade_adapts_from_a_constructed_generation():
    opt, X0, U, F, CR, win, gain = _constructed_generation("jade")
    lehmer = np.sum(F[win] ** 2) / np.sum(F[win])
    assert opt.mu_F_ == pytest.approx(0.9 * 0.5 + 0.1 * lehmer, rel=1e-14)
    assert opt.mu_CR_ == pytest.approx(0.9 * 0.5 + 0.1 * np.mean(CR[win]), rel=1e-14)
    np.testing.assert_array_equal(np.sort(opt.archive_, axis=0), np.sort(X0[win], axis=0))  # the defeated parents
    np.testing.assert_array_equal(opt.pop_.X[[0, 2, 5, 7]], U[[0, 2, 5, 7]])
    np.testing.assert_array_equal(opt.pop_.X[[1, 3, 4, 6]], X0[[1, 3, 4, 6]])


def test_shade_adapts_from_a_constructed_generation():
    opt, X0, U, F, CR, win, gain = _constructed_generation("shade", memory_size=5)
    w = gain / gain.sum()
    assert opt.M_F_[0] == pytest.approx(np.sum(w * F[win] ** 2) / np.sum(w * F[win]), rel=1e-14)
    assert opt.M_CR_[0] == pytest.approx(np.sum(w * CR[win]), rel=1e-14)
    np.testing.assert_array_equal(opt.M_F_[1:], 0.5)
    assert opt.k_ == 1
    assert len(opt.archive_) == 3


def test_lshade_adapts_with_the_lehmer_mean_of_CR():
    opt, X0, U, F, CR, win, gain = _constructed_generation("shade", population_reduction=True, max_evals=10000)
    w = gain / gain.sum()
    expected = np.sum(w * CR[win] ** 2) / np.sum(w * CR[win]) if CR[win].max() > 0 else TERMINAL
    assert opt.M_CR_[0] == pytest.approx(expected, rel=1e-14)


# -- L-SHADE's population schedule -------------------------------------------------------------------
def test_lshade_needs_max_evals():
    with pytest.raises(optkit.InvalidParameterError, match="'max_evals'"):
        optkit.make("shade", optkit.Box(-1, 1, dim=3), population_reduction=True)
    optkit.make("shade", optkit.Box(-1, 1, dim=3), max_evals=100)  # harmless without the reduction


def test_lshade_shrinks_the_population_linearly():
    d, budget = 3, 3000
    box = optkit.Box(-5, 5, dim=d)
    opt = optkit.make("shade", box, population_reduction=True, max_evals=budget, seed=0)
    assert opt.popsize_ == 18 * d and len(opt.M_F_) == 6 and opt.archive_rate_ == 2.6
    sizes = []
    while opt.stop_reason() is None:
        X = opt.ask()
        opt.tell(X, rosenbrock(X))
        nfe = opt.pop_.nfe
        sizes.append(opt.popsize_)
        assert opt.popsize_ == max(4, round(54 + (4 - 54) * nfe / budget))
        assert len(opt.archive_) <= round(2.6 * opt.popsize_)
    assert sizes[-1] == 4 and opt.pop_.nfe >= budget
    assert "max_evals" in opt.stop_reason()


def test_lshade_state_round_trip_across_a_reduction():
    from optkit.core.serialize import dumps, loads

    box = optkit.Box(-5, 5, dim=3)
    a = optkit.make("shade", box, population_reduction=True, max_evals=2000, seed=3)
    for _ in range(10):
        X = a.ask()
        a.tell(X, rosenbrock(X))
    X = a.ask(a.batch_size + 5)  # a generation and a bit in flight
    text, blob = dumps(a.state_dict())
    b = optkit.make("shade", box, population_reduction=True, max_evals=2000, seed=99)
    b.load_state_dict(loads(text, blob))
    a.tell(X, rosenbrock(X))
    b.tell(X, rosenbrock(X))
    for _ in range(5):
        Xa, Xb = a.ask(), b.ask()
        np.testing.assert_array_equal(Xa, Xb)
        a.tell(Xa, rosenbrock(Xa))
        b.tell(Xb, rosenbrock(Xb))
    assert a.popsize_ == b.popsize_ < 54


# -- known optima -----------------------------------------------------------------------------------
def test_shade_solves_rosenbrock_in_10d():
    box = optkit.Box(-5, 5, dim=10)
    res = optkit.make("shade", box, seed=0).minimize(optkit.Problem(rosenbrock, box, vectorized=True), 60000)
    assert res.fun <= 1e-8


def test_lshade_solves_rosenbrock_in_10d_within_its_budget():
    box = optkit.Box(-5, 5, dim=10)
    opt = optkit.make("shade", box, population_reduction=True, max_evals=45000, seed=1)
    res = opt.minimize(optkit.Problem(rosenbrock, box, vectorized=True), 45000)
    assert res.fun <= 1e-8


def test_jade_solves_a_rotated_ellipsoid():
    from optkit.problems.bbob import bbob

    p = bbob(10, 5, 1)  # BBOB f10, condition 1e6
    res = optkit.make("jade", p.space, seed=0).minimize(p, 20000)
    assert res.fun - p.f_opt <= 1e-8


@pytest.mark.parametrize("name,param,value", [
    ("jade", "p", 0.0), ("jade", "c", 1.5), ("jade", "archive", 1), ("shade", "memory_size", 0),
    ("shade", "archive_rate", -1.0), ("shade", "population_reduction", "yes"), ("shade", "max_evals", 0),
    ("shade", "min_popsize", 3), ("shade", "popsize", 2),
])
def test_bad_hyperparameters_are_rejected(name, param, value):
    with pytest.raises(optkit.InvalidParameterError, match=repr(param)):
        optkit.make(name, optkit.Box(-1, 1, dim=3), **{param: value})


def test_min_popsize_above_popsize_is_rejected():
    with pytest.raises(optkit.InvalidParameterError, match="'min_popsize'"):
        optkit.make("shade", optkit.Box(-1, 1, dim=3), popsize=10, min_popsize=12, population_reduction=True,
                    max_evals=100)
