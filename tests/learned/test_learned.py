"""Learned optimizers: hand-computed updates, weight files, the shipped weights, meta-training."""

import numpy as np
import pytest

import optkit
from optkit.learned import _net, load_weights, n_params, save_weights
from optkit.learned.math_l2o import coefficients
from optkit.learned.meta import meta_loss, meta_train
from optkit.learned.mlp_lopt import EXP_MULT, STEP_MULT
from optkit.learned.tasks import sample_tasks
from optkit.problems.ml import least_squares

H = _net.DEFAULT_HIDDEN


def _tiny():
    """Three examples in R^2, full batch, w0 = (1, -1): 1/(2n) ||A w - b||^2."""
    A = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    b = np.array([1.0, 0.0, 2.0])

    def lg(w, idx=None):
        r = A @ w - b
        return 0.5 * float(r @ r) / 3, A.T @ r / 3

    return optkit.StochasticProblem(lambda w, i: lg(w)[0], lambda w, i: lg(w)[1], 3, [1.0, -1.0], loss_and_grad=lg), lg


def _theta(W1=None, b1=None, W2=None, b2=None):
    return _net.pack(np.zeros((12, H)) if W1 is None else W1, np.zeros(H) if b1 is None else b1,
                     np.zeros((H, 2)) if W2 is None else W2, np.zeros(2) if b2 is None else b2)


def test_n_params_and_pack_round_trip():
    assert n_params() == 12 * 8 + 8 + 8 * 2 + 2 == 122
    th = np.arange(n_params(), dtype=float)
    assert np.array_equal(_net.pack(*_net.unpack(th, H)), th)


def test_mlp_zero_hidden_weights_give_a_constant_step():
    p, _ = _tiny()
    # W1 = 0: the hidden layer is relu(b1); d = relu(b1) @ W2[:, 0] + b2[0], a = relu(b1) @ W2[:, 1] + b2[1]
    b1 = np.array([1.0, -2.0, 0.5, 0, 0, 0, 0, 0])
    W2 = np.zeros((H, 2))
    W2[0] = (2.0, 0.3)
    W2[1] = (5.0, 5.0)       # its unit is dead (relu(-2) = 0)
    W2[2] = (-1.0, 0.4)
    b2 = np.array([0.1, -0.2])
    d, a = 2.0 - 0.5 + 0.1, 0.3 + 0.2 - 0.2
    step = STEP_MULT * d * np.exp(EXP_MULT * a)
    res = optkit.make("learned-mlp", p.space, weights=_theta(b1=b1, W2=W2, b2=b2), batch_size=None).minimize(p, 3 * 3)
    X = res.history.X
    assert np.allclose(X[1], X[0] - step) and np.allclose(X[2], X[1] - step) and np.allclose(res.x, X[2] - step)


def test_mlp_gradient_unit_by_hand():
    p, lg = _tiny()
    W1 = np.zeros((12, H))
    W1[0, 0] = 1.0           # hidden unit 0 = relu(g_i / rms(g))
    W1[0, 1] = -1.0          # hidden unit 1 = relu(-g_i / rms(g))
    W2 = np.zeros((H, 2))
    W2[0, 0], W2[1, 0] = 1.0, -1.0   # d = g_i / rms(g): a normalized gradient step
    res = optkit.make("learned-mlp", p.space, weights=_theta(W1=W1, W2=W2), batch_size=None).minimize(p, 3)
    g = lg(np.array([1.0, -1.0]))[1]      # (-2/3, -5/3)
    expected = np.array([1.0, -1.0]) - STEP_MULT * g / np.sqrt(np.mean(g * g))
    assert np.allclose(res.x, expected, rtol=1e-12)


def test_math_zero_weights_is_gradient_descent():
    p, lg = _tiny()
    res = optkit.make("learned-math", p.space, weights=np.zeros(n_params()), lr=0.3, batch_size=None).minimize(p, 3 * 20)
    w = np.array([1.0, -1.0])
    for _ in range(20):
        w = w - 0.3 * lg(w)[1]
    assert np.allclose(res.x, w, rtol=1e-12, atol=1e-14)


def test_math_constant_accelerator_is_nesterov():
    p, lg = _tiny()
    beta = 0.6
    th = _theta(b2=np.array([0.0, np.arctanh(beta)]))
    res = optkit.make("learned-math", p.space, weights=th, lr=0.4, batch_size=None).minimize(p, 3 * 15)
    x = z = np.array([1.0, -1.0])
    for _ in range(15):
        z_new = x - 0.4 * lg(x)[1]
        x, z = z_new + beta * (z_new - z), z_new
    assert np.allclose(res.x, x, rtol=1e-10)


