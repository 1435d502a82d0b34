"""COCO-style measures of bench runs: what each run records, and the statistics drawn from them.

Per run (:func:`run_measures`, called by the runner on the run's ``best_so_far``):

``trace``
    The best value so far at log-spaced evaluation counts (:func:`trace_points`: 10 per decade, and
    the last evaluation), ``{"n": [...], "f": [...]}``: enough to draw convergence plots without
    rerunning, about 50 points for 10^5 evaluations.
``ecdf_hits``
    Per precision of :data:`ECDF_TARGETS` (COCO's 51 targets ``10**2 .. 10**-8``), the evaluations
    after which ``best - f_opt <= target`` first held (None: never); only when ``f_opt`` is known.
``peak_mem_mb``, ``mem_growth_mb``
    The peak resident memory of the process that ran the cell, and how far it rose above the memory
    held when the run started (:class:`MemoryProbe`).

Across runs:

* :func:`ert_per_target` -- COCO's expected running time per (problem, method) at several targets;
* :func:`ecdf` -- runtime ECDFs: per method, the fraction of (run, target) pairs reached within a
  budget of ``x * dim`` evaluations, over the functions of a dimension;
* :func:`convergence` -- the median (and quartiles) over runs of the best gap against evaluations;
* :func:`method_measures` -- per method: success rate, final gaps, overhead per evaluation, memory.

ERT itself is :func:`optkit.bench.report.ert` (re-exported here).

Examples
--------
>>> trace_points(100)
[1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 32, 40, 50, 63, 79, 100]
>>> hitting_times([9.0, 5.0, 5.0, 1.0], f_opt=1.0, targets=[10.0, 4.0, 0.5, -1.0])
[1, 2, 4, None]
>>> compact_trace([3.0, 2.0, 2.0, 1.5, 1.0])
{'n': [1, 2, 3, 4, 5], 'f': [3.0, 2.0, 2.0, 1.5, 1.0]}
"""

from __future__ import annotations

import math
import resource
import sys
from collections.abc import Iterable, Sequence

import numpy as np

from optkit.bench.report import ert

#: COCO's runtime-ECDF targets: precisions 10**2, 10**1.8, ..., 10**-8 (51 of them)
ECDF_TARGETS: tuple[float, ...] = tuple(float(10.0 ** (2.0 - 0.2 * k)) for k in range(51))

#: the targets of the ERT table in the report (a subset of :data:`ECDF_TARGETS`, as COCO's tables)
REPORT_TARGETS: tuple[float, ...] = (1e1, 1e-1, 1e-3, 1e-5, 1e-8)

#: gaps below this are drawn at this value on log-scale plots
GAP_FLOOR = 1e-10


def trace_points(nfev: int, per_decade: int = 10) -> list[int]:
    """Log-spaced evaluation counts ``round(10**(k / per_decade))`` up to ``nfev``, ending at ``nfev``."""
    nfev = int(nfev)
    if nfev < 1:
        return []
    k_max = int(math.floor(per_decade * math.log10(nfev))) + 1
    pts = np.unique(np.round(10.0 ** (np.arange(k_max + 1) / per_decade)).astype(np.int64))
    out = [int(p) for p in pts if p <= nfev]
    if out[-1] != nfev:
        out.append(nfev)
    return out


