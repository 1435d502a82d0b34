"""Conformance checks for bilevel methods (subclasses of ``optkit.bilevel._base.BilevelOptimizer``).

They replace the ask/tell checks, which cannot apply (a bilevel method needs the two levels' oracles,
not values of one function): the same contract, stated for ``minimize(BilevelProblem, budget)`` on
the toy quadratic of :mod:`optkit.bilevel.problems` (dx = 3, so the suite's ``Box(-2, 3, dim=3)``
builds them). Each takes a registry name; cheap settings come from ``FAST_PARAMS``, convergence
settings from ``BILEVEL_CONVERGENCE``.
"""

from __future__ import annotations

import random

import numpy as np

import optkit
from optkit.core.serialize import dumps, loads
from optkit.testing._gradient import _make, assert_ask_tell_refused, assert_rejected

#: registry name -> (budget in oracle calls, tolerance on F(x) - F(x*)) on the toy quadratic; a
#: method without a row uses ``DEFAULT_CONVERGENCE``
BILEVEL_CONVERGENCE: dict[str, tuple[int, float]] = {
    # psi_sigma is an O(sigma)-approximation of F: with sigma = 1e-3 the gap is ~6e-7 at 60,000 calls
    "bilevel-penalty": (60_000, 1e-5),
    # 4 agents on a ring with heterogeneous shards: consensus is exact (gradient tracking), but the decentralized
    # y and z loops keep an O(lr_inner) bias: the gap of the agents' average is ~4e-5 at 60,000 calls (seeds 0-2)
    "bilevel-decentralized": (60_000, 1e-3),
}
DEFAULT_CONVERGENCE = (60_000, 1e-6)


def _problem(**kw):
    from optkit.bilevel.problems import toy_quadratic

    return toy_quadratic(dx=3, dy=4, n=16, seed=1, **kw)


def check_ask_tell_refused(name: str) -> None:
    assert_ask_tell_refused(name, _problem().space)


def check_budget_and_counts(name: str) -> None:
    p = _problem()
    opt = _make(name, p.space, batch_size=4, upper_batch_size=4)
    cost = opt.step_cost(p)
    budget = 7 * cost + cost // 2
    res = opt.minimize(p, budget)
    assert res.nfev == p.calls <= budget, f"{name}: nfev={res.nfev}, problem calls={p.calls}, budget {budget}"
    assert res.nit == 7 == len(res.history), f"{name}: {res.nit} iterations in a budget of 7.5 iterations"
    assert res.status == optkit.Status.BUDGET_EXHAUSTED
    assert res.oracle_counts == p.counts and sum(res.oracle_counts.values()) == res.nfev


def check_result_schema(name: str) -> None:
    p = _problem()
    res = _make(name, p.space).minimize(p, 20_000)
    for field in ("x", "y", "fun", "nfev", "nit", "success", "status", "message", "history", "best_so_far", "method",
                  "oracle_counts"):
        assert field in res, f"{name}: the result has no {field!r}"
    assert isinstance(res.status, optkit.Status) and isinstance(res.message, str) and res.method == name
    assert res.x.shape == (3,) and res.y.shape == (p.dim_lower,)
    assert abs(res.fun - p.upper_objective(res.x)) <= 1e-9 * max(1.0, abs(res.fun)), f"{name}: fun is not F(x)"
    assert res.history.X.shape == (res.nit, 3) and np.array_equal(res.history.X[0], p.x0)


def check_determinism(name: str) -> None:
    runs = []
    for junk in (1, 2):
        np.random.seed(junk)
        random.seed(junk)
        p = _problem()
        runs.append(_make(name, p.space, seed=7, batch_size=4, upper_batch_size=4).minimize(p, 20_000))
    a, b = runs
    assert np.array_equal(a.history.X, b.history.X) and a.fun == b.fun, f"{name}: the same seed gave different iterates"


