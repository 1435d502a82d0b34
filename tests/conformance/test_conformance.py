"""Every registered optimizer through the same contract (optkit.testing)."""

import pytest

import optkit
from optkit.testing import optimizer_checks

CASES = [(name, cname, check) for name in optkit.available() for cname, check in optimizer_checks(name)]


@pytest.mark.parametrize("name,cname,check", CASES, ids=[f"{n}-{c}" for n, c, _ in CASES])
def test_conformance(name, cname, check):
    check()