def _none_if_nan(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def compact_trace(best_so_far, per_decade: int = 10) -> dict:
    """The best-so-far values at :func:`trace_points` (None before any feasible value)."""
    best = np.asarray(best_so_far, dtype=np.float64)
    n = trace_points(best.size, per_decade)
    return {"n": n, "f": [_none_if_nan(best[i - 1]) for i in n]}


def hitting_times(best_so_far, f_opt: float, targets: Sequence[float]) -> list[int | None]:
    """Per target, the evaluations after which ``best - f_opt <= target`` first held (None: never).

    ``best_so_far`` must be non-increasing where finite (NaN before the first feasible value), as
    :attr:`Result.best_so_far` is. One binary search per target.
    """
    gap = np.asarray(best_so_far, dtype=np.float64) - float(f_opt)
    gap = np.where(np.isnan(gap), np.inf, gap)
    neg = -np.minimum.accumulate(gap) if gap.size else gap  # non-decreasing
    out: list[int | None] = []
    for t in targets:
        i = int(np.searchsorted(neg, -float(t), side="left"))
        out.append(i + 1 if i < gap.size else None)
    return out


def run_measures(best_so_far, f_opt: float | None) -> dict:
    """The per-run records stored with a bench row: ``trace`` and ``ecdf_hits`` (see the module doc)."""
    return {
        "trace": compact_trace(best_so_far),
        "ecdf_hits": None if f_opt is None else hitting_times(best_so_far, f_opt, ECDF_TARGETS),
    }


class MemoryProbe:
    """The peak resident memory of this process while a run goes on.

    On Linux, construction resets the kernel's high-water mark (writing ``5`` to
    ``/proc/self/clear_refs``) and :meth:`read` returns ``VmHWM`` from ``/proc/self/status``: the
    peak of this run alone, measured by the kernel at no cost to the run. Elsewhere (or where the
    reset is refused) it falls back to ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the peak of
    the whole process so far (an upper bound for the run); ``method`` says which.

    Examples
    --------
    >>> probe = MemoryProbe()
    >>> sorted(probe.read())
    ['mem_growth_mb', 'peak_mem_mb']
    """

    def __init__(self):
        self.method = "getrusage"
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self.method = "vmhwm"
        except OSError:
            pass
        self.start_mb = self._status_mb("VmRSS") if self.method == "vmhwm" else None

    @staticmethod
    def _status_mb(key: str) -> float | None:
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith(key + ":"):
                        return int(line.split()[1]) / 1024.0
        except (OSError, ValueError, IndexError):
            return None
        return None

    def read(self) -> dict:
        """``{"peak_mem_mb": ..., "mem_growth_mb": ...}`` (growth None when only getrusage is available)."""
        peak = self._status_mb("VmHWM") if self.method == "vmhwm" else None
        if peak is None:
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            peak = rss / 2**20 if sys.platform == "darwin" else rss / 1024.0  # bytes on macOS, KiB on Linux
            return {"peak_mem_mb": peak, "mem_growth_mb": None}
        growth = None if self.start_mb is None else max(peak - self.start_mb, 0.0)
        return {"peak_mem_mb": peak, "mem_growth_mb": growth}


# --------------------------------------------------------------------------------------------
# grouping


def problem_key(row: dict) -> tuple:
    """What identifies a problem across methods and seeds: ``(function, function_name, dim)``."""
    return (row.get("function"), row.get("function_name"), row.get("dim"))


def problem_label(key: tuple) -> str:
    """``"f8 rosenbrock d5"`` for a BBOB problem, ``"name d5"`` for another."""
    function, name, dim = key
    head = f"f{function} {name}" if isinstance(function, int) and name else str(name if name is not None else function)
    return f"{head} d{dim}"


def _sort_problem(key: tuple):
    function, name, dim = key
    return (0 if isinstance(function, int) else 1, function if isinstance(function, int) else 0, str(name), dim or 0)


def by_problem(rows: Iterable[dict]) -> dict[tuple, dict[str, list[dict]]]:
    """``{problem_key: {method: [rows]}}`` with problems sorted (BBOB by number, then by name, then dim)."""
    out: dict[tuple, dict[str, list[dict]]] = {}
    for r in rows:
        out.setdefault(problem_key(r), {}).setdefault(r["method"], []).append(r)
    return {k: out[k] for k in sorted(out, key=_sort_problem)}


def reference_values(rows: Iterable[dict]) -> dict[tuple, float | None]:
    """Per problem without a known optimum, the best value any run found (COCO's reference value).

    Rows that know ``f_opt`` (it differs between BBOB instances, so between seeds) are measured
    against their own (:func:`row_reference`); their problems map to None here.
    """
    ref: dict[tuple, float | None] = {}
    for r in rows:
        key = problem_key(r)
        ref.setdefault(key, None)
        fun = r.get("fun")
        if r.get("f_opt") is None and fun is not None and math.isfinite(fun) and (ref[key] is None or fun < ref[key]):
            ref[key] = float(fun)
    return ref


def row_reference(row: dict, ref: dict[tuple, float | None]) -> float | None:
    """What ``row``'s gaps are measured against: its ``f_opt``, else its problem's reference value."""
    return float(row["f_opt"]) if row.get("f_opt") is not None else ref.get(problem_key(row))


def _trace(row: dict) -> tuple[np.ndarray, np.ndarray] | None:
    tr = row.get("trace")
    if not tr or not tr.get("n"):
        return None
    f = np.array([np.nan if v is None else v for v in tr["f"]], dtype=np.float64)
    return np.asarray(tr["n"], dtype=np.int64), f


def target_hits(row: dict, target: float, f_ref: float | None = None) -> int | None | float:
    """Evaluations ``row`` needed to reach precision ``target``; None: never; NaN: not recorded.

    Looked up in the row's recorded ``evals_to_targets``, then in ``ecdf_hits``; for a problem without
    ``f_opt``, read off the trace against ``f_ref`` (then the first trace point at or past the hit, an
    upper bound within 26% of the true count).
    """
    for key_t, key_e, grid in (("targets", "evals_to_targets", None), (None, "ecdf_hits", ECDF_TARGETS)):
        ts = row.get(key_t) if key_t else grid
        es = row.get(key_e)
        if ts and es:
            for t, e in zip(ts, es):
                if math.isclose(float(t), float(target), rel_tol=1e-9):
                    return e
    if row.get("f_opt") is None and f_ref is not None:
        tr = _trace(row)
        if tr is not None:
            n, f = tr
            hit = np.flatnonzero(f - f_ref <= target)
            return int(n[hit[0]]) if hit.size else None
    return math.nan


# --------------------------------------------------------------------------------------------
# statistics


def ert_at(rows: Sequence[dict], target: float, f_ref: float | None = None) -> float | None:
    """ERT of ``rows`` at ``target`` (None when a run did not record it)."""
    hits = [target_hits(r, target, f_ref) for r in rows]
    if any(isinstance(h, float) and math.isnan(h) for h in hits):
        return None
    shim = [{"nfev": r.get("nfev"), "evals_to_target": h} for r, h in zip(rows, hits)]
    return ert(shim)


def ert_per_target(rows: Iterable[dict], targets: Sequence[float] = REPORT_TARGETS) -> list[dict]:
    """Per (problem, method): ``runs``, ``successes`` (at the finest target) and ``ert`` (list, per target).

    An entry of ``ert`` is ``inf`` when no run reached that target, None when the runs did not record it.
    """
    rows = list(rows)
    ref = reference_values(rows)
    out = []
    for key, methods in by_problem(rows).items():
        for method, group in sorted(methods.items()):
            erts = [ert_at(group, t, ref[key]) for t in targets]
            finest = [target_hits(r, min(targets), ref[key]) for r in group]
            out.append({
                "problem": problem_label(key), "function": key[0], "dim": key[2], "method": method, "runs": len(group),
                "successes": sum(isinstance(h, int) for h in finest), "targets": list(targets), "ert": erts,
            })
    return out


def ecdf(rows: Iterable[dict], targets: Sequence[float] = ECDF_TARGETS) -> dict[int, dict[str, dict]]:
    """Runtime ECDFs, COCO style: per dimension and method, over every (run, target) pair.

    Returns ``{dim: {method: {"x": evals/dim at which pairs were reached (sorted), "y": the fraction
    of pairs reached by then, "pairs": number of pairs, "max_budget": largest evals/dim spent}}}``.
    A pair never reached stays out of ``x`` but counts in ``pairs``, so ``y`` ends at the fraction
    reached. Runs whose target hits were not recorded are left out.
    """
    rows = list(rows)
    ref = reference_values(rows)
    acc: dict[int, dict[str, list]] = {}
    for r in rows:
        dim = int(r.get("dim") or 1)
        hits = [target_hits(r, t, ref[problem_key(r)]) for t in targets]
        if any(isinstance(h, float) and math.isnan(h) for h in hits):
            continue
        slot = acc.setdefault(dim, {}).setdefault(r["method"], [[], 0, 0.0])
        slot[0].extend(h / dim for h in hits if h is not None)
        slot[1] += len(hits)
        slot[2] = max(slot[2], float(r.get("nfev") or 0) / dim)
    out: dict[int, dict[str, dict]] = {}
    for dim in sorted(acc):
        out[dim] = {}
        for method, (xs, pairs, budget) in sorted(acc[dim].items()):
            x = np.sort(np.asarray(xs, dtype=np.float64))
            out[dim][method] = {"x": x, "y": np.arange(1, x.size + 1) / max(pairs, 1), "pairs": pairs, "max_budget": budget}
    return out


def convergence(rows: Iterable[dict], per_decade: int = 10) -> dict[tuple, dict[str, dict]]:
    """Median best gap against evaluations: ``{problem_key: {method: {"n", "median", "q25", "q75", "runs"}}}``.

    Each run's trace is a step function (its best at the last recorded count <= n, its final best
    after it stopped); the gap is ``best - f_opt`` (or the best value of any run when ``f_opt`` is
    unknown), floored at :data:`GAP_FLOOR`. NaN where fewer than half the runs had a feasible value.
    """
    rows = list(rows)
    ref = reference_values(rows)
    out: dict[tuple, dict[str, dict]] = {}
    for key, methods in by_problem(rows).items():
        out[key] = {}
        for method, group in sorted(methods.items()):
            traces = [(t, row_reference(r, ref)) for r in group if (t := _trace(r)) is not None]
            traces = [(t, f_ref) for t, f_ref in traces if f_ref is not None]
            if not traces:
                continue
            n_max = max(int(t[0][-1]) for t, _ in traces)
            grid = np.asarray(trace_points(n_max, per_decade), dtype=np.int64)
            G = np.empty((len(traces), grid.size))
            for i, ((n, f), f_ref) in enumerate(traces):
                idx = np.searchsorted(n, grid, side="right") - 1
                vals = np.where(idx >= 0, f[np.clip(idx, 0, None)], np.nan)
                G[i] = np.maximum(vals - f_ref, GAP_FLOOR)
            G = np.where(np.isnan(G), np.inf, G)  # no feasible value yet: worse than anything
            with np.errstate(invalid="ignore"):  # inf - inf inside the interpolation: NaN, as wanted
                med, q25, q75 = (np.quantile(G, q, axis=0) for q in (0.5, 0.25, 0.75))
            out[key][method] = {"n": grid, "median": _finite_or_nan(med), "q25": _finite_or_nan(q25),
                                "q75": _finite_or_nan(q75), "runs": len(traces)}
        if not out[key]:
            del out[key]
    return out


def _finite_or_nan(a: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(a), a, np.nan)


def _quantiles(values) -> tuple[float | None, float | None, float | None]:
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return None, None, None
    q = np.quantile(vals, [0.25, 0.5, 0.75])
    return float(q[1]), float(q[0]), float(q[2])


def method_measures(rows: Iterable[dict]) -> list[dict]:
    """Per method: runs, failed, success rate, final gaps (median and quartiles over runs, and the
    best), median optimizer overhead per evaluation (us), peak memory (median and max over runs, MB),
    total wall time, and evaluations made. Sorted by success rate (desc), then median gap."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["method"], []).append(r)
    out = []
    for method, group in groups.items():
        med_gap, q25, q75 = _quantiles(r.get("gap") for r in group)
        gaps = [r["gap"] for r in group if r.get("gap") is not None]
        mems = [r["peak_mem_mb"] for r in group if r.get("peak_mem_mb") is not None]
        over = _quantiles(r.get("overhead_us_per_eval") for r in group)[0]
        out.append({
            "method": method, "runs": len(group), "failed": sum(r.get("status") == "FAILED" for r in group),
            "success_rate": sum(bool(r.get("success")) for r in group) / len(group),
            "median_gap": med_gap, "gap_q25": q25, "gap_q75": q75, "best_gap": min(gaps) if gaps else None,
            "overhead_us_per_eval": over,
            "median_peak_mem_mb": float(np.median(mems)) if mems else None, "max_peak_mem_mb": max(mems) if mems else None,
            "wall_time": float(sum(float(r.get("wall_time") or 0.0) for r in group)),
            "nfev": int(sum(int(r.get("nfev") or 0) for r in group)),
        })
    out.sort(key=lambda s: (-s["success_rate"], math.inf if s["median_gap"] is None else s["median_gap"], s["method"]))
    return out


__all__ = ["ECDF_TARGETS", "GAP_FLOOR", "REPORT_TARGETS", "MemoryProbe", "by_problem", "compact_trace", "convergence",
           "ecdf", "ert", "ert_at", "ert_per_target", "hitting_times", "method_measures", "problem_key", "problem_label",
           "reference_values", "run_measures", "target_hits", "trace_points"]
