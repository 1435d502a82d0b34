"""CONFIG: the optimistic feasible set on hand-made GPs, infeasibility declarations, constrained optima, robustness."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import optkit  # noqa: E402
from optkit.bayesopt.acquisition import MixedSpec  # noqa: E402
from optkit.bayesopt.config import lcb, optimistic_feasible, select, signed_exp, signed_log  # noqa: E402
from optkit.bayesopt.models import GP  # noqa: E402
from optkit.core.serialize import dumps, loads  # noqa: E402
from optkit.problems.constrained import PROBLEMS, gramacy  # noqa: E402

FAST = {"n_restarts": 4, "raw_samples": 256}
SQRT_BETA = 3.0
LS, OS, NOISE = 0.7, 1.0, 1e-6
XS = np.array([0.2, 0.8])


# -- a hand-made GP: Matern-5/2 posterior written out in numpy ------------------------------------
def _matern(a, b):
    r = math.sqrt(5.0) * np.abs(np.subtract.outer(a, b)) / LS
    return OS * (1.0 + r + r * r / 3.0) * np.exp(-r)


def _hand_lcb(x, y, y_mean=0.0):
    """LCB of the GP with prior mean y_mean (unit std) after observing y at XS, by the textbook formulas."""
    K = _matern(XS, XS) + NOISE * np.eye(2)
    k = _matern(x, XS)
    mean = y_mean + k @ np.linalg.solve(K, y - y_mean)
    var = OS - np.einsum("ij,ji->i", k, np.linalg.solve(K, k.T))
    return mean - SQRT_BETA * np.sqrt(np.maximum(var, 0.0))


def _gp(y, y_mean=0.0):
    return GP(XS[:, None], y, lengthscale=[LS], outputscale=OS, noise=NOISE, y_mean=y_mean, y_std=1.0)


GRID = np.linspace(0.0, 1.0, 100001)


def test_lcb_and_optimistic_feasible_set_match_the_hand_computation():
    g_y = np.array([1.0, -1.0])  # infeasible observed at 0.2, feasible at 0.8
    g = _gp(g_y)
    hand = _hand_lcb(GRID, g_y)
    with torch.no_grad():
        ours = lcb(g, GRID[:, None], SQRT_BETA).numpy()
    np.testing.assert_allclose(ours, hand, atol=1e-9)
    # optimistic feasibility: LCB_g <= 0; an interval around the infeasible observation is excluded
    clear = np.abs(hand) > 1e-6
    np.testing.assert_array_equal(optimistic_feasible([g], GRID[clear, None], SQRT_BETA), hand[clear] <= 0)
    out = GRID[hand > 0]  # by hand: [0, 0.35298]
    assert out.min() == 0.0 and 0.35 < out.max() < 0.36 and np.all(np.diff(out) < 2e-5)


def test_step_is_the_argmin_of_the_objective_lcb_over_the_hand_computed_set():
    f_y, g_y = np.array([-1.0, 1.0]), np.array([1.0, -1.0])  # the objective is best where g is violated
    hand_f, hand_g = _hand_lcb(GRID, f_y), _hand_lcb(GRID, g_y)
    masked = np.where(hand_g <= 0, hand_f, np.inf)
    x_star = GRID[np.argmin(masked)]
    assert np.argmin(hand_f) != np.argmin(masked)  # the constraint binds
    sel = select(_gp(f_y), [_gp(g_y)], MixedSpec(1), np.random.default_rng(0), sqrt_beta=SQRT_BETA,
                 raw_samples=64, n_restarts=4)
    assert not sel.empty
    assert abs(sel.x[0] - x_star) < 1e-4
    assert _hand_lcb(sel.x, g_y)[0] <= 1e-6  # on the optimistic side of the boundary
    # without constraints: the unconstrained LCB minimizer
    sel = select(_gp(f_y), [], MixedSpec(1), np.random.default_rng(0), sqrt_beta=SQRT_BETA, raw_samples=64, n_restarts=4)
    assert abs(sel.x[0] - GRID[np.argmin(hand_f)]) < 1e-4


def test_empty_set_detected_with_the_hand_computed_minimum():
    g_y = np.array([4.0, 5.0])
    hand = _hand_lcb(GRID, g_y, y_mean=5.0)  # prior mean 5: LCB >= 2 everywhere
    assert hand.min() > 0
    sel = select(_gp(np.array([-1.0, 1.0])), [_gp(g_y, y_mean=5.0)], MixedSpec(1), np.random.default_rng(0),
                 sqrt_beta=SQRT_BETA, raw_samples=64, n_restarts=4)
    assert sel.empty
    assert sel.min_max_lcb == pytest.approx(hand.min(), abs=1e-6)
    assert abs(sel.at[0] - GRID[np.argmin(hand)]) < 1e-3


# -- whole runs ----------------------------------------------------------------------------------
def _infeasible_problem():
    """Gramacy's objective with g(x) = 1 + |x|^2 > 0 everywhere on [0, 1]^2."""
    return optkit.Problem(gramacy, optkit.Box(0.0, 1.0, dim=2), vectorized=True,
                          constraints=[lambda X: 1.0 + X[:, 0] ** 2 + X[:, 1] ** 2], name="infeasible")


