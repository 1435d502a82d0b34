"""The bench measures: traces, hitting times, ERT per target, runtime ECDFs, convergence, memory,
against hand-computed values."""

import math

import numpy as np
import pytest

from optkit.bench import measures
from optkit.bench.measures import (
    ECDF_TARGETS,
    MemoryProbe,
    compact_trace,
    convergence,
    ecdf,
    ert_at,
    ert_per_target,
    hitting_times,
    method_measures,
    reference_values,
    target_hits,
    trace_points,
)
from optkit.bench.runner import RunSpec, evals_to_targets, run_one


def test_trace_points_are_log_spaced_and_end_at_nfev():
    assert trace_points(0) == []
    assert trace_points(1) == [1]
    assert trace_points(7) == [1, 2, 3, 4, 5, 6, 7]
    pts = trace_points(100_000)
    assert pts[-1] == 100_000 and pts == sorted(set(pts))
    # 10 per decade: 10, 100, 1000 ... are all there, and about 10 points per decade above 10
    assert {10, 100, 1000, 10_000} <= set(pts)
    assert sum(1000 < p <= 10_000 for p in pts) == 10
    assert trace_points(150)[-2:] == [126, 150]


def test_compact_trace_samples_best_so_far_at_the_points():
    best = np.minimum.accumulate(np.linspace(100.0, 1.0, 250))
    best[:3] = np.nan  # nothing feasible at first
    tr = compact_trace(best)
    assert tr["n"] == trace_points(250)
    assert tr["f"][:3] == [None, None, None]
    assert all(f == best[n - 1] for n, f in zip(tr["n"][3:], tr["f"][3:]))


def test_hitting_times_by_hand_and_against_the_runner():
    assert hitting_times([9.0, 5.0, 5.0, 1.0], 1.0, [10.0, 4.0, 0.5, -1.0]) == [1, 2, 4, None]
    assert hitting_times([np.nan, np.nan, 3.0, 2.0], 0.0, [5.0, 2.0, 1.0]) == [3, 4, None]
    assert hitting_times([], 0.0, [1.0]) == [None]
    rng = np.random.default_rng(0)
    best = np.minimum.accumulate(10 ** rng.uniform(-9, 3, 500))
    targets = list(ECDF_TARGETS)
    assert hitting_times(best, 0.0, targets) == evals_to_targets(best, 0.0, targets)


def test_ecdf_targets_are_cocos_51():
    assert len(ECDF_TARGETS) == 51
    assert ECDF_TARGETS[0] == pytest.approx(100.0) and ECDF_TARGETS[-1] == pytest.approx(1e-8)
    assert all(math.isclose(a / b, 10**0.2) for a, b in zip(ECDF_TARGETS, ECDF_TARGETS[1:]))
    assert set(measures.REPORT_TARGETS) <= {t for t in ECDF_TARGETS if any(math.isclose(t, r) for r in measures.REPORT_TARGETS)}


def _hits(**at):
    """An ecdf_hits list with the given evaluations at the given target exponents, None elsewhere."""
    out = [None] * 51
    for key, e in at.items():
        exp = float(key[1:].replace("m", "-"))
        out[round((2.0 - exp) / 0.2)] = e
    return out


def _row(method, nfev, hits, *, dim=2, function=1, seed=0, gap=None, f_opt=0.0, trace=None, **extra):
    return dict(method=method, function=function, function_name="sphere", dim=dim, seed=seed, nfev=nfev, f_opt=f_opt,
                fun=None if gap is None else f_opt + gap, gap=gap, targets=[1e-8], evals_to_targets=[hits[50]],
                evals_to_target=hits[50], success=hits[50] is not None, status="BUDGET_EXHAUSTED", ecdf_hits=hits,
                trace=trace, **extra)


def test_ert_per_target_by_hand():
    a = _row("m", 100, _hits(e1=10, em1=30, em8=80))
    b = _row("m", 200, _hits(e1=20), seed=1)
    # ERT(1e1) = (10 + 20) / 2; ERT(1e-1) = (30 + 200) / 1; ERT(1e-8) = (80 + 200) / 1; ERT(1e-3) = inf
    assert ert_at([a, b], 1e1) == 15.0
    assert ert_at([a, b], 1e-1) == 230.0
    assert ert_at([a, b], 1e-8) == 280.0
    assert ert_at([a, b], 1e-3) == math.inf
    rec = ert_per_target([a, b])
    assert len(rec) == 1 and rec[0]["runs"] == 2 and rec[0]["successes"] == 1
    assert rec[0]["ert"] == [15.0, 230.0, math.inf, math.inf, 280.0]
    # a target the runs did not record
    assert ert_at([{**a, "ecdf_hits": None}], 1e-3) is None


