import numpy as np
import pytest

import optkit
from optkit.core.space import as_space, space_from_json


def test_box_validation_names_the_problem():
    with pytest.raises(optkit.InvalidParameterError, match="dimension 1 has lower=3.0 >= upper=2.0"):
        optkit.Box([0, 3], [1, 2])
    with pytest.raises(optkit.InvalidParameterError, match="NaN"):
        optkit.Box([0, np.nan], [1, 2])
    with pytest.raises(optkit.InvalidParameterError, match="same length"):
        optkit.Box([0, 0], [1, 1, 1])
    with pytest.raises(ValueError):  # OptkitErrors are ValueErrors too
        optkit.Box(1, 0, dim=2)


def test_box_broadcast_and_contains():
    b = optkit.Box(-1, 2, dim=3)
    assert b.dim == 3 and np.all(b.lower == -1) and np.all(b.upper == 2)
    assert b.contains([[0, 0, 0], [3, 0, 0]]).tolist() == [True, False]
    assert repr(b) == "Box(-1, 2, dim=3)"


def test_as_space_accepts_scipy_style_bounds():
    from scipy.optimize import Bounds

    assert as_space(bounds=[(0, 1), (2, 3)]) == optkit.Box([0, 2], [1, 3])
    assert as_space(Bounds([0, 0], [1, 1])) == optkit.Box([0, 0], [1, 1])
    with pytest.raises(optkit.InvalidParameterError, match="pairs"):
        as_space(bounds=[1, 2, 3])


def test_search_space_round_trip_through_unit_cube():
    s = optkit.SearchSpace({"lr": optkit.Real(1e-4, 1.0, log=True), "k": optkit.Integer(2, 9),
                            "act": optkit.Categorical(["relu", "tanh", "gelu"])})
    rng = np.random.default_rng(0)
    X = s.sample(500, rng)
    assert np.all(s.contains(X))
    assert set(np.unique(X[:, 1])) == set(range(2, 10))  # every integer reachable
    assert set(np.unique(X[:, 2])) == {0.0, 1.0, 2.0}
    np.testing.assert_allclose(s.decode(s.encode(X)), X)
    # log scale: the median of uniform samples in the unit cube is the geometric midpoint 1e-2
    assert abs(np.median(np.log10(X[:, 0])) + 2) < 0.25  # (standard error ~0.065)
    d = s.to_dict(X[0])
    assert isinstance(d["k"], int) and d["act"] in ("relu", "tanh", "gelu")
    np.testing.assert_array_equal(s.from_dict(d), X[0])
    assert space_from_json(s.to_json()) == s


def test_integer_buckets_are_uniform():
    k = optkit.Integer(0, 3)
    u = np.linspace(0, 1, 4001)
    counts = np.bincount(k.from_unit(u).astype(int))
    assert counts.min() >= 999 and counts.max() <= 1002


@pytest.mark.parametrize("bad", [lambda: optkit.Real(1, 1), lambda: optkit.Real(0, 1, log=True),
                                 lambda: optkit.Integer(3, 2), lambda: optkit.Categorical([]),
                                 lambda: optkit.Categorical(["a", "a"]), lambda: optkit.SearchSpace({"a": (0, 1)})])
def test_dimension_validation(bad):
    with pytest.raises(optkit.InvalidParameterError):
        bad()