def test_infeasibility_declared_with_evidence():
    p = _infeasible_problem()
    opt = optkit.make("config", p.space, seed=0, **FAST)
    res = opt.minimize(p, 30)
    assert res.status == optkit.Status.INFEASIBLE and not res.success
    assert "declared infeasible" in res.message
    ev = res.infeasibility
    assert ev == opt.infeasibility() and ev["n_observations"] == res.nfev
    # empty after the 5-point initial design, then after each of the two probes (declare_after=3)
    assert res.nfev == 7 and ev["empty_checks"] == 3
    assert ev["min_max_lcb"] > 0 and ev["lcb"] == [ev["min_max_lcb"]] and ev["beta"] == 9.0
    assert np.all(p.space.contains(np.array([ev["at"]])))
    # the claim holds on a fine grid too, and the local search found the grid's minimum
    g = opt.model() and opt._fit_models()[1][0]
    u = np.linspace(0, 1, 201)
    G = np.array(np.meshgrid(u, u)).reshape(2, -1).T
    with torch.no_grad():
        v = lcb(g, G, 3.0).numpy()
    assert v.min() > 0 and signed_log(ev["min_max_lcb"]) <= v.min() + 1e-3  # the GP models sign(g) log(1 + |g|)
    assert opt.stop_status() == optkit.Status.INFEASIBLE and opt.stop_reason() == res.message
    # ask/tell users keep going: the next point is the least optimistically violating one
    x = opt.ask()
    np.testing.assert_allclose(x[0], ev["at"])


def test_declare_after_one_is_the_papers_rule_and_none_never_declares():
    p = _infeasible_problem()
    res = optkit.minimize(p, method="config", budget=30, seed=0, declare_after=1, **FAST)
    assert res.status == optkit.Status.INFEASIBLE and res.nfev == 5 and res.infeasibility["empty_checks"] == 1
    res = optkit.minimize(p, method="config", budget=9, seed=0, declare_after=None, **FAST)
    assert res.nfev == 9 and res.status == optkit.Status.INFEASIBLE  # no feasible point, budget used
    assert res.infeasibility is None and "no feasible point was found" in res.message


def test_no_declaration_once_a_feasible_point_is_observed():
    box = optkit.Box(0.0, 1.0, dim=2)
    opt = optkit.make("config", box, seed=0, n_init=4, **FAST)
    X = opt.ask(4)
    opt.tell(X, [float(x.sum()) for x in X], constraints=[[5.0]] * 3 + [[-1e-9]])
    assert opt.infeasibility() is None and opt.stop_reason() is None


