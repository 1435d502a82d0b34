import numpy as np
import pytest
from dp_helpers import quadratic


@pytest.fixture
def quad():
    return quadratic(np.random.default_rng(0).normal(size=(20, 5)))
