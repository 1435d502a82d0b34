"""CQR: the conformal correction (hand case, exact finite-sample coverage), the fitted model's
coverage, the multi-fidelity rule, ASHA, mixed spaces, and the search beating random search."""

import math

import numpy as np
import pytest

import optkit
from optkit.bayesopt.cqr import CQR, ConformalQuantileModel, _rungs, conformal_correction, quantile_levels

TINY = {"n_estimators": 10, "learning_rate": 0.5, "n_candidates": 200, "quantiles": 3}


def test_quantile_levels_are_symmetric_and_contain_the_median():
    np.testing.assert_allclose(quantile_levels(5), [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6])
    np.testing.assert_allclose(quantile_levels(3), [0.25, 0.5, 0.75])


def test_conformal_correction_hand_case():
    lo, hi = np.zeros(4), np.ones(4)
    y = np.array([-0.5, 0.5, 1.2, 3.0])
    # E = max(lo - y, y - hi) = [0.5, -0.5, 0.2, 2.0]; sorted [-0.5, 0.2, 0.5, 2.0]
    assert conformal_correction(lo, hi, y, 0.6) == 0.5  # ceil(5 * 0.6) = 3rd smallest
    assert conformal_correction(lo, hi, y, 0.4) == pytest.approx(0.2)  # ceil(5 * 0.4) = 2nd
    assert conformal_correction(lo, hi, y, 0.1) == -0.5  # 1st: the band shrinks
    assert conformal_correction(lo, hi, y, 0.9) == 2.0  # ceil(4.5) = 5 > n: the largest
    assert conformal_correction(np.zeros(0), np.zeros(0), np.zeros(0), 0.5) == 0.0


@pytest.mark.parametrize("half_width", [0.05, 4.0])
def test_split_conformal_coverage_is_exact_for_any_band(half_width):
    """For continuous exchangeable data the corrected band covers a new point with probability
    exactly ceil((n + 1) c) / (n + 1), however bad the band (too narrow or too wide)."""
    rng = np.random.default_rng(0)
    n, c, draws = 19, 2 / 3, 4000
    hits = 0
    for _ in range(draws):
        x = rng.uniform(-1, 1, n + 1)
        y = (0.2 + np.abs(x)) * rng.standard_normal(n + 1) + x  # heteroscedastic
        lo, hi = x - half_width, x + half_width  # a band centred on the truth with the wrong width
        q = conformal_correction(lo[:n], hi[:n], y[:n], c)
        hits += lo[n] - q <= y[n] <= hi[n] + q
    expected = math.ceil((n + 1) * c) / (n + 1)  # 14 / 20 = 0.7
    se = math.sqrt(expected * (1 - expected) / draws)
    assert abs(hits / draws - expected) < 4 * se


def test_fitted_model_coverage_reaches_the_nominal_level():
    """Gradient-boosted quantiles trained on 100 points undercover; conformalized on 100 held-out
    points the outer band (levels 1/4, 3/4: nominal 1/2) covers about 1/2 of fresh points."""
    rng = np.random.default_rng(1)
    raw_cov, cov = [], []
    for _ in range(6):
        X = rng.uniform(0, 1, (200, 2))
        y = np.sin(6 * X[:, 0]) + (0.1 + X[:, 1]) * rng.standard_normal(200)
        m = ConformalQuantileModel(3, valid_fraction=0.5, min_conformalize=0, n_estimators=30)
        m.fit(X, y, rng)
        Xt = rng.uniform(0, 1, (2000, 2))
        yt = np.sin(6 * Xt[:, 0]) + (0.1 + Xt[:, 1]) * rng.standard_normal(2000)
        Q = m.predict(Xt)
        cov.append(np.mean((Q[:, 0] <= yt) & (yt <= Q[:, 2])))
        c = m.corrections[0]
        raw_cov.append(np.mean((Q[:, 0] + c <= yt) & (yt <= Q[:, 2] - c)))
    assert abs(np.mean(cov) - 0.5) < 0.05  # guarantee: >= 0.5, <= 0.5 + 1/101 on average
    assert np.mean(raw_cov) < np.mean(cov)  # the correction widened an overconfident band


def test_model_is_not_conformalized_below_min_conformalize():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (20, 1))
    m = ConformalQuantileModel(5, min_conformalize=32, n_estimators=5).fit(X, X[:, 0], rng)
    assert np.all(m.corrections == 0) and len(m.models) == 5
    Q = m.predict(X)
    assert Q.shape == (20, 5) and np.all(np.diff(Q, axis=1) >= 0)


