import numpy as np
import pytest

import optkit


def test_call_evaluate_and_constraints():
    p = optkit.Problem(lambda x: float(x @ x), optkit.Box(-1, 1, dim=2), constraints=[lambda x: x[0] - 0.5])
    assert p(np.array([0.5, 0.5])) == 0.5
    np.testing.assert_array_equal(p.evaluate([[1, 0], [0, 0]]), [1.0, 0.0])
    np.testing.assert_array_equal(p.evaluate_constraints([[1, 0], [0, 0]]), [[0.5], [-0.5]])


def test_records_catch_failures_with_messages():
    def f(x):
        if x[0] > 0:
            raise ValueError("boom")
        return float("inf") if x[1] > 0 else 1.0

    p = optkit.Problem(f, optkit.Box(-1, 1, dim=2))
    rec = p.evaluate_records([[0.5, 0], [-0.5, 0.5], [-0.5, -0.5]])
    assert "ValueError: boom" in rec.error[0]
    assert "non-finite" in rec.error[1]
    assert rec.error[2] is None and rec.y[2] == 1.0
    assert rec.failed.tolist() == [True, True, False]


def test_maximize_flips_sign_once():
    p = optkit.Problem(lambda x: -float((x - 0.2) @ (x - 0.2)), optkit.Box(-1, 1, dim=2), maximize=True)
    assert p(np.array([0.2, 0.2])) == 0.0  # plain calls return the user's objective
    res = optkit.minimize(p, method="nelder-mead", budget=300, seed=0)
    assert res.fun == pytest.approx(0.0, abs=1e-8)  # the maximum, in the user's sign
    np.testing.assert_allclose(res.x, [0.2, 0.2], atol=1e-4)
    assert np.all(np.diff(res.best_so_far[np.isfinite(res.best_so_far)]) >= 0)


def test_search_space_objective_receives_a_dict():
    space = optkit.SearchSpace({"x": optkit.Real(-2, 2), "n": optkit.Integer(1, 4), "c": optkit.Categorical(["a", "b"])})
    seen = []

    def f(p):
        seen.append(p)
        return (p["x"] - 1) ** 2 + p["n"] + (0 if p["c"] == "b" else 3)

    res = optkit.minimize(f, space=space, method="random", budget=200, seed=0)
    assert isinstance(seen[0], dict) and isinstance(seen[0]["n"], int)
    best = space.to_dict(res.x)
    assert best["n"] == 1 and best["c"] == "b" and abs(best["x"] - 1) < 0.7


def test_vectorized_problem():
    p = optkit.Problem(lambda X: (X ** 2).sum(axis=1), optkit.Box(-1, 1, dim=3), vectorized=True)
    res = optkit.minimize(p, method="sobol", budget=64, seed=0, batch=16)
    assert res.nfev == 64 and res.nit == 4


@pytest.mark.parametrize("kwargs,match", [
    (dict(fun=3), "'fun' must be callable"),
    (dict(on_error="ignore"), "'on_error' must be one of"),
    (dict(constraints=[1]), r"'constraints\[0\]' must be callable"),
])
def test_problem_validation(kwargs, match):
    args = dict(fun=lambda x: 0.0, space=optkit.Box(0, 1, dim=2)) | kwargs
    with pytest.raises(optkit.InvalidParameterError, match=match):
        optkit.Problem(args.pop("fun"), args.pop("space"), **args)
