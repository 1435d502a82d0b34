"""Property tests: encoding to the unit cube and back is exact for every kind of dimension."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import optkit

reals = st.floats(-1e6, 1e6, allow_nan=False)


@st.composite
def spaces(draw):
    params = {}
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["real", "log", "int", "cat"]))
        if kind == "real":
            lo = draw(reals)
            params[f"p{i}"] = optkit.Real(lo, lo + draw(st.floats(1e-3, 1e6)))
        elif kind == "log":
            lo = draw(st.floats(1e-8, 1e3))
            params[f"p{i}"] = optkit.Real(lo, lo * draw(st.floats(1.5, 1e6)), log=True)
        elif kind == "int":
            lo = draw(st.integers(-1000, 1000))
            params[f"p{i}"] = optkit.Integer(lo, lo + draw(st.integers(1, 1000)))
        else:
            params[f"p{i}"] = optkit.Categorical(list(range(draw(st.integers(1, 7)))))
    return optkit.SearchSpace(params)


@settings(max_examples=60, deadline=None)
@given(space=spaces(), seed=st.integers(0, 2**32 - 1))
def test_decode_encode_decode_is_stable(space, seed):
    U = np.random.default_rng(seed).random((20, space.dim))
    X = space.decode(U)
    assert np.all(space.contains(X))
    np.testing.assert_allclose(space.decode(space.encode(X)), X, rtol=1e-12, atol=0)
    for x in X:
        np.testing.assert_allclose(space.from_dict(space.to_dict(x)), x, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(lo=reals, width=st.floats(1e-6, 1e6), d=st.integers(1, 6))
def test_box_encoding_is_the_identity(lo, width, d):
    box = optkit.Box(lo, lo + width, dim=d)
    X = np.full((3, d), lo + width / 2)
    np.testing.assert_array_equal(box.decode(box.encode(X)), X)
