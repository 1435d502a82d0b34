"""Peer adapters: exact budget accounting, no clipping, and isolation of crashing or hanging peers."""

import textwrap
import time
import warnings

import numpy as np
import pytest

import optkit
from optkit.bench import peers
from optkit.bench.peers import BudgetExhausted, PeerTask, prepare, resolve_peer
from optkit.bench.runner import RUN_COLUMNS, RunSpec, outside_box_fraction, run_one
from optkit.cli import main


def _sphere_problem(d=2, lo=-5.0, hi=5.0, **kw):
    return optkit.Problem(lambda x: float(np.sum(np.square(x))), optkit.Box(lo, hi, dim=d), f_opt=0.0, name="sphere", **kw)


# -- budget accounting ---------------------------------------------------------------------------


def test_task_counts_exactly_and_stops_at_the_budget():
    task = PeerTask(_sphere_problem(), budget=3, seed=0)
    assert [task([1.0, 2.0]), task([7.0, 0.0]), task([0.0, 0.0])] == [5.0, 49.0, 0.0]
    with pytest.raises(BudgetExhausted):
        task([1.0, 1.0])
    assert task.n == 3 and len(task.history) == 3
    # the point outside the box was evaluated where it was, not clipped
    np.testing.assert_array_equal(task.history.X[1], [7.0, 0.0])
    assert outside_box_fraction(task.history.X, task.problem.space) == pytest.approx(1 / 3)
    np.testing.assert_array_equal(task.history.best_so_far(), [5.0, 5.0, 0.0])


def test_task_penalizes_violations_and_failures_for_the_peer_only():
    p = optkit.Problem(lambda x: float(x[0]), optkit.Box(-1.0, 1.0, dim=1), constraints=[lambda x: float(x[0]) - 0.5],
                       on_error="penalize")
    task = PeerTask(p, budget=10, seed=0)
    assert task([0.0]) == 0.0
    assert task([0.75]) == pytest.approx(0.75 + peers.PENALTY_WEIGHT * 0.25)  # the peer sees the penalty
    assert task.history.fun[1] == 0.75 and not task.history.feasible[1]  # the row sees the truth
    bad = optkit.Problem(lambda x: float("nan"), optkit.Box(-1.0, 1.0, dim=1), on_error="penalize")
    t2 = PeerTask(bad, budget=5, seed=0)
    assert t2([0.0]) == 1.0 and t2.history.error[0].startswith("non-finite")
    raising = optkit.Problem(lambda x: float("nan"), optkit.Box(-1.0, 1.0, dim=1))
    with pytest.raises(optkit.ObjectiveError):
        PeerTask(raising, budget=5, seed=0)([0.0])


@pytest.mark.parametrize("name", ["peer:cma", "peer:scipy:de", "peer:scipy:dual_annealing", "peer:optuna:tpe"])
def test_real_peers_use_the_budget_exactly_in_process(name):
    problem = _sphere_problem()
    res = prepare(name, problem)(problem, 40, 0)
    assert res.nfev == 40 and len(res.best_so_far) == 40
    assert res.status == optkit.Status.BUDGET_EXHAUSTED
    assert res.fun == pytest.approx(float(np.sum(res.x ** 2))) and res.fun == res.best_so_far[-1]
    assert res.fun < 25.0  # better than the worst point of the box: it optimizes
    # the same seed gives the same run
    again = prepare(name, problem)(problem, 40, 0)
    np.testing.assert_array_equal(again.history.X, res.history.X)


def test_pypop7_evolution_strategy_is_not_clipped():
    # a start step size of 0.3 x width on a narrow box sends an ES outside it; we report, never clip
    problem = optkit.Problem(lambda x: float(np.sum((x - 2.9) ** 2)), optkit.Box(2.0, 3.0, dim=5), f_opt=0.0)
    res = prepare("peer:pypop7:LMMAES", problem)(problem, 200, 0)
    assert res.nfev == 200
    frac = outside_box_fraction(res.history.X, problem.space)
    assert 0 < frac < 1
    X = res.history.X
    assert np.any(X < 2.0) or np.any(X > 3.0)


