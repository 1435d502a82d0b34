"""The bench runner, its storage and the aggregation (ERT against hand-derived numbers)."""

import json
import math
import sqlite3

import pytest

import optkit
from optkit.bench import report
from optkit.bench.runner import RUN_COLUMNS, ResultStore, RunSpec, evals_to_targets, plan, read_runs, run_bench, run_one
from optkit.bench.suites import BBOB_NAMES, SUITES, get_suite, instance_for_seed, resolve_functions, resolve_methods

TIMING = {"run_id", "bench_id", "timestamp", "wall_time", "objective_time", "overhead_us_per_eval", "peak_mem_mb", "mem_growth_mb"}


def _strip(row):
    return {k: v for k, v in row.items() if k not in TIMING}


# -- suites ------------------------------------------------------------------------------------


def test_quick_suite_is_the_documented_grid():
    s = get_suite("quick")
    assert s.method_names() == ["random", "nelder-mead", "cmaes", "pycma", "shade", "pso"]
    assert (s.functions, s.dims, s.seeds, s.budget(5)) == ((1, 8, 15), (2, 5), (0, 1, 2), 1000)
    assert [instance_for_seed(x) for x in s.seeds] == [1, 2, 3]


def test_standard_suite_takes_every_sampling_local_population_method():
    s = SUITES["standard"]
    assert s.functions == tuple(range(1, 25)) and s.dims == (2, 5, 10, 20) and len(s.seeds) == 5
    assert s.budget(10) == 10_000
    names = s.method_names()
    assert {"random", "sobol", "lhs", "nelder-mead", "pycma"} <= set(names)
    assert "bo" not in names
    assert all(optkit.get(n).family in ("sampling", "local", "population") for n in names)


def test_function_names_match_the_bbob_module():
    from optkit.problems.bbob import BBOB_FUNCTIONS

    assert BBOB_NAMES == BBOB_FUNCTIONS


def test_names_resolve_and_unknown_ones_are_suggested():
    assert resolve_methods(["CMA", "random", "pycma"]) == ["pycma", "random"]
    assert resolve_functions(["1", "f8", "Rastrigin", 1]) == [1, 8, 15]
    with pytest.raises(optkit.UnknownNameError, match="Did you mean 'random'"):
        resolve_methods(["randm"])
    with pytest.raises(optkit.UnknownNameError, match="Did you mean 'rosenbrock'"):
        resolve_functions(["rosenbrok"])
    with pytest.raises(optkit.InvalidParameterError, match="1..24"):
        resolve_functions(["25"])
    with pytest.raises(optkit.UnknownNameError, match="Did you mean 'quick'"):
        get_suite("quik")


def test_plan_expands_the_grid_and_checks_its_input():
    specs = plan(["random", "sobol"], [1, 8], [2, 5], [0, 1, 2], budget_per_dim=10, targets=[1e-8, 1e-2])
    assert len(specs) == 2 * 2 * 2 * 3
    assert specs[0] == RunSpec("random", 1, 2, 0, 20, (1e-2, 1e-8))
    assert specs[-1].method == "sobol" and specs[-1].budget == 50 and specs[-1].instance == 3
    for kwargs in (dict(), dict(budget=10, budget_per_dim=2), dict(budget=0), dict(budget=10, targets=[0.0])):
        with pytest.raises(optkit.InvalidParameterError):
            plan(["random"], [1], [2], [0], **kwargs)
    with pytest.raises(optkit.InvalidParameterError, match=">= 2"):
        plan(["random"], [1], [1], [0], budget=10)


# -- one run -----------------------------------------------------------------------------------


def test_evals_to_targets_is_the_first_hit_plus_one():
    best = [float("nan"), 12.0, 3.0, 1.5, 1.0 + 1e-9]
    assert evals_to_targets(best, f_opt=1.0, targets=[10.0, 1.0, 1e-8, 1e-12]) == [3, 4, 5, None]


def test_run_one_records_a_run():
    row = run_one(RunSpec("random", 1, 2, 0, 50, targets=(1e3, 1e-8)))
    assert set(row) == set(RUN_COLUMNS)
    from optkit.problems.bbob import bbob

    p = bbob(1, 2, 1)
    assert (row["instance"], row["nfev"], row["status"], row["error"]) == (1, 50, "BUDGET_EXHAUSTED", None)
    assert row["f_opt"] == p.f_opt
    assert row["gap"] == pytest.approx(row["fun"] - p.f_opt) and row["gap"] > 0
    # sphere on [-5, 5]^2 is within 1e3 of its optimum everywhere: reached at the first evaluation
    assert row["evals_to_targets"] == [1, None] and row["target"] == 1e-8
    assert row["evals_to_target"] is None and row["success"] is False
    assert 0 < row["objective_time"] <= row["wall_time"]
    assert row["overhead_us_per_eval"] == pytest.approx((row["wall_time"] - row["objective_time"]) / 50 * 1e6)
    assert row["optkit_version"] == optkit.__version__


def test_a_successful_run_counts_its_evaluations_to_target():
    row = run_one(RunSpec("nelder-mead", 1, 2, 0, 400))
    assert row["success"] is True
    assert 1 <= row["evals_to_target"] <= row["nfev"] == 400
    assert row["gap"] <= 1e-8


