"""Run a benchmark grid and store one row per run.

:func:`plan` expands methods x functions x dims x seeds into :class:`RunSpec` s, :func:`run_one` runs
one of them (build the BBOB problem, ``optkit.make(method, problem.space, seed=seed)``,
``opt.minimize(problem, budget)``) and returns its row, and :func:`run_bench` runs them all, serially
or in worker processes, returning the rows in the order planned. A method that raises becomes a row
with ``status == "FAILED"`` and the message in ``error``; the bench goes on.

:class:`ResultStore` appends rows to ``<out>/bench.sqlite`` (tables ``runs`` and ``benches``) and to
``<out>/<bench_id>.jsonl``, one row at a time as runs finish, and never overwrites earlier results.

A row (a dict; :data:`RUN_COLUMNS` lists its keys in order):

=====================  =====================================================================
run_id, bench_id       ``<bench_id>-<index>`` and the bench it belongs to
timestamp              UTC start of the run (ISO 8601)
optkit_version, suite
method                 canonical registry name
function, dim          BBOB function number (``function_name`` its name) and dimension
instance, seed         the optimizer's seed and the BBOB instance (``seed + 1``)
budget, nfev, nit      evaluations allowed and made, ``ask`` rounds
f_opt, fun, gap        optimum, best value found, and ``fun - f_opt`` (None when nothing evaluated)
targets                the precisions ``f - f_opt`` asked for, coarsest first
evals_to_targets       per target, evaluations used when it was first reached (None: never)
target, evals_to_target   the finest target and its entry of ``evals_to_targets``
success                whether the finest target was reached
status, error          the :class:`~optkit.Status` name, and the exception message of a failed run
n_warnings, warning    warnings raised during the run, and the first one's message
wall_time              seconds to build the optimizer and run it
objective_time         seconds spent in the objective (sum of ``history.seconds``)
overhead_us_per_eval   ``(wall_time - objective_time) / nfev`` in microseconds
=====================  =====================================================================

Examples
--------
>>> specs = plan(["random"], [1], [2], [0, 1], budget=50)
>>> [(s.method, s.function, s.dim, s.seed, s.instance, s.budget) for s in specs]
[('random', 1, 2, 0, 1, 50), ('random', 1, 2, 1, 2, 50)]
>>> rows = run_bench(specs)
>>> [(r["nfev"], r["status"], r["success"]) for r in rows]
[(50, 'BUDGET_EXHAUSTED', False), (50, 'BUDGET_EXHAUSTED', False)]
>>> evals_to_targets([5.0, 3.0, 1.5, 1.0], f_opt=1.0, targets=[1.0, 0.0])
[3, 4]
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import signal
import sqlite3
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optkit.bench.suites import BBOB_NAMES, DEFAULT_TARGETS, instance_for_seed
from optkit.core.errors import InvalidParameterError

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
}

#: row keys stored as JSON text in SQLite
_JSON_COLUMNS = ("targets", "evals_to_targets")

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


@dataclass(frozen=True)
class RunSpec:
    """One run of a bench: ``method`` on BBOB ``function`` in ``dim`` dimensions with ``seed``.

    The BBOB instance is ``seed + 1``; success means reaching ``min(targets)`` in ``f - f_opt``.
    """

    method: str
    function: int
    dim: int
    seed: int
    budget: int
    targets: tuple[float, ...] = DEFAULT_TARGETS
    suite: str | None = None

    @property
    def instance(self) -> int:
        return instance_for_seed(self.seed)


def plan(
    methods: Sequence[str],
    functions: Sequence[int],
    dims: Sequence[int],
    seeds: Sequence[int],
    *,
    budget: int | None = None,
    budget_per_dim: int | None = None,
    targets: Sequence[float] = DEFAULT_TARGETS,
    suite: str | None = None,
) -> list[RunSpec]:
    """The runs of a grid, method-major: every method x function x dim x seed.

    Parameters
    ----------
    methods : sequence of str
        Registry names (see :func:`optkit.bench.suites.resolve_methods` to canonicalize them).
    functions : sequence of int
        BBOB function numbers 1..24.
    dims : sequence of int
        Dimensions, each >= 2.
    seeds : sequence of int
        Optimizer seeds; seed ``s`` runs on BBOB instance ``s + 1``.
    budget, budget_per_dim : int
        Evaluations per run: ``budget``, or ``budget_per_dim * dim`` (exactly one of them).
    targets : sequence of float
        Precisions ``f - f_opt`` (> 0) whose first hitting times are recorded.
    suite : str, optional
        Name stored with each row.

    Returns
    -------
    list of RunSpec
    """
    if (budget is None) == (budget_per_dim is None):
        raise InvalidParameterError("plan: give exactly one of 'budget' and 'budget_per_dim'")
    for name, value in (("budget", budget), ("budget_per_dim", budget_per_dim)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1):
            raise InvalidParameterError(f"plan: {name!r} must be an int >= 1; got {value!r}")
    tgt = tuple(sorted({float(t) for t in targets}, reverse=True))
    if not tgt or not all(math.isfinite(t) and t > 0 for t in tgt):
        raise InvalidParameterError(f"plan: 'targets' must be finite precisions > 0; got {list(targets)!r}")
    for f in functions:
        if int(f) not in BBOB_NAMES:
            raise InvalidParameterError(f"plan: BBOB function numbers are 1..24; got {f!r}")
    for d in dims:
        if int(d) < 2:
            raise InvalidParameterError(f"plan: BBOB dimensions must be >= 2; got {d!r}")
    for s in seeds:
        if int(s) < 0:
            raise InvalidParameterError(f"plan: seeds must be >= 0 (seed s runs on instance s + 1); got {s!r}")
    return [
        RunSpec(str(m), int(f), int(d), int(s), int(budget if budget is not None else budget_per_dim * int(d)), tgt, suite)
        for m in methods
        for f in functions
        for d in dims
        for s in seeds
    ]


def evals_to_targets(best_so_far, f_opt: float, targets: Sequence[float]) -> list[int | None]:
    """Per target, the number of evaluations after which ``best - f_opt <= target`` first held.

    That is the first index in ``best_so_far`` where the precision is reached, plus one; None when it
    never is (NaN entries, before anything feasible was evaluated, never count).
    """
    gap = np.asarray(best_so_far, dtype=np.float64) - float(f_opt)
    out: list[int | None] = []
    for t in targets:
        hit = np.flatnonzero(gap <= t)
        out.append(int(hit[0]) + 1 if hit.size else None)
    return out


def _finite(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _version() -> str:
    import optkit

    return optkit.__version__


_WARM: set[str] = set()


def _warm_up(method: str, dim: int) -> None:
    """Import ``method`` and let it ask once, outside the clock, the first time in this process.

    Lazy imports inside a method (``cma``, scipy submodules) would otherwise be charged to the
    first run of each worker as optimizer overhead.
    """
    import optkit

    optkit.get(method)
    if method in _WARM:
        return
    _WARM.add(method)
    try:
        optkit.make(method, optkit.Box(-1.0, 1.0, dim=dim), seed=0).ask()
    except Exception:  # the real run will meet and record the problem
        pass


def run_one(spec: RunSpec) -> dict:
    """Run ``spec`` and return its row (without ``run_id`` and ``bench_id``; :func:`run_bench` adds them).

    Never raises for a failure of the method or the problem: the row then has ``status ==
    "FAILED"``, the exception in ``error`` and whatever the run had evaluated before it failed.
    """
    import optkit
    from optkit.problems.bbob import bbob  # the module, not optkit.problems.bbob: importing it shadows that function

    targets = tuple(spec.targets)
    row = _blank_row(spec)
    res = None
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        # "always": counts must not depend on which earlier runs shared this process
        warnings.simplefilter("always")
        try:
            problem = bbob(spec.function, spec.dim, spec.instance)
            row["f_opt"] = problem.f_opt
            _warm_up(spec.method, spec.dim)
            t0 = time.perf_counter()
            opt = optkit.make(spec.method, problem.space, seed=spec.seed)
            res = opt.minimize(problem, spec.budget)
        except Exception as exc:  # the bench records the failure and goes on
            row["error"] = f"{type(exc).__name__}: {exc}"
            res = getattr(exc, "result", None)  # an ObjectiveError carries the run so far
    wall = time.perf_counter() - t0
    row["wall_time"] = wall
    row["n_warnings"] = len(caught)
    if caught:
        row["warning"] = f"{caught[0].category.__name__}: {caught[0].message}"
    if res is not None:
        row["nfev"], row["nit"] = int(res.nfev), int(res.nit)
        if row["error"] is None:
            row["status"] = res.status.name
        row["fun"] = _finite(res.fun)
        if row["f_opt"] is not None:
            if row["fun"] is not None:
                row["gap"] = _finite(row["fun"] - row["f_opt"])
            hits = evals_to_targets(res.best_so_far, row["f_opt"], targets)
            row["evals_to_targets"] = hits
            row["evals_to_target"] = hits[targets.index(min(targets))]
            row["success"] = row["evals_to_target"] is not None
        obj = float(np.sum(res.history.seconds))
        row["objective_time"] = obj
        if res.nfev:
            row["overhead_us_per_eval"] = max(wall - obj, 0.0) / res.nfev * 1e6
    return row


def new_bench_id() -> str:
    """A fresh bench id: UTC time plus a random suffix, e.g. ``20260101T120000Z-3f2a1c``."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def run_bench(
    specs: Sequence[RunSpec],
    *,
    jobs: int = 1,
    progress: bool = False,
    bench_id: str | None = None,
    on_row: Callable[[dict], None] | None = None,
    mp_context: str | None = None,
) -> list[dict]:
    """Run every spec and return the rows in the order of ``specs``.

    Parameters
    ----------
    specs : sequence of RunSpec
    jobs : int
        Worker processes (``concurrent.futures.ProcessPoolExecutor``); 1 runs in this process. The
        rows are the same either way, timings aside.
    progress : bool
        Show a tqdm progress bar (on stderr) over the runs.
    bench_id : str, optional
        Stamped on every row (with ``run_id = f"{bench_id}-{index:05d}"``); a fresh one by default.
    on_row : callable, optional
        Called with each row, in order, as soon as it and every row before it are done (e.g.
        :meth:`ResultStore.add`, so an interrupted bench keeps what it finished).
    mp_context : {"fork", "forkserver", "spawn"}, optional
        How worker processes start; the platform's default when None. ``"spawn"`` gives every worker
        a fresh interpreter (safe whatever threads this process runs, but each worker imports
        optkit again, about a second).

    Returns
    -------
    list of dict
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise InvalidParameterError(f"run_bench: 'jobs' must be an int >= 1; got {jobs!r}")
    if bench_id is None:
        bench_id = new_bench_id()
    rows: list[dict] = []

    def finish(i: int, row: dict) -> None:
        row["run_id"], row["bench_id"] = f"{bench_id}-{i:05d}", bench_id
        rows.append(row)
        if on_row is not None:
            on_row(row)

    if jobs == 1 or len(specs) <= 1:
        with _bar(len(specs), progress) as bar:
            for i, spec in enumerate(specs):
                bar.set_postfix_str(f"{spec.method} f{spec.function} d{spec.dim} s{spec.seed}", refresh=False)
                finish(i, run_one(spec))
                bar.update(1)
        return rows

    import multiprocessing

    ctx = multiprocessing.get_context(mp_context)
    with ProcessPoolExecutor(max_workers=min(jobs, len(specs)), mp_context=ctx) as ex:
        futures = [ex.submit(run_one, spec) for spec in specs]
        # the bar (and its monitor thread) only after the workers exist: nothing forks with it
        with _bar(len(specs), progress) as bar:
            for fut in futures:
                fut.add_done_callback(lambda _: bar.update(1))
            try:
                for i, (spec, fut) in enumerate(zip(specs, futures)):
                    try:
                        row = fut.result()
                    except Exception as exc:  # the worker process died (or could not run the task)
                        row = _blank_row(spec, f"worker process lost: {type(exc).__name__}: {exc}")
                    finish(i, row)
            except BaseException:  # Ctrl-C: drop the queued runs instead of waiting for them
                ex.shutdown(wait=False, cancel_futures=True)
                raise
    return rows


def _bar(total: int, progress: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="run", file=sys.stderr, dynamic_ncols=True, disable=not progress)


def _blank_row(spec: RunSpec, error: str | None = None) -> dict:
    """The row of ``spec`` before it runs: nothing evaluated, status FAILED until the run says otherwise."""
    row = {k: None for k in RUN_COLUMNS}
    row.update(
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), optkit_version=_version(), suite=spec.suite,
        method=spec.method, function=spec.function, function_name=BBOB_NAMES.get(spec.function), dim=spec.dim,
        instance=spec.instance, seed=spec.seed, budget=spec.budget, nfev=0, nit=0, targets=list(spec.targets),
        evals_to_targets=[None] * len(spec.targets), target=min(spec.targets), success=False, status="FAILED",
        error=error, n_warnings=0, wall_time=0.0, objective_time=0.0,
    )
    return row


# --------------------------------------------------------------------------------------------
# storage


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
        with self._con:
            _ensure_table(self._con, "runs", RUN_COLUMNS)
            _ensure_table(self._con, "benches", BENCH_COLUMNS)
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


def read_runs(db_path, bench_id: str | None = None) -> list[dict]:
    """The rows stored in ``db_path`` (of one bench, or all), in the order they were stored."""
    con = sqlite3.connect(db_path)
    try:
        con.row_factory = sqlite3.Row
        if bench_id is None:
            cur = con.execute("SELECT * FROM runs ORDER BY rowid")
        else:
            cur = con.execute("SELECT * FROM runs WHERE bench_id = ? ORDER BY rowid", (bench_id,))
        rows = []
        for r in cur:
            row = dict(r)
            for k in _JSON_COLUMNS:
                row[k] = json.loads(row[k]) if row[k] is not None else None
            row["success"] = bool(row["success"])
            rows.append(row)
        return rows
    finally:
        con.close()


__all__ = ["BENCH_COLUMNS", "RUN_COLUMNS", "ResultStore", "RunSpec", "evals_to_targets", "new_bench_id", "plan",
           "read_runs", "run_bench", "run_one"]
