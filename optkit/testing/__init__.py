"""Public conformance checks: run them on your own optimizer to see that it keeps optkit's contract.

>>> from optkit.testing import check_optimizer
>>> check_optimizer("random")          # raises AssertionError naming the first failed check

``optimizer_checks(name)`` yields ``(check_name, function)`` pairs for test parametrization.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import optkit
from optkit.core.errors import InvalidParameterError, OptkitError, StateError, UnknownNameError
from optkit.core.registry import get
from optkit.core.serialize import dumps, loads
from optkit.testing._tables import CONVERGENCE, CONVERGENCE_OVERRIDES, EXEMPTIONS, FAST_PARAMS


def _sphere(x) -> float:
    return float(np.sum((np.asarray(x) - 0.25) ** 2))


def _box(d: int = 3) -> optkit.Box:
    return optkit.Box(-2.0, 3.0, dim=d)


def _make(name: str, space, seed=0, **extra):
    params = {**FAST_PARAMS.get(name, {}), **extra}
    return optkit.make(name, space, seed=seed, **params)


class _Counting:
    """An objective that counts its calls (picklable is not needed: threads only)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x) -> float:
        self.calls += 1
        return _sphere(x)


def check_default_constructible(name: str) -> None:
    opt = optkit.make(name, _box())
    assert isinstance(opt, optkit.Optimizer), f"{name}: make() did not build an Optimizer"
    assert isinstance(repr(opt), str)


def check_invalid_hyperparameters(name: str) -> None:
    cls = get(name)
    for param, constraints in cls._parameter_constraints.items():
        bad = None
        for c in constraints:
            if c is not None and c.invalid_example() is not None:
                cand = c.invalid_example()
                if not any((k is None and cand is None) or (k is not None and k.ok(cand)) for k in constraints):
                    bad = cand
                    break
        if bad is None:
            continue
        try:
            _make(name, _box(), **{param: bad})
        except InvalidParameterError as exc:
            assert repr(param) in str(exc), f"{name}: the error for {param}={bad!r} does not name it: {exc}"
        else:
            raise AssertionError(f"{name}: {param}={bad!r} was accepted")
    try:
        optkit.make(name, _box(), not_a_hyperparameter=1)
    except UnknownNameError as exc:
        assert "not_a_hyperparameter" in str(exc)
    else:
        raise AssertionError(f"{name}: an unknown hyperparameter was accepted")


def check_ask_tell_protocol(name: str) -> None:
    space = _box()
    opt = _make(name, space)
    X = opt.ask()
    assert X.ndim == 2 and X.shape == (opt.batch_size, 3), f"{name}: ask() gave shape {X.shape}"
    X3 = opt.ask(3)
    assert X3.shape == (3, 3), f"{name}: ask(3) gave shape {X3.shape}"
    for A in (X, X3):
        assert np.all(np.isfinite(A)) and np.all(space.contains(A)), f"{name}: ask() left the box"
    for bad in (np.zeros(len(X) + 1), np.full(len(X), np.nan)):
        try:
            opt.tell(X, bad)
        except InvalidParameterError:
            pass
        else:
            raise AssertionError(f"{name}: tell() accepted bad values {bad!r}")
    try:
        opt.tell(np.full((1, 3), 2.9999), [1.0])
    except StateError:
        pass
    else:
        raise AssertionError(f"{name}: tell() accepted a point it never asked")
    opt.tell(X, [_sphere(x) for x in X])
    opt.tell(X3, [_sphere(x) for x in X3])


def check_mixed_space(name: str) -> None:
    space = optkit.SearchSpace({"a": optkit.Real(1e-3, 1.0, log=True), "k": optkit.Integer(1, 6),
                                "c": optkit.Categorical(["x", "y", "z"])})
    opt = _make(name, space)
    X = opt.ask(4)
    assert np.all(space.contains(X)), f"{name}: points outside the SearchSpace"
    assert np.all(X[:, 1] == np.round(X[:, 1])) and np.all(np.isin(X[:, 2], [0, 1, 2])), f"{name}: non-integer codes"
    opt.tell(X, [float(x[0] + x[1] + x[2]) for x in X])


def check_budget_and_counts(name: str) -> None:
    fun = _Counting()
    res = _make(name, _box()).minimize(optkit.Problem(fun, _box()), 37)
    assert res.nfev == fun.calls == len(res.history) <= 37, f"{name}: nfev={res.nfev}, calls={fun.calls}, budget 37"
    if res.status == optkit.Status.BUDGET_EXHAUSTED:
        assert res.nfev == 37


def check_result_schema(name: str) -> None:
    res = _make(name, _box()).minimize(optkit.Problem(_sphere, _box()), 20)
    for field in ("x", "fun", "nfev", "nit", "success", "status", "message", "history", "best_so_far", "method"):
        assert field in res, f"{name}: the result has no {field!r}"
    assert isinstance(res.status, optkit.Status) and isinstance(res.message, str)
    assert res.x.shape == (3,) and np.isfinite(res.fun) and res.method == name
    assert res.best_so_far.shape == (res.nfev,) and res.best_so_far[-1] == res.fun


def check_determinism(name: str) -> None:
    runs = []
    for junk in (1, 2):
        np.random.seed(junk)
        random.seed(junk)
        runs.append(_make(name, _box(), seed=7).minimize(optkit.Problem(_sphere, _box()), 40))
    a, b = runs
    assert np.array_equal(a.history.X, b.history.X), f"{name}: the same seed gave different points"
    assert a.fun == b.fun