def test_multifidelity_aggregation_takes_each_trial_at_its_highest_resource():
    opt = optkit.make("cqr", optkit.Box(0.0, 1.0, dim=2), seed=0, **TINY)
    X = opt.ask(3)
    opt.tell_fidelity(X, [5.0, 6.0, 7.0], 1)
    opt.tell_fidelity(X[:2], [3.0, 4.0], 3)
    opt.tell_fidelity(X[0], [1.0], 9)
    opt.tell_fidelity(X[1], [4.5], 3)  # equal resource: the latest report counts
    Xd, y, r = opt.training_data()
    np.testing.assert_array_equal(Xd, X)
    np.testing.assert_array_equal(y, [1.0, 4.5, 7.0])
    np.testing.assert_array_equal(r, [9, 3, 1])
    assert opt.n_trials == 3 and opt.n_told == 7 and not opt._pending
    Y = opt.ask(2)
    opt.tell(Y, [0.5, 0.25])  # a plain tell is a report at the full resource
    _, y, r = opt.training_data()
    np.testing.assert_array_equal(y[3:], [0.5, 0.25])
    assert np.all(np.isinf(r[3:]))
    z = opt.ask(1)
    opt.tell_fidelity(np.vstack([z, z]), [2.0, 1.5], [1, 3])  # a new trial and its promotion in one call
    _, y, r = opt.training_data()
    assert opt.n_trials == 6 and y[5] == 1.5 and r[5] == 3


def test_tell_fidelity_rejects_bad_input():
    opt = optkit.make("cqr", optkit.Box(0.0, 1.0, dim=2), seed=0, **TINY)
    X = opt.ask(2)
    with pytest.raises(optkit.InvalidParameterError, match="resource"):
        opt.tell_fidelity(X, [1.0, 2.0], 0)
    with pytest.raises(optkit.InvalidParameterError, match="'y'"):
        opt.tell_fidelity(X, [1.0, np.nan], 1)
    with pytest.raises(optkit.StateError, match="never asked"):
        opt.tell_fidelity([[0.123, 0.456]], [1.0], 1)
    assert opt.n_trials == 0 and len(opt._pending) == 2  # nothing half-done
    with pytest.raises(optkit.InvalidParameterError, match="'quantiles'"):
        optkit.make("cqr", optkit.Box(0.0, 1.0, dim=2), quantiles=4)


def test_mixed_space_keeps_integers_and_categories():
    space = optkit.SearchSpace({"lr": optkit.Real(1e-4, 1.0, log=True), "depth": optkit.Integer(1, 12),
                                "act": optkit.Categorical(["relu", "tanh", "gelu"]), "k": optkit.Integer(1, 3)})
    opt = optkit.make("cqr", space, seed=3, n_init=4, **TINY)

    def f(d):
        return (math.log10(d["lr"]) + 2) ** 2 + 0.1 * (d["depth"] - 7) ** 2 + {"relu": 0.0, "tanh": 1.0, "gelu": 2.0}[d["act"]]

    res = opt.minimize(optkit.Problem(f, space), 20)
    X = res.history.X
    assert np.all(X[:, 1] == np.round(X[:, 1])) and np.all(X[:, 3] == np.round(X[:, 3]))
    assert set(np.unique(X[:, 2])) <= {0.0, 1.0, 2.0}
    assert np.all(space.contains(X))
    F = opt.features(opt._U)
    assert F.shape == (20, 3 + 3)  # lr, depth, one-hot act (3), k
    np.testing.assert_array_equal(F[:, 2:5].sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.argmax(F[:, 2:5], axis=1), X[:, 2])


def test_a_fully_discrete_space_does_not_repeat_points():
    space = optkit.SearchSpace({"a": optkit.Integer(0, 4), "b": optkit.Categorical(["x", "y", "z"])})
    res = optkit.minimize(lambda d: float((d["a"] - 2) ** 2 + "xyz".index(d["b"])), space, method="cqr", budget=15, seed=0, **TINY)
    assert len({tuple(x) for x in res.history.X}) == 15  # 15 of the 15 configurations, each once
    assert res.fun == 0.0


def hpo_like(x):
    """A tuning-like landscape on [0, 1]^4: a narrow log-lr valley, a plateau in depth, a nuisance."""
    lr, depth, wd, _ = x
    return float(np.tanh(((lr - 0.37) / 0.12) ** 2) + 0.4 * np.tanh(((depth - 0.7) / 0.3) ** 2)
                 + 0.2 * abs(wd - 0.2))


