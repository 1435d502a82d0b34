"""TPE (optkit.baselines.tpe): a hand-computed l/g choice, better than random search, mixed spaces."""

import math

import numpy as np
import pytest
from scipy.stats import truncnorm

import optkit
from optkit.baselines.tpe import TPE, default_gamma


def _tn_pdf(x, mu, s):
    return truncnorm.pdf(x, (0 - mu) / s, (1 - mu) / s, loc=mu, scale=s)


def _fixed_history(opt, xs, ys):
    """Give a 1-d optimizer on the unit box a fixed history (the state format of ``_get_state``)."""
    opt._set_state({"U": np.asarray(xs, float).reshape(-1, 1), "y": np.asarray(ys, float), "viol": np.zeros(len(xs))})


def test_gamma_is_optunas_default():
    assert [default_gamma(n) for n in (1, 10, 11, 100, 249, 250, 1000)] == [1, 1, 2, 10, 25, 25, 25]


def test_hand_checked_choice_maximizes_l_over_g():
    # 1-d, the unit box: five observations, gamma(5) = 1 good point (x = 0.7)
    xs, ys = [0.1, 0.35, 0.7, 0.8, 0.95], [5.0, 3.0, 0.5, 1.0, 4.0]
    opt = TPE(optkit.Box(0.0, 1.0, dim=1), n_startup=2, n_ei_candidates=24, seed=3)
    _fixed_history(opt, xs, ys)
    x = opt.ask(1)[0, 0]
    C = opt.last_candidates_[:, 0]
    # l: one kernel at 0.7, bandwidth max(0.7 - 0, 1 - 0.7) = 0.7 (inside the clip [1/2, 1]), weight 1/2; prior 1/2
    lx = 0.5 * _tn_pdf(C, 0.7, 0.7) + 0.5
    # g: kernels at 0.1, 0.35, 0.8, 0.95 with neighbour distances (0 and 1 included):
    # 0.1 -> max(0.1, 0.25) = 0.25; 0.35 -> max(0.25, 0.45) = 0.45; 0.8 -> max(0.45, 0.15) = 0.45;
    # 0.95 -> max(0.15, 0.05) = 0.15, clipped up to 1/min(100, 5) = 0.2; each weight 1/5, prior 1/5
    gx = sum(_tn_pdf(C, m, s) for m, s in [(0.1, 0.25), (0.35, 0.45), (0.8, 0.45), (0.95, 0.2)]) / 5 + 0.2
    score = np.log(lx) - np.log(gx)
    np.testing.assert_allclose(opt.last_scores_, score, rtol=1e-10, atol=1e-12)
    assert x == C[np.argmax(score)]
    assert C.std() > 0  # the candidates are samples, not one repeated point


def _quadratic(x):
    return float((x[0] - 0.3) ** 2 + 2.0 * (x[1] + 0.6) ** 2)


@pytest.mark.parametrize("multivariate", [False, True])
def test_beats_random_search_on_a_quadratic(multivariate):
    space = optkit.Box(-2.0, 2.0, dim=2)
    tpe, rnd = [], []
    for seed in range(5):
        problem = optkit.Problem(_quadratic, space)
        tpe.append(optkit.make("tpe", space, seed=seed, multivariate=multivariate).minimize(problem, 60).fun)
        rnd.append(optkit.make("random", space, seed=seed).minimize(problem, 60).fun)
    assert np.mean(tpe) < 0.5 * np.mean(rnd), (tpe, rnd)