def check_executor_same_result(name: str) -> None:
    serial = _make(name, _box(), seed=3).minimize(optkit.Problem(_sphere, _box()), 30)
    with ThreadPoolExecutor(2) as ex:
        par = _make(name, _box(), seed=3).minimize(optkit.Problem(_sphere, _box()), 30, executor=ex)
    assert np.array_equal(serial.history.X, par.history.X), f"{name}: an executor changed the run"


def check_state_round_trip(name: str) -> None:
    space = _box()
    a = _make(name, space, seed=5)
    for _ in range(3):
        X = a.ask()
        a.tell(X, [_sphere(x) for x in X])
    text, blob = dumps(a.state_dict())
    b = _make(name, space, seed=999)
    b.load_state_dict(loads(text, blob))
    for _ in range(3):
        Xa, Xb = a.ask(), b.ask()
        assert np.array_equal(Xa, Xb), f"{name}: a restored state asks different points"
        ya = [_sphere(x) for x in Xa]
        a.tell(Xa, ya)
        b.tell(Xb, ya)


def check_nonfinite_objective(name: str) -> None:
    def sometimes_bad(x):
        if x[0] > 1.5:
            return float("nan")
        if x[1] > 2.5:
            raise RuntimeError("simulated crash")
        return _sphere(x)

    for policy in ("penalize", "skip"):
        res = _make(name, _box()).minimize(optkit.Problem(sometimes_bad, _box(), on_error=policy), 40)
        assert res.nfev == 40 or res.status == optkit.Status.CONVERGED
        assert np.isfinite(res.fun), f"{name}: no finite result under on_error={policy!r}"
        n_err = sum(e is not None for e in res.history.error)
        assert n_err == int(np.sum(~np.isfinite(res.history.fun))), f"{name}: failures not recorded"
    try:
        _make(name, optkit.Box(1.6, 2.0, dim=3)).minimize(optkit.Problem(sometimes_bad, optkit.Box(1.6, 2.0, dim=3)), 10)
    except optkit.ObjectiveError as exc:
        assert exc.result.nfev >= 1
    else:
        raise AssertionError(f"{name}: on_error='raise' did not raise")


def check_callback_stops(name: str) -> None:
    def cb(res):
        if res.nfev >= 5:
            raise StopIteration

    res = _make(name, _box()).minimize(optkit.Problem(_sphere, _box()), 100, callback=cb)
    assert res.status == optkit.Status.STOPPED_BY_CALLBACK and res.nfev < 100


def check_convergence(name: str) -> None:
    family = get(name).family
    if name in CONVERGENCE_OVERRIDES:
        pname, dim, budget, tol = CONVERGENCE_OVERRIDES[name]
    elif family not in CONVERGENCE:
        raise AssertionError(f"{name}: family {family!r} has no convergence setting in optkit.testing._tables.CONVERGENCE")
    else:
        pname, dim, budget, tol = CONVERGENCE[family]
    problem = optkit.problems.get(pname, dim)
    res = _make(name, problem.space, seed=1).minimize(problem, budget)
    gap = res.fun - problem.f_opt
    assert gap <= tol, f"{name}: f - f_opt = {gap:.3g} > {tol:g} on {pname} d={dim} with {budget} evaluations"


_CHECKS: list[Callable[[str], None]] = [
    check_default_constructible,
    check_invalid_hyperparameters,
    check_ask_tell_protocol,
    check_mixed_space,
    check_budget_and_counts,
    check_result_schema,
    check_determinism,
    check_executor_same_result,
    check_state_round_trip,
    check_nonfinite_objective,
    check_callback_stops,
    check_convergence,
]


def _checks_for(name: str) -> list[Callable[[str], None]]:
    """Gradient methods (``GradientOptimizer`` subclasses) get their family's checks instead of ask/tell ones."""
    from optkit.core.registry import _BUILTIN

    if _BUILTIN.get(name, "").startswith(("optkit.bayesopt.", "optkit.rl.")):  # torch families: no import at collection
        return _CHECKS
    from optkit.core.gradient import GradientOptimizer
    from optkit.testing._gradient import GRADIENT_CHECKS

    if get(name).family == "bilevel":  # bilevel methods run on a BilevelProblem: optkit.testing._bilevel
        from optkit.testing._bilevel import BILEVEL_CHECKS

        return [check_default_constructible, check_invalid_hyperparameters, *BILEVEL_CHECKS]
    if not issubclass(get(name), GradientOptimizer):
        return _CHECKS
    return [check_default_constructible, check_invalid_hyperparameters, *GRADIENT_CHECKS, check_convergence]


def optimizer_checks(name: str) -> Iterator[tuple[str, Callable[[], None]]]:
    """``(check_name, check)`` pairs for optimizer ``name``, minus its reasoned exemptions."""
    for check in _checks_for(name):
        cname = check.__name__.removeprefix("check_")
        if (name, cname) in EXEMPTIONS:
            continue
        yield cname, (lambda c=check: c(name))


def check_optimizer(name: str) -> None:
    """Run every conformance check on registered optimizer ``name``; AssertionError on the first failure."""
    get(name)
    for cname, check in optimizer_checks(name):
        try:
            check()
        except AssertionError:
            raise
        except OptkitError as exc:
            raise AssertionError(f"{name}: check {cname} raised {type(exc).__name__}: {exc}") from exc


__all__ = ["check_optimizer", "optimizer_checks"]
