"""Cells in worker processes and on a Dask LocalCluster: the same rows as serially, a worker killed
mid-cell loses nothing, an unreachable scheduler is reported, and --resume runs only what is missing."""

import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import optkit
from optkit.bench.parallel import connect, dask_executor, run_cells
from optkit.bench.runner import plan, read_runs, run_one
from optkit.cli import main

MEASURED = {"run_id", "bench_id", "timestamp", "wall_time", "objective_time", "overhead_us_per_eval", "peak_mem_mb",
            "mem_growth_mb"}
SPECS = plan(["random", "nelder-mead"], [1, 8], [2], [0, 1], budget=40)


def _strip(row):
    return {k: v for k, v in row.items() if k not in MEASURED}


@pytest.fixture(scope="module")
def serial():
    return run_cells(SPECS, bench_id="b")


# cells that misbehave, for the worker-loss tests; module-level so that workers can unpickle them
MARK = {"path": None}


def _die_once(spec, mark):
    """Kill this worker process the first time the seed-1 cell of random on f8 runs (a marker file remembers)."""
    if (spec.method, spec.function, spec.seed) == ("random", 8, 1) and not Path(mark).exists():
        Path(mark).write_text(str(os.getpid()))
        os._exit(3)
    return run_one(spec)


class DieOnce:
    def __init__(self, mark):
        self.mark = str(mark)

    def __call__(self, spec):
        return _die_once(spec, self.mark)


def _die_always(spec):
    if (spec.method, spec.function, spec.seed) == ("random", 8, 1):
        os._exit(3)
    return run_one(spec)


def test_workers_give_the_serial_rows(serial):
    rows = run_cells(SPECS, bench_id="b", workers=2)
    assert [r["run_id"] for r in rows] == [f"b-{i:05d}" for i in range(len(SPECS))]
    assert [_strip(r) for r in rows] == [_strip(r) for r in serial]


def test_skip_runs_only_the_missing_cells(serial):
    seen = []
    rows = run_cells(SPECS, bench_id="b", workers=2, skip={0, 1, 2, 5}, on_row=seen.append)
    assert [r["run_id"] for r in rows] == ["b-00003", "b-00004", "b-00006", "b-00007"]
    assert sorted(r["run_id"] for r in seen) == [r["run_id"] for r in rows]
    assert [_strip(r) for r in rows] == [_strip(serial[i]) for i in (3, 4, 6, 7)]


def test_a_worker_killed_mid_cell_loses_nothing(serial, tmp_path):
    seen = []
    rows = run_cells(SPECS, bench_id="b", workers=2, run=DieOnce(tmp_path / "mark"), on_row=seen.append)
    assert (tmp_path / "mark").exists()  # the worker did die
    assert [_strip(r) for r in rows] == [_strip(r) for r in serial]  # and its cell was run again
    assert sorted(r["run_id"] for r in seen) == [r["run_id"] for r in rows]  # each row reported once


def test_a_cell_that_always_kills_its_worker_becomes_a_failed_row(serial):
    rows = run_cells(SPECS, bench_id="b", workers=2, run=_die_always, max_retries=1)
    bad = [i for i, s in enumerate(SPECS) if (s.method, s.function, s.seed) == ("random", 8, 1)]
    assert [i for i, r in enumerate(rows) if r["status"] == "FAILED"] == bad
    assert "worker process lost in each of 2 attempts" in rows[bad[0]]["error"]
    assert [_strip(r) for i, r in enumerate(rows) if i not in bad] == [_strip(r) for i, r in enumerate(serial) if i not in bad]


def test_bad_arguments():
    with pytest.raises(optkit.InvalidParameterError, match="'workers' must be an int >= 1; got 0"):
        run_cells(SPECS, bench_id="b", workers=0)
    with pytest.raises(optkit.InvalidParameterError, match="'max_retries'"):
        run_cells(SPECS, bench_id="b", max_retries=-1)


def test_an_unreachable_scheduler_is_reported_quickly():
    pytest.importorskip("distributed")
    t0 = time.perf_counter()
    with pytest.raises(optkit.InvalidParameterError, match=r"no scheduler answered at 'tcp://127\.0\.0\.1:9' within 1 s"):
        run_cells(SPECS, bench_id="b", dask="tcp://127.0.0.1:9", connect_timeout=1.0)
    assert time.perf_counter() - t0 < 8


def test_cli_unreachable_scheduler_exits_2_and_runs_nothing(tmp_path, capsys):
    pytest.importorskip("distributed")
    args = ["bench", "--methods", "random", "--functions", "1", "--dims", "2", "--seeds", "1", "--budget", "20",
            "--no-progress", "--out", str(tmp_path), "--dask", "tcp://127.0.0.1:9", "--dask-timeout", "1"]
    assert main(args) == 2
    assert "no scheduler answered" in capsys.readouterr().err
    con = sqlite3.connect(tmp_path / "bench.sqlite")
    assert con.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)
    con.close()


# -- Dask LocalCluster --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("distributed")
    import cloudpickle
    from distributed import Client, LocalCluster

    # the workers are fresh interpreters: send this module's functions by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as lc:
        with Client(lc) as client:
            yield client


def test_dask_gives_the_serial_rows(cluster, serial):
    rows = run_cells(SPECS, bench_id="b", dask=cluster)
    assert [_strip(r) for r in rows] == [_strip(r) for r in serial]
    assert cluster.status == "running"  # a client passed in is left open


