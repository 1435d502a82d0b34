"""Reading a results store back, exporting it to CSV and JSON, and stores of other format versions."""

import csv
import json
import sqlite3

import pytest

import optkit
from optkit.bench.export import export, export_format, find_bench, load_bench, read_benches, store_path
from optkit.bench.runner import RUN_COLUMNS, STORE_FORMAT, ResultStore, plan, read_runs, run_bench
from optkit.cli import main


def _bench(out, seeds=(0, 1), methods=("random", "nelder-mead")):
    with ResultStore(out) as store:
        bench_id = store.begin(suite="quick", argv=["optkit", "bench"], jobs=1, config={"k": 1})
        rows = run_bench(plan(list(methods), [1], [2], list(seeds), budget=30, targets=[1e-1, 1e-8]), bench_id=bench_id,
                         on_row=store.add)
        store.finish()
    return bench_id, rows


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("store")
    first, _ = _bench(out, seeds=(0,), methods=("random",))
    second, rows = _bench(out)
    return out, first, second, rows


def test_load_bench_picks_the_latest_one_or_the_one_named(store):
    out, first, second, rows = store
    got, benches = load_bench(out)
    assert [r["run_id"] for r in got] == [r["run_id"] for r in rows] and benches[0]["bench_id"] == second
    assert benches[0]["argv"] == ["optkit", "bench"] and benches[0]["config"] == {"k": 1} and benches[0]["n_runs"] == 4
    assert len(load_bench(out, first)[0]) == 1
    assert len(load_bench(out / "bench.sqlite", "all")[0]) == 5
    assert [b["bench_id"] for b in read_benches(out)] == [first, second]
    with pytest.raises(optkit.InvalidParameterError, match="Did you mean"):
        find_bench(out, second[:-1] + "x")
    with pytest.raises(optkit.InvalidParameterError, match="no optkit results store"):
        store_path(out / "nowhere")


def test_csv_export_round_trips(store, tmp_path):
    out, _, _, rows = store
    assert export(out, tmp_path / "runs.csv") == 4
    with open(tmp_path / "runs.csv", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert list(lines[0])[: len(RUN_COLUMNS)] == list(RUN_COLUMNS)
    for line, row in zip(lines, rows):
        assert line["run_id"] == row["run_id"] and int(line["nfev"]) == row["nfev"] == 30
        assert float(line["fun"]) == row["fun"]
        assert json.loads(line["evals_to_targets"]) == row["evals_to_targets"]
        assert json.loads(line["trace"]) == row["trace"]
        assert json.loads(line["ecdf_hits"]) == row["ecdf_hits"]
        assert line["success"] == str(int(row["success"]))
        assert line["error"] == ""  # missing values are empty


def test_json_export_round_trips(store, tmp_path):
    out, _, second, _ = store
    assert export(out, tmp_path / "runs.json") == 4
    doc = json.loads((tmp_path / "runs.json").read_text())
    assert doc["store_format"] == STORE_FORMAT and doc["optkit_version"] == optkit.__version__
    assert [b["bench_id"] for b in doc["benches"]] == [second]
    assert doc["runs"] == read_runs(out / "bench.sqlite", second)
    assert export(out, tmp_path / "all.data", bench_id="all", format="json") == 5


def test_export_format_is_checked():
    assert export_format("a.CSV") == "csv" and export_format("a.out", "json") == "json"
    with pytest.raises(optkit.InvalidParameterError, match=r"\.csv or \.json"):
        export_format("runs.txt")


def test_cli_export(store, tmp_path, capsys):
    out, first, _, _ = store
    assert main(["export", str(out), str(tmp_path / "r.json"), "--bench", first]) == 0
    assert "exported 1 runs" in capsys.readouterr().out
    assert len(json.loads((tmp_path / "r.json").read_text())["runs"]) == 1
    assert main(["export", str(out), str(tmp_path / "r.txt")]) == 2
    assert ".csv or .json" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "empty"), str(tmp_path / "r.csv")]) == 2
    assert "no optkit results store" in capsys.readouterr().err


