"""The optimization loop shared by every optimizer, and resuming a run from its journal."""

from __future__ import annotations

import json
import time

import numpy as np

from optkit.core.errors import InvalidParameterError, JournalError, ObjectiveError
from optkit.core.journal import Journal
from optkit.core.params import Interval, validate
from optkit.core.problem import Problem, Records, merge_records
from optkit.core.result import History, Status, make_result

#: a state snapshot goes to the journal after every this many batches
STATE_EVERY = 10


class _Replay:
    """What a journal already holds, consumed batch by batch while the optimizer is re-driven."""

    def __init__(self, asks: dict, evals: dict):
        self.asks, self.evals = asks, evals

    def has(self, batch: int) -> bool:
        return batch in self.asks


def run(opt, problem, budget, *, callback=None, progress=False, journal=None, executor=None, _resume=None):
    """The ask -> evaluate -> journal -> tell loop. See :meth:`Optimizer.minimize`."""
    if not isinstance(problem, Problem):
        raise InvalidParameterError(f"minimize: 'problem' must be an optkit.Problem; got {type(problem).__name__}")
    if problem.dim != opt.dim:
        raise InvalidParameterError(f"minimize: the problem has dimension {problem.dim} but the optimizer was built for {opt.dim}")
    validate("minimize", "budget", budget, [Interval(int, 1, None)])
    if callback is not None and not callable(callback):
        raise InvalidParameterError(f"minimize: 'callback' must be callable or None; got {callback!r}")

    opt._loop_started(problem)
    try:
        return _run(opt, problem, budget, callback, progress, journal, executor, _resume)
    finally:
        opt._loop_ended()


def _run(opt, problem, budget, callback, progress, journal, executor, _resume):
    if _resume is None and opt._pending:
        # points asked before minimize() and never told: this loop cannot evaluate them, and a method
        # that learns from whole generations would wait for them forever
        opt.forget(opt.pending()[0])
    history = History(problem.dim, problem.n_constraints, problem.sign)
    nit = 0
    replay = None
    if _resume is not None:
        jr, nit, replay = _resume(history)
    elif journal is not None:
        jr = Journal.create(journal, fingerprint=problem.fingerprint(), method=opt.name or type(opt).__name__,
                            params=opt.get_params(), budget=budget)
        jr.record_state(-1, opt.state_dict())
    else:
        jr = None

    bar = _progress_bar(budget, len(history)) if progress else None
    status, message = Status.BUDGET_EXHAUSTED, f"used the budget of {budget} evaluations"
    t0 = time.perf_counter()
    try:
        while len(history) < budget:
            reason = opt.stop_reason()
            if reason:
                status, message = opt.stop_status(), reason
                break
            X = opt.ask()
            X_eval = X[: budget - len(history)]
            known = {}
            if replay is not None and replay.has(nit):
                if not np.array_equal(replay.asks[nit], X):
                    raise JournalError(
                        f"resume: batch {nit} asked different points than the journal holds; the optimizer "
                        "is not deterministic given its evaluations, so this run cannot be replayed"
                    )
                known = replay.evals.get(nit, {})
            elif jr is not None:
                jr.record_ask(nit, X)
            rec = _evaluate(problem, X_eval, executor, jr, nit, known)
            history.append(X_eval, rec.y, rec.C, rec.error, rec.seconds, nit)
            _tell(opt, problem, X_eval, rec, history)
            nit += 1
            if jr is not None and nit % STATE_EVERY == 0 and not (replay is not None and replay.has(nit - 1)):
                jr.record_state(nit - 1, opt.state_dict())
            if bar is not None:
                bar.update(len(X_eval))
                best = history.best_so_far()
                if best.size and np.isfinite(best[-1]):
                    bar.set_postfix(best=f"{best[-1]:.6g}")
            if callback is not None and _call(callback, history, nit, opt, t0):
                status, message = Status.STOPPED_BY_CALLBACK, "stopped by the callback"
                break
    except ObjectiveError as exc:
        exc.result = make_result(history, Status.FAILED, str(exc), nit, opt.name, time.perf_counter() - t0)
        if jr is not None:
            jr.set_meta("status", Status.FAILED.name)
        raise
    finally:
        if bar is not None:
            bar.close()
        if jr is not None:
            jr.close()
    result = make_result(history, status, message, nit, opt.name, time.perf_counter() - t0, **opt.result_extras())
    if jr is not None:
        jr2 = Journal.open(jr.path)
        jr2.set_meta("status", result.status.name)
        jr2.close()
    return result