def test_dask_sigkill_of_a_busy_worker(cluster, tmp_path):
    """A worker SIGKILLed from outside while it runs a cell: the cell is run again elsewhere."""
    mark = tmp_path / "slow-mark"
    killed = []

    def kill():
        deadline = time.monotonic() + 60
        while not mark.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        os.kill(int(mark.read_text()), signal.SIGKILL)
        killed.append(True)

    threading.Thread(target=kill).start()
    rows = run_cells(SPECS[:4], bench_id="k", dask=cluster, run=SlowOnce(mark))
    assert killed and [r["status"] for r in rows] == ["BUDGET_EXHAUSTED"] * 4
    cluster.wait_for_workers(2, timeout=30)


class SlowOnce:
    """The first run of cell 1 records its pid and sleeps (to be killed); reruns are normal."""

    def __init__(self, mark):
        self.mark = str(mark)

    def __call__(self, spec):
        if spec.seed == 1 and spec.function == 1 and not Path(self.mark).exists():
            Path(self.mark).write_text(str(os.getpid()))
            time.sleep(60)
        return run_one(spec)


def test_cli_dask_address(cluster, tmp_path, capsys):
    address = cluster.scheduler.address
    args = ["bench", "--methods", "random", "--functions", "1", "--dims", "2", "--seeds", "3", "--budget", "20",
            "--no-progress", "--out", str(tmp_path), "--dask", address]
    assert main(args) == 0
    assert [r["nfev"] for r in read_runs(tmp_path / "bench.sqlite")] == [20, 20, 20]
    assert cluster.status == "running"


class Slow:
    def __call__(self, spec):
        time.sleep(0.1)
        return run_one(spec)


def test_a_cluster_lost_midway_keeps_what_finished():
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    lc = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
    got = []

    def close_when_some_are_done():
        deadline = time.monotonic() + 60
        while len(got) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        lc.close()

    threading.Thread(target=close_when_some_are_done, daemon=True).start()
    specs = plan(["random"], [1], [2], list(range(40)), budget=10)
    with pytest.raises(optkit.OptkitError, match=r"lost the cluster after \d+ of 40 cells.*--resume") as info:
        run_cells(specs, bench_id="L", dask=lc.scheduler_address, on_row=got.append, run=Slow())
    n = int(str(info.value).split("after ")[1].split(" of")[0])
    assert 3 <= n < 40 and len(got) == n  # every row received reached on_row (the store)
    assert all(r["status"] == "BUDGET_EXHAUSTED" for r in got)


def test_dask_executor_serves_minimize(cluster):
    problem = optkit.problems.bbob(1, 3, 1)
    serial = optkit.minimize(problem, method="cmaes", budget=120, seed=3)
    on_dask = optkit.minimize(problem, method="cmaes", budget=120, seed=3, executor=dask_executor(cluster))
    assert on_dask.nfev == serial.nfev == 120
    assert np.array_equal(on_dask.history.X, serial.history.X) and on_dask.fun == serial.fun
    assert connect(cluster) is cluster


# -- --resume ------------------------------------------------------------------------------------


TINY = ["bench", "--methods", "random,nelder-mead", "--functions", "1,8", "--dims", "2", "--seeds", "2", "--budget", "40",
        "--no-progress"]


def test_resume_runs_only_the_missing_cells(tmp_path, capsys):
    out = tmp_path / "res"
    assert main([*TINY, "--out", str(out), "--workers", "2"]) == 0
    full = read_runs(out / "bench.sqlite")
    bench_id = full[0]["bench_id"]
    # an interrupted bench: only its first 3 cells made it to the store
    con = sqlite3.connect(out / "bench.sqlite")
    with con:
        con.execute("DELETE FROM runs WHERE run_id > ?", (f"{bench_id}-00002",))
    con.close()
    kept = read_runs(out / "bench.sqlite")
    capsys.readouterr()
    assert main(["bench", "--resume", bench_id, "--out", str(out), "--no-progress", "--report", str(tmp_path / "r.html")]) == 0
    text = capsys.readouterr().out
    assert "3 of 8 cells already stored; running the other 5" in text
    rows = read_runs(out / "bench.sqlite")
    assert rows[:3] == kept  # the finished cells were not run again
    assert sorted(r["run_id"] for r in rows) == sorted(r["run_id"] for r in full)
    by_id = sorted(full, key=lambda r: r["run_id"])
    assert [_strip(r) for r in sorted(rows, key=lambda r: r["run_id"])] == [_strip(r) for r in by_id]
    con = sqlite3.connect(out / "bench.sqlite")
    assert con.execute("SELECT n_runs FROM benches").fetchall() == [(8,)]
    con.close()
    assert (tmp_path / "r.html").exists()
    # a directory resumes its latest bench; nothing is left to run
    assert main(["bench", "--resume", str(out), "--no-progress"]) == 0
    assert "8 of 8 cells already stored" in capsys.readouterr().out
    assert len(read_runs(out / "bench.sqlite")) == 8


def test_resume_of_an_unknown_bench(tmp_path, capsys):
    out = tmp_path / "res"
    assert main([*TINY[:-1], "--seeds", "1", "--no-progress", "--out", str(out)]) == 0
    bench_id = read_runs(out / "bench.sqlite")[0]["bench_id"]
    capsys.readouterr()
    assert main(["bench", "--resume", bench_id[:-1] + "z", "--out", str(out)]) == 2
    assert "Did you mean" in capsys.readouterr().err
    assert main(["bench", "--resume", "nothing-here", "--out", str(tmp_path / "none")]) == 2
    assert "no optkit results store" in capsys.readouterr().err


def test_workers_is_the_jobs_option(tmp_path, capsys):
    assert main([*TINY, "--seeds", "1", "--out", str(tmp_path), "--workers", "2"]) == 0
    assert "2 jobs" in capsys.readouterr().out
