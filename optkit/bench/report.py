"""Aggregate bench rows into COCO-style statistics and print them as plain-text tables.

Per (method, function, dim): the success rate (target precision reached), the median evaluations to
the target over the successful runs, the expected running time

    ERT = (sum over runs of: evaluations to the target if it succeeded, else all its evaluations)
          / number of successful runs        (inf when no run succeeded)

(Hansen et al., COCO's performance assessment), the median final gap ``f - f_opt``, the median wall
time and the optimizer's overhead per evaluation. Per method, a summary across the problems.

Examples
--------
>>> rows = [
...     dict(method="m", function=1, dim=2, nfev=500, evals_to_target=100, success=True, gap=0.0),
...     dict(method="m", function=1, dim=2, nfev=400, evals_to_target=None, success=False, gap=0.5),
... ]
>>> ert(rows)
500.0
>>> aggregate(rows)[0]["success_rate"]
0.5
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence

import numpy as np

from optkit.core.errors import InvalidParameterError


def _evals(row: dict, target: float | None) -> int | None:
    """Evaluations ``row`` needed to reach ``target`` (its finest target when None)."""
    if target is None:
        return row.get("evals_to_target")
    for t, e in zip(row.get("targets") or (), row.get("evals_to_targets") or ()):
        if math.isclose(t, target, rel_tol=1e-9):
            return e
    raise InvalidParameterError(
        f"report: target {target!r} was not recorded for run {row.get('run_id')!r}; it has {row.get('targets')!r}"
    )


def ert(rows: Iterable[dict], target: float | None = None) -> float:
    """COCO's expected running time of a group of runs, in evaluations.

    The evaluations spent by all runs -- up to the target for the successful ones, ``nfev`` for the
    others -- divided by the number of successful runs; ``inf`` when none succeeded.

    Parameters
    ----------
    rows : iterable of dict
        Bench rows (``nfev`` and ``evals_to_target``, or ``targets`` / ``evals_to_targets``).
    target : float, optional
        One of the recorded targets; the finest one by default.
    """
    spent, hits = 0, 0
    for r in rows:
        e = _evals(r, target)
        if e is None:
            spent += int(r.get("nfev") or 0)
        else:
            spent += int(e)
            hits += 1
    return spent / hits if hits else math.inf


def _median(values) -> float | None:
    vals = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.median(vals)) if vals else None


def _groups(rows: Iterable[dict], keys: Sequence[str]) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = {}
    for r in rows:
        out.setdefault(tuple(r.get(k) for k in keys), []).append(r)
    return out


def _overhead_us(rows: Sequence[dict]) -> float | None:
    """Median over runs of the optimizer's time per evaluation (robust to one slow first run)."""
    return _median(r.get("overhead_us_per_eval") for r in rows)


def _sort_value(v) -> float:
    return math.inf if v is None else float(v)


def aggregate(rows: Iterable[dict], target: float | None = None) -> list[dict]:
    """Statistics per (method, function, dim), sorted by function, dim, then ERT and median gap.

    Returns
    -------
    list of dict
        Keys ``method, function, function_name, dim, runs, successes, failed, success_rate,
        median_evals, ert, median_gap, median_fun, median_wall_time, overhead_us_per_eval`` (None where a median
        has no data; ``failed`` counts runs that raised; the overhead is the median over runs of
        ``(wall_time - objective_time) / nfev`` in microseconds).
    """
    out = []
    # a problem is (function, function_name, dim): non-BBOB problems have no function number
    for (method, function, function_name, dim), group in _groups(rows, ("method", "function", "function_name", "dim")).items():
        hits = [_evals(r, target) for r in group]
        successes = sum(h is not None for h in hits)
        out.append(
            {
                "method": method,
                "function": function,
                "function_name": function_name,
                "dim": dim,
                "runs": len(group),
                "successes": successes,
                "failed": sum(r.get("status") == "FAILED" for r in group),
                "success_rate": successes / len(group),
                "median_evals": _median(h for h in hits if h is not None),
                "ert": ert(group, target),
                "median_gap": _median(r.get("gap") for r in group),
                "median_fun": _median(r.get("fun") for r in group),
                "median_wall_time": _median(r.get("wall_time") for r in group),
                "overhead_us_per_eval": _overhead_us(group),
            }
        )
    out.sort(key=lambda s: (_sort_value(s["function"]), str(s["function_name"]), _sort_value(s["dim"]), s["ert"],
                            _sort_value(s["median_gap"]), s["method"]))
    return out


