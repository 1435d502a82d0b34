"""DP-SGD / DP-GD and m-NGP: hand-derived updates, the noise scale, the sampling, the epsilon stop."""

import numpy as np
import pytest
from dp_helpers import quadratic

import optkit
from optkit import OptkitError, StochasticProblem
from optkit.privacy import RDPAccountant, private_logistic_regression


def linear(A) -> StochasticProblem:
    """f_i(w) = a_i . w: constant per-example gradients a_i."""
    A = np.asarray(A, dtype=np.float64)

    def rows(idx):
        return A if idx is None else A[idx]

    return StochasticProblem(lambda w, idx: float(np.mean(rows(idx) @ w)), lambda w, idx: rows(idx).mean(axis=0),
                             A.shape[0], np.zeros(A.shape[1]), per_example_grads=lambda w, idx: rows(idx).copy())


def test_clipping_hand_derived_update():
    A = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, -10.0]])  # norms 5, 0.5, 10
    p = linear(A)
    opt = optkit.make("dp-sgd", p.space, lr=0.1, max_grad_norm=1.0, noise_multiplier=1e-12, batch_size=None, seed=0)
    res = opt.minimize(p, budget=6)  # one full-batch step: 3 per-example gradients + 3 for the loss
    clipped = np.array([[0.6, 0.8], [0.3, 0.4], [0.0, -1.0]])
    np.testing.assert_allclose(res.x, -0.1 * clipped.mean(axis=0), atol=1e-9)
    assert res.nit == 1 and res.nfev == 6 and res.oracle_counts["per_example"] == 3


def test_noise_scale_is_sigma_c_over_expected_batch():
    # zero gradients: every increment is pure noise, N(0, (lr sigma C / (q n))^2) per coordinate
    n, d = 50, 4
    p = linear(np.zeros((n, d)))
    opt = optkit.make("dp-sgd", p.space, lr=1.0, max_grad_norm=2.0, noise_multiplier=1.5, batch_size=10, seed=1)
    res = opt.minimize(p, budget=100_000)
    steps = np.diff(np.vstack([res.history.X, res.x]), axis=0)
    expected = 1.5 * 2.0 / (0.2 * n)
    assert steps.shape[0] > 2000
    assert np.std(steps) == pytest.approx(expected, rel=0.03)
    assert abs(np.mean(steps)) < 4 * expected / np.sqrt(steps.size)


def test_poisson_sample_rate_and_exact_cost():
    n = 200
    p = linear(np.ones((n, 3)))
    opt = optkit.make("dp-sgd", p.space, sample_rate=0.05, batch_size=None, seed=3)
    res = opt.minimize(p, budget=20_000)
    assert res.sample_rate == 0.05
    mean_batch = p.counts["per_example"] / res.nit
    assert mean_batch == pytest.approx(0.05 * n, rel=0.05)
    assert res.nfev == p.calls <= 20_000 and 20_000 - res.nfev < opt.oracle_cost(1, opt._t)


def test_reported_epsilon_is_the_accountants():
    p = optkit.problems.get("logreg_breast_cancer")
    res = optkit.make("dp-sgd", p.space, noise_multiplier=1.3, batch_size=64, delta=1e-6, seed=0).minimize(p, 30_000)
    q = 64 / p.n_examples
    assert res.sample_rate == q and res.accountant == "rdp" and res.delta == 1e-6
    assert res.epsilon == RDPAccountant(1.3, q).epsilon(res.privacy_steps, 1e-6)
    assert res.privacy_steps == res.nit


def test_stops_before_exceeding_target_epsilon():
    p = optkit.problems.get("logreg_breast_cancer")
    opt = optkit.make("dp-sgd", p.space, noise_multiplier=1.0, batch_size=64, target_epsilon=3.0, seed=0)
    res = opt.minimize(p, budget=10**7)
    assert res.epsilon <= 3.0 < opt.epsilon_after(res.privacy_steps + 1)
    assert res.status == optkit.Status.BUDGET_EXHAUSTED and "target_epsilon=3" in res.message
    assert res.nfev < 10**7
    with pytest.raises(OptkitError, match="allows no further step"):
        opt.minimize(p, budget=10**6)  # continuing would exceed it


def test_gdp_accountant_full_batch_is_tighter_and_falls_back_with_subsampling():
    p = quadratic(np.random.default_rng(0).normal(size=(20, 5)))
    a = optkit.make("dp-sgd", p.space, batch_size=None, accountant="gdp", seed=0).minimize(p, 400)
    b = optkit.make("dp-sgd", p.space, batch_size=None, seed=0).minimize(p, 400)
    assert a.accountant == "gdp" and a.epsilon < b.epsilon
    c = optkit.make("dp-sgd", p.space, batch_size=5, accountant="gdp", seed=0).minimize(p, 400)
    assert c.accountant == "rdp"  # the CLT approximation can under-report: never used for q < 1


