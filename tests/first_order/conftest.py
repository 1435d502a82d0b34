import pytest
from lsq_tiny import tiny_problem


@pytest.fixture
def tiny():
    """A 3-example least-squares problem in R^2 started at w0 = (1, -1)."""
    return tiny_problem()