def _evaluate(problem: Problem, X: np.ndarray, executor, jr, batch: int, known: dict) -> Records:
    """Evaluate the rows of ``X`` not in ``known`` (journaled earlier), journaling each in order."""
    m = problem.n_constraints
    todo = [i for i in range(X.shape[0]) if i not in known]
    fresh: dict[int, Records] = {}
    if todo and problem.vectorized:
        rec = problem.evaluate_records(X[todo])
        for j, i in enumerate(todo):
            fresh[i] = Records(rec.y[j : j + 1], None if rec.C is None else rec.C[j : j + 1], [rec.error[j]], rec.seconds[j : j + 1])
        if jr is not None:
            for i in todo:
                r = fresh[i]
                jr.record_evals(batch, i, X[i : i + 1], r.y, r.C, r.error, r.seconds)
    elif todo and executor is None and jr is None and not known:
        return problem.evaluate_records(X)
    elif todo:
        futures = {i: executor.submit(problem.evaluate_one, X[i]) for i in todo} if executor is not None else None
        for i in todo:
            if futures is None:
                r = problem.evaluate_one(X[i])
            else:
                try:
                    r = futures[i].result()
                except Exception as exc:  # the worker died or could not run the task
                    r = Records(np.array([np.nan]), np.full((1, m), np.nan) if m else None,
                                [f"evaluation lost in the executor: {type(exc).__name__}: {exc}"], np.array([0.0]))
            fresh[i] = r
            if jr is not None:
                jr.record_evals(batch, i, X[i : i + 1], r.y, r.C, r.error, r.seconds)
    parts = []
    for i in range(X.shape[0]):
        if i in known:
            _, y, c, err, s = known[i]
            parts.append(Records(np.array([y]), None if c is None else c[None, :], [err], np.array([s])))
        else:
            parts.append(fresh[i])
    return merge_records(parts, m)


def _tell(opt, problem: Problem, X: np.ndarray, rec: Records, history: History) -> None:
    """Tell the optimizer a batch, applying the problem's ``on_error`` policy to failed points."""
    failed = rec.failed
    if not failed.any():
        opt.tell(X, rec.y, rec.C)
        return
    first = rec.error[int(np.flatnonzero(failed)[0])]
    if problem.on_error == "raise":
        raise ObjectiveError(
            f"the objective failed at {X[failed][0].tolist()!r:.120}: {first}. Set Problem(on_error='penalize' "
            "or 'skip') to continue past failures"
        )
    if problem.on_error == "skip":
        if (~failed).any():
            C = None if rec.C is None else rec.C[~failed]
            opt.tell(X[~failed], rec.y[~failed], C)
        opt.forget(X[failed])
        return
    y = rec.y.copy()
    y[failed] = _penalty(history, problem)
    C = None
    if rec.C is not None:
        C = rec.C.copy()
        C[failed] = np.where(np.isfinite(C[failed]), C[failed], 1.0)
        C[failed] = np.maximum(C[failed], 1.0)
    opt.tell(X, y, C)


def _penalty(history: History, problem: Problem) -> float:
    """A value worse than every finite value seen so far (minimization convention)."""
    y = problem.sign * history.fun
    y = y[np.isfinite(y)]
    if y.size == 0:
        return 1e12
    worst, best = float(y.max()), float(y.min())
    return worst + max(1.0, worst - best, abs(worst))


def _call(callback, history: History, nit: int, opt, t0: float) -> bool:
    interim = make_result(history, Status.BUDGET_EXHAUSTED, "running", nit, opt.name, time.perf_counter() - t0)
    try:
        return bool(callback(interim))
    except StopIteration:
        return True


def _progress_bar(total: int, initial: int):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # progress is a convenience; without tqdm the run goes on silently
        return None
    return tqdm(total=total, initial=initial, unit="eval", dynamic_ncols=True, leave=False)


def resume(path, problem: Problem, *, budget: int | None = None, callback=None, progress=False, executor=None):
    """Continue the run journaled in ``path`` on ``problem``: nothing evaluated is evaluated again.

    The optimizer is rebuilt from the journal's method and hyperparameters, restored from its last
    state snapshot, and re-driven through the journaled batches after it (the same asks must come
    back; their journaled values are told instead of evaluating again). Evaluations missing from
    the last, interrupted batch are then made, and the run continues up to ``budget`` (the
    journal's budget unless given).
    """
    from optkit.core import registry

    jr = Journal.open(path)
    try:
        jr.check_problem(problem.fingerprint())
        method = jr.meta["method"]
        opt = registry.make(method, problem.space, **json.loads(jr.meta["params"]))
        snap = jr.latest_state()
        asks = jr.asks(problem.dim)
        evals = jr.evals(problem.dim, problem.n_constraints)
    except (KeyError, ValueError) as exc:
        jr.close()
        if isinstance(exc, JournalError):
            raise
        raise JournalError(f"journal {str(path)!r} is incomplete or corrupted: {exc}") from exc
    if budget is None:
        budget = int(jr.meta["budget"])
    else:
        validate("resume", "budget", budget, [Interval(int, 1, None)])
        jr.set_meta("budget", str(budget))

    def prepare(history: History):
        start = -1
        if snap is not None:
            start, state = snap
            opt.load_state_dict(state)
        # batches up to the snapshot: history only; after it: replayed through the optimizer
        for b in sorted(evals):
            if b <= start:
                rows = [evals[b][i] for i in sorted(evals[b])]
                history.append(
                    np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
                    None if problem.n_constraints == 0 else np.array([r[2] for r in rows]),
                    [r[3] for r in rows], np.array([r[4] for r in rows]), b,
                )
        later = {b: X for b, X in asks.items() if b > start}
        return jr, start + 1, _Replay(later, {b: e for b, e in evals.items() if b > start})

    return run(opt, problem, budget, callback=callback, progress=progress, executor=executor, _resume=prepare)