def test_nan_gradient_stops_at_named_iteration(quad):
    calls = []

    def peg(w, idx):
        calls.append(1)
        G = quad.per_example_grads(w, idx)
        return G * np.nan if len(calls) == 3 else G

    p = StochasticProblem(quad._loss, quad._grad, quad.n_examples, quad.w0, per_example_grads=peg)
    res = optkit.make("dp-sgd", p.space, batch_size=None, seed=0).minimize(p, 1000)
    assert res.status == optkit.Status.FAILED and "iteration 2" in res.message and res.nit == 2


def test_dp_sgd_learns_breast_cancer_privately():
    p = optkit.problems.get("logreg_breast_cancer")
    res = optkit.make("dp-sgd", p.space, lr=0.5, noise_multiplier=2.0, batch_size=64, target_epsilon=2.0,
                      seed=0).minimize(p, 10**6)
    from optkit.problems.ml import _logistic_model

    m = _logistic_model("breast_cancer", 1e-3, 0.0)
    acc = np.mean(np.sign(m.X @ res.x) == m.y)
    assert res.epsilon <= 2.0 and acc > 0.95  # seeds 0-2: 0.970-0.981 (non-private optimum: see benchmarks)


def test_private_logistic_regression_helper():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 4))
    y = np.where(X @ [2.0, -1.0, 0.0, 1.0] + 0.5 > 0, "yes", "no")
    res = private_logistic_regression(X, y, epsilon=0.5, delta=1e-6, seed=0)
    assert res.epsilon <= 0.5 and res.delta == 1e-6 and list(res.classes) == ["no", "yes"]
    pred = np.where(X @ res.coef + res.intercept > 0, "yes", "no")
    assert np.mean(pred == y) > 0.9
    with pytest.raises(OptkitError):
        private_logistic_regression(X, y, epsilon=1.0, delta=1.0)


def test_mngp_normalizes_then_perturbs():
    # a steep linear loss: the mean gradient (10, 0) is projected onto the unit ball, so the step is -lr (1, 0)
    p = linear(np.array([[10.0, 0.0], [10.0, 0.0]]))
    opt = optkit.make("dp-ngp", p.space, lr=0.3, max_grad_norm=100.0, noise_multiplier=1e-12, seed=0)
    res = opt.minimize(p, budget=4)
    np.testing.assert_allclose(res.x, [-0.3, 0.0], atol=1e-9)
    # a gentle one (norm 0.5 <= 1) is left alone
    p = linear(np.array([[0.3, 0.4], [0.3, 0.4]]))
    res = optkit.make("dp-ngp", p.space, lr=0.3, max_grad_norm=100.0, noise_multiplier=1e-12, seed=0).minimize(p, 4)
    np.testing.assert_allclose(res.x, [-0.09, -0.12], atol=1e-9)


def test_mngp_is_dp_gd_when_clipped_gradients_cannot_exceed_one(quad):
    # C <= 1 and the full batch: ||mean of clipped gradients|| <= 1, the normalization is the identity
    a = optkit.make("dp-ngp", quad.space, lr=0.5, max_grad_norm=1.0, noise_multiplier=0.5, seed=3).minimize(quad, 2000)
    b = optkit.make("dp-sgd", quad.space, lr=0.5, max_grad_norm=1.0, noise_multiplier=0.5, batch_size=None,
                    seed=3).minimize(quad, 2000)
    np.testing.assert_allclose(a.history.X, b.history.X, atol=1e-12)


def test_mngp_noise_scale_and_same_privacy_as_dp_gd():
    n, d = 40, 3
    p = linear(np.zeros((n, d)))
    res = optkit.make("dp-ngp", p.space, lr=1.0, max_grad_norm=2.0, noise_multiplier=0.7, seed=2).minimize(p, 2 * n * 3000)
    steps = np.diff(np.vstack([res.history.X, res.x]), axis=0)
    assert np.std(steps) == pytest.approx(0.7 * 2.0 / n, rel=0.03)
    gd = optkit.make("dp-sgd", p.space, noise_multiplier=0.7, batch_size=None, seed=2).minimize(p, 2 * n * 3000)
    assert res.privacy_steps == gd.privacy_steps and res.epsilon == gd.epsilon


@pytest.mark.parametrize("name", ["dp-sgd", "dp-ngp", "diff2"])
@pytest.mark.parametrize("param,value", [("delta", 0.0), ("delta", 1.0), ("delta", -0.1), ("noise_multiplier", 0.0),
                                         ("noise_multiplier", -1.0), ("max_grad_norm", 0.0), ("max_grad_norm", -2.0),
                                         ("sample_rate", 0.0), ("sample_rate", 1.5)])
def test_bad_hyperparameters(name, param, value, quad):
    with pytest.raises(OptkitError, match=param):
        optkit.make(name, quad.space, **{param: value})
