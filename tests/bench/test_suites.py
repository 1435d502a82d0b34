"""The suites beyond BBOB (classic, constrained, bo, highdim), planning them, and the store's new column."""

import json
import math
import sqlite3

import pytest

import optkit
from optkit.bench import report
from optkit.bench.problems import ProblemRef, plan_problems
from optkit.bench.runner import RUN_COLUMNS, ResultStore, RunSpec, read_runs, run_bench, run_one
from optkit.bench.suites import SUITES, get_suite, make_plan, resolve_problems
from optkit.cli import main


def test_suites_are_the_documented_grids():
    from optkit.problems.classical import PROBLEMS as classical
    from optkit.problems.constrained import PROBLEMS as constrained

    bbob = get_suite("bbob")
    assert bbob.functions == tuple(range(1, 25)) and bbob.dims == (2, 3, 5, 10, 20, 40) and bbob.seeds == tuple(range(15))
    assert set(get_suite("classic").problems) == set(classical)
    assert set(get_suite("constrained").problems) == set(constrained)
    bo = get_suite("bo")
    assert bo.method_names() == ["random", "sobol", "bo"] and bo.budget(6) == 120 and min(bo.targets) == 1e-3
    assert "peer:optuna:gp" in bo.peers and "peer:botorch" in bo.peers
    assert get_suite("highdim").dims == (100, 300, 1000)
    assert {"quick", "standard"} <= set(SUITES)
    with pytest.raises(optkit.UnknownNameError, match="Did you mean 'classic'"):
        get_suite("clasic")


def test_problem_suites_plan_fixed_and_free_dimensions():
    plan = make_plan(suite="classic", methods=["random"], seeds=[0], budget=10)
    dims = {}
    for s in plan.specs:
        dims.setdefault(s.problem.name, []).append(s.dim)
    assert dims["rosenbrock"] == [2, 10] and dims["branin"] == [2] and dims["hartmann6"] == [6]
    assert len(plan.specs) == 10 * 2 + 5 and plan.suite == "classic"
    assert "15 problems" in plan.summary
    picked = make_plan(suite="constrained", methods=["random"], functions=["welded-beam"], seeds=[0, 1], budget_per_dim=5)
    assert [(s.problem.target, s.dim, s.budget, s.seed) for s in picked.specs] == [("welded_beam", 4, 20, 0),
                                                                                  ("welded_beam", 4, 20, 1)]
    assert picked.specs[0].targets == (1e-2, 1e-4, 1e-6)
    with pytest.raises(optkit.UnknownNameError, match="Did you mean 'hartmann6'"):
        resolve_problems(["hartman6"], get_suite("bo"))
    peers = make_plan(suite="quick", methods=["random"], peers=True, functions=[1], dims=[2], seeds=[0], budget=5,
                      peer_timeout=7)
    assert peers.methods[0] == "random" and "peer:cma" in peers.methods and "peer:scipy:de" in peers.methods
    assert {s.timeout for s in peers.specs} == {7}


def test_constrained_and_highdim_cells_run():
    rows = run_bench(plan_problems(["random", "cmaes"], [ProblemRef("optkit", "spring")], [], [0], budget=60,
                                   targets=[1e-2]).specs)
    for r in rows:
        assert (r["function"], r["function_name"], r["dim"], r["instance"]) == (None, "spring", 3, None)
        assert r["status"] in ("BUDGET_EXHAUSTED", "INFEASIBLE") and r["nfev"] == 60
        assert r["f_opt"] == pytest.approx(0.0126652328) and r["outside_box_fraction"] == 0.0
    # a large-scale ES on the 1000-d sphere: every evaluation counted
    row = run_one(RunSpec("lmmaes", 0, 1000, 0, 300, (1.0,), "highdim", problem=ProblemRef("optkit", "sphere")))
    assert (row["nfev"], row["dim"], row["status"], row["f_opt"]) == (300, 1000, "BUDGET_EXHAUSTED", 0.0)
    assert row["gap"] == row["fun"] > 0


