"""The GP model against closed-form answers, and its robustness."""

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from optkit.bayesopt._torch import tensor  # noqa: E402
from optkit.bayesopt.models import FIXED_NOISE, GP, fit_gp, matern52  # noqa: E402


def np_matern52(r):
    s5 = math.sqrt(5.0) * r
    return (1 + s5 + s5**2 / 3) * np.exp(-s5)


def np_kernel(A, B, ls, os_, cat=()):
    D = (A[:, None, :] - B[None, :, :]) ** 2
    for j, k in cat:
        D[:, :, j] = (np.floor(A[:, None, j] * k) != np.floor(B[None, :, j] * k)).astype(float)
    return os_ * np_matern52(np.sqrt(D @ (1.0 / np.asarray(ls) ** 2)))


X4 = np.array([[0.1, 0.2], [0.4, 0.9], [0.8, 0.3], [0.55, 0.6]])
Y4 = np.array([1.0, -0.5, 2.0, 0.3])


def closed_form(Xs, X, y, ls, os_, noise, cat=()):
    """Rasmussen & Williams algorithm 2.1 on standardized y, mapped back."""
    mu, sd = y.mean(), y.std()
    ys = (y - mu) / sd
    K = np_kernel(X, X, ls, os_, cat) + noise * np.eye(len(X))
    ks = np_kernel(Xs, X, ls, os_, cat)
    mean = ks @ np.linalg.solve(K, ys)
    cov = np_kernel(Xs, Xs, ls, os_, cat) - ks @ np.linalg.solve(K, ks.T)
    return mu + sd * mean, sd**2 * cov


