"""GP-BO end to end: convergence, mixed spaces, pending points, robustness, state and warm start."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import optkit  # noqa: E402
from optkit.core.serialize import dumps, loads  # noqa: E402

FAST = {"n_restarts": 4, "raw_samples": 256, "mc_samples": 64}


def branin(x):
    x1, x2 = x[0], x[1]
    return float((x2 - 5.1 * x1**2 / (4 * np.pi**2) + 5 * x1 / np.pi - 6) ** 2 + 10 * (1 - 1 / (8 * np.pi)) * np.cos(x1) + 10)


BRANIN_BOUNDS = [(-5.0, 10.0), (0.0, 15.0)]
BRANIN_MIN = 0.397887357729738


def test_branin_regret_below_1e_3_within_50_evaluations():
    res = optkit.minimize(branin, BRANIN_BOUNDS, method="bo", budget=50, seed=0)
    assert res.fun - BRANIN_MIN < 1e-3


def test_mixed_space_optimum_found_exactly():
    space = optkit.SearchSpace({"x": optkit.Real(-2.0, 2.0), "k": optkit.Integer(0, 10),
                                "c": optkit.Categorical(["a", "b", "c"]), "lr": optkit.Real(1e-4, 1.0, log=True)})

    def f(p):
        return ((p["x"] - 0.5) ** 2 + 0.1 * (p["k"] - 7) ** 2 + {"a": 1.0, "b": 0.0, "c": 0.5}[p["c"]]
                + 0.2 * (np.log10(p["lr"]) + 2.0) ** 2)

    opt = optkit.make("bo", space, seed=1, **FAST)
    for _ in range(32):
        X = opt.ask()
        opt.tell(X, [f(space.to_dict(x)) for x in X])
        assert np.all(X[:, 1] == np.round(X[:, 1])) and np.all(np.isin(X[:, 2], [0, 1, 2]))
    x, mean = opt.best_predicted()
    best = space.to_dict(x)
    assert best["k"] == 7 and best["c"] == "b"
    assert abs(best["x"] - 0.5) < 0.05 and abs(np.log10(best["lr"]) + 2.0) < 0.1
    assert mean < 0.01


@pytest.mark.parametrize("acquisition", ["qlogei", "qlognei", "ucb", "ts"])
def test_pending_points_never_duplicated(acquisition):
    box = optkit.Box(-1.0, 1.0, dim=2)
    opt = optkit.make("bo", box, seed=2, acquisition=acquisition, n_init=6, **FAST)
    X0 = opt.ask(6)
    opt.tell(X0, [float(np.sum((x - 0.2) ** 2)) for x in X0])
    # four workers ask one point each before anyone reports, then one asks a batch of three
    asked = np.vstack([opt.ask() for _ in range(4)] + [opt.ask(3)])
    d = np.linalg.norm(asked[:, None, :] - asked[None, :, :], axis=-1) + np.eye(len(asked))
    assert d.min() > 1e-3, f"duplicates among parallel suggestions: min distance {d.min():.2e}"
    # telling them in any order works
    opt.tell(asked[::-1], [float(np.sum((x - 0.2) ** 2)) for x in asked[::-1]])


def test_pending_changes_the_suggestion():
    box = optkit.Box(0.0, 1.0, dim=2)
    a = optkit.make("bo", box, seed=3, n_init=5, **FAST)
    X = a.ask(5)
    a.tell(X, [branin(np.array([15 * x[0] - 5, 15 * x[1]])) for x in X])
    state = a.state_dict()
    x1 = a.ask()
    b = optkit.make("bo", box, seed=3, n_init=5, **FAST)
    b.load_state_dict(state)
    y1 = b.ask()
    np.testing.assert_array_equal(x1, y1)  # same state, same point
    x2 = a.ask()  # x1 is pending now
    assert np.linalg.norm(x2 - x1) > 1e-3


def test_cholesky_hostile_data_handled(recwarn):
    box = optkit.Box(0.0, 1.0, dim=2)
    X = np.array([[0.5, 0.5]] * 6 + [[0.2, 0.2]] * 2)
    opt = optkit.make("bo", box, seed=0, warm_start={"X": X.tolist(), "y": [1.0] * 8}, **FAST)
    Xn = opt.ask(3)
    assert np.all(np.isfinite(Xn))
    opt.tell(Xn, [1.0, 1.0, 1.0])  # still constant
    assert np.all(np.isfinite(opt.ask()))
    assert opt.model().fit_info in ("fitted", "fitted after retry", "fallback")
    assert not recwarn.list


def test_deterministic_and_independent_of_global_rngs():
    runs = []
    for junk in (1, 2):
        np.random.seed(junk)
        torch.manual_seed(junk)
        res = optkit.minimize(branin, BRANIN_BOUNDS, method="bo", budget=14, seed=7, **FAST)
        runs.append(res.history.X)
    np.testing.assert_array_equal(runs[0], runs[1])
    state = torch.random.get_rng_state()
    optkit.minimize(branin, BRANIN_BOUNDS, method="bo", budget=8, seed=7, **FAST)
    assert torch.equal(state, torch.random.get_rng_state())


def test_state_round_trip_in_the_model_phase():
    box = optkit.Box(-5.0, 5.0, dim=3)
    a = optkit.make("bo", box, seed=5, n_init=4, **FAST)
    f = lambda x: float(np.sum((x - 1.0) ** 2))  # noqa: E731
    for _ in range(8):
        X = a.ask()
        a.tell(X, [f(x) for x in X])
    pend = a.ask()  # a pending point travels with the state
    text, blob = dumps(a.state_dict())
    b = optkit.make("bo", box, seed=999, n_init=4, **FAST)
    b.load_state_dict(loads(text, blob))
    for _ in range(3):
        Xa, Xb = a.ask(), b.ask()
        np.testing.assert_array_equal(Xa, Xb)
        a.tell(Xa, [f(x) for x in Xa])
        b.tell(Xb, [f(x) for x in Xb])
    a.tell(pend, [f(pend[0])])
    b.tell(pend, [f(pend[0])])
    np.testing.assert_array_equal(a.ask(), b.ask())


def test_journal_resume_continues_exactly(tmp_path):
    p = optkit.Problem(branin, optkit.Box([-5.0, 0.0], [10.0, 15.0]), name="branin")
    full = optkit.minimize(p, method="bo", budget=16, seed=4, **FAST)
    path = tmp_path / "bo.sqlite"
    optkit.minimize(p, method="bo", budget=13, seed=4, journal=str(path), **FAST)
    resumed = optkit.resume(str(path), p, budget=16)
    np.testing.assert_array_equal(resumed.history.X, full.history.X)


def test_warm_start():
    box = optkit.Box(-5.0, 5.0, dim=2)
    f = lambda x: float(np.sum((x - 1.0) ** 2))  # noqa: E731
    rng = np.random.default_rng(0)
    Xw = rng.uniform(-5, 5, size=(6, 2))
    ws = {"X": Xw.tolist(), "y": [f(x) for x in Xw]}
    opt = optkit.make("bo", box, seed=0, n_init=5, warm_start=ws, **FAST)
    assert opt.get_params()["warm_start"] == ws  # JSON-friendly, replayable from a journal
    x0 = opt.ask()  # already past the initial design: a model-based point
    assert opt._sobol_drawn == 0
    opt.tell(x0, [f(x0[0])])
    bp, _ = opt.best_predicted()
    assert np.linalg.norm(bp - 1.0) <= np.linalg.norm(Xw - 1.0, axis=1).min() + 1e-12
    # a pair (X, y) works too, numpy included
    opt2 = optkit.make("bo", box, seed=0, warm_start=(Xw, np.array(ws["y"])), **FAST)
    assert opt2.warm_start == ws
    with pytest.raises(optkit.InvalidParameterError):
        optkit.make("bo", box, warm_start={"X": [[9.0, 0.0]], "y": [1.0]})  # outside the box
    with pytest.raises(optkit.InvalidParameterError):
        optkit.make("bo", box, warm_start={"X": Xw.tolist(), "y": [1.0]})
    with pytest.raises(optkit.InvalidParameterError):
        optkit.make("bo", box, warm_start={"points": []})


def test_best_predicted_is_feasibility_aware():
    box = optkit.Box(0.0, 1.0, dim=2)
    opt = optkit.make("bo", box, seed=0, n_init=4, **FAST)
    assert opt.best_predicted() is None
    X = opt.ask(4)
    y = [float(np.sum(x)) for x in X]
    opt.tell(X, y, constraints=[[0.3 - x[0]] for x in X])  # feasible when x0 >= 0.3
    feas = X[:, 0] >= 0.3
    bp = opt.best_predicted()
    if feas.any():
        assert bp[0][0] >= 0.3
        assert bp[1] == pytest.approx(min(np.array(y)[feas]), abs=1e-3)
    Xn = opt.ask(2)  # constrained acquisition runs
    assert np.all(box.contains(Xn))
    opt2 = optkit.make("bo", box, seed=0, n_init=2, **FAST)
    X = opt2.ask(2)
    opt2.tell(X, [0.0, 1.0], constraints=[[1.0], [2.0]])
    assert opt2.best_predicted() is None
    assert np.all(np.isfinite(opt2.ask()))  # searches for feasibility


def test_noisy_objective_with_inferred_noise():
    rng = np.random.default_rng(0)
    f = lambda x: float(np.sum((x - 0.3) ** 2) + 0.05 * rng.standard_normal())  # noqa: E731
    res = optkit.minimize(f, [(-1, 1)] * 2, method="bo", budget=25, seed=0, noise="infer", acquisition="qlognei", **FAST)
    assert res.nfev == 25
    opt = optkit.make("bo", optkit.Box(-1, 1, dim=2), seed=0, noise="infer", **FAST)
    X = opt.ask(12)
    opt.tell(X, [f(x) for x in X])
    assert opt.model().noise > 1e-3  # the noise was inferred, not pinned at 1e-6


@pytest.mark.parametrize("acquisition", ["ucb", "ts"])
def test_other_acquisitions_make_progress(acquisition):
    res = optkit.minimize(lambda x: float(np.sum((x - 0.3) ** 2)), [(-1, 1)] * 2, method="bo", budget=20, seed=0,
                          acquisition=acquisition, **FAST)
    assert res.fun < 1e-2


def test_bad_hyperparameters():
    box = optkit.Box(0.0, 1.0, dim=2)
    for kw in ({"acquisition": "ei"}, {"noise": -1.0}, {"noise": "loud"}, {"n_init": 0}, {"batch": 0}):
        with pytest.raises(optkit.InvalidParameterError):
            optkit.make("bo", box, **kw)
    with pytest.raises(optkit.InvalidParameterError):
        optkit.make("bo", optkit.Box(-np.inf, 1.0, dim=2))


def test_import_optkit_stays_light():
    import subprocess
    import sys

    code = "import optkit, sys; optkit.available(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
