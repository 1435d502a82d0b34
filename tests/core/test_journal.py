"""The run journal: every evaluation recorded before tell; resume after SIGKILL loses and repeats nothing."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import optkit
from optkit.core.journal import Journal

OBJECTIVE = textwrap.dedent(
    """
    import time
    import numpy as np
    import optkit

    CALLS = []

    def rosen(x):
        CALLS.append(np.array(x))
        time.sleep(0.002)
        return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))

    def problem():
        return optkit.Problem(rosen, optkit.Box(-2, 2, dim=4), name="rosen4")
    """
)


@pytest.fixture
def objective_module(tmp_path, monkeypatch):
    (tmp_path / "journal_objective.py").write_text(OBJECTIVE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    import journal_objective

    importlib.reload(journal_objective)
    return journal_objective


def _count(path) -> int:
    try:
        with sqlite3.connect(str(path)) as c:
            return c.execute("SELECT COUNT(*) FROM evals").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("method,kwargs", [("pycma", {}), ("nelder-mead", {"local_budget": 60}), ("sobol", {"batch": 8})])
def test_resume_after_sigkill_loses_and_repeats_nothing(tmp_path, objective_module, method, kwargs):
    budget = 400
    path = tmp_path / "run.sqlite"
    child = textwrap.dedent(
        f"""
        import sys; sys.path.insert(0, {str(tmp_path)!r})
        import optkit, journal_objective as jo
        optkit.make({method!r}, jo.problem().space, seed=11, **{kwargs!r}).minimize(
            jo.problem(), {budget}, journal={str(path)!r})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child])
    deadline = time.time() + 60
    while _count(path) < 150 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = _count(path)
    assert 150 <= done < budget

    objective_module.CALLS.clear()
    resumed = optkit.resume(path, objective_module.problem())
    assert resumed.nfev == budget
    assert len(objective_module.CALLS) == budget - done  # nothing evaluated twice

    objective_module.CALLS.clear()
    straight = optkit.make(method, objective_module.problem().space, seed=11, **kwargs).minimize(objective_module.problem(), budget)
    np.testing.assert_array_equal(resumed.history.X, straight.history.X)
    assert resumed.fun == straight.fun

    with sqlite3.connect(str(path)) as c:
        rows = c.execute("SELECT COUNT(*), COUNT(DISTINCT batch || ':' || idx) FROM evals").fetchone()
    assert rows == (budget, budget)


def test_journal_records_failures_with_messages(tmp_path):
    def f(x):
        if x[0] > 0.5:
            raise RuntimeError("sim crashed")
        return float(x @ x)

    path = tmp_path / "j.sqlite"
    p = optkit.Problem(f, optkit.Box(-1, 1, dim=2), on_error="penalize", name="f")
    res = optkit.minimize(p, method="random", budget=50, seed=0, journal=path)
    j = Journal.open(path)
    ev = j.evals(2, 0)
    j.close()
    errors = [r[3] for b in ev.values() for r in b.values()]
    assert len(errors) == 50
    assert sum(e is not None and "sim crashed" in e for e in errors) == sum(e is not None for e in res.history.error) > 0


def test_journal_never_overwritten_and_checked(tmp_path):
    path = tmp_path / "j.sqlite"
    p = optkit.Problem(lambda x: float(x @ x), optkit.Box(-1, 1, dim=2), name="quad")
    optkit.minimize(p, method="random", budget=10, seed=0, journal=path)
    size = path.stat().st_size
    with pytest.raises(optkit.JournalError, match="already holds a run"):
        optkit.minimize(p, method="random", budget=10, seed=0, journal=path)
    assert path.stat().st_size == size
    other = optkit.Problem(lambda x: float(x @ x), optkit.Box(-1, 1, dim=3), name="quad")
    with pytest.raises(optkit.JournalError, match="another problem"):
        optkit.resume(path, other)
    res = optkit.resume(path, p, budget=15)  # extend a finished run
    assert res.nfev == 15


def test_corrupted_or_foreign_journal(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    p = optkit.Problem(lambda x: 0.0, optkit.Box(0, 1, dim=2))
    with pytest.raises(optkit.JournalError):
        optkit.resume(bad, p)
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(str(foreign)) as c:
        c.execute("CREATE TABLE t (a)")
    with pytest.raises(optkit.JournalError, match="not an optkit journal"):
        optkit.resume(foreign, p)
    with pytest.raises(optkit.JournalError, match="does not exist"):
        optkit.resume(tmp_path / "missing.sqlite", p)