def summarize(rows: Iterable[dict], target: float | None = None) -> list[dict]:
    """Per method, across every (function, dim) problem: sorted best first.

    ``ert_ratio`` is the median over problems that some method solved of this method's ERT divided
    by the best ERT on that problem (1 = the best everywhere; inf when it failed on at least half
    of them). Sorted by success rate (descending), then ``ert_ratio`` and the median gap.

    Returns
    -------
    list of dict
        Keys ``method, runs, successes, failed, success_rate, problems, solved, ert_ratio,
        median_gap, wall_time, overhead_us_per_eval``.
    """
    rows = list(rows)
    per_problem = aggregate(rows, target)
    best: dict[tuple, float] = {}
    for s in per_problem:
        key = (s["function"], s["function_name"], s["dim"])
        best[key] = min(best.get(key, math.inf), s["ert"])
    out = []
    for (method,), group in _groups(rows, ("method",)).items():
        mine = [s for s in per_problem if s["method"] == method]
        keys = [(s["function"], s["function_name"], s["dim"]) for s in mine]
        ratios = [s["ert"] / best[k] for s, k in zip(mine, keys) if math.isfinite(best[k])]
        successes = sum(s["successes"] for s in mine)
        out.append(
            {
                "method": method,
                "runs": len(group),
                "successes": successes,
                "failed": sum(s["failed"] for s in mine),
                "success_rate": successes / len(group),
                "problems": len(mine),
                "solved": sum(s["successes"] > 0 for s in mine),
                "ert_ratio": float(np.median(ratios)) if ratios else None,
                "median_gap": _median(r.get("gap") for r in group),
                "wall_time": float(sum(float(r.get("wall_time") or 0.0) for r in group)),
                "overhead_us_per_eval": _overhead_us(group),
            }
        )
    out.sort(key=lambda s: (-s["success_rate"], _sort_value(s["ert_ratio"]), _sort_value(s["median_gap"]), s["method"]))
    return out


# --------------------------------------------------------------------------------------------
# plain-text tables


def _fmt(v, kind: str) -> str:
    if v is None:
        return "-"
    if kind == "text":
        return str(v)
    if kind == "int":
        return str(int(v))
    v = float(v)
    if math.isinf(v):
        return "inf"
    if kind == "pct":
        return f"{100 * v:.0f}%"
    if kind == "sci":
        return f"{v:.2e}"
    if kind == "evals":
        return f"{v:.0f}" if v < 1e6 else f"{v:.2e}"
    if kind == "ratio":
        return f"{v:.2f}"
    if kind == "sec":
        return f"{v:.3f}"
    if kind == "us":
        return f"{v:.1f}"
    return f"{v:.3g}"


def format_table(columns: Sequence[tuple[str, str, str]], records: Sequence[dict]) -> str:
    """An aligned plain-text table.

    Parameters
    ----------
    columns : sequence of (key, header, kind)
        ``kind`` is one of ``text`` (left-aligned), ``int``, ``pct``, ``sci``, ``evals``, ``ratio``,
        ``sec``, ``us`` (right-aligned numbers).
    records : sequence of dict

    Examples
    --------
    >>> print(format_table([("m", "method", "text"), ("e", "ERT", "evals")], [{"m": "cma", "e": 12.4}]))
    method  ERT
    ------  ---
    cma      12
    """
    cells = [[_fmt(r.get(k), kind) for k, _, kind in columns] for r in records]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, (_, h, _) in enumerate(columns)]

    def line(values) -> str:
        parts = [v.ljust(w) if kind == "text" else v.rjust(w) for v, w, (_, _, kind) in zip(values, widths, columns)]
        return "  ".join(parts).rstrip()

    lines = [line([h for _, h, _ in columns]), line(["-" * w for w in widths])]
    lines += [line(c) for c in cells]
    return "\n".join(lines)