def test_feasible_optimum_found_on_gardner():
    p = PROBLEMS["gardner"]()  # the paper's threshold 0.5: f* = -2 at (3 pi / 2, 0)
    res = optkit.minimize(p, method="config", budget=25, seed=0, **FAST)
    assert res.success and res.fun - p.f_opt < 1e-3
    assert np.all(res.constraints <= 0)


def test_feasible_optimum_on_an_active_constraint_with_exploit_steps():
    p = PROBLEMS["gramacy"]()  # optimum on the first constraint's boundary
    res = optkit.minimize(p, method="config", budget=30, seed=0, exploit_every=5, **FAST)
    assert res.success and np.all(res.constraints <= 0)
    assert res.fun - p.f_opt < 5e-3


def test_batches_are_distinct_and_state_round_trips():
    box = optkit.Box(0.0, 1.0, dim=2)
    f = lambda x: float(x[0] + x[1])  # noqa: E731
    g = lambda x: [0.6 - x[0] ** 2 - x[1] ** 2]  # noqa: E731
    a = optkit.make("config", box, seed=3, n_init=5, **FAST)
    X = a.ask(5)
    a.tell(X, [f(x) for x in X], [g(x) for x in X])
    B = a.ask(3)  # kriging believer on the pending points
    d = np.linalg.norm(B[:, None] - B[None], axis=-1) + np.eye(3)
    assert d.min() > 1e-3
    a.tell(B, [f(x) for x in B], [g(x) for x in B])
    text, blob = dumps(a.state_dict())
    b = optkit.make("config", box, seed=99, n_init=5, **FAST)
    b.load_state_dict(loads(text, blob))
    assert b.stop_reason() is None  # computing the check first changes nothing
    for _ in range(2):
        xa, xb = a.ask(), b.ask()
        np.testing.assert_array_equal(xa, xb)
        a.tell(xa, [f(xa[0])], [g(xa[0])])
        b.tell(xb, [f(xb[0])], [g(xb[0])])


def test_journal_resume_continues_exactly(tmp_path):
    p = PROBLEMS["gramacy"]()
    full = optkit.minimize(p, method="config", budget=8, seed=4, n_init=4, **FAST)
    path = tmp_path / "config.sqlite"
    optkit.minimize(p, method="config", budget=6, seed=4, n_init=4, journal=str(path), **FAST)
    resumed = optkit.resume(str(path), p, budget=8)
    np.testing.assert_array_equal(resumed.history.X, full.history.X)


def test_failed_objective_and_nan_constraints():
    def fun(x):
        return float("nan") if x[0] > 0.8 else float(x[0] + x[1])

    def con(x):
        return float("nan") if x[1] > 0.85 else float(0.5 - x[0] ** 2 - x[1] ** 2)

    box = optkit.Box(0.0, 1.0, dim=2)
    for policy in ("penalize", "skip"):
        p = optkit.Problem(fun, box, constraints=[con], on_error=policy)
        res = optkit.minimize(p, method="config", budget=12, seed=1, n_init=6, **FAST)
        assert res.nfev == 12 and res.success and np.isfinite(res.fun)
        failed = np.array([e is not None for e in res.history.error])
        assert failed.any() and not res.history.feasible[failed].any()
    opt = optkit.make("config", box, seed=0, n_init=3, **FAST)
    X = opt.ask(3)
    with pytest.raises(optkit.InvalidParameterError):
        opt.tell(X, [1.0, 2.0, 3.0], constraints=[[0.0], [np.nan], [1.0]])
    # a NaN constraint value in a warm start is a missing value: that constraint's GP skips the point
    ws = {"X": X.tolist(), "y": [1.0, 2.0, 3.0], "constraints": [[0.5], [float("nan")], [-0.5]]}
    opt = optkit.make("config", box, seed=0, n_init=3, warm_start=ws, **FAST)
    x = opt.ask()
    assert np.all(box.contains(x)) and opt._fit_models()[1][0].n == 2