def test_math_coefficients_ranges():
    rng = np.random.default_rng(0)
    P, A = coefficients(rng.standard_normal(n_params()) * 5, H, rng.standard_normal((50, 12)))
    assert np.all((P > 0) & (P <= 2)) and np.all(np.abs(A) <= 1)  # (0, 2) and (-1, 1), closed by rounding


def test_weight_file_round_trip(tmp_path):
    th = np.random.default_rng(1).standard_normal(n_params()) * 0.1
    path = tmp_path / "w.npz"
    save_weights(path, th, kind="mlp", info={"note": "test"})
    got = load_weights(path)
    assert got["kind"] == "mlp" and got["hidden"] == H and np.array_equal(got["theta"], th) and got["info"] == {"note": "test"}
    p = least_squares(n=40, dim=3, condition=10.0, seed=3)
    a = optkit.make("learned-mlp", p.space, weights=str(path), seed=2).minimize(p, 400)
    b = optkit.make("learned-mlp", p.space, weights=th, seed=2).minimize(least_squares(n=40, dim=3, condition=10.0, seed=3), 400)
    assert np.array_equal(a.history.X, b.history.X)


def test_bad_weights_rejected(tmp_path):
    space = optkit.Box(-1, 1, dim=3)
    with pytest.raises(optkit.InvalidParameterError, match="'weights'"):
        optkit.make("learned-mlp", space, weights=np.zeros(5))
    with pytest.raises(optkit.InvalidParameterError, match="'weights'"):
        optkit.make("learned-math", space, weights=str(tmp_path / "missing.npz"))
    path = tmp_path / "m.npz"
    save_weights(path, np.zeros(n_params()), kind="mlp")
    with pytest.raises(optkit.InvalidParameterError, match="kind 'mlp'"):
        optkit.make("learned-math", space, weights=path)
    with pytest.raises(optkit.InvalidParameterError, match="'lr'"):
        optkit.make("learned-math", space, lr=0.0)


@pytest.mark.parametrize("name", ["learned-mlp", "learned-math"])
def test_shipped_weights_decrease_a_held_out_quadratic(name):
    info = load_weights(_net.DATA / ("mlp_lopt.npz" if name == "learned-mlp" else "math_l2o.npz"))
    assert info["info"]["seed"] == 0 and info["info"]["meta_loss"] < info["info"]["initial_meta_loss"]
    assert (_net.DATA / "mlp_lopt.npz").stat().st_size < 100_000
    p = least_squares(n=400, dim=50, condition=200.0, noise=0.0, seed=987654)  # d = 50: outside the training dims
    f0 = p.objective(p.w0)
    res = optkit.make(name, p.space, seed=0).minimize(p, 300 * 32)
    assert res.success and res.fun < 1e-2 * f0


def test_meta_training_improves_the_meta_loss_quickly():
    out = meta_train("mlp", n_tasks=2, steps=20, budget=60, dims=(3, 6), seed=1)
    assert out["meta_loss"] < out["initial_meta_loss"] - 0.05
    tasks = sample_tasks(2, 1, dims=(3, 6))
    assert meta_loss("mlp", out["theta"], tasks, 20, seed=1) == pytest.approx(out["meta_loss"], abs=1e-12)
    again = meta_train("mlp", n_tasks=2, steps=20, budget=60, dims=(3, 6), seed=1)
    assert np.array_equal(again["theta"], out["theta"])


def test_meta_train_writes_a_loadable_file(tmp_path):
    path = tmp_path / "math.npz"
    out = meta_train("math", n_tasks=1, steps=5, budget=6, dims=(3, 3), seed=0, out=path)
    got = load_weights(path)
    assert got["kind"] == "math" and np.array_equal(got["theta"], out["theta"]) and got["info"]["budget"] == 6
    with pytest.raises(optkit.InvalidParameterError, match="'kind'"):
        meta_train("lstm", budget=2)


def test_logistic_task_gradient_and_scaling():
    from optkit.learned.tasks import logistic_task

    p = logistic_task(64, 6, 100.0, seed=3)
    w = np.random.default_rng(0).standard_normal(6)
    g = p.grad(w)
    eps = 1e-6
    fd = np.array([(p.objective(w + eps * e) - p.objective(w - eps * e)) / (2 * eps) for e in np.eye(6)])
    assert np.allclose(g, fd, atol=1e-8)
    X = p._lg.__self__.X
    assert np.linalg.eigvalsh(X.T @ X / 64)[-1] == pytest.approx(4.0)   # L <= 1/4 * 4 + l2


def test_meta_train_through_other_registry_strategies():
    for method in ("snes", "cmaes"):
        out = meta_train("math", n_tasks=1, steps=5, budget=8, dims=(3, 3), seed=0, method=method, popsize=4)
        assert out["info"]["method"] == method and out["meta_loss"] <= out["initial_meta_loss"]
