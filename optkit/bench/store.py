"""The results store of ``optkit bench``: SQLite (tables ``runs``, ``benches``, ``meta``) plus one
JSON-lines file per bench invocation.

:class:`ResultStore` appends rows one at a time as runs finish (one transaction per row, so the
store never holds a half-written cell) and never overwrites earlier results; :func:`read_runs`
reads them back; :func:`check_store_format` refuses a file of another layout with a message.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from optkit.core.errors import InvalidParameterError, suggest

#: the keys of a row, in order, with their SQLite column types
RUN_COLUMNS: dict[str, str] = {
    "run_id": "TEXT PRIMARY KEY",
    "bench_id": "TEXT",
    "timestamp": "TEXT",
    "optkit_version": "TEXT",
    "suite": "TEXT",
    "method": "TEXT",
    "function": "INTEGER",
    "function_name": "TEXT",
    "dim": "INTEGER",
    "instance": "INTEGER",
    "seed": "INTEGER",
    "budget": "INTEGER",
    "nfev": "INTEGER",
    "nit": "INTEGER",
    "f_opt": "REAL",
    "fun": "REAL",
    "gap": "REAL",
    "targets": "TEXT",
    "evals_to_targets": "TEXT",
    "target": "REAL",
    "evals_to_target": "INTEGER",
    "success": "INTEGER",
    "status": "TEXT",
    "error": "TEXT",
    "n_warnings": "INTEGER",
    "warning": "TEXT",
    "wall_time": "REAL",
    "objective_time": "REAL",
    "overhead_us_per_eval": "REAL",
    "outside_box_fraction": "REAL",
    "peak_mem_mb": "REAL",
    "mem_growth_mb": "REAL",
    "trace": "TEXT",
    "ecdf_hits": "TEXT",
}

#: row keys stored as JSON text in SQLite
_JSON_COLUMNS = ("targets", "evals_to_targets", "trace", "ecdf_hits")

#: the version of the results-store layout (table ``meta``, key ``format``); 1 is the layout before
#: ``meta`` existed. A file of another version is refused with a message (see :func:`check_store_format`)
STORE_FORMAT = 2

BENCH_COLUMNS: dict[str, str] = {
    "bench_id": "TEXT PRIMARY KEY",
    "suite": "TEXT",
    "argv": "TEXT",
    "started": "TEXT",
    "finished": "TEXT",
    "n_runs": "INTEGER",
    "n_failed": "INTEGER",
    "jobs": "INTEGER",
    "config": "TEXT",
    "host": "TEXT",
    "platform": "TEXT",
    "python": "TEXT",
    "numpy": "TEXT",
    "cpu_count": "INTEGER",
    "optkit_version": "TEXT",
    "jsonl": "TEXT",
}


def _version() -> str:
    import optkit

    return optkit.__version__


def new_bench_id() -> str:
    """A fresh bench id: UTC time plus a random suffix, e.g. ``20260101T120000Z-3f2a1c``."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def _sql_value(key: str, value):
    if key in _JSON_COLUMNS:
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_row(row: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


@contextlib.contextmanager
def _interrupt_deferred():
    """Hold a Ctrl-C (SIGINT) that arrives inside the block until the block is done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *args: caught.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(*caught[0])
    elif caught and previous == signal.SIG_DFL:
        raise KeyboardInterrupt


def _names(keys) -> str:
    return ", ".join(f'"{k}"' for k in keys)


def _ensure_table(con: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    cols = ", ".join(f'"{k}" {t}' for k, t in columns.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({cols})")
    have = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
    for k, t in columns.items():  # a file from an older optkit gains the new columns
        if k not in have:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{k}" {t.replace(" PRIMARY KEY", "")}')


class ResultStore:
    """Appends bench results to ``<out>/bench.sqlite`` and ``<out>/<bench_id>.jsonl``.

    Parameters
    ----------
    out : str or Path
        Directory (created if needed). Earlier benches in it are kept: rows are only ever added.

    Examples
    --------
    >>> import tempfile
    >>> from optkit.bench.runner import plan, run_bench
    >>> with tempfile.TemporaryDirectory() as d:
    ...     store = ResultStore(d)
    ...     bench_id = store.begin(suite="quick", argv=["bench"], jobs=1, config={})
    ...     rows = run_bench(plan(["random"], [1], [2], [0], budget=10), bench_id=bench_id, on_row=store.add)
    ...     store.finish()
    ...     store.close()
    ...     [r["nfev"] for r in read_runs(store.db_path)], store.jsonl_path.name == bench_id + ".jsonl"
    ([10], True)
    """

    def __init__(self, out):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.db_path = self.out / "bench.sqlite"
        self._con = sqlite3.connect(self.db_path, timeout=60.0)
        try:
            check_store_format(self._con, self.db_path)
        except BaseException:
            self._con.close()
            raise
        with self._con:
            _ensure_table(self._con, "runs", RUN_COLUMNS)
            _ensure_table(self._con, "benches", BENCH_COLUMNS)
            _ensure_table(self._con, "meta", {"key": "TEXT PRIMARY KEY", "value": "TEXT"})
            self._con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                  [("format", str(STORE_FORMAT)), ("optkit_version", _version())])
        self.bench_id: str | None = None
        self.jsonl_path: Path | None = None
        self._jsonl = None
        self.n_runs = 0
        self.n_failed = 0

    def begin(self, *, suite: str | None, argv: Sequence[str], jobs: int, config: dict, bench_id: str | None = None) -> str:
        """Record a new bench invocation (with host information) and open its JSON-lines file.

        Returns the bench id to pass to :func:`run_bench`.
        """
        self.bench_id = bench_id or new_bench_id()
        self.jsonl_path = self.out / f"{self.bench_id}.jsonl"
        self._jsonl = open(self.jsonl_path, "x", encoding="utf-8")  # "x": never overwrite
        info = {
            "bench_id": self.bench_id,
            "suite": suite,
            "argv": json.dumps(list(argv)),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "finished": None,
            "n_runs": 0,
            "n_failed": 0,
            "jobs": jobs,
            "config": json.dumps(config),
            "host": platform.node(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpu_count": os.cpu_count(),
            "optkit_version": _version(),
            "jsonl": self.jsonl_path.name,
        }
        keys = list(info)
        with self._con:
            self._con.execute(
                f"INSERT INTO benches ({_names(keys)}) VALUES ({', '.join('?' * len(keys))})", [info[k] for k in keys]
            )
        return self.bench_id

    def reopen(self, bench_id: str) -> set[str]:
        """Continue bench ``bench_id`` (``optkit bench --resume``) instead of :meth:`begin`.

        Appends to its JSON-lines file (a line cut short by a crash is dropped first) and returns the
        ids of the runs it already holds, which are not to be run again.
        """
        got = self._con.execute("SELECT jsonl FROM benches WHERE bench_id = ?", (bench_id,)).fetchone()
        if got is None:
            known = [r[0] for r in self._con.execute("SELECT bench_id FROM benches ORDER BY rowid")]
            raise InvalidParameterError(f"resume: no bench {bench_id!r} in {self.db_path}.{suggest(bench_id, known)} "
                                        f"It holds: {', '.join(known) or 'no bench'}")
        self.bench_id = bench_id
        self.jsonl_path = self.out / (got[0] or f"{bench_id}.jsonl")
        if self.jsonl_path.exists():
            text = self.jsonl_path.read_bytes()
            if text and not text.endswith(b"\n"):
                with open(self.jsonl_path, "r+b") as fh:
                    fh.truncate(text.rfind(b"\n") + 1)
        self._jsonl = open(self.jsonl_path, "a", encoding="utf-8")
        done = {r[0]: r[1] for r in self._con.execute("SELECT run_id, status FROM runs WHERE bench_id = ?", (bench_id,))}
        self.n_runs, self.n_failed = len(done), sum(s == "FAILED" for s in done.values())
        return set(done)

    def add(self, row: dict) -> None:
        """Append one row to the ``runs`` table and to the JSON-lines file (Ctrl-C waits until both have it)."""
        if self._jsonl is None:
            raise InvalidParameterError("ResultStore.add: call begin() first")
        keys = list(RUN_COLUMNS)
        line = json.dumps(_json_row({k: row.get(k) for k in keys}), allow_nan=False) + "\n"
        with _interrupt_deferred():
            with self._con:
                self._con.execute(
                    f"INSERT INTO runs ({_names(keys)}) VALUES ({', '.join('?' * len(keys))})",
                    [_sql_value(k, row.get(k)) for k in keys],
                )
            self._jsonl.write(line)
            self._jsonl.flush()
            self.n_runs += 1
            self.n_failed += row.get("status") == "FAILED"

    def finish(self) -> None:
        """Stamp the bench's end time and run counts."""
        with self._con:
            self._con.execute(
                "UPDATE benches SET finished = ?, n_runs = ?, n_failed = ? WHERE bench_id = ?",
                (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), self.n_runs, self.n_failed, self.bench_id),
            )

    def close(self) -> None:
        """Close the database and the JSON-lines file."""
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None
        self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check_store_format(con: sqlite3.Connection, path) -> int:
    """The store format of the database behind ``con``; raises for a file this optkit cannot use.

    A file without a ``meta`` table is format 1 (earlier optkit; readable, and upgraded in place when
    written to, since later formats only add columns); a format above :data:`STORE_FORMAT`, or a file
    that is not an optkit results store, raises :class:`~optkit.InvalidParameterError` saying so.
    """
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise InvalidParameterError(f"{str(path)!r} is not an optkit results store (not an SQLite database: {exc})") from None
    if "meta" not in tables:
        if tables and "runs" not in tables:
            raise InvalidParameterError(f"{str(path)!r} is not an optkit results store: it has tables {sorted(tables)}, no 'runs'")
        return 1
    meta = dict(con.execute("SELECT key, value FROM meta"))
    try:
        fmt = int(meta.get("format", ""))
    except ValueError:
        raise InvalidParameterError(f"{str(path)!r} is not an optkit results store: its meta table has no valid format") from None
    if fmt > STORE_FORMAT:
        raise InvalidParameterError(
            f"results store {str(path)!r} has format {fmt}, written by optkit {meta.get('optkit_version', '?')}; this optkit "
            f"({_version()}) reads formats 1..{STORE_FORMAT}. Upgrade optkit to read it, or write new results to another --out"
        )
    return fmt


def read_runs(db_path, bench_id: str | None = None) -> list[dict]:
    """The rows stored in ``db_path`` (of one bench, or all), in the order they were stored."""
    if not Path(db_path).is_file():
        raise InvalidParameterError(f"read_runs: no results store at {str(db_path)!r}")
    con = sqlite3.connect(db_path)
    try:
        check_store_format(con, db_path)
        con.row_factory = sqlite3.Row
        if bench_id is None:
            cur = con.execute("SELECT * FROM runs ORDER BY rowid")
        else:
            cur = con.execute("SELECT * FROM runs WHERE bench_id = ? ORDER BY rowid", (bench_id,))
        rows = []
        for r in cur:
            row = dict(r)
            for k in _JSON_COLUMNS:
                row[k] = json.loads(row[k]) if row.get(k) is not None else None
            row["success"] = bool(row["success"])
            rows.append(row)
        return rows
    finally:
        con.close()