def test_report_groups_non_bbob_problems_by_name(capsys):
    rows = [
        dict(method="m", function=None, function_name="a", dim=2, nfev=10, evals_to_target=5, success=True, gap=0.0, fun=1.0),
        dict(method="m", function=None, function_name="b", dim=2, nfev=10, evals_to_target=None, success=False, gap=1.0,
             fun=2.0, outside_box_fraction=0.25),
        dict(method="m", function=1, function_name="sphere", dim=2, nfev=10, evals_to_target=3, success=True, gap=0.0,
             fun=0.0, warning="PeerNote: runs a diagonal CMA"),
    ]
    agg = report.aggregate(rows)
    assert [(a["function"], a["function_name"], a["ert"]) for a in agg] == [(1, "sphere", 3.0), (None, "a", 5.0),
                                                                            (None, "b", math.inf)]
    assert report.summarize(rows)[0]["solved"] == 2
    report.print_report(rows)
    out = capsys.readouterr().out
    assert "m 25.0%" in out and "note: m: runs a diagonal CMA" in out


def test_an_old_store_gains_the_new_column(tmp_path):
    old = {k: v for k, v in RUN_COLUMNS.items() if k != "outside_box_fraction"}
    con = sqlite3.connect(tmp_path / "bench.sqlite")
    con.execute(f"CREATE TABLE runs ({', '.join(f'{k} {t}' for k, t in old.items())})")
    con.execute("INSERT INTO runs (run_id, method, targets, evals_to_targets, success) VALUES (?, ?, ?, ?, ?)",
                ("old-1", "random", json.dumps([1e-8]), json.dumps([None]), 0))
    con.commit()
    con.close()
    store = ResultStore(tmp_path)
    bench_id = store.begin(suite="user", argv=["optkit"], jobs=1, config={})
    run_bench(plan_problems(["random"], [ProblemRef("optkit", "sphere")], [2], [0], budget=5).specs, bench_id=bench_id,
              on_row=store.add)
    store.finish()
    store.close()
    rows = read_runs(tmp_path / "bench.sqlite")
    assert [r["run_id"] for r in rows][0] == "old-1" and rows[0]["outside_box_fraction"] is None
    assert rows[1]["outside_box_fraction"] == 0.0 and rows[1]["function_name"] == "sphere"


def test_cli_problem_suite_and_unknown_names(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["bench", "--suite", "bo", "--functions", "branin", "--methods", "random", "--seeds", "1",
                 "--budget", "15", "--no-progress", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "suite bo: 1 methods x 1 problems x 1 seeds = 1 runs" in text and "branin" in text
    assert main(["bench", "--suite", "highdim", "--functions", "spere", "--out", str(out)]) == 2
    assert "Did you mean 'sphere'" in capsys.readouterr().err
    assert main(["bench", "--methods", "random,peer:cmaa", "--out", str(out)]) == 2
    assert "Did you mean 'peer:cma'" in capsys.readouterr().err


def test_ml_suite_judges_gradient_runs_on_the_full_loss():
    import numpy as np

    from optkit.bench.runner import full_loss_trace

    assert "ml" in SUITES and SUITES["ml"].families == ("first_order",)
    spec = RunSpec(method="sps", function=0, dim=20, seed=0, budget=8000, targets=(1e-2, 1e-6), suite="ml",
                   problem=ProblemRef("optkit", "least_squares"))
    row = run_one(spec)
    assert row["status"] == "BUDGET_EXHAUSTED" and row["nfev"] == 8000
    # reached 1e-6 on the full loss, at an oracle-call count within the budget
    assert row["success"] and 0 < row["evals_to_targets"][0] <= row["evals_to_targets"][1] <= 8000
    # the trace is built from full losses: never below the optimum, ends at the final full loss
    p = optkit.problems.get("least_squares")
    res = optkit.make("sps", p.space, seed=0).minimize(p, 8000)
    trace = full_loss_trace(p, res)
    assert trace.shape == (8000,) and np.all(trace[np.isfinite(trace)] >= p.f_opt - 1e-12)
    assert trace[-1] == pytest.approx(min(res.fun, trace[-2]))
    # a logistic-regression minibatch loss dips below the optimum; the row's success does not follow it
    spec = RunSpec(method="sps", function=0, dim=31, seed=0, budget=2000, targets=(1e-6,), suite="ml",
                   problem=ProblemRef("optkit", "logreg_breast_cancer"))
    row = run_one(spec)
    assert not row["success"] and row["gap"] > 1e-6
