"""Read a bench results store back, and export its runs to CSV or JSON.

A store is the directory ``optkit bench --out DIR`` wrote (``DIR/bench.sqlite``) or that SQLite file.
:func:`load_bench` picks one bench in it (the latest by default), :func:`export` writes its runs:

* ``.csv`` -- one line per run, the columns of :data:`optkit.bench.runner.RUN_COLUMNS` in order;
  list-valued fields (``targets``, ``evals_to_targets``, ``trace``, ``ecdf_hits``) as JSON text,
  missing values empty;
* ``.json`` -- ``{"store_format", "optkit_version", "benches": [...], "runs": [...]}`` with lists
  and traces as JSON arrays and missing values ``null``.

Examples
--------
>>> import json, tempfile, pathlib
>>> from optkit.bench.runner import ResultStore, plan, run_bench
>>> with tempfile.TemporaryDirectory() as d:
...     with ResultStore(d) as store:
...         bench_id = store.begin(suite=None, argv=["bench"], jobs=1, config={})
...         _ = run_bench(plan(["random"], [1], [2], [0, 1], budget=10), bench_id=bench_id, on_row=store.add)
...         store.finish()
...     n = export(d, pathlib.Path(d) / "runs.json")
...     doc = json.loads((pathlib.Path(d) / "runs.json").read_text())
>>> n, [r["nfev"] for r in doc["runs"]], doc["benches"][0]["n_runs"]
(2, [10, 10], 2)
"""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from pathlib import Path

from optkit.bench.runner import _JSON_COLUMNS, RUN_COLUMNS, STORE_FORMAT, check_store_format, read_runs
from optkit.core.errors import InvalidParameterError, suggest

FORMATS = ("csv", "json")


def store_path(path) -> Path:
    """``path/bench.sqlite`` for a results directory, ``path`` itself for a file; raises if neither exists."""
    p = Path(path)
    if p.is_dir():
        p = p / "bench.sqlite"
    if not p.is_file():
        raise InvalidParameterError(f"no optkit results store at {str(path)!r} (expected a directory holding bench.sqlite, "
                                    "as written by 'optkit bench --out DIR', or that file)")
    return p


def read_benches(path) -> list[dict]:
    """The ``benches`` table of the store at ``path`` (a directory or the file), oldest first."""
    db = store_path(path)
    con = sqlite3.connect(db)
    try:
        check_store_format(con, db)
        con.row_factory = sqlite3.Row
        rows = [dict(r) for r in con.execute("SELECT * FROM benches ORDER BY rowid")]
    except sqlite3.OperationalError:  # a store without a benches table (written by hand)
        rows = []
    finally:
        con.close()
    for r in rows:
        for k in ("argv", "config"):
            if r.get(k) is not None:
                r[k] = json.loads(r[k])
    return rows


def find_bench(path, bench_id: str | None = None) -> dict:
    """The bench record ``bench_id`` in the store at ``path`` (the latest one when None)."""
    benches = read_benches(path)
    if not benches:
        raise InvalidParameterError(f"the results store {str(store_path(path))!r} holds no bench")
    if bench_id is None:
        return benches[-1]
    for b in benches:
        if b["bench_id"] == bench_id:
            return b
    ids = [b["bench_id"] for b in benches]
    raise InvalidParameterError(f"no bench {bench_id!r} in {str(store_path(path))!r}.{suggest(bench_id, ids)} "
                                f"It holds: {', '.join(ids)}")


def load_bench(path, bench_id: str | None = None) -> tuple[list[dict], list[dict]]:
    """``(runs, benches)`` of one bench (the latest when ``bench_id`` is None; ``"all"``: every bench)."""
    db = store_path(path)
    if bench_id == "all":
        return read_runs(db), read_benches(db)
    bench = find_bench(db, bench_id)
    return read_runs(db, bench["bench_id"]), [bench]


def _csv_value(key: str, value):
    if value is None:
        return ""
    if key in _JSON_COLUMNS:
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return value


def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_csv(rows: list[dict], path) -> None:
    """Write ``rows`` as CSV (see the module doc)."""
    keys = list(RUN_COLUMNS) + sorted({k for r in rows for k in r} - set(RUN_COLUMNS))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(keys)
        for r in rows:
            w.writerow([_csv_value(k, r.get(k)) for k in keys])


def write_json(rows: list[dict], path, benches: list[dict] | None = None) -> None:
    """Write ``rows`` (and the bench records) as one JSON document (see the module doc)."""
    from optkit import __version__

    doc = {
        "store_format": STORE_FORMAT,
        "optkit_version": __version__,
        "benches": [{k: _json_value(v) for k, v in b.items()} for b in benches or []],
        "runs": [{k: _json_value(v) for k, v in r.items()} for r in rows],
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, allow_nan=False)


def export_format(path, format: str | None = None) -> str:
    """The export format: ``format`` if given, else the extension of ``path`` (``.csv`` or ``.json``)."""
    fmt = (format or Path(path).suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise InvalidParameterError(f"export: cannot tell the format of {str(path)!r}: name a .csv or .json file, or "
                                    f"give format='csv' or 'json'; got {format or Path(path).suffix or 'no extension'!r}")
    return fmt


def export(store, path, *, bench_id: str | None = None, format: str | None = None) -> int:
    """Export the runs of one bench of ``store`` (the latest; ``"all"``: every one) to ``path``.

    Returns the number of runs written.
    """
    fmt = export_format(path, format)
    rows, benches = load_bench(store, bench_id)
    if fmt == "csv":
        write_csv(rows, path)
    else:
        write_json(rows, path, benches)
    return len(rows)


def export_rows(rows: list[dict], path, *, benches: list[dict] | None = None, format: str | None = None) -> int:
    """Export rows already in memory (``optkit bench --export``); returns how many were written."""
    if export_format(path, format) == "csv":
        write_csv(rows, path)
    else:
        write_json(rows, path, benches)
    return len(rows)


__all__ = ["FORMATS", "export", "export_format", "export_rows", "find_bench", "load_bench", "read_benches", "store_path",
           "write_csv", "write_json"]