def test_beats_random_search_on_a_tuning_like_problem():
    box = optkit.Box(0.0, 1.0, dim=4)
    cqr, rnd = [], []
    for seed in range(4):
        cqr.append(optkit.minimize(hpo_like, box, method="cqr", budget=25, seed=seed, **TINY).fun)
        rnd.append(optkit.minimize(hpo_like, box, method="random", budget=25, seed=seed).fun)
    assert np.median(cqr) < 0.5 * np.median(rnd)
    assert sum(a < b for a, b in zip(cqr, rnd)) >= 3


def test_lcb_acquisition_takes_the_lowest_quantile():
    box = optkit.Box(0.0, 1.0, dim=2)
    opt = CQR(box, seed=0, acquisition="lcb", n_init=6, **TINY)
    X = opt.ask(6)
    opt.tell(X, [hpo_like(np.r_[x, 0.2, 0.0]) for x in X])
    rng_state = opt.rng.bit_generator.state
    x = opt.ask(1)
    opt.rng.bit_generator.state = rng_state  # replay the candidate draw by hand
    C = opt._snap(opt.rng.random((opt.n_candidates, 2)))
    Q = opt.model().predict(opt.features(C))
    np.testing.assert_allclose(x[0], C[np.argmin(Q[:, 0])])


def test_rungs():
    assert _rungs(1, 27, 3) == [1, 3, 9, 27]
    assert _rungs(2, 30, 3) == [3, 10, 30]
    assert _rungs(5, 5, 3) == [5]
    np.testing.assert_allclose(_rungs(0.5, 8.0, 2), [0.5, 1, 2, 4, 8])


def curve(x, r):
    """A learning curve: the final loss |x - 0.3| approached as 1/r, plus a config-dependent offset."""
    return float(abs(x[0] - 0.3) + abs(x[1] - 0.6) + 0.5 / r * (1 + x[1]))


def test_asha_respects_the_budget_and_promotes_the_best():
    opt = optkit.make("cqr", optkit.Box(0.0, 1.0, dim=2), seed=0, **TINY)
    seen = []
    res = opt.minimize_fidelity(lambda x, r: seen.append(r) or curve(x, r), 100, min_resource=1, max_resource=9)
    assert res.rungs == [1, 3, 9]
    assert res.total_resource == sum(seen) <= 100 and res.total_resource > 100 - 9
    np.testing.assert_array_equal(res.resource, seen)
    assert res.nfev == len(seen) == len(res.history)
    # every evaluation above rung 0 continues a trial that was in the top third of the rung below
    r = np.asarray(res.resource)
    assert (r == 1).sum() > (r == 3).sum() > (r == 9).sum() >= 1
    assert res.fun == pytest.approx(curve(res.x, 9))
    top = res.history.fun[r == 9]
    assert res.fun == top.min() and res.best_so_far[-1] == top.min()
    # the optimizer saw every report: one trial per configuration, each at its highest rung
    _, y, rr = opt.training_data()
    assert opt.n_trials == (r == 1).sum() and rr.max() == 9


def test_asha_failures_are_recorded_and_min_equals_max_is_single_fidelity():
    opt = optkit.make("cqr", optkit.Box(0.0, 1.0, dim=2), seed=1, **TINY)

    def flaky(x, r):
        if x[0] > 0.8:
            raise RuntimeError("diverged")
        return curve(x, r)

    res = opt.minimize_fidelity(flaky, 60, min_resource=4, max_resource=4)
    assert res.rungs == [4] and res.nfev == 15 and np.all(res.resource == 4)
    bad = [e is not None for e in res.history.error]
    assert np.array_equal(bad, res.history.X[:, 0] > 0.8) and np.isfinite(res.fun)
    assert opt.n_trials == 15 - sum(bad) and not opt._pending
    with pytest.raises(optkit.InvalidParameterError, match="'eta'"):
        opt.minimize_fidelity(curve, 10, min_resource=1, max_resource=9, eta=1)
    with pytest.raises(optkit.InvalidParameterError, match="'max_resource'"):
        opt.minimize_fidelity(curve, 10, min_resource=5, max_resource=1)


def test_state_round_trip_with_fidelity_reports():
    from optkit.core.serialize import dumps, loads

    box = optkit.Box(0.0, 1.0, dim=2)
    a = optkit.make("cqr", box, seed=2, n_init=3, **TINY)
    X = a.ask(4)
    a.tell_fidelity(X, [curve(x, 1) for x in X], 1)
    a.tell_fidelity(X[:1], [curve(X[0], 3)], 3)
    b = optkit.make("cqr", box, seed=99, n_init=3, **TINY)
    b.load_state_dict(loads(*dumps(a.state_dict())))
    np.testing.assert_array_equal(a.ask(2), b.ask(2))
    np.testing.assert_array_equal(a.training_data()[1], b.training_data()[1])
