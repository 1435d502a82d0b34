"""optkit.minimize takes a BilevelProblem like any other problem type."""

import pytest

import optkit
from optkit.bilevel.problems import toy_quadratic


def _toy():
    p = toy_quadratic()
    return p[0] if isinstance(p, tuple) else p


def test_minimize_runs_a_bilevel_method_on_a_bilevel_problem():
    p = _toy()
    res = optkit.minimize(p, method="bilevel-implicit", budget=3000, seed=0)
    direct = optkit.make("bilevel-implicit", p.space, seed=0).minimize(_toy(), 3000)
    assert res.nfev <= 3000
    assert res.fun == pytest.approx(direct.fun, rel=0, abs=0)


def test_minimize_asks_for_a_method_for_a_bilevel_problem():
    with pytest.raises(optkit.OptkitError, match="BilevelProblem needs a method"):
        optkit.minimize(_toy())
