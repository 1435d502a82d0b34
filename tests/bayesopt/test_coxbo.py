"""Gaussian Cox process BO: the Laplace mode against closed forms and brute force, Nystrom against
the exact model, intensity recovery, the peak search, the problem type and bad input."""

import numpy as np
import pytest
from scipy.optimize import minimize as sp_minimize

import optkit
from optkit.bayesopt.coxbo import CoxBO, fit_intensity, single_thread
from optkit.bayesopt.coxbo_model import ExactCox, NystromCox, grid, se_kernel
from optkit.bayesopt.coxbo_problem import (
    PointEventProblem,
    grid_points,
    load_quakes,
    quakes,
    sample_poisson,
    synthetic,
)
from optkit.core.serialize import dumps, loads


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


# -- the model: known answers ----------------------------------------------------------------------
def test_single_event_mode_in_closed_form():
    # one event t, one quadrature node q: the mode solves g(t)^2 = 2 k~(t, t), with
    # k~(t, t) = k(t, t) - k(t, q)^2 / (k(q, q) + 1 / (2 Delta))
    t, q, delta, ell, var = np.array([[0.3]]), np.array([[0.5]]), 0.2, 0.2, 2.0
    ktq = var * np.exp(-0.5 * 0.2**2 / ell**2)
    kt = var - ktq**2 / (var + 1.0 / (2 * delta))
    for m in (ExactCox(t, [1.0], q, delta, lengthscale=ell, variance=var),
              NystromCox(t, [1.0], q, delta, np.vstack([q, t]), lengthscale=ell, variance=var)):
        mu, v = m.predict(t)
        assert mu[0] == pytest.approx(np.sqrt(2 * kt), rel=1e-9)
        # Laplace: the prior k~ conditioned on a pseudo-observation of noise g^2 / 2 = k~(t, t)
        assert v[0] == pytest.approx(kt - kt**2 / (kt + kt), rel=1e-7)


def _grid_case():
    G = 30
    Q = grid(G, 1)
    idx = np.array([3, 4, 5, 5, 12, 20, 21, 22, 23, 23, 24])
    return Q, 1.0 / G, idx, 0.15, 20.0


def test_laplace_mode_and_covariance_match_brute_force():
    # events on grid nodes: the function-space MAP is determined by its grid values, so minimizing
    # -sum log g(t_i)^2 + Delta sum g^2 + 1/2 g' K^-1 g directly (whitened, BFGS) must give the mode
    Q, delta, idx, ell, var = _grid_case()
    K = se_kernel(Q, Q, ell, var) + 1e-9 * np.eye(Q.shape[0])
    L = np.linalg.cholesky(K)

    def J(u):
        g = L @ u
        return -np.sum(np.log(g[idx] ** 2)) + delta * g @ g + 0.5 * u @ u

    def grad(u):
        g = L @ u
        dg = 2 * delta * g
        np.add.at(dg, idx, -2.0 / g[idx])
        return L.T @ dg + u

    brute = sp_minimize(J, np.linalg.solve(L, np.full(Q.shape[0], 3.0)), jac=grad, method="BFGS",
                        options={"maxiter": 5000, "gtol": 1e-9})
    g_brute = L @ brute.x
    model = ExactCox(Q[idx], np.ones(idx.size), Q, delta, lengthscale=ell, variance=var)
    mu, v = model.predict(Q)
    assert model.converged
    np.testing.assert_allclose(mu, g_brute, atol=1e-4 * np.abs(g_brute).max())
    assert model.objective <= brute.fun + 1e-8
    # the mode is stationary along its own ray: alpha' K~ alpha = 2 n
    assert model.alpha @ model.K @ model.alpha == pytest.approx(2 * idx.size, rel=1e-6)
    # Laplace covariance = inverse Hessian of the same objective at the mode
    D = 2 * delta * np.ones(Q.shape[0])
    np.add.at(D, idx, 2.0 / mu[idx] ** 2)
    cov = L @ np.linalg.solve(np.eye(Q.shape[0]) + L.T @ (D[:, None] * L), L.T)
    np.testing.assert_allclose(v, np.diag(cov), atol=1e-6 * var)