def test_a_method_that_raises_becomes_a_failed_row(monkeypatch):
    real_make = optkit.make

    def make(name, space, seed=None):
        if seed == 0:
            raise RuntimeError("boom")
        return real_make(name, space, seed=seed)

    monkeypatch.setattr(optkit, "make", make)
    rows = run_bench(plan(["random"], [1], [2], [0, 1], budget=20))
    assert rows[0]["status"] == "FAILED" and rows[0]["error"] == "RuntimeError: boom"
    assert rows[0]["nfev"] == 0 and rows[0]["success"] is False and rows[0]["gap"] is None
    assert rows[1]["status"] == "BUDGET_EXHAUSTED" and rows[1]["nfev"] == 20


def test_parallel_rows_equal_serial_rows():
    specs = plan(["random", "nelder-mead"], [8], [2], [0, 1], budget=50)
    serial = run_bench(specs)
    parallel = run_bench(specs, jobs=2)
    assert [_strip(r) for r in parallel] == [_strip(r) for r in serial]
    assert [r["run_id"].rsplit("-", 1)[1] for r in parallel] == ["00000", "00001", "00002", "00003"]


# -- storage -----------------------------------------------------------------------------------


def test_store_appends_sqlite_and_jsonl(tmp_path):
    ids = []
    for seeds in ([0, 1], [2]):
        with ResultStore(tmp_path) as store:
            bench_id = store.begin(suite="quick", argv=["optkit", "bench"], jobs=1, config={"seeds": seeds})
            run_bench(plan(["random"], [1], [2], seeds, budget=10), bench_id=bench_id, on_row=store.add)
            store.finish()
            ids.append(bench_id)
    rows = read_runs(tmp_path / "bench.sqlite")
    assert [r["seed"] for r in rows] == [0, 1, 2] and [r["bench_id"] for r in rows] == [ids[0], ids[0], ids[1]]
    assert read_runs(tmp_path / "bench.sqlite", ids[1])[0]["seed"] == 2
    lines = [json.loads(line) for i in ids for line in (tmp_path / f"{i}.jsonl").read_text().splitlines()]
    assert lines == rows  # the same rows in both files
    con = sqlite3.connect(tmp_path / "bench.sqlite")
    benches = con.execute("SELECT bench_id, suite, n_runs, n_failed, finished IS NOT NULL, host FROM benches").fetchall()
    con.close()
    assert [b[:5] for b in benches] == [(ids[0], "quick", 2, 0, 1), (ids[1], "quick", 1, 0, 1)]
    assert all(b[5] for b in benches)


# -- aggregation -------------------------------------------------------------------------------


def _row(method, nfev, hit, gap, function=1, dim=2):
    return dict(method=method, function=function, function_name="sphere", dim=dim, nfev=nfev, evals_to_target=hit,
                success=hit is not None, gap=gap, target=1e-8, targets=[1e-2, 1e-8], evals_to_targets=[hit and hit // 2, hit],
                status="BUDGET_EXHAUSTED", wall_time=1.0, objective_time=0.5, overhead_us_per_eval=0.5 / nfev * 1e6)


def test_ert_on_hand_made_rows():
    rows = [_row("a", 500, 100, 0.0), _row("a", 400, None, 0.3), _row("a", 1000, 300, 0.0)]
    # (100 + 400 + 300) evaluations for 2 successes
    assert report.ert(rows) == 400.0
    # at 1e-2 the hits are 50 and 150: (50 + 400 + 150) / 2
    assert report.ert(rows, target=1e-2) == 300.0
    assert report.ert([_row("a", 400, None, 0.3)]) == math.inf
    with pytest.raises(optkit.InvalidParameterError, match="not recorded"):
        report.ert(rows, target=1e-5)


def test_aggregate_and_summary():
    rows = [_row("a", 500, 100, 0.0), _row("a", 400, None, 0.3), _row("a", 1000, 300, 0.0),
            _row("b", 400, 200, 0.0), _row("b", 400, 200, 0.0), _row("b", 400, 200, 0.0),
            _row("a", 400, None, 2.0, function=8), _row("b", 400, 100, 0.0, function=8)]
    agg = report.aggregate(rows)
    assert [(s["function"], s["method"]) for s in agg] == [(1, "b"), (1, "a"), (8, "b"), (8, "a")]  # best ERT first
    a1 = agg[1]
    assert (a1["runs"], a1["successes"], a1["success_rate"], a1["median_evals"], a1["ert"], a1["median_gap"]) == (
        3, 2, 2 / 3, 200.0, 400.0, 0.0)
    assert a1["overhead_us_per_eval"] == pytest.approx(1000.0)  # median of 1000, 1250, 500
    summary = report.summarize(rows)
    assert [s["method"] for s in summary] == ["b", "a"]
    b, a = summary
    assert (b["success_rate"], b["solved"], b["problems"], b["ert_ratio"]) == (1.0, 2, 2, 1.0)
    # a: ERT 400 vs best 200 on f1 (ratio 2), inf on f8: the median of (2, inf) is inf
    assert (a["success_rate"], a["solved"], a["ert_ratio"]) == (0.5, 1, math.inf)


def test_print_report_writes_aligned_tables_to_the_stream(capsys):
    import io

    buf = io.StringIO()
    report.print_report([_row("a", 500, 100, 0.0), _row("nelder-mead", 400, None, 0.25)], file=buf)
    text = buf.getvalue()
    assert capsys.readouterr().out == ""
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("f  function"))
    assert len(lines[header]) == len(lines[header + 1])  # the dashes line up with the header
    assert "nelder-mead" in text and "2.50e-01" in text and "target f - f_opt <= 1e-08" in text
