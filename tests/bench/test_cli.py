"""The ``optkit`` command: argument checking, ``optkit list``, a tiny ``optkit bench``."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from optkit.cli import main

TINY = ["bench", "--methods", "random,nelder-mead", "--functions", "1", "--dims", "2", "--seeds", "2", "--budget", "50",
        "--no-progress"]


def test_list_shows_the_registry(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["name", "family", "summary"]
    by_name = {line.split()[0]: line for line in lines[2:]}
    assert {"random", "pycma"} <= set(by_name)
    assert by_name["random"].split()[1] == "sampling"
    assert "Uniform random search" in by_name["random"]
    assert by_name["pycma"].split()[1] == "population"


def test_list_family_filter(capsys):
    assert main(["list", "--family", "local"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()[2:]]
    assert "nelder-mead" in names and "random" not in names
    assert main(["list", "--family", "populaton"]) == 2
    assert "Did you mean 'population'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, expected",
    [
        (["bench", "--suite", "quik"], "Did you mean 'quick'"),
        (["bench", "--methods", "randm"], "Did you mean 'random'"),
        (["bench", "--methods", "random,pycmaa"], "Did you mean 'pycma'"),
        (["bench", "--functions", "rastrign"], "Did you mean 'rastrigin'"),
        (["bench", "--functions", "0"], "1..24"),
        (["bench", "--dims", "1"], ">= 2"),
        (["bench", "--budget", "0"], "integer >= 1"),
        (["bench", "--budget", "10", "--budget-per-dim", "5"], "not allowed with"),
        (["bench", "--targets", "-1"], "must be > 0"),
        (["bench", "--seeds", "a,b"], "integers"),
        (["bench", "--jobs", "0"], "integer >= 1"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args, expected, capsys, tmp_path):
    assert main([*args, "--out", str(tmp_path)] if args and args[0] == "bench" else args) == 2
    captured = capsys.readouterr()
    assert expected in captured.err
    assert not (tmp_path / "bench.sqlite").exists()


def test_help_exits_0(capsys):
    assert main(["bench", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--budget-per-dim" in out and "standard" in out and "long-running" in out


def _results(out: Path):
    con = sqlite3.connect(out / "bench.sqlite")
    runs = con.execute("SELECT method, function, dim, seed, instance, budget, nfev FROM runs ORDER BY rowid").fetchall()
    benches = con.execute("SELECT suite, argv, n_runs FROM benches ORDER BY rowid").fetchall()
    con.close()
    return runs, benches, sorted(out.glob("*.jsonl"))


def test_tiny_bench_stores_rows_and_prints_the_table(capsys, tmp_path):
    out = tmp_path / "res"
    assert main([*TINY, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 methods x 1 functions x 1 dims x 2 seeds = 4 runs" in text
    assert "ERT" in text and "Per method" in text
    table = [line.split() for line in text.splitlines() if line.startswith("1  sphere")]
    assert sorted(t[3] for t in table) == ["nelder-mead", "random"]
    assert f"{out / 'bench.sqlite'}" in text and ".jsonl" in text
    runs, benches, jsonl = _results(out)
    assert runs == [("random", 1, 2, 0, 1, 50, 50), ("random", 1, 2, 1, 2, 50, 50),
                    ("nelder-mead", 1, 2, 0, 1, 50, 50), ("nelder-mead", 1, 2, 1, 2, 50, 50)]
    assert benches[0][0] == "quick" and json.loads(benches[0][1])[:2] == ["optkit", "bench"] and benches[0][2] == 4
    assert len(jsonl) == 1 and len(jsonl[0].read_text().splitlines()) == 4

    # a second bench appends: nothing earlier is overwritten
    assert main([*TINY, "--seeds", "5,", "--out", str(out)]) == 0
    runs2, benches2, jsonl2 = _results(out)
    assert runs2[:4] == runs and runs2[4:] == [("random", 1, 2, 5, 6, 50, 50), ("nelder-mead", 1, 2, 5, 6, 50, 50)]
    assert len(benches2) == 2 and len(jsonl2) == 2 and jsonl[0] in jsonl2


def test_jobs_2_gives_the_serial_rows(capsys, tmp_path):
    keys = "method, function, dim, instance, seed, budget, nfev, nit, fun, gap, evals_to_targets, success, status"
    got = []
    for jobs in ("1", "2"):
        out = tmp_path / jobs
        assert main([*TINY, "--functions", "8", "--jobs", jobs, "--out", str(out)]) == 0
        con = sqlite3.connect(out / "bench.sqlite")
        got.append(con.execute(f"SELECT {keys} FROM runs ORDER BY run_id").fetchall())  # stored as cells finish
        con.close()
    assert got[0] == got[1] and len(got[0]) == 4
    assert "2 jobs" in capsys.readouterr().out


def test_python_dash_m_optkit(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "optkit", *TINY[:-1], "--budget", "20", "--out", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Per problem" in proc.stdout and (tmp_path / "bench.sqlite").exists()
    assert "run/s" in proc.stderr or "4/4" in proc.stderr  # the progress bar goes to stderr
    proc = subprocess.run([sys.executable, "-m", "optkit.cli", "bench", "--methods", "randm"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "Did you mean 'random'" in proc.stderr