def test_mixed_space_with_a_constraint():
    space = optkit.SearchSpace({"x": optkit.Real(-2.0, 2.0), "k": optkit.Integer(0, 6),
                                "c": optkit.Categorical(["a", "b"])})

    def f(p):
        return (p["x"] - 1.0) ** 2 + 0.2 * (p["k"] - 5) ** 2 + (0.0 if p["c"] == "a" else 0.5)

    opt = optkit.make("config", space, seed=0, **FAST)
    for _ in range(14):
        X = opt.ask()
        opt.tell(X, [f(space.to_dict(x)) for x in X], [[space.to_dict(x)["k"] - 3.0] for x in X])  # k <= 3
        assert np.all(X[:, 1] == np.round(X[:, 1])) and np.all(np.isin(X[:, 2], [0, 1]))
    feas = opt._feasible()
    best = space.to_dict(opt.space.decode(opt._from_unit(opt._U[feas][np.argmin(opt._y[feas])][None]))[0])
    assert best["k"] == 3 and best["c"] == "a" and abs(best["x"] - 1.0) < 0.2


def test_signed_log_keeps_the_sign_and_inverts():
    g = np.array([-1e6, -2.5, -1e-12, 0.0, 1e-12, 0.3, 7.0, 1e6])
    t = signed_log(g)
    np.testing.assert_array_equal(np.sign(t), np.sign(g))
    assert np.all(np.diff(t) > 0) and t[-1] == pytest.approx(math.log1p(1e6))
    np.testing.assert_allclose(signed_exp(t), g, rtol=1e-12, atol=1e-20)


def test_beta_schedule_and_bad_hyperparameters():
    box = optkit.Box(0.0, 1.0, dim=2)
    opt = optkit.make("config", box, seed=0, beta="schedule", n_init=4, **FAST)
    X = opt.ask(4)
    opt.tell(X, [1.0, 2.0, 3.0, 4.0], constraints=[[1.0], [-1.0], [0.5], [0.2]])
    assert opt.beta_n() == pytest.approx(2 * math.log(2 * 2 * 16 * math.pi**2 / 0.6))
    assert optkit.make("config", box, beta=4.0).beta_n() == 4.0
    for kw in ({"beta": 0.0}, {"beta": "srinivas"}, {"declare_after": 0}, {"exploit_every": -1},
               {"constraint_transform": "log"}):
        with pytest.raises(optkit.InvalidParameterError, match=repr(next(iter(kw)))):
            optkit.make("config", box, **kw)


def test_a_probe_below_its_optimistic_bound_restarts_the_empty_count():
    """An empty optimistic set is a certificate only if the constraint models are calibrated: a probe whose
    observed g falls below the LCB predicted there shows they were not, and the count starts again."""

    def run(g_probe):
        opt = optkit.make("config", optkit.Box(0.0, 1.0, dim=1), seed=0, constraint_transform="none", n_init=3,
                          n_restarts=2, raw_samples=64)
        X = opt.ask(3)
        opt.tell(X, [1.0, 2.0, 3.0], constraints=[[1.0], [1.0], [1.0]])
        x = opt.ask()
        opt._probe = {"n": 3, "x": [float(x[0, 0])], "lcb": {0: 0.5}}
        assert not opt._surprised()  # the probe was not told yet
        opt.tell(x, [1.5], constraints=[[g_probe]])
        return opt

    assert not run(0.9)._surprised()  # within its bound (0.9 >= 0.5)
    opt = run(0.2)  # 0.2 < 0.5: the models were overconfident
    assert opt._surprised()
    again = optkit.make("config", optkit.Box(0.0, 1.0, dim=1), seed=0, constraint_transform="none", n_init=3,
                        n_restarts=2, raw_samples=64)
    again.load_state_dict(loads(*dumps(opt.state_dict())))
    assert again._surprised()  # the probe survives a state round trip
