"""piBO: flat prior = plain BO, validation of the prior spec, and an accurate prior speeding the search."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import optkit  # noqa: E402
from optkit.bayesopt.pibo import Prior  # noqa: E402

FAST = {"n_restarts": 4, "raw_samples": 256, "mc_samples": 64}


def ackley(x):
    x = np.asarray(x)
    return float(-20 * np.exp(-0.2 * np.sqrt(np.mean(x**2))) - np.exp(np.mean(np.cos(2 * np.pi * x))) + 20 + np.e)


def sphere(x):
    return float(np.sum((np.asarray(x) - 0.3) ** 2))


def test_no_prior_is_plain_bo():
    box = optkit.Box(-1.0, 1.0, dim=2)
    a = optkit.minimize(optkit.Problem(sphere, box), method="bo", budget=12, seed=3, **FAST)
    b = optkit.minimize(optkit.Problem(sphere, box), method="pibo", budget=12, seed=3, **FAST)
    np.testing.assert_array_equal(a.history.X, b.history.X)


def test_flat_prior_gives_the_same_suggestion_as_ei():
    box = optkit.Box(-1.0, 1.0, dim=2)
    rng = np.random.default_rng(0)
    Xw = rng.uniform(-1, 1, size=(8, 2))
    ws = {"X": Xw.tolist(), "y": [sphere(x) for x in Xw]}
    flat = {"type": "box", "lower": [-1.0, -1.0], "upper": [1.0, 1.0], "weight": 0.5}  # the whole space: constant
    bo = optkit.make("bo", box, seed=1, warm_start=ws, **FAST)
    pibo = optkit.make("pibo", box, seed=1, warm_start=ws, prior=flat, **FAST)
    np.testing.assert_array_equal(bo.ask(), pibo.ask())
    wide = {"type": "gaussian", "mean": [0.0, 0.0], "std": [1e6, 1e6]}  # numerically flat
    pibo2 = optkit.make("pibo", box, seed=1, warm_start=ws, prior=wide, **FAST)
    bo2 = optkit.make("bo", box, seed=1, warm_start=ws, **FAST)
    np.testing.assert_allclose(bo2.ask(), pibo2.ask(), atol=1e-6)


def test_accurate_prior_speeds_up_the_search():
    bounds = [(-32.768, 32.768)] * 3
    prior = {"type": "gaussian", "mean": [1.0, -1.0, 0.5], "std": [4.0, 4.0, 4.0]}  # optimum at 0
    plain = optkit.minimize(ackley, bounds, method="bo", budget=15, seed=0, **FAST)
    guided = optkit.minimize(ackley, bounds, method="pibo", budget=15, seed=0, prior=prior, **FAST)
    assert guided.best_so_far[9] < 0.6 * plain.best_so_far[9]
    assert guided.fun < 0.6 * plain.fun


def test_initial_design_is_drawn_from_the_prior():
    box = optkit.Box(0.0, 10.0, dim=2)
    prior = {"type": "gaussian", "mean": [2.0, 8.0], "std": [0.5, 0.5]}
    opt = optkit.make("pibo", box, seed=0, prior=prior, n_init=16)
    X = opt.ask(16)
    np.testing.assert_allclose(X.mean(0), [2.0, 8.0], atol=0.3)
    assert 0.3 < X[:, 0].std() < 0.7
    boxp = {"type": "box", "lower": [0.0, 0.0], "upper": [1.0, 1.0], "weight": 0.9}
    X = optkit.make("pibo", box, seed=0, prior=boxp, n_init=40).ask(40)
    assert np.mean(np.all(X <= 1.0, axis=1)) > 0.7


@pytest.mark.parametrize("prior", [
    {"type": "gaussian", "mean": [100.0, 0.5], "std": [1.0, 1.0]},          # far outside the box
    {"type": "box", "lower": [2.0, 0.0], "upper": [3.0, 1.0]},               # misses the space
    {"type": "gaussian", "mean": [0.5], "std": [1.0]},                       # wrong length
    {"type": "gaussian", "mean": [0.5, 0.5], "std": [0.0, 1.0]},             # std must be > 0
    {"type": "box", "lower": [0.0, 0.0], "upper": [1.0, 1.0], "weight": 1.5},
    {"type": "uniform"},
    {"type": "gaussian", "mean": [0.5, 0.5], "std": [1.0, 1.0], "cov": 1},  # unknown key
])
def test_invalid_priors_rejected(prior):
    with pytest.raises(optkit.InvalidParameterError):
        optkit.make("pibo", optkit.Box(0.0, 1.0, dim=2), prior=prior)


def test_prior_density_in_mixed_spaces():
    space = optkit.SearchSpace({"lr": optkit.Real(1e-4, 1.0, log=True), "k": optkit.Integer(1, 9),
                                "act": optkit.Categorical(["relu", "tanh", "gelu"])})
    spec = {"type": "gaussian", "mean": [1e-2, 4, "tanh"], "std": [1.0, 2.0, 0.6]}
    prior = Prior(spec, space)
    X = np.array([[1e-2, 4, 1], [1e-1, 6, 0], [1e-3, 4, 2]])
    U = torch.tensor(space.encode(X), dtype=torch.float64)
    got = prior.log_density(U).numpy()
    expect = (-0.5 * (np.log(X[:, 0]) - math.log(1e-2)) ** 2 - 0.5 * ((X[:, 1] - 4) / 2.0) ** 2
              + np.log(np.where(X[:, 2] == 1, 0.6, 0.2)))
    np.testing.assert_allclose(got, expect, atol=1e-9)
    opt = optkit.make("pibo", space, seed=0, prior=spec, n_init=4, **FAST)
    for _ in range(3):
        Xa = opt.ask(2)
        opt.tell(Xa, [abs(np.log10(x[0]) + 2) + abs(x[1] - 4) + x[2] for x in Xa])
    assert np.all(space.contains(opt.ask()))
    # box prior over categories and integers
    boxp = Prior({"type": "box", "lower": [1e-3, 2, 0], "upper": [1e-1, 3, 1], "weight": 0.8}, space)
    vol = 0.5 * (2 / 9) * (2 / 3)
    inside = boxp.log_density(torch.tensor(space.encode(np.array([[1e-2, 2, 1]])), dtype=torch.float64)).item()
    assert inside == pytest.approx(math.log(0.8 / vol + 0.2))