def test_mixed_space_stays_valid_and_learns_the_category():
    space = optkit.SearchSpace({"lr": optkit.Real(1e-4, 1.0, log=True), "k": optkit.Integer(1, 9),
                                "act": optkit.Categorical(["a", "b", "c", "d"])})

    def f(p):  # a SearchSpace problem passes {name: value}
        assert isinstance(p["k"], int) and p["act"] in "abcd"
        return (math.log10(p["lr"]) + 2) ** 2 + 0.1 * (p["k"] - 4) ** 2 + (0.0 if p["act"] == "c" else 1.0)

    res = optkit.make("tpe", space, seed=0).minimize(optkit.Problem(f, space), 60)
    X = res.history.X
    assert np.all(space.contains(X))
    assert np.all(X[:, 1] == np.round(X[:, 1])) and np.all(np.isin(X[:, 2], [0, 1, 2, 3]))
    assert np.mean(X[30:, 2] == 2) > 0.5  # the model prefers the best category ("c")
    assert res.fun < 0.5 and space.to_dict(res.x)["act"] == "c"


def test_batch_points_are_distinct_and_pending_points_count_as_bad():
    space = optkit.SearchSpace({"k": optkit.Integer(0, 20), "c": optkit.Categorical(["x", "y"])})
    opt = TPE(space, n_startup=5, seed=1)
    X = opt.ask(5)
    opt.tell(X, [float(abs(x[0] - 10) + x[1]) for x in X])
    B = opt.ask(8)
    assert len({tuple(r) for r in B}) == 8
    assert not any((B == x).all(axis=1).any() for x in X)  # nothing already evaluated
    good, bad = opt.split(opt._to_unit(opt.pending()[1]))
    assert good.shape[0] == default_gamma(5) and bad.shape[0] == 4 + 8


def test_infeasible_points_are_bad():
    opt = TPE(optkit.Box(0.0, 1.0, dim=1), n_startup=1, seed=0)
    for x, y, c in [(0.5, -10.0, 1.0), (0.2, 1.0, -1.0), (0.9, 2.0, 0.0)]:
        opt._tell(np.array([[x]]), np.array([y]), np.array([[c]]))
    good, bad = opt.split()
    assert good[:, 0].tolist() == [0.2]  # the lowest value 0.5 is infeasible
    assert sorted(bad[:, 0].tolist()) == [0.5, 0.9]
    # with constraints through minimize: the run returns a feasible point
    problem = optkit.Problem(lambda x: float(x @ x), optkit.Box(-1.0, 1.0, dim=2), constraints=[lambda x: 0.3 - x[0]])
    res = optkit.make("tpe", problem.space, seed=0).minimize(problem, 50)
    assert res.x[0] >= 0.3 - 1e-12 and res.fun < 0.25
    # the model steers toward the feasible region (35% of the box): 50-65% of model points over seeds 0-4
    assert np.mean(res.history.X[10:, 0] >= 0.3) > 0.45


def test_startup_points_are_random_then_the_model_is_used():
    opt = TPE(optkit.Box(0.0, 1.0, dim=2), n_startup=4, seed=0)
    X = opt.ask(4)
    assert opt.last_candidates_ is None
    opt.tell(X, [float(x @ x) for x in X])
    opt.ask(1)
    assert opt.last_candidates_.shape == (24, 2)


def test_bad_hyperparameters_are_named():
    with pytest.raises(optkit.OptkitError, match="n_startup"):
        TPE(optkit.Box(0.0, 1.0, dim=2), n_startup=0)
    with pytest.raises(optkit.OptkitError, match="multivariate"):
        TPE(optkit.Box(0.0, 1.0, dim=2), multivariate="yes")


def test_sklearn_search_with_tpe():
    pytest.importorskip("sklearn")
    from scipy.stats import loguniform
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from optkit.sklearn import OptkitSearchCV

    X, y = load_iris(return_X_y=True)
    space = {"C": loguniform(1e-3, 1e2), "fit_intercept": [True, False]}
    search = OptkitSearchCV(LogisticRegression(max_iter=300), space, method="tpe", n_iter=12, cv=3,
                            random_state=0).fit(X, y)
    assert 1e-3 <= search.best_params_["C"] <= 1e2 and search.best_params_["fit_intercept"] in (True, False)
    assert search.best_score_ > 0.9 and len(search.cv_results_["params"]) == 12
