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
outside_box_fraction   share of the evaluated points outside the box (peers may leave it; never clipped)
peak_mem_mb            peak resident memory of the process during the run (MB), and how far it
mem_growth_mb          rose above the start (:class:`optkit.bench.measures.MemoryProbe`)
trace, ecdf_hits       best so far at log-spaced evaluation counts, and the evaluations to reach
                       each of COCO's 51 ECDF targets (:mod:`optkit.bench.measures`)
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

import math
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from optkit.bench.problems import ProblemRef
from optkit.bench.store import (  # noqa: F401  (re-exported: the store used to live here)
    _JSON_COLUMNS,
    BENCH_COLUMNS,
    RUN_COLUMNS,
    STORE_FORMAT,
    ResultStore,
    _interrupt_deferred,
    _json_row,
    _sql_value,
    _version,
    check_store_format,
    new_bench_id,
    read_runs,
)
from optkit.bench.suites import BBOB_NAMES, DEFAULT_TARGETS, instance_for_seed
from optkit.core.errors import InvalidParameterError


@dataclass(frozen=True)
class RunSpec:
    """One run of a bench: ``method`` on BBOB ``function`` in ``dim`` dimensions with ``seed``.

    The BBOB instance is ``seed + 1``; success means reaching ``min(targets)`` in ``f - f_opt``.
    With ``problem`` (a :class:`~optkit.bench.problems.ProblemRef`) the run is on that problem
    instead (``function`` is then ignored, and there is no instance). ``timeout`` bounds the seconds
    of a peer cell (``method`` ``"peer:..."``, run in its own subprocess; see :mod:`optkit.bench.peers`).
    """

    method: str
    function: int
    dim: int
    seed: int
    budget: int
    targets: tuple[float, ...] = DEFAULT_TARGETS
    suite: str | None = None
    problem: ProblemRef | None = None
    timeout: float | None = None

    @property
    def instance(self) -> int | None:
        return instance_for_seed(self.seed) if self.problem is None else None


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
    A peer cell (``method`` ``"peer:..."``) runs in a subprocess with ``spec.timeout``
    (:func:`optkit.bench.peers.run_isolated`), which calls this function there.
    """
    if spec.method.startswith("peer:"):
        from optkit.bench import peers

        if not peers.IN_CHILD:
            return peers.run_isolated(spec)
    import optkit
    from optkit.bench.measures import MemoryProbe, run_measures
    from optkit.problems.bbob import bbob  # the module, not optkit.problems.bbob: importing it shadows that function

    targets = tuple(spec.targets)
    row = _blank_row(spec)
    res = problem = None
    probe = MemoryProbe()
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        # "always": counts must not depend on which earlier runs shared this process
        warnings.simplefilter("always")
        try:
            problem = bbob(spec.function, spec.dim, spec.instance) if spec.problem is None else spec.problem.build(spec.dim)
            row["f_opt"] = problem.f_opt
            if spec.method.startswith("peer:"):
                from optkit.bench.peers import prepare

                peer = prepare(spec.method, problem)  # imports the peer's package outside the clock
                t0 = time.perf_counter()
                res = peer(problem, spec.budget, spec.seed)
            else:
                _warm_up(spec.method, spec.dim)
                t0 = time.perf_counter()
                opt = optkit.make(spec.method, problem.space, seed=spec.seed)
                res = opt.minimize(problem, spec.budget)
        except Exception as exc:  # the bench records the failure and goes on
            row["error"] = f"{type(exc).__name__}: {exc}"
            res = getattr(exc, "result", None)  # an ObjectiveError carries the run so far
    wall = time.perf_counter() - t0
    row["wall_time"] = wall
    row.update(probe.read())
    row["n_warnings"] = len(caught)
    if caught:
        row["warning"] = f"{caught[0].category.__name__}: {caught[0].message}"
    if res is not None:
        row["nfev"], row["nit"] = int(res.nfev), int(res.nit)
        if row["error"] is None:
            row["status"] = res.status.name
        row["fun"] = _finite(res.fun)
        best_so_far = res.best_so_far
        if isinstance(problem, optkit.StochasticProblem):  # a gradient run: full losses, counted in oracle calls
            best_so_far = full_loss_trace(problem, res)
        if row["f_opt"] is not None:
            if row["fun"] is not None:
                row["gap"] = _finite(row["fun"] - row["f_opt"])
            hits = evals_to_targets(best_so_far, row["f_opt"], targets)
            row["evals_to_targets"] = hits
            row["evals_to_target"] = hits[targets.index(min(targets))]
            row["success"] = row["evals_to_target"] is not None
        row.update(run_measures(best_so_far, row["f_opt"]))
        obj = float(np.sum(res.history.seconds))
        row["objective_time"] = obj
        row["outside_box_fraction"] = outside_box_fraction(res.history.X, problem.space) if problem is not None else None
        if res.nfev:
            row["overhead_us_per_eval"] = max(wall - obj, 0.0) / res.nfev * 1e6
    return row


def full_loss_trace(problem, res, points: int = 60) -> np.ndarray:
    """Best full loss so far after each oracle call of a gradient run on a StochasticProblem.

    A gradient run's history holds minibatch losses (one row per iteration, the iterate it started
    from), which can lie below the optimum; targets must be judged on the full objective. It is
    computed (uncounted: :meth:`StochasticProblem.objective`) at about ``points`` log-spaced
    iterates and at the last one, each placed at the oracle calls spent to reach it (minibatches of
    equal size), and carried forward in between.
    """
    X = np.asarray(res.history.X)
    calls, n_it = int(res.nfev), X.shape[0]
    if calls == 0 or n_it == 0:
        return np.zeros(0)
    trace = np.full(calls, np.inf)
    for i in np.unique(np.geomspace(1, n_it, points).astype(int)):
        if i < n_it:  # iterate i is reached after i of the n_it steps
            trace[max(int(round(i * calls / n_it)) - 1, 0)] = problem.objective(X[i])
    trace[0] = min(trace[0], problem.objective(X[0]))
    trace[-1] = min(trace[-1], float(res.fun)) if np.isfinite(res.fun) else trace[-1]
    return np.minimum.accumulate(trace)


def outside_box_fraction(X, space) -> float | None:
    """The share of the rows of ``X`` (n, d) outside ``space``'s bounds (None without box bounds or points)."""
    lower, upper = getattr(space, "lower", None), getattr(space, "upper", None)
    X = np.asarray(X, dtype=np.float64)
    if lower is None or upper is None or X.ndim != 2 or not X.shape[0]:
        return None
    return float(np.mean(np.any((X < lower) | (X > upper), axis=1)))


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
        method=spec.method, function=spec.function if spec.problem is None else None,
        function_name=BBOB_NAMES.get(spec.function) if spec.problem is None else spec.problem.name, dim=spec.dim or None,
        instance=spec.instance, seed=spec.seed, budget=spec.budget, nfev=0, nit=0, targets=list(spec.targets),
        evals_to_targets=[None] * len(spec.targets), target=min(spec.targets), success=False, status="FAILED",
        error=error, n_warnings=0, wall_time=0.0, objective_time=0.0,
    )
    return row


# --------------------------------------------------------------------------------------------
# storage


__all__ = ["BENCH_COLUMNS", "RUN_COLUMNS", "STORE_FORMAT", "ResultStore", "check_store_format", "RunSpec", "evals_to_targets", "new_bench_id", "plan",
           "read_runs", "run_bench", "run_one"]