def test_nystrom_at_full_rank_on_events_and_nodes_is_the_exact_model():
    rng = np.random.default_rng(0)
    Q, delta, ell, var = grid(12, 2), 1.0 / 144, 0.3, 50.0
    T = rng.uniform(size=(15, 2))
    exact = ExactCox(T, np.ones(15), Q, delta, lengthscale=ell, variance=var)
    nys = NystromCox(T, np.ones(15), Q, delta, np.vstack([Q, T]), lengthscale=ell, variance=var)
    P = np.vstack([Q, T])
    for a, b in zip(exact.predict(P), nys.predict(P)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * var)
    assert exact.log_evidence() == pytest.approx(nys.log_evidence(), rel=1e-6)
    # a truncated Nystrom is a different (cheaper) model
    small = NystromCox(T, np.ones(15), Q, delta, grid(4, 2), lengthscale=ell, variance=var, rank=8)
    assert small.rank == 8 and not np.allclose(small.predict(T)[0], exact.predict(T)[0], rtol=1e-3)


def test_weighted_events_equal_repeated_events():
    Q, delta, idx, ell, var = _grid_case()
    once = ExactCox(Q[[3, 12, 23]], [1.0, 1.0, 2.0], Q, delta, lengthscale=ell, variance=var)
    twice = ExactCox(Q[[3, 12, 23, 23]], np.ones(4), Q, delta, lengthscale=ell, variance=var)
    np.testing.assert_allclose(once.predict(Q)[0], twice.predict(Q)[0], rtol=1e-7)


def test_no_events_gives_the_prior():
    Q = grid(20, 1)
    m = NystromCox(np.zeros((0, 1)), np.zeros(0), Q, 0.05, Q, lengthscale=0.2, variance=3.0)
    mu, v = m.predict(Q)
    assert np.all(mu == 0) and np.all(v > 0) and np.all(v < 3.0)  # the integral still shrinks the prior


def test_recovers_a_known_intensity():
    # relative L2 error of the posterior mean intensity against the truth on a 50 x 50 grid;
    # measured 0.14 at 1000 events (0.27 at 300, 0.13 at 3000) and 0.089 on the 1-D Adams process
    p = synthetic("bumps2d", n_events=1000, seed=0)
    G = grid_points(p.space, 50)
    f = fit_intensity(p.events, p.space)
    err = np.linalg.norm(f.intensity(G)[0] - p.intensity(G)) / np.linalg.norm(p.intensity(G))
    assert err < 0.2
    p1 = synthetic("adams1d", n_events=200, seed=0)
    G1 = grid_points(p1.space, 200)
    for inference in ("nystrom", "exact"):
        f1 = fit_intensity(p1.events, p1.space, inference=inference, lengthscale=0.2)
        err1 = np.linalg.norm(f1.intensity(G1)[0] - p1.intensity(G1)) / np.linalg.norm(p1.intensity(G1))
        assert err1 < 0.12


# -- the problem type and data -----------------------------------------------------------------------
def test_thinning_sampler_matches_the_intensity():
    lam = lambda X: 100.0 * X[:, 0]  # noqa: E731 - on [0, 1]^2: 50 expected, 3/4 of them with x > 0.5
    counts, right = [], []
    for s in range(200):
        E = sample_poisson(lam, [(0, 1), (0, 1)], 100.0, seed=s)
        counts.append(len(E))
        right.append(np.mean(E[:, 0] > 0.5))
    assert np.mean(counts) == pytest.approx(50, rel=0.05)
    assert np.var(counts) == pytest.approx(50, rel=0.25)  # Poisson: variance = mean
    assert np.mean(right) == pytest.approx(0.75, abs=0.02)
    np.testing.assert_array_equal(sample_poisson(lam, [(0, 1), (0, 1)], 100.0, seed=3),
                                  sample_poisson(lam, [(0, 1), (0, 1)], 100.0, seed=3))


