"""ZO-SGD, ZO-signSGD and ZO-Adam: hand-derived steps, known optima, the box, the protocol, bad input."""

import numpy as np
import pytest

import optkit
from optkit import InvalidParameterError
from optkit.problems.zo import adversarial_digits

C = np.array([0.5, -1.0, 2.0])
BOX = optkit.Box(-3.0, 3.0, dim=3)
X0 = np.array([1.0, 1.0, -1.0])


def quad(P):
    D = np.atleast_2d(P) - C
    return np.sum(D * D, axis=1)


def one_step(name, x0=X0, **params):
    """One ask/tell round with central differences (exact on the quadratic): the iterate after it."""
    opt = optkit.make(name, BOX, x0=x0, estimator="central", seed=0, **params)
    P = opt.ask()
    assert P.shape == (6, 3)
    opt.tell(P, quad(P))
    return opt


def test_zo_sgd_step_is_the_gradient_step():
    opt = one_step("zo-sgd", lr=0.1)
    np.testing.assert_allclose(opt.iterate, X0 - 0.1 * 2 * (X0 - C), rtol=1e-9)


def test_zo_signsgd_step_is_the_sign_step():
    opt = one_step("zo-signsgd", lr=0.25)
    np.testing.assert_allclose(opt.iterate, X0 - 0.25 * np.sign(X0 - C), rtol=1e-12)


def test_zo_adam_first_two_steps():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    opt = one_step("zo-adam", lr=lr)
    g0 = 2 * (X0 - C)
    x1 = X0 - lr * g0 / (np.abs(g0) + eps)  # bias-corrected m = g, v = g^2 on the first step
    np.testing.assert_allclose(opt.iterate, x1, rtol=1e-8)
    P = opt.ask()
    opt.tell(P, quad(P))
    g1 = 2 * (x1 - C)
    m = b1 * (1 - b1) * g0 + (1 - b1) * g1
    v = b2 * (1 - b2) * g0**2 + (1 - b2) * g1**2
    v_hat = np.maximum(g0**2, v / (1 - b2**2))  # the AMSGrad maximum
    x2 = x1 - lr * (m / (1 - b1**2)) / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(opt.iterate, x2, rtol=1e-7)


def test_two_rounds_asked_at_once_are_applied_in_order():
    opt = optkit.make("zo-sgd", BOX, x0=X0, estimator="central", lr=0.1, seed=0)
    P = opt.ask(12)  # two rounds, both at x0: the second one's estimate is applied after the first (asynchronous)
    g0 = 2 * (X0 - C)
    opt.tell(P[:6], quad(P[:6]))
    np.testing.assert_allclose(opt.iterate, X0 - 0.1 * g0, rtol=1e-9)
    opt.tell(P[6:], quad(P[6:]))
    np.testing.assert_allclose(opt.iterate, X0 - 0.2 * g0, rtol=1e-9)
    assert opt.t_ == 2


@pytest.mark.parametrize("name,params", [
    ("zo-sgd", {"lr": 0.1}),
    ("zo-sgd", {"lr": 0.1, "estimator": "sphere", "n_directions": 3}),
    ("zo-sgd", {"lr": 0.1, "estimator": "forward"}),
    ("zo-signsgd", {"lr": 0.1, "lr_decay": 0.5, "n_directions": 4}),
    ("zo-adam", {"lr": 0.1}),
])
def test_reaches_the_known_optimum(name, params):
    problem = optkit.Problem(quad, BOX, vectorized=True, f_opt=0.0)
    res = optkit.make(name, BOX, seed=3, **params).minimize(problem, 2400)
    tol = 2e-2 if name == "zo-signsgd" else 1e-4  # sign steps of length lr_t = 0.1 / sqrt(t + 1): 0.006 at the end
    assert np.max(np.abs(res.x_iterate - C)) < tol, res.x_iterate
    assert res.nfev == 2400 and res.n_steps * optkit.make(name, BOX, **params).batch_size == 2400


def test_optimum_outside_the_box_is_reached_on_its_face():
    target = np.array([0.5, -5.0, 4.0])  # clip(target) = (0.5, -3, 3)
    problem = optkit.Problem(lambda P: np.sum((np.atleast_2d(P) - target) ** 2, axis=1), BOX, vectorized=True)
    # central differences: exact, so this is projected gradient descent (a random estimate keeps a noise floor
    # proportional to the gradient, which does not vanish at a constrained optimum)
    res = optkit.make("zo-sgd", BOX, lr=0.05, estimator="central", seed=0).minimize(problem, 1500)
    np.testing.assert_allclose(res.x_iterate, [0.5, -3.0, 3.0], atol=1e-8)
    assert np.all(BOX.contains(res.history.X))


