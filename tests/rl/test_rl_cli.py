"""``optkit list --rl`` and ``optkit bench rl`` (a seconds-scale run on the bandit)."""

import json

import pytest

pytest.importorskip("torch")

from optkit.cli import main  # noqa: E402


def test_list_rl(capsys):
    assert main(["list", "--rl"]) == 0
    out = capsys.readouterr().out
    names = {line.split()[0] for line in out.splitlines()[2:] if line.strip()}
    assert {"grpo", "dr_grpo", "dapo", "gspo", "ppo", "dpo"} <= names
    assert "2402.03300" in out  # GRPO's paper


def test_bench_rl_runs_and_writes_results(capsys, tmp_path):
    argv = ["bench", "rl", "--task", "bandit", "--methods", "grpo,rloo", "--seeds", "2", "--steps", "30",
            "--lrs", "0.1,0.3", "--target", "0.9", "--eval-every", "5", "--out", str(tmp_path), "--no-plots"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| method |" in out and "| grpo |" in out and "| rloo |" in out
    files = list(tmp_path.glob("rl-bandit-*.jsonl"))
    assert len(files) == 1
    rows = [json.loads(x) for x in files[0].read_text().splitlines()]
    runs = [r for r in rows[1:] if not r.get("tuning")]
    assert len(runs) == 4 and {r["seed"] for r in runs} == {0, 1}
    assert all(r["final_test_accuracy"] >= 0.9 for r in runs)


@pytest.mark.parametrize("args, expected", [
    (["--methods", "grpoo"], "Did you mean 'grpo'"),
    (["--task", "additon"], "Did you mean 'addition'"),
    (["--steps", "0"], "integer >= 1"),
])
def test_bench_rl_bad_arguments(args, expected, capsys, tmp_path):
    assert main(["bench", "rl", *args, "--out", str(tmp_path)]) == 2
    assert expected in capsys.readouterr().err


def test_plain_bench_still_parses(capsys):
    assert main(["bench", "--suite", "quik"]) == 2
    assert "Did you mean 'quick'" in capsys.readouterr().err