def test_point_event_problem_windows():
    E = np.array([[0.1, 0.1], [0.15, 0.12], [0.9, 0.9]])
    p = PointEventProblem(E, [(0, 1), (0, 1)], radius=0.1)
    np.testing.assert_array_equal(p.observe([0.1, 0.1]), E[:2])
    lo, hi = p.window([0.05, 0.5])
    np.testing.assert_allclose(lo, [0.0, 0.4])
    np.testing.assert_allclose(hi, [0.15, 0.6])
    assert p([0.1, 0.1]) == pytest.approx(-2 / 0.04)  # -(count) / (window volume)
    assert p([0.5, 0.5]) == 0.0


def test_quakes_data():
    Q = load_quakes()
    assert Q.shape == (1000, 5)
    assert Q[:, 3].mean() == pytest.approx(4.6204) and Q[:, 0].min() == -38.59 and Q[:, 4].max() == 132
    p = quakes()
    f = fit_intensity(p.events, p.space)
    G = grid_points(p.space, 40)
    mean, var = f.intensity(G)
    cell = np.prod((p.space.upper - p.space.lower) / 40)
    assert mean.sum() * cell == pytest.approx(1000, rel=0.05)  # the fitted intensity integrates to ~n
    assert np.all(var >= 0)


# -- the optimizer --------------------------------------------------------------------------------------
def test_finds_the_peak_of_a_synthetic_process():
    hits = 0
    for seed in range(4):
        problem = synthetic("bumps2d", n_events=1000, radius=0.08, seed=seed)
        res = optkit.make("coxbo", problem.space, radius=0.08, lengthscale=0.1, seed=seed).minimize(problem, 12)
        hits += np.abs(res.x_intensity_max - [0.7, 0.3]).max() < 0.05
        assert res.n_events_seen < problem.n_events  # it looked at part of the domain only
    assert hits >= 3  # measured on seeds 0-4: all within 0.076 of the peak, 0, 1, 3, 4 within 0.03


def test_tell_events_counts_overlaps_once_and_round_trips():
    box = optkit.Box([0.0, 0.0], [1.0, 1.0])
    opt = CoxBO(box, radius=0.5, n_init=2, seed=0, lengthscale=0.2)  # windows of half the box: they overlap
    X = opt.ask(2)
    lo = [np.maximum(x - 0.5, 0) for x in X]
    hi = [np.minimum(x + 0.5, 1) for x in X]
    both = (np.maximum(lo[0], lo[1]) + np.minimum(hi[0], hi[1])) / 2  # seen by both windows
    events = np.vstack([both, lo[0]])
    seen = [events[(events >= lo[i]).all(1) & (events <= hi[i]).all(1)] for i in range(2)]
    assert len(seen[0]) == 2 and len(seen[1]) >= 1
    opt.tell_events(X, seen)
    assert opt._weights.sum() == 2  # every event counted once
    with pytest.raises(optkit.InvalidParameterError, match="window"):
        X2 = opt.ask()
        opt.tell_events(X2, [np.array([[2.0, 2.0]])])
    opt.forget(X2)
    text, blob = dumps(opt.state_dict())
    other = CoxBO(box, radius=0.5, n_init=2, seed=5, lengthscale=0.2)
    other.load_state_dict(loads(text, blob))
    np.testing.assert_array_equal(opt.ask(), other.ask())


def test_count_only_tell_spreads_the_count():
    box = optkit.Box([0.0, 0.0], [2.0, 2.0])
    opt = CoxBO(box, radius=0.25, n_init=1, seed=0)
    X = opt.ask()
    lo, hi = np.maximum(X[0] - 0.5, 0), np.minimum(X[0] + 0.5, 2)
    opt.tell(X, [-7.0 / np.prod(hi - lo)])  # 7 events in the window
    assert opt._weights.sum() == pytest.approx(7.0)
    assert np.all((opt._events >= (lo / 2) - 1e-12) & (opt._events <= hi / 2 + 1e-12))
    opt.tell(opt.ask(), [3.0])  # a value >= 0: no events
    assert opt._weights.sum() == pytest.approx(7.0)