def check_state_round_trip(name: str) -> None:
    p = _problem()
    a = _make(name, p.space, seed=5, batch_size=4, upper_batch_size=4)
    a.minimize(p, 10_000)
    text, blob = dumps(a.state_dict())
    b = _make(name, p.space, seed=999, batch_size=4, upper_batch_size=4)
    b.load_state_dict(loads(text, blob))
    ra, rb = a.minimize(_problem(), 10_000), b.minimize(_problem(), 10_000)
    assert np.array_equal(ra.history.X, rb.history.X) and np.array_equal(ra.x, rb.x), \
        f"{name}: a restored state continues differently"


def check_bad_input(name: str) -> None:
    p = _problem()
    opt = _make(name, p.space)
    bad_calls = {
        "a plain Problem": lambda: opt.minimize(optkit.Problem(lambda x: 0.0, p.space), 10_000),
        "a StochasticProblem": lambda: opt.minimize(optkit.StochasticProblem(lambda w, i: 0.0, lambda w, i: w, 4, np.zeros(3)), 10_000),
        "budget 0": lambda: opt.minimize(p, 0),
        "a budget below one iteration": lambda: opt.minimize(p, 1),
        "a wrong dimension": lambda: _make(name, optkit.Box(-1, 1, dim=4)).minimize(p, 10_000),
        "a batch larger than the data": lambda: _make(name, p.space, batch_size=17).minimize(p, 10_000),
        "a journal": lambda: opt.minimize(p, 10_000, journal="run.sqlite"),
    }
    assert_rejected(name, bad_calls)


def check_nonfinite_gradient(name: str) -> None:
    from optkit.bilevel import BilevelProblem

    base = _problem()
    calls = []

    def grad_g(x, y, idx):
        calls.append(1)
        gx, gy = base._gg(x, y, idx)
        return gx, gy * (np.nan if len(calls) == 40 else 1.0)

    p = BilevelProblem(base._f, base._g, base._gf, grad_g, x0=base.x0, y0=base.y0, lower_hvp=base._hvp,
                       lower_jvp=base._jvp, n_upper=base.n_upper, n_lower=base.n_lower, name="nan_at_40th_call")
    res = _make(name, p.space, batch_size=4, upper_batch_size=4).minimize(p, 10**7)
    assert res.status == optkit.Status.FAILED and not res.success, f"{name}: a NaN gradient gave {res.status!r}"
    assert f"iteration {res.nit}" in res.message, f"{name}: the message does not name the iteration: {res.message!r}"
    assert np.all(np.isfinite(res.x)) and len(res.history) == res.nit + 1


def check_callback_stops(name: str) -> None:
    seen = []

    def cb(res):
        seen.append(res.nit)
        if res.nit >= 3:
            raise StopIteration

    p = _problem()
    res = _make(name, p.space).minimize(p, 10**7, callback=cb)
    assert res.status == optkit.Status.STOPPED_BY_CALLBACK and res.nit == 3 and seen == [1, 2, 3]


def check_bounds_respected(name: str) -> None:
    p = _problem()
    box = optkit.Box(-0.1, 0.1, dim=3)
    res = _make(name, box).minimize(p, 20_000)
    assert np.all(box.contains(res.history.X)) and np.all(box.contains(res.x)), f"{name}: an iterate left the box"


def check_bilevel_convergence(name: str) -> None:
    p = _problem()
    budget, tol = BILEVEL_CONVERGENCE.get(name, DEFAULT_CONVERGENCE)
    res = _make(name, p.space, seed=1).minimize(p, budget)
    gap = res.fun - p.f_opt
    assert gap <= tol, f"{name}: F(x) - F(x*) = {gap:.3g} > {tol:g} on the toy quadratic with {budget} oracle calls"


BILEVEL_CHECKS = [
    check_ask_tell_refused,
    check_budget_and_counts,
    check_result_schema,
    check_determinism,
    check_state_round_trip,
    check_bad_input,
    check_nonfinite_gradient,
    check_callback_stops,
    check_bounds_respected,
    check_bilevel_convergence,
]