def test_cge_mask_moves_only_its_coordinates():
    problem = optkit.Problem(quad, BOX, vectorized=True)
    opt = optkit.make("zo-sgd", BOX, x0=X0, estimator="forward", mask=[0, 2], lr=0.1, seed=0)
    assert opt.batch_size == 3
    res = opt.minimize(problem, 600)
    np.testing.assert_allclose(res.x_iterate[[0, 2]], C[[0, 2]], atol=1e-4)
    assert res.x_iterate[1] == X0[1]


def test_forgotten_points_leave_out_their_pair():
    opt = optkit.make("zo-sgd", BOX, x0=X0, estimator="gaussian", n_directions=2, lr=0.1, seed=0)
    P = opt.ask()
    opt.forget(P[1:2])  # the + point of direction 2
    opt.tell(np.delete(P, 1, axis=0), quad(np.delete(P, 1, axis=0)))
    mu = opt.estimator_.smoothing
    u = (P[0] - X0) / mu
    g = (quad(P[0])[0] - quad(P[2])[0]) / (2 * mu) * u
    np.testing.assert_allclose(opt.iterate, X0 - 0.1 * g, rtol=1e-6)


def test_lr_decay():
    opt = optkit.make("zo-sgd", BOX, lr=0.2, lr_decay=0.5)
    opt.t_ = 3
    assert opt.learning_rate() == pytest.approx(0.1)


def test_black_box_attack_fools_the_classifier():
    problem = adversarial_digits()  # eps 0.2, kappa 1: f_opt = -1 (known in closed form: a linear margin)
    assert problem.f_opt == -1.0 and problem(problem.x_opt) == -1.0 and problem(problem.x_clean) > 1
    res = optkit.make("zo-adam", problem.space, x0=problem.x_clean, lr=0.01, seed=0).minimize(problem, 600)
    assert res.fun == pytest.approx(-1.0) and problem.fooled(res.x)
    assert np.all(np.abs(res.x - problem.x_clean) <= 0.2 + 1e-12)


def test_bad_input_is_named():
    with pytest.raises(InvalidParameterError, match="'x0'.*inside the box"):
        optkit.make("zo-sgd", BOX, x0=[0.0, 0.0, 4.0])
    with pytest.raises(InvalidParameterError, match="'x0'"):
        optkit.make("zo-adam", BOX, x0=[0.0, 0.0])
    for bad in (0.0, -0.1):
        with pytest.raises(InvalidParameterError, match="'smoothing'"):
            optkit.make("zo-signsgd", BOX, smoothing=bad)
    with pytest.raises(InvalidParameterError, match="'lr'"):
        optkit.make("zo-sgd", BOX, lr=0)
    with pytest.raises(InvalidParameterError, match="'mask'"):
        optkit.make("zo-sgd", BOX, mask=[0])  # the default estimator is random
    with pytest.raises(InvalidParameterError, match="'mask'"):
        optkit.make("zo-sgd", BOX, estimator="forward", mask=[0, 5])
    with pytest.raises(InvalidParameterError, match="'n_directions'"):
        optkit.make("zo-adam", BOX, estimator="central", n_directions=2)
    with pytest.raises(InvalidParameterError, match="'estimator'"):
        optkit.make("zo-sgd", BOX, estimator="spsa")
    unbounded = optkit.Box(-np.inf, np.inf, dim=2)
    with pytest.raises(InvalidParameterError, match="'smoothing'"):
        optkit.make("zo-sgd", unbounded, x0=[0.0, 0.0])
    opt = optkit.make("zo-sgd", unbounded, x0=[1.0, 1.0], smoothing=1e-4, lr=0.1, seed=0)
    res = opt.minimize(optkit.Problem(lambda x: float(x @ x), unbounded), 600)
    assert res.fun < 1e-6


def test_journal_resume_continues_exactly(tmp_path):
    problem = optkit.problems.get("sphere", 4)
    params = {"estimator": "forward", "mask": np.array([True, False, True, True]), "lr": 0.1, "seed": 0}
    optkit.make("zo-adam", problem.space, **params).minimize(problem, 300, journal=tmp_path / "run.sqlite")
    resumed = optkit.resume(tmp_path / "run.sqlite", problem, budget=600)
    full = optkit.make("zo-adam", problem.space, **params).minimize(problem, 600)
    assert np.array_equal(resumed.history.X, full.history.X) and resumed.fun == full.fun
    assert np.all(resumed.history.X[:, 1] == full.history.X[0, 1])  # the coordinate outside the mask never moves