_PROBLEM_COLUMNS = [
    ("function", "f", "int"),
    ("function_name", "function", "text"),
    ("dim", "dim", "int"),
    ("method", "method", "text"),
    ("runs", "runs", "int"),
    ("success_rate", "success", "pct"),
    ("median_evals", "med evals", "evals"),
    ("ert", "ERT", "evals"),
    ("median_gap", "med gap", "sci"),
    ("median_fun", "med best f", "sci"),
    ("median_wall_time", "med wall s", "sec"),
    ("overhead_us_per_eval", "overhead us/eval", "us"),
]

_METHOD_COLUMNS = [
    ("method", "method", "text"),
    ("runs", "runs", "int"),
    ("failed", "failed", "int"),
    ("success_rate", "success", "pct"),
    ("solved_text", "solved", "text"),
    ("ert_ratio", "ERT/best (med)", "ratio"),
    ("median_gap", "med gap", "sci"),
    ("wall_time", "total wall s", "sec"),
    ("overhead_us_per_eval", "overhead us/eval", "us"),
]


def _target_of(rows: Sequence[dict], target: float | None) -> float | None:
    if target is not None:
        return target
    finest = {r.get("target") for r in rows if r.get("target") is not None}
    return finest.pop() if len(finest) == 1 else None


def print_report(rows: Iterable[dict], *, target: float | None = None, file=None) -> None:
    """Print the per-problem table and the per-method summary of ``rows`` to ``file`` (stdout).

    Parameters
    ----------
    rows : iterable of dict
        Bench rows (see :mod:`optkit.bench.runner`).
    target : float, optional
        The precision to report on (one the runs recorded); their finest target by default.
    file : text stream, optional
    """
    if file is None:
        file = sys.stdout
    rows = list(rows)
    if not rows:
        print("no runs", file=file)
        return
    t = _target_of(rows, target)
    what = f"target f - f_opt <= {t:g}" if t is not None else "each run's finest target"
    print(f"Per problem ({what}; ERT and evals in function evaluations):", file=file)
    print(format_table(_PROBLEM_COLUMNS, aggregate(rows, target)), file=file)
    print(file=file)
    summary = summarize(rows, target)
    for s in summary:
        s["solved_text"] = f"{s['solved']}/{s['problems']}"
    print("Per method (solved: problems with at least one success; ERT/best: median over solved problems):", file=file)
    print(format_table(_METHOD_COLUMNS, summary), file=file)
    failed = [r for r in rows if r.get("status") == "FAILED"]
    if failed:
        print(file=file)
        f0 = failed[0]
        where = f"f{f0.get('function')}" if f0.get("function") is not None else repr(f0.get("function_name"))
        print(f"{len(failed)} run(s) failed; first: {f0.get('method')} on {where} "
              f"d{f0.get('dim')} seed {f0.get('seed')}: {f0.get('error')}", file=file)
    _print_peer_notes(rows, file)


def _print_peer_notes(rows: Sequence[dict], file) -> None:
    """The share of evaluations outside the box per method (where nonzero), and the peers' notes."""
    outside: dict[str, list[float]] = {}
    for r in rows:
        if r.get("outside_box_fraction") is not None:
            outside.setdefault(r["method"], []).append(float(r["outside_box_fraction"]))
    shares = {m: float(np.mean(v)) for m, v in outside.items() if max(v) > 0}
    if shares:
        print(file=file)
        print("Evaluated outside the box (not clipped; mean share of each run's evaluations): "
              + ", ".join(f"{m} {100 * v:.1f}%" for m, v in sorted(shares.items())), file=file)
    notes = sorted({(r["method"], r["warning"]) for r in rows if str(r.get("warning") or "").startswith("PeerNote: ")})
    for method, note in notes:
        print(f"note: {method}: {note[len('PeerNote: '):]}", file=file)


__all__ = ["aggregate", "ert", "format_table", "print_report", "summarize"]