def test_batch_windows_do_not_overlap_pending_ones():
    problem = synthetic("bumps2d", n_events=500, radius=0.1, seed=1)
    opt = CoxBO(problem.space, radius=0.1, n_init=3, batch=3, seed=0, lengthscale=0.1, acquisition="cumulative")
    X = opt.ask()
    opt.tell_events(X, [problem.observe(x) for x in X])
    X2 = opt.ask()
    assert X2.shape == (3, 2)
    for i in range(3):
        for j in range(3):
            if i != j:
                assert np.abs(X2[i] - X2[j]).max() > 0.1  # no centre inside another pending window


def test_bad_input():
    with pytest.raises(optkit.InvalidParameterError, match="Box"):
        CoxBO(optkit.SearchSpace({"a": optkit.Real(0, 1)}))
    with pytest.raises(optkit.InvalidParameterError, match="1 to 3"):
        CoxBO(optkit.Box(0, 1, dim=4))
    with pytest.raises(optkit.InvalidParameterError, match="'radius'"):
        CoxBO(optkit.Box(0, 1, dim=2), radius=0.7)
    p = synthetic("bumps2d", n_events=50, radius=0.1, seed=0)
    with pytest.raises(optkit.InvalidParameterError, match="radius"):
        CoxBO(p.space, radius=0.2).minimize(p, 3)
    with pytest.raises(optkit.InvalidParameterError, match="inside"):
        PointEventProblem([[2.0, 0.5]], [(0, 1), (0, 1)])
    with pytest.raises(optkit.InvalidParameterError, match="lam_max"):
        sample_poisson(lambda X: np.full(len(X), 5.0), [(0, 1)], 1.0, seed=0)
    with pytest.raises(optkit.InvalidParameterError, match="'name'"):
        synthetic("nope")
    with pytest.raises(optkit.InvalidParameterError, match="'events'"):
        opt = CoxBO(p.space, seed=0)
        opt.tell_events(opt.ask(), [])


def test_exact_inference_in_the_loop_matches_nystrom_in_1d():
    # in 1-D the 256 inducing points resolve the kernel: both inferences give the same posterior
    p = synthetic("adams1d", n_events=300, radius=0.05, seed=0)
    opts = [CoxBO(p.space, radius=0.05, n_init=5, lengthscale=0.2, inference=inf, n_quadrature=400, seed=0)
            for inf in ("nystrom", "exact")]
    for opt in opts:
        X = opt.ask()  # the same Sobol windows (same seed)
        opt.tell_events(X, [p.observe(x) for x in X])
    G = grid_points(p.space, 100)
    (m0, v0), (m1, v1) = (opt.model().intensity(G) for opt in opts)
    assert type(opts[1].model().model).__name__ == "ExactCox"
    np.testing.assert_allclose(m1, m0, rtol=1e-4, atol=1e-6 * m0.max())
    np.testing.assert_allclose(v1, v0, rtol=1e-3, atol=1e-6 * v0.max())
    with pytest.raises(optkit.InvalidParameterError, match="'inference'"):
        fit_intensity(p.events, p.space, inference="dense")


def test_journal_resume_replays_windows_with_their_events(tmp_path):
    # the loop binds the PointEventProblem for resume too, so replayed windows arrive as events
    problem = synthetic("bumps2d", n_events=400, radius=0.08, seed=3)
    journal = tmp_path / "cox.sqlite"
    full = optkit.make("coxbo", problem.space, radius=0.08, lengthscale=0.1, seed=1).minimize(problem, 14)

    calls = {"n": 0}

    def stop_after_11(result):
        calls["n"] += 1
        return calls["n"] >= 11  # a snapshot is written every 10 batches: one batch is replayed

    optkit.make("coxbo", problem.space, radius=0.08, lengthscale=0.1, seed=1).minimize(
        problem, 14, journal=journal, callback=stop_after_11)
    resumed = optkit.resume(journal, problem)
    assert resumed.nfev == 14
    np.testing.assert_array_equal(resumed.history.X, full.history.X)
