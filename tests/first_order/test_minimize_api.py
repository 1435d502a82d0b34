"""optkit.minimize runs gradient methods on a StochasticProblem."""

import pytest

import optkit


def test_minimize_front_door_takes_a_stochastic_problem():
    p = optkit.problems.get("least_squares")
    res = optkit.minimize(p, method="sps", budget=20000, seed=0)
    assert res.nfev == 20000 and res.fun - p.f_opt < 1e-8


def test_stochastic_problem_without_a_gradient_method_is_a_clear_error():
    p = optkit.problems.get("least_squares")
    with pytest.raises(optkit.InvalidParameterError, match="gradient method"):
        optkit.minimize(p, budget=100)
    with pytest.raises(optkit.InvalidParameterError, match="bounds"):
        optkit.minimize(p, bounds=[(0, 1)] * 5, method="sgd", budget=100)