def test_peer_names_resolve_with_suggestions_and_missing_packages_name_the_extra(monkeypatch):
    assert resolve_peer("PEER:Nevergrad:ngopt") == "peer:nevergrad:NGOpt"
    assert resolve_peer("optuna:gp") == "peer:optuna:gp"
    with pytest.raises(optkit.UnknownNameError, match="Did you mean 'peer:optuna:tpe'"):
        resolve_peer("peer:optuna:tpf")
    monkeypatch.setattr(peers.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(peers.PeerUnavailableError, match=r"pip install 'optkit\[peers\]'"):
        peers.check_available(["peer:optuna:tpe"])
    with pytest.raises(peers.PeerUnavailableError, match=r"optkit\[bo\]"):
        peers.check_available(["peer:botorch"])


def test_list_peers(capsys):
    assert main(["list", "--peers"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert {"peer:cma", "peer:nevergrad:NGOpt", "peer:pypop7:LMMAES", "peer:optuna:gp", "peer:scipy:de", "peer:botorch"} <= set(lines)
    assert "scipy 1." in lines["peer:scipy:de"]


# -- isolation ------------------------------------------------------------------------------------

FAKE_PEERS = textwrap.dedent('''
    import os, signal, threading, time

    def hang(task):
        task([0.0, 0.0])
        time.sleep(600)

    def boom(task):
        for _ in range(5):
            task([1.0, 1.0])
        raise ValueError("only 0-dimensional arrays can be converted to Python scalars")

    def die(task):
        task([0.0, 0.0])
        os.kill(os.getpid(), signal.SIGKILL)

    def hang_at_exit(task):
        while task.remaining:
            task([0.5, 0.5])
        threading.Thread(target=time.sleep, args=(600,)).start()  # a non-daemon thread: exit would wait
''')


@pytest.fixture
def fake_peers(tmp_path, monkeypatch):
    (tmp_path / "fake_peers_mod.py").write_text(FAKE_PEERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "peer:py:fake_peers_mod:"


def test_a_hanging_peer_times_out_as_a_failed_row(fake_peers):
    t0 = time.perf_counter()
    row = run_one(RunSpec(fake_peers + "hang", 1, 2, 0, 50, timeout=3))
    assert time.perf_counter() - t0 < 30
    assert set(row) == set(RUN_COLUMNS)
    assert row["status"] == "FAILED" and "timed out after 3 s" in row["error"] and row["success"] is False


def test_a_crashing_peer_keeps_its_evaluations_and_a_dying_one_is_reported(fake_peers):
    row = run_one(RunSpec(fake_peers + "boom", 1, 2, 0, 50, timeout=60))
    assert row["status"] == "FAILED" and row["nfev"] == 5
    assert row["error"] == "ValueError: only 0-dimensional arrays can be converted to Python scalars"
    assert row["fun"] is not None and row["outside_box_fraction"] == 0.0
    row = run_one(RunSpec(fake_peers + "die", 1, 2, 0, 50, timeout=60))
    assert row["status"] == "FAILED" and "killed by signal SIGKILL" in row["error"]


def test_a_peer_that_would_hang_at_exit_returns_its_row(fake_peers):
    t0 = time.perf_counter()
    row = run_one(RunSpec(fake_peers + "hang_at_exit", 1, 2, 0, 30, timeout=25))
    assert time.perf_counter() - t0 < 20
    assert row["status"] == "BUDGET_EXHAUSTED" and row["nfev"] == 30 and row["error"] is None
    from optkit.problems.bbob import bbob

    assert row["fun"] == pytest.approx(bbob(1, 2, 1)([0.5, 0.5]))


def test_a_real_peer_cell_through_the_subprocess():
    row = run_one(RunSpec("peer:cma", 1, 2, 0, 300, targets=(1e-2, 1e-8), timeout=120))
    assert (row["method"], row["status"], row["nfev"], row["instance"]) == ("peer:cma", "BUDGET_EXHAUSTED", 300, 1)
    assert row["evals_to_targets"][0] is not None and row["evals_to_targets"][0] <= 300
    assert row["outside_box_fraction"] == 0.0 and row["nit"] >= 300 // 6
    assert 0 < row["objective_time"] <= row["wall_time"]


def test_nevergrad_cma_on_a_box_is_noted_as_diagonal():
    problem = _sphere_problem()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = prepare("peer:nevergrad:CMA", problem)(problem, 20, 0)
    assert res.nfev == 20
    notes = [w for w in caught if issubclass(w.category, peers.PeerNote)]
    assert notes and "diagonal" in str(notes[0].message)
