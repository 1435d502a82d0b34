"""Acquisition functions against closed forms, and the mixed-space acquisition optimizer."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scipy.stats import norm  # noqa: E402

import optkit  # noqa: E402
from optkit.bayesopt._torch import tensor  # noqa: E402
from optkit.bayesopt.acquisition import (  # noqa: E402
    UCB,
    LogEI,
    LogFeasibility,
    LogSum,
    MixedSpec,
    ThompsonSampling,
    believer,
    evaluate,
    log_h,
    optimize_acqf,
    qLogEI,
    qLogNEI,
)
from optkit.bayesopt.models import fit_gp  # noqa: E402


def branin_unit(U):
    x1, x2 = U[:, 0] * 15 - 5, U[:, 1] * 15
    return (x2 - 5.1 * x1**2 / (4 * np.pi**2) + 5 * x1 / np.pi - 6) ** 2 + 10 * (1 - 1 / (8 * np.pi)) * np.cos(x1) + 10


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    X = rng.random((12, 2))
    y = branin_unit(X)
    return fit_gp(X, y), X, y


def test_log_h_against_high_precision():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 60
    z = np.array([-5e3, -1e3 - 1e-6, -999.0, -200.0, -37.5, -10.0, -1.0 - 1e-9, -1.0, -0.3, 0.0, 2.0, 40.0])
    got = log_h(torch.tensor(z, dtype=torch.float64)).numpy()
    ref = np.array([float(mp.log(mp.npdf(mp.mpf(x)) + mp.mpf(x) * mp.ncdf(mp.mpf(x)))) for x in z])
    np.testing.assert_allclose(got, ref, rtol=1e-9)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    log_h(zt).sum().backward()
    assert torch.isfinite(zt.grad).all() and (zt.grad > 0).all()


def test_log_ei_is_the_closed_form(model):
    gp, X, y = model
    Xs = np.random.default_rng(1).random((50, 2))
    m, v = gp.predict(Xs)
    s = np.sqrt(v)
    best = y.min()
    z = (best - m) / s
    ei = (best - m) * norm.cdf(z) + s * norm.pdf(z)
    got = evaluate(LogEI(gp, best), Xs)
    ok = ei > 1e-200
    np.testing.assert_allclose(got[ok], np.log(ei[ok]), rtol=1e-8, atol=1e-8)


def test_qlogei_q1_converges_to_analytic_log_ei(model):
    gp, X, y = model
    Xs = np.random.default_rng(2).random((200, 2))
    a = evaluate(LogEI(gp, y.min()), Xs)
    mc = evaluate(qLogEI(gp, y.min(), n_samples=8192, seed=3), Xs)
    sel = a > -3.0  # where the improvement is not a far tail event that MC cannot see
    assert sel.sum() > 20
    np.testing.assert_allclose(mc[sel], a[sel], atol=0.03)


def test_qlognei_without_noise_matches_qlogei(model):
    gp, X, y = model
    Xs = np.random.default_rng(4).random((100, 2))
    a = evaluate(qLogEI(gp, y.min(), n_samples=4096, seed=5), Xs)
    b = evaluate(qLogNEI(gp, X, n_samples=4096, seed=5), Xs)
    sel = a > -3.0
    np.testing.assert_allclose(b[sel], a[sel], atol=0.05)


def test_pending_point_is_credited_to_itself(model):
    gp, X, y = model
    acq = LogEI(gp, y.min())
    x_best, _ = optimize_acqf(acq, MixedSpec(2), np.random.default_rng(0), raw_samples=256, n_restarts=4)
    with_pending = qLogEI(gp, y.min(), X_pending=x_best[None, :], n_samples=512, seed=1)
    plain = qLogEI(gp, y.min(), n_samples=512, seed=1)
    v_plain = evaluate(plain, x_best[None, :])[0]
    v_pending = evaluate(with_pending, x_best[None, :])[0]
    # the joint batch {pending, x} improves no more than {pending} alone: nothing is left for x
    assert v_pending == pytest.approx(v_plain, abs=0.05)  # two MC estimates of the same value
    x2, _ = optimize_acqf(with_pending, MixedSpec(2), np.random.default_rng(0), raw_samples=256, n_restarts=4)
    assert np.linalg.norm(x2 - x_best) > 0.02
    # the marginal gain of the best point is zero when it is pending, so q-batch values are ordered
    Xq = tensor(np.stack([x_best, x2])[None])
    assert plain(Xq).item() >= max(evaluate(plain, x_best[None])[0], evaluate(plain, x2[None])[0]) - 1e-9


def test_ucb_and_believer(model):
    gp, X, y = model
    Xs = np.random.default_rng(6).random((10, 2))
    m, v = gp.predict(Xs)
    np.testing.assert_allclose(evaluate(UCB(gp, 4.0), Xs), -(m - 2.0 * np.sqrt(v)), rtol=1e-10)
    g2 = believer(gp, Xs[:1])
    m2, v2 = g2.predict(Xs[:1])
    assert v2[0] < 1e-4 * v[0] and m2[0] == pytest.approx(m[0], rel=1e-6)


def test_thompson_sampling_is_a_posterior_draw(model):
    gp, X, y = model
    x = np.array([[0.3, 0.7]])
    m, v = gp.predict(x)
    draws = np.array([-evaluate(ThompsonSampling(gp, np.random.default_rng(s)), x)[0] for s in range(400)])
    assert abs(draws.mean() - m[0]) < 4 * np.sqrt(v[0] / 400) + 1e-3
    assert 0.7 < draws.std() / np.sqrt(v[0]) < 1.3


def test_log_feasibility_and_log_sum(model):
    gp, X, y = model
    g = fit_gp(X, X[:, 0] - 0.5)  # feasible where x0 <= 0.5
    Xs = np.array([[0.1, 0.5], [0.9, 0.5]])
    lf = evaluate(LogFeasibility([g]), Xs)
    assert lf[0] > math.log(0.95) and lf[1] < math.log(0.05)
    both = evaluate(LogSum(LogEI(gp, y.min()), LogFeasibility([g])), Xs)
    np.testing.assert_allclose(both, evaluate(LogEI(gp, y.min()), Xs) + lf, rtol=1e-12)
    with pytest.raises(optkit.InvalidParameterError):
        LogSum(UCB(gp))


class Quadratic:
    """A known acquisition: -(sum of squared distances to a target), larger is better."""

    is_log = False

    def __init__(self, target):
        self.t = torch.tensor(target, dtype=torch.float64)

    def __call__(self, X):
        return -((X - self.t) ** 2).sum(-1).sum(-1)


def test_optimizer_finds_continuous_maximum():
    x, v = optimize_acqf(Quadratic([0.123, 0.987, 0.5]), MixedSpec(3), np.random.default_rng(0), raw_samples=64, n_restarts=3)
    np.testing.assert_allclose(x, [0.123, 0.987, 0.5], atol=1e-5)


def test_optimizer_handles_integer_and_categorical_columns():
    space = optkit.SearchSpace({"x": optkit.Real(0, 1), "k": optkit.Integer(0, 99), "c": optkit.Categorical(list("abcde")),
                                "m": optkit.Integer(1, 5)})
    spec = MixedSpec.from_space(space)
    assert spec.continuous == [0] and spec.integer == [1, 3] and spec.categorical == {2: 5}
    # target: x = 0.31, k = 73, c = "d", m = 2 (the acquisition is smooth in the relaxation)
    target = space.encode(np.array([[0.31, 73, 3, 2]]))[0]
    x, _ = optimize_acqf(Quadratic(target), spec, np.random.default_rng(1), raw_samples=64, n_restarts=3)
    got = space.decode(x[None])[0]
    assert got[1] == 73 and got[2] == 3 and got[3] == 2 and abs(got[0] - 0.31) < 1e-5
    np.testing.assert_array_equal(spec.snap(x[None])[0], x)  # returned points are canonical


def test_snap_and_candidates():
    space = optkit.SearchSpace({"k": optkit.Integer(1, 1000, log=True), "c": optkit.Categorical([1, 2, 3])})
    spec = MixedSpec.from_space(space)
    U = spec.snap(np.array([[0.5, 0.5], [0.0, 1.0]]))
    np.testing.assert_allclose(space.encode(space.decode(U)), U)
    C = spec.candidates(0, U[:, 0])
    assert C.shape == (2, 8)
    C2 = spec.candidates(1, U[:, 1])
    np.testing.assert_allclose(C2[0], [1 / 6, 0.5, 5 / 6])