def test_ecdf_counts_run_target_pairs():
    a = _row("m", 100, _hits(e2=1, e1=10, em8=80))
    b = _row("m", 300, _hits(e2=4), seed=1)
    c = _row("m", 50, _hits(e2=2), dim=5)
    data = ecdf([a, b, c])
    assert sorted(data) == [2, 5]
    d2 = data[2]["m"]
    assert d2["pairs"] == 102 and d2["max_budget"] == 150.0
    assert d2["x"].tolist() == [0.5, 2.0, 5.0, 40.0]  # evaluations / dim, sorted
    assert d2["y"].tolist() == pytest.approx([1 / 102, 2 / 102, 3 / 102, 4 / 102])
    assert data[5]["m"]["x"].tolist() == [0.4] and data[5]["m"]["pairs"] == 51


def test_problems_without_f_opt_use_the_best_value_found():
    tr1 = {"n": [1, 2, 5, 10], "f": [9.0, 5.0, 3.0, 3.0]}
    tr2 = {"n": [1, 2, 5, 10], "f": [8.0, 8.0, 4.0, 2.0]}
    r1 = dict(method="m", function=None, function_name="mine", dim=3, nfev=10, f_opt=None, fun=3.0, trace=tr1)
    r2 = dict(method="m", function=None, function_name="mine", dim=3, nfev=10, f_opt=None, fun=2.0, trace=tr2)
    ref = reference_values([r1, r2])
    assert ref[(None, "mine", 3)] == 2.0
    assert target_hits(r1, 1.0, 2.0) == 5 and target_hits(r2, 1e-8, 2.0) == 10 and target_hits(r1, 0.5, 2.0) is None
    conv = convergence([r1, r2])[(None, "mine", 3)]["m"]
    assert conv["n"].tolist() == trace_points(10)
    # median over the two runs of (best - 2): at n=1: (7, 6) -> 6.5; at n=5: (1, 2) -> 1.5; at n=10: (1, 0 -> floor)
    med = dict(zip(conv["n"].tolist(), conv["median"].tolist()))
    assert med[1] == 6.5 and med[5] == 1.5 and med[10] == pytest.approx((1.0 + measures.GAP_FLOOR) / 2)


def test_convergence_uses_each_runs_own_f_opt_and_carries_the_last_value():
    # two BBOB instances with different optima: the gap is per row
    r1 = _row("m", 4, _hits(), f_opt=100.0, gap=1.0, trace={"n": [1, 2, 3, 4], "f": [104.0, 102.0, 101.0, 101.0]})
    r2 = _row("m", 2, _hits(), f_opt=-5.0, gap=3.0, seed=1, trace={"n": [1, 2], "f": [None, -2.0]})
    conv = convergence([r1, r2])[(1, "sphere", 2)]["m"]
    assert conv["n"].tolist() == [1, 2, 3, 4]
    # n=1: (4, no value yet) -> the median of (4, inf) is inf -> NaN; n=2: (2, 3); n=3, 4: (1, 3) (r2 stopped at 2)
    assert math.isnan(conv["median"][0])
    assert conv["median"][1:].tolist() == [2.5, 2.0, 2.0]


def test_method_measures():
    rows = [
        _row("a", 10, _hits(em8=5), gap=0.0, peak_mem_mb=100.0, overhead_us_per_eval=3.0, wall_time=1.0),
        _row("a", 10, _hits(), gap=2.0, seed=1, peak_mem_mb=120.0, overhead_us_per_eval=5.0, wall_time=2.0),
        _row("b", 10, _hits(), gap=1.0, peak_mem_mb=None, overhead_us_per_eval=None, wall_time=0.5),
    ]
    rows[2]["status"] = "FAILED"
    a, b = method_measures(rows)
    assert (a["method"], a["runs"], a["success_rate"], a["median_gap"], a["best_gap"]) == ("a", 2, 0.5, 1.0, 0.0)
    assert (a["median_peak_mem_mb"], a["max_peak_mem_mb"], a["overhead_us_per_eval"], a["wall_time"]) == (110.0, 120.0, 4.0, 3.0)
    assert (b["failed"], b["median_peak_mem_mb"], b["nfev"]) == (1, None, 10)


def test_memory_probe_sees_an_allocation():
    probe = MemoryProbe()
    block = np.ones(60 * 2**20 // 8)  # 60 MB, touched
    got = probe.read()
    del block
    assert got["peak_mem_mb"] > 60
    if probe.method == "vmhwm":  # Linux: the peak of this block alone
        assert got["mem_growth_mb"] == pytest.approx(60, abs=15)


def test_run_one_records_trace_hits_and_memory():
    row = run_one(RunSpec("nelder-mead", 1, 2, 0, 300, (1e-1, 1e-8)))
    assert row["trace"]["n"] == trace_points(row["nfev"])
    assert row["trace"]["f"][-1] == row["fun"]
    hits = row["ecdf_hits"]
    assert len(hits) == 51
    # the runner's own hitting times agree with the ECDF ones at the shared targets
    assert hits[50] == row["evals_to_targets"][1] and hits[15] == row["evals_to_targets"][0]
    assert hits == sorted(hits, key=lambda h: math.inf if h is None else h)  # finer targets are reached later
    assert row["peak_mem_mb"] > 1.0