def test_bench_export_option_checks_the_format_before_running(tmp_path, capsys):
    args = ["bench", "--methods", "random", "--functions", "1", "--dims", "2", "--seeds", "1", "--budget", "20",
            "--no-progress", "--out", str(tmp_path / "o")]
    assert main([*args, "--export", str(tmp_path / "x.parquet")]) == 2
    assert ".csv or .json" in capsys.readouterr().err and not (tmp_path / "o" / "bench.sqlite").exists()
    assert main([*args, "--export", str(tmp_path / "x.csv")]) == 0
    assert "exported 1 runs" in capsys.readouterr().out
    assert len(list(csv.reader(open(tmp_path / "x.csv")))) == 2


def test_a_store_of_a_newer_format_is_refused_and_left_alone(tmp_path):
    _bench(tmp_path, seeds=(0,), methods=("random",))
    db = tmp_path / "bench.sqlite"
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE meta SET value = '99' WHERE key = 'format'")
        con.execute("UPDATE meta SET value = '9.0' WHERE key = 'optkit_version'")
    con.close()
    before = db.read_bytes()
    for call in (lambda: read_runs(db), lambda: ResultStore(tmp_path), lambda: load_bench(tmp_path)):
        with pytest.raises(optkit.InvalidParameterError, match=r"format 99, written by optkit 9\.0.*reads formats 1\.\.2"):
            call()
    assert db.read_bytes() == before


def test_a_file_that_is_not_a_store_is_refused(tmp_path):
    (tmp_path / "bench.sqlite").write_text("just some text, not a database\n" * 100)
    with pytest.raises(optkit.InvalidParameterError, match="not an optkit results store"):
        read_runs(tmp_path / "bench.sqlite")
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.close()
    with pytest.raises(optkit.InvalidParameterError, match="no 'runs'"):
        read_runs(other)


def test_cli_report_on_a_newer_store_says_so(tmp_path, capsys):
    _bench(tmp_path, seeds=(0,), methods=("random",))
    con = sqlite3.connect(tmp_path / "bench.sqlite")
    with con:
        con.execute("UPDATE meta SET value = '3' WHERE key = 'format'")
    con.close()
    assert main(["report", str(tmp_path)]) == 2
    assert "has format 3" in capsys.readouterr().err
    # a bench asked to write there refuses before running anything
    assert main(["bench", "--methods", "random", "--functions", "1", "--dims", "2", "--seeds", "1", "--budget", "10",
                 "--no-progress", "--out", str(tmp_path)]) == 2
    assert "has format 3" in capsys.readouterr().err
    con = sqlite3.connect(tmp_path / "bench.sqlite")
    assert con.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)
    con.close()


def test_a_format_1_store_is_read_and_upgraded(tmp_path):
    """A store written before the meta table and the trace columns existed."""
    old_cols = [k for k in RUN_COLUMNS if k not in ("peak_mem_mb", "mem_growth_mb", "trace", "ecdf_hits", "outside_box_fraction")]
    con = sqlite3.connect(tmp_path / "bench.sqlite")
    with con:
        con.execute(f"CREATE TABLE runs ({', '.join(f'{k} {RUN_COLUMNS[k]}' for k in old_cols)})")
        con.execute("CREATE TABLE benches (bench_id TEXT PRIMARY KEY, argv TEXT, config TEXT, n_runs INTEGER)")
        con.execute("INSERT INTO benches VALUES ('old', '[\"optkit\"]', '{}', 1)")
        con.execute("INSERT INTO runs (run_id, bench_id, method, function, dim, nfev, targets, evals_to_targets, success) "
                    "VALUES ('old-00000', 'old', 'random', 1, 2, 10, '[1e-08]', '[null]', 0)")
    con.close()
    rows, benches = load_bench(tmp_path)
    assert rows[0]["run_id"] == "old-00000" and rows[0]["trace"] is None and benches[0]["bench_id"] == "old"
    ResultStore(tmp_path).close()  # writing to it adds the new columns and the format
    con = sqlite3.connect(tmp_path / "bench.sqlite")
    assert dict(con.execute("SELECT key, value FROM meta"))["format"] == str(STORE_FORMAT)
    assert "trace" in {r[1] for r in con.execute("PRAGMA table_info(runs)")}
    con.close()
    assert read_runs(tmp_path / "bench.sqlite")[0]["nfev"] == 10
