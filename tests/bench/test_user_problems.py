"""The user's own problems: ``--problem module:name``, ``--bounds``, config files, import failures."""

import sqlite3
import sys
import textwrap

import numpy as np
import pytest

import optkit
from optkit.bench.problems import ProblemLoadError, ProblemRef, load_config, load_target, parse_bounds, parse_problem
from optkit.cli import main

MODULE = textwrap.dedent('''
    import numpy as np
    import optkit

    def shifted(x):
        return float(np.sum((np.asarray(x) - 0.5) ** 2)) + 1.0

    problem = optkit.Problem(shifted, optkit.Box([-2.0, -2.0], [2.0, 2.0]), f_opt=1.0, name="shifted2")

    def factory(dim=3):
        return optkit.Problem(shifted, optkit.Box(-2.0, 2.0, dim=dim), f_opt=1.0, name=f"shifted{dim}")
''')


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_bench_problems.py").write_text(MODULE)
    (tmp_path / "broken_bench_problems.py").write_text("import numpy\nraise RuntimeError('half-written module')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for name in ("my_bench_problems", "broken_bench_problems"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return tmp_path


def _rows(out):
    con = sqlite3.connect(out / "bench.sqlite")
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("SELECT * FROM runs ORDER BY rowid")]
    con.close()
    return rows


def test_problem_factory_and_plain_function_through_the_cli(user_module, capsys):
    out = user_module / "res"
    argv = ["bench", "--problem", "my_bench_problems:problem", "--problem", "my_bench_problems:factory",
            "--problem", "my_bench_problems:shifted", "--bounds=-3:3", "--methods", "random,nelder-mead", "--dims", "2,4",
            "--seeds", "2", "--budget", "40", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    # problem: its own 2 dims; factory and the bounded function: dims 2 and 4
    assert "suite user: 2 methods x 3 user problems x 2 seeds = 20 runs" in text
    rows = _rows(out)
    assert len(rows) == 20 and {r["status"] for r in rows} == {"BUDGET_EXHAUSTED"} and {r["nfev"] for r in rows} == {40}
    cells = {(r["function_name"], r["dim"]) for r in rows}
    assert cells == {("my_bench_problems:problem", 2), ("my_bench_problems:factory", 2), ("my_bench_problems:factory", 4),
                     ("my_bench_problems:shifted", 2), ("my_bench_problems:shifted", 4)}
    for r in rows:
        assert r["function"] is None and r["instance"] is None and r["suite"] == "user"
        if r["function_name"] == "my_bench_problems:shifted":
            assert r["f_opt"] is None and r["gap"] is None and r["fun"] >= 1.0  # no known optimum: no gap
        else:
            assert r["f_opt"] == 1.0 and r["gap"] == pytest.approx(r["fun"] - 1.0) and r["gap"] >= 0
    # nelder-mead from the centre of the box does better than random search on the 2-d problem
    nm = [r["gap"] for r in rows if r["method"] == "nelder-mead" and r["function_name"] == "my_bench_problems:problem"]
    assert max(nm) < 1e-2
    assert "my_bench_problems:factory" in text and "med best f" in text


def test_a_module_that_fails_to_import_is_shown_and_the_rest_runs(user_module, capsys):
    out = user_module / "res"
    argv = ["bench", "--problem", "broken_bench_problems:f", "--problem", "my_bench_problems:problem",
            "--methods", "random", "--seeds", "2", "--budget", "20", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "Traceback (most recent call last)" in captured.err
    assert "RuntimeError: half-written module" in captured.err and "broken_bench_problems.py" in captured.err
    rows = _rows(out)
    broken = [r for r in rows if r["function_name"] == "broken_bench_problems:f"]
    fine = [r for r in rows if r["function_name"] == "my_bench_problems:problem"]
    assert len(broken) == 2 and all(r["status"] == "FAILED" and "half-written module" in r["error"] for r in broken)
    assert len(fine) == 2 and all(r["status"] == "BUDGET_EXHAUSTED" for r in fine)
    assert "2 run(s) failed" in captured.out


def test_toml_config(user_module, capsys):
    cfg = user_module / "bench.toml"
    cfg.write_text(textwrap.dedent('''
        methods = ["random", "nelder-mead"]
        seeds = 2
        budget = 30
        targets = [1e-1, 1e-8]

        [[problems]]
        problem = "my_bench_problems:factory"
        dims = [3]

        [[problems]]
        problem = "my_bench_problems:shifted"
        bounds = [[-1, 1], [0, 2]]
        f_opt = 1.0
        name = "shifted-box"

        [[problems]]
        problem = "branin"
    '''))
    out = user_module / "res"
    assert main(["bench", "--config", str(cfg), "--seeds", "1", "--no-progress", "--out", str(out)]) == 0  # --seeds wins
    rows = _rows(out)
    assert {(r["function_name"], r["dim"]) for r in rows} == {("my_bench_problems:factory", 3), ("shifted-box", 2),
                                                               ("branin", 2)}
    assert len(rows) == 3 * 2 and {r["seed"] for r in rows} == {0} and {r["nfev"] for r in rows} == {30}
    box = [r for r in rows if r["function_name"] == "shifted-box"]
    assert all(r["f_opt"] == 1.0 and r["targets"] == "[0.1, 1e-08]" for r in box)
    branin = [r for r in rows if r["function_name"] == "branin"][0]
    assert branin["f_opt"] == pytest.approx(5 / (4 * np.pi))


def test_config_errors_are_clear(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text('methds = ["random"]\n')
    with pytest.raises(optkit.UnknownNameError, match="Did you mean 'methods'"):
        load_config(bad)
    bad.write_text('[[problems]]\nproblem = "rosenbrok"\n')
    with pytest.raises(optkit.UnknownNameError, match="Did you mean 'rosenbrock'"):
        load_config(bad)
    bad.write_text("methods = [\n")
    with pytest.raises(optkit.InvalidParameterError, match="not valid TOML"):
        load_config(bad)
    yml = tmp_path / "b.yaml"
    yml.write_text("methods: [random]\nseeds: 3\nproblems:\n  - problem: sphere\n    dims: [2]\n")
    cfg = load_config(yml)
    assert cfg["methods"] == ["random"] and cfg["seeds"] == [0, 1, 2]
    assert cfg["problems"] == [ProblemRef("optkit", "sphere", dims=(2,))]
    monkeypatch.setitem(sys.modules, "yaml", None)  # as if PyYAML were not installed
    with pytest.raises(ProblemLoadError, match="pip install pyyaml"):
        load_config(yml)


def test_problem_refs_and_bad_input(user_module):
    assert parse_bounds("-1:1") == ((-1.0, 1.0),)
    for text in ("1:-1", "a:b", "-1", "0:inf"):
        with pytest.raises(optkit.InvalidParameterError, match="LOW:HIGH"):
            parse_bounds(text)
    with pytest.raises(optkit.UnknownNameError, match="Did you mean 'problem'"):
        load_target("my_bench_problems:problm")
    with pytest.raises(optkit.UnknownNameError, match="Did you mean 'rastrigin'"):
        parse_problem("rastrign")
    ref = parse_problem(str(user_module / "my_bench_problems.py") + ":factory")  # a file path works too
    assert ref.fixed_dim() is None and ref.build(5).dim == 5
    with pytest.raises(ProblemLoadError, match="give its bounds"):
        parse_problem("my_bench_problems:shifted").build(2)  # a plain function without bounds
    assert main(["bench", "--bounds=-1:1", "--problem", "x:y"]) == 2
