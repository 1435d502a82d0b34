"""The run journal: every evaluation written to SQLite before the optimizer is told.

Tables (insert-only; nothing is ever overwritten):

* ``meta(key, value)``: format version, the problem's fingerprint, the method and its
  hyperparameters, the budget, and at the end the status;
* ``asks(batch, n, X)``: each ``ask`` as it happened;
* ``evals(batch, idx, x, y, c, error, seconds)``: each evaluation (y in the minimization convention,
  NULL when it failed);
* ``states(batch, json, npz)``: optimizer state snapshots after ``tell`` of ``batch``
  (batch -1: before the first ask).

The database runs in WAL mode with a commit per evaluation, so a process killed at any moment
(SIGKILL included) keeps every evaluation it had written.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np

from optkit.core.errors import JournalError

FORMAT = "optkit-journal/1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS asks (batch INTEGER PRIMARY KEY, n INTEGER NOT NULL, X BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS evals (batch INTEGER NOT NULL, idx INTEGER NOT NULL, x BLOB NOT NULL, y REAL,
    c BLOB, error TEXT, seconds REAL NOT NULL, t REAL NOT NULL, PRIMARY KEY (batch, idx));
CREATE TABLE IF NOT EXISTS states (batch INTEGER PRIMARY KEY, json TEXT NOT NULL, npz BLOB NOT NULL);
"""


def _blob(a) -> bytes:
    return np.ascontiguousarray(a, dtype=np.float64).tobytes()


def _arr(b: bytes | None, shape) -> np.ndarray | None:
    return None if b is None else np.frombuffer(b, dtype=np.float64).reshape(shape).copy()


class Journal:
    """One run's journal in a SQLite file. Use :meth:`create` for a new run, :meth:`open` to resume."""

    def __init__(self, path, conn: sqlite3.Connection):
        self.path = Path(path)
        self._conn = conn

    # -- opening -------------------------------------------------------------------------------
    @staticmethod
    def _connect(path) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"journal {str(path)!r} is not a readable SQLite file (corrupted?): {exc}") from exc

    @classmethod
    def create(cls, path, *, fingerprint: dict, method: str, params: dict, budget: int) -> Journal:
        """Start a journal for a new run; refuses a file that already holds a run."""
        path = Path(path)
        if path.exists() and path.stat().st_size > 0:
            existing = cls.open(path)
            existing.close()
            raise JournalError(
                f"journal {str(path)!r} already holds a run (method {existing.meta.get('method')!r}); "
                "continue it with optkit.resume(), or choose another file: a journal is never overwritten"
            )
        conn = cls._connect(path)
        try:
            params_json = json.dumps(params)
        except TypeError as exc:
            conn.close()
            path.unlink(missing_ok=True)
            raise JournalError(f"a journaled run needs JSON-serializable hyperparameters: {exc}") from exc
        with conn:
            conn.executescript(_SCHEMA)
            rows = {
                "format": FORMAT,
                "created": str(time.time()),
                "fingerprint": json.dumps(fingerprint, sort_keys=True),
                "method": method,
                "params": params_json,
                "budget": str(int(budget)),
            }
            conn.executemany("INSERT INTO meta VALUES (?, ?)", list(rows.items()))
        j = cls(path, conn)
        j.meta = rows
        return j

    @classmethod
    def open(cls, path) -> Journal:
        """Open an existing journal (for resuming or reading)."""
        path = Path(path)
        if not path.exists():
            raise JournalError(f"journal {str(path)!r} does not exist")
        conn = cls._connect(path)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise JournalError(f"{str(path)!r} is not an optkit journal (corrupted, or another SQLite file): {exc}") from exc
        if meta.get("format") != FORMAT:
            conn.close()
            raise JournalError(f"{str(path)!r} is not an optkit journal (format {meta.get('format')!r}, expected {FORMAT!r})")
        j = cls(path, conn)
        j.meta = meta
        return j

    def close(self) -> None:
        self._conn.close()

    # -- writing -------------------------------------------------------------------------------
    def _insert(self, sql: str, args) -> None:
        try:
            with self._conn:
                self._conn.execute(sql, args)
        except sqlite3.IntegrityError as exc:
            raise JournalError(f"journal {str(self.path)!r}: refusing to overwrite a record ({exc})") from exc

    def record_ask(self, batch: int, X: np.ndarray) -> None:
        self._insert("INSERT INTO asks VALUES (?, ?, ?)", (batch, X.shape[0], _blob(X)))

    def record_evals(self, batch: int, start: int, X, y, C, errors, seconds) -> None:
        """Write evaluations ``start..start+len(X)`` of ``batch`` in one transaction."""
        now = time.time()
        rows = []
        for i in range(len(errors)):
            yi = float(y[i])
            rows.append((
                batch, start + i, _blob(X[i]), yi if np.isfinite(yi) else None,
                None if C is None else _blob(C[i]), errors[i], float(seconds[i]), now,
            ))
        try:
            with self._conn:
                self._conn.executemany("INSERT INTO evals VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.IntegrityError as exc:
            raise JournalError(f"journal {str(self.path)!r}: refusing to overwrite an evaluation ({exc})") from exc

    def record_state(self, batch: int, state: dict) -> None:
        from optkit.core.serialize import dumps

        text, blob = dumps(state)
        self._insert("INSERT OR IGNORE INTO states VALUES (?, ?, ?)", (batch, text, blob))

    def set_meta(self, key: str, value: str) -> None:
        """Record a run-level fact (status at the end, an extended budget); the last value wins."""
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        self.meta[key] = value

    # -- reading -------------------------------------------------------------------------------
    def asks(self, dim: int) -> dict[int, np.ndarray]:
        rows = self._conn.execute("SELECT batch, n, X FROM asks ORDER BY batch").fetchall()
        return {b: _arr(x, (n, dim)) for b, n, x in rows}

    def evals(self, dim: int, m: int) -> dict[int, dict[int, tuple]]:
        """``{batch: {idx: (x, y, c, error, seconds)}}``."""
        out: dict[int, dict[int, tuple]] = {}
        for b, i, x, y, c, err, s in self._conn.execute(
            "SELECT batch, idx, x, y, c, error, seconds FROM evals ORDER BY batch, idx"
        ):
            out.setdefault(b, {})[i] = (
                _arr(x, (dim,)), np.nan if y is None else float(y),
                _arr(c, (m,)) if m else None, err, float(s),
            )
        return out

    def latest_state(self) -> tuple[int, dict] | None:
        from optkit.core.serialize import loads

        row = self._conn.execute("SELECT batch, json, npz FROM states ORDER BY batch DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return int(row[0]), loads(row[1], row[2])

    def check_problem(self, fingerprint: dict) -> None:
        """Raise :class:`JournalError` unless this journal belongs to a problem with ``fingerprint``."""
        mine = json.loads(self.meta["fingerprint"])
        theirs = json.loads(json.dumps(fingerprint, sort_keys=True))
        if mine != theirs:
            diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            raise JournalError(
                f"journal {str(self.path)!r} belongs to another problem (differs in {', '.join(diff)}): "
                f"journal has {mine!r:.200}, got {theirs!r:.200}"
            )