def test_posterior_matches_closed_form():
    ls, os_, noise = [0.3, 0.5], 1.3, 1e-4
    gp = GP(X4, Y4, lengthscale=ls, outputscale=os_, noise=noise)
    Xs = np.array([[0.0, 0.0], [0.4, 0.9], [0.5, 0.5], [0.9, 0.1]])
    m_ref, C_ref = closed_form(Xs, X4, Y4, ls, os_, noise)
    m, v = gp.predict(Xs)
    np.testing.assert_allclose(m, m_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(v, np.diag(C_ref), rtol=1e-8, atol=1e-12)
    mt, Ct = gp.posterior(tensor(Xs), full_cov=True)
    np.testing.assert_allclose(Ct.numpy(), C_ref, rtol=1e-8, atol=1e-12)
    # a batch of q-batches gives the same numbers
    mb, vb = gp.posterior(tensor(Xs.reshape(2, 2, 2)))
    np.testing.assert_allclose(mb.numpy().reshape(-1), m_ref, rtol=1e-10)
    # cross covariance between two sets
    cross = gp.posterior_cross(tensor(Xs[:2]), tensor(Xs[2:])).numpy()
    np.testing.assert_allclose(cross, C_ref[:2, 2:], rtol=1e-8, atol=1e-12)


def test_interpolates_with_fixed_noise():
    gp = GP(X4, Y4, lengthscale=[0.3, 0.5], outputscale=1.0, noise=FIXED_NOISE)
    m, v = gp.predict(X4)
    np.testing.assert_allclose(m, Y4, atol=1e-4)
    assert np.all(v < 1e-5 * Y4.var())


def test_categorical_hamming_kernel():
    X = np.array([[0.1, 1 / 6], [0.3, 0.5], [0.7, 5 / 6], [0.2, 0.45]])  # column 1: 3 categories
    y = np.array([0.0, 1.0, 0.5, 2.0])
    gp = GP(X, y, lengthscale=[0.4, 0.7], outputscale=1.0, noise=1e-3, categorical={1: 3})
    K = gp.kernel(tensor(X), tensor(X)).numpy()
    np.testing.assert_allclose(K, np_kernel(X, X, [0.4, 0.7], 1.0, cat=[(1, 3)]), rtol=1e-12)
    # points 1 and 3 share category 1: only the continuous distance counts
    r = abs(0.3 - 0.2) / 0.4
    assert K[1, 3] == pytest.approx(np_matern52(r))
    Xs = np.array([[0.25, 0.4], [0.25, 0.9]])
    m_ref, C_ref = closed_form(Xs, X, y, [0.4, 0.7], 1.0, 1e-3, cat=[(1, 3)])
    m, v = gp.predict(Xs)
    np.testing.assert_allclose(m, m_ref, rtol=1e-9)
    np.testing.assert_allclose(v, np.diag(C_ref), rtol=1e-8)


def test_matern_gradient_finite_at_zero_and_correct():
    s = torch.tensor([0.0, 0.3, 2.0], dtype=torch.float64, requires_grad=True)
    matern52(s).sum().backward()
    r = np.sqrt(5 * np.array([0.0, 0.3, 2.0]))
    np.testing.assert_allclose(s.grad.numpy(), -5 / 6 * (1 + r) * np.exp(-r), rtol=1e-12)
    gp = GP(X4, Y4, lengthscale=[0.3, 0.5], outputscale=1.3, noise=1e-4)
    x = torch.tensor([[0.33, 0.44], [0.4, 0.9]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z: gp.posterior(z)[0], (x,))
    assert torch.autograd.gradcheck(lambda z: gp.posterior(z)[1], (x,))


def test_fit_recovers_relevant_dimension():
    rng = np.random.default_rng(0)
    X = rng.random((30, 3))
    y = np.sin(6 * X[:, 0])  # only the first column matters
    gp = fit_gp(X, y)
    assert gp.fit_info == "fitted"
    assert gp.lengthscale[0] < 1.0 and gp.lengthscale[1] > 3 * gp.lengthscale[0] and gp.lengthscale[2] > 3 * gp.lengthscale[0]
    Xt = rng.random((200, 3))
    m, _ = gp.predict(Xt)
    assert np.sqrt(np.mean((m - np.sin(6 * Xt[:, 0])) ** 2)) < 0.05
    # deterministic given the data; the previous fit as init gives (nearly) the same optimum
    gp2 = fit_gp(X, y)
    np.testing.assert_array_equal(gp.lengthscale, gp2.lengthscale)
    gp3 = fit_gp(X, y, init=gp.hyperparameters())
    np.testing.assert_allclose(gp3.lengthscale, gp.lengthscale, rtol=1e-2)


def test_noise_inferred_on_noisy_data():
    rng = np.random.default_rng(1)
    X = rng.random((60, 1))
    y = np.sin(6 * X[:, 0]) + 0.3 * rng.standard_normal(60)
    gp = fit_gp(X, y, noise="infer")
    noise_var = gp.noise * gp.y_std**2
    assert 0.03 < noise_var < 0.2  # truth 0.09
    gp_fixed = fit_gp(X, y, noise=0.5)
    assert gp_fixed.noise == 0.5


@pytest.mark.parametrize("case", ["duplicates", "constant", "duplicates+constant", "single", "clustered"])
def test_cholesky_hostile_data_is_handled_quietly(case, recwarn):
    rng = np.random.default_rng(2)
    if case == "duplicates":
        X = np.repeat(rng.random((3, 2)), 4, axis=0)
        y = np.repeat([1.0, 2.0, 3.0], 4) + 1e-9 * rng.standard_normal(12)  # near-duplicates, conflicting
    elif case == "constant":
        X, y = rng.random((8, 2)), np.full(8, 5.0)
    elif case == "duplicates+constant":
        X, y = np.zeros((10, 2)), np.ones(10)
    elif case == "single":
        X, y = rng.random((1, 2)), np.array([3.0])
    else:
        X = 0.5 + 1e-7 * rng.standard_normal((20, 2))
        y = rng.standard_normal(20)
    for noise in ("fixed", "infer"):
        gp = fit_gp(X, y, noise=noise)
        m, v = gp.predict(np.vstack([X[:2], rng.random((5, 2))]))
        assert np.all(np.isfinite(m)) and np.all(np.isfinite(v)) and np.all(v >= 0)
    assert not [w for w in recwarn.list if "optkit" in str(w.filename) or "torch" in str(w.filename)]


def test_extreme_fixed_hyperparameters_get_jitter():
    X = np.vstack([X4, X4 + 1e-12])
    y = np.concatenate([Y4, Y4 + 1.0])  # duplicates with different values and no noise
    gp = GP(X, y, lengthscale=[10.0, 10.0], outputscale=1.0, noise=0.0)
    m, v = gp.predict(X4)
    assert np.all(np.isfinite(m))


def test_condition_on_believer_keeps_mean_and_shrinks_variance():
    gp = fit_gp(X4, Y4)
    P = np.array([[0.5, 0.1]])
    m0, v0 = gp.predict(P)
    gp2 = gp.condition_on(P, m0)
    m1, v1 = gp2.predict(P)
    np.testing.assert_allclose(m1, m0, rtol=1e-6)
    assert v1[0] < 1e-4 * v0[0]
    assert gp2.n == gp.n + 1 and gp2.y_std == gp.y_std


def test_joint_samples_and_paths_match_the_posterior():
    gp = GP(X4, Y4, lengthscale=[0.3, 0.5], outputscale=1.3, noise=1e-4)
    Xs = np.array([[0.0, 0.0], [0.5, 0.5], [0.52, 0.5], [0.9, 0.1]])
    m_ref, C_ref = closed_form(Xs, X4, Y4, [0.3, 0.5], 1.3, 1e-4)
    rng = np.random.default_rng(3)
    S = gp.sample(Xs, 20000, rng)
    np.testing.assert_allclose(S.mean(0), m_ref, atol=0.05 * np.sqrt(np.diag(C_ref)).max())
    np.testing.assert_allclose(np.cov(S.T), C_ref, atol=0.05 * C_ref.max())
    paths = gp.sample_paths(4000, rng, n_features=2048)
    F = paths(tensor(Xs)).numpy()  # (P, m)
    assert F.shape == (4000, 4)
    np.testing.assert_allclose(F.mean(0), m_ref, atol=0.1 * np.sqrt(np.diag(C_ref)).max())
    np.testing.assert_allclose(np.cov(F.T), C_ref, atol=0.1 * C_ref.max())
    # near the data a path interpolates the observations
    np.testing.assert_allclose(paths(tensor(X4)).numpy()[:5], np.tile(Y4, (5, 1)), atol=0.05)


def test_random_features_reproduce_the_matern_kernel():
    gp = GP(X4, Y4, lengthscale=[0.3, 0.5], outputscale=1.0, noise=1e-4)
    paths = gp.sample_paths(20000, np.random.default_rng(4), n_features=4096)
    A = np.array([[0.1, 0.1], [0.3, 0.2], [0.6, 0.7]])
    F = paths.prior(tensor(A)).numpy()  # (P, 3), zero-mean prior draws
    K = np_kernel(A, A, [0.3, 0.5], 1.0)
    np.testing.assert_allclose(F.T @ F / F.shape[0], K, atol=0.04)


def test_user_rng_and_torch_state_untouched():
    np.random.seed(5)
    before_np = np.random.get_state()[1].copy()
    before_t = torch.random.get_rng_state().clone()
    gp = fit_gp(np.random.default_rng(0).random((12, 2)), np.arange(12.0))
    gp.sample(X4, 10, np.random.default_rng(0))
    gp.sample_paths(3, np.random.default_rng(0))(tensor(X4))
    np.testing.assert_array_equal(np.random.get_state()[1], before_np)
    assert torch.equal(torch.random.get_rng_state(), before_t)
    assert torch.get_default_dtype() == torch.float32


def test_bad_input_is_a_clear_error():
    from optkit.core.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError):
        fit_gp(X4, Y4[:3])
    with pytest.raises(InvalidParameterError):
        fit_gp(X4, Y4, noise="loud")
    with pytest.raises(InvalidParameterError):
        fit_gp(X4, Y4, categorical={5: 3})
    with pytest.raises(InvalidParameterError):
        GP(X4, np.array([1.0, np.nan, 0, 0]), lengthscale=1.0, outputscale=1.0, noise=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_gp(X4, Y4)
