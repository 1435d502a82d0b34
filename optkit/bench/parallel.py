"""Run bench cells in this process, in local worker processes, or on a ``dask.distributed`` cluster.

:func:`run_cells` is what ``optkit bench`` uses (``--workers N`` / ``--jobs N``, ``--dask ADDRESS``,
``--resume``). Rows reach ``on_row`` (the results store) as the cells finish, one row at a time,
and only whole rows: a cell whose worker dies is run again, never stored half-done.

* Local processes (``workers > 1``): a ``concurrent.futures.ProcessPoolExecutor``. Each worker flags
  the cells it starts in a shared array; when a worker dies (killed, out of memory, a crash in native
  code) the pool is rebuilt and the unfinished cells are submitted again; the cells that were
  running when it died are first run again one at a time, alone in a fresh process, so that the
  one that kills its worker is found. A cell that kills its worker ``1 + max_retries`` times is
  stored as a FAILED row saying so, and the bench goes on.
* Dask (``dask="tcp://host:8786"`` or a ``distributed.Client``): the cells go to the cluster with
  ``Client.map``; the scheduler itself reruns a task whose worker died (up to its
  ``distributed.scheduler.allowed-failures``, 3 by default), and a cell it gives up on
  (``KilledWorker``) becomes a FAILED row. An address that does not answer within
  ``connect_timeout`` seconds raises :class:`~optkit.InvalidParameterError` before anything runs; a
  scheduler lost midway raises :class:`~optkit.OptkitError` after every row received so far has been
  stored (``optkit bench --resume`` then runs the rest).

:func:`dask_executor` gives the ``concurrent.futures.Executor`` of a Dask client, which
``optkit.minimize(..., executor=...)`` accepts for the points of one ``ask``.

Examples
--------
>>> from optkit.bench.runner import plan
>>> rows = run_cells(plan(["random"], [1], [2], [0, 1, 2], budget=20), workers=2, bench_id="doc")
>>> [(r["run_id"], r["nfev"]) for r in rows]
[('doc-00000', 20), ('doc-00001', 20), ('doc-00002', 20)]
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Sequence

from optkit.core.errors import InvalidParameterError, OptkitError

#: set in each local worker process by :func:`_init_worker`: one flag per cell, 1 once started
_STARTED = None


def _init_worker(started) -> None:
    global _STARTED
    _STARTED = started


def _cell(i: int, spec, run: Callable):
    """Run one cell in a worker: flag it as started, then run it."""
    if _STARTED is not None:
        _STARTED[i] = 1
    return run(spec)


def _lost_row(spec, message: str) -> dict:
    from optkit.bench.runner import _blank_row

    return _blank_row(spec, message)


def run_cells(
    specs: Sequence,
    *,
    bench_id: str,
    workers: int = 1,
    dask=None,
    on_row: Callable[[dict], None] | None = None,
    skip: Collection[int] = (),
    progress: bool = False,
    run: Callable | None = None,
    max_retries: int = 2,
    connect_timeout: float = 10.0,
    mp_context: str | None = None,
) -> list[dict]:
    """Run the cells ``specs`` (skipping the indices in ``skip``) and return their rows in index order.

    Parameters
    ----------
    specs : sequence of RunSpec
        The whole plan; cell ``i`` gets ``run_id = f"{bench_id}-{i:05d}"``.
    bench_id : str
    workers : int
        Local worker processes; 1 runs the cells in this process. Ignored when ``dask`` is given.
    dask : str or distributed.Client, optional
        A scheduler address (``tcp://host:8786``) or a connected client.
    on_row : callable, optional
        Called with each row as its cell finishes (in completion order), e.g. ``ResultStore.add``.
    skip : collection of int
        Indices of cells already done (``--resume``); they are not run and not returned.
    progress : bool
        A tqdm progress bar on stderr.
    run : callable, optional
        ``run(spec) -> row``; :func:`optkit.bench.runner.run_one` by default. It must be picklable
        (a module-level function) for worker processes and Dask.
    max_retries : int
        Local workers: how often a cell whose worker died is run again before it is stored as FAILED.
    connect_timeout : float
        Dask: seconds to wait for the scheduler to answer.
    mp_context : {"fork", "forkserver", "spawn"}, optional
        How local worker processes start (the platform's default when None).

    Returns
    -------
    list of dict
    """
    from optkit.bench.runner import run_one

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidParameterError(f"run_cells: 'workers' must be an int >= 1; got {workers!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidParameterError(f"run_cells: 'max_retries' must be an int >= 0; got {max_retries!r}")
    run = run_one if run is None else run
    skip = set(skip)
    todo = [i for i in range(len(specs)) if i not in skip]
    rows: dict[int, dict] = {}

    def finish(i: int, row: dict, bar) -> None:
        row["run_id"], row["bench_id"] = f"{bench_id}-{i:05d}", bench_id
        rows[i] = row
        if on_row is not None:
            on_row(row)
        bar.update(1)
        gap = row.get("gap")
        bar.set_postfix_str(f"{row.get('method')} {row.get('function_name') or row.get('function')} d{row.get('dim')}: "
                            f"{row.get('status')}{'' if gap is None else f' gap {gap:.2e}'}", refresh=False)

    if dask is not None:
        _run_dask(specs, todo, dask, run, finish, progress, connect_timeout)
    elif workers == 1 or len(todo) <= 1:
        with _bar(len(todo), progress) as bar:
            for i in todo:
                finish(i, run(specs[i]), bar)
    else:
        _run_local(specs, todo, workers, run, finish, progress, max_retries, mp_context)
    return [rows[i] for i in sorted(rows)]


def _bar(total: int, progress: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="run", file=sys.stderr, dynamic_ncols=True, disable=not progress)


def _run_local(specs, todo, workers, run, finish, progress, max_retries, mp_context) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context(mp_context)
    if ctx.get_start_method() == "fork":
        _preload(specs)
    started = ctx.RawArray("b", len(specs))
    attempts: dict[int, int] = {}
    pending, suspects = list(todo), []
    with _bar(len(todo), progress) as bar:
        while pending or suspects:
            if suspects:  # a cell that was running when a worker died: run it alone to tell who killed it
                i = suspects.pop(0)
                if not _pool_round(specs, [i], 1, run, finish, bar, ctx, started):
                    continue
                attempts[i] += 1
                if attempts[i] > max_retries:
                    finish(i, _lost_row(specs[i], f"worker process lost in each of {attempts[i]} attempts at this cell "
                                                  "(killed, out of memory, or crashed)"), bar)
                else:
                    suspects.insert(0, i)
                continue
            unfinished = _pool_round(specs, pending, workers, run, finish, bar, ctx, started)
            suspects = [i for i in unfinished if started[i]]
            pending = [i for i in unfinished if not started[i]]
            for i in suspects:
                attempts[i] = 1


def _preload(specs) -> None:
    """Import what the cells need before forking workers, so each worker does not import it again."""
    import optkit
    from optkit.problems import bbob  # noqa: F401

    for method in sorted({getattr(s, "method", None) for s in specs} - {None}):
        try:
            optkit.get(method)
        except Exception:  # a name the registry does not know (a peer) or a missing extra: the cell will say
            pass


def _pool_round(specs, cells, workers, run, finish, bar, ctx, started) -> list[int]:
    """Run ``cells`` in a fresh pool; the cells left unfinished because a worker died (sorted)."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    for i in cells:
        started[i] = 0
    unfinished = []
    ex = ProcessPoolExecutor(max_workers=min(workers, len(cells)), mp_context=ctx, initializer=_init_worker,
                             initargs=(started,))
    try:
        futures = {ex.submit(_cell, i, specs[i], run): i for i in cells}
        waiting = set(futures)
        while waiting:
            done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for fut in done:
                i = futures[fut]
                try:
                    row = fut.result()
                except BrokenProcessPool:
                    unfinished.append(i)
                    continue
                except Exception as exc:  # the task could not be sent or its row not returned
                    row = _lost_row(specs[i], f"worker could not run the cell: {type(exc).__name__}: {exc}")
                finish(i, row, bar)
    except BaseException:  # Ctrl-C: drop the queued cells instead of waiting for them
        ex.shutdown(wait=False, cancel_futures=True)
        raise
    ex.shutdown(wait=True)
    return sorted(unfinished)


def connect(address, *, timeout: float = 10.0):
    """A ``distributed.Client`` for the scheduler at ``address``, or a clear error within ``timeout`` s.

    Raises :class:`~optkit.InvalidParameterError` when ``dask.distributed`` is not installed or the
    scheduler does not answer in time.
    """
    try:
        from distributed import Client
    except ImportError:
        raise InvalidParameterError(
            "--dask needs dask.distributed: pip install 'optkit[dist]' (or pip install 'dask[distributed]')"
        ) from None
    if isinstance(address, Client):
        return address
    if not isinstance(address, str) or not address.strip():
        raise InvalidParameterError(f"dask: the scheduler address must be a string such as 'tcp://host:8786'; got {address!r}")
    try:
        return Client(address.strip(), timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise InvalidParameterError(
            f"dask: no scheduler answered at {address!r} within {timeout:g} s ({type(exc).__name__}: {exc}). "
            "Start one with 'dask scheduler' (and workers with 'dask worker ADDRESS'), or check the address"
        ) from None


def _run_dask(specs, todo, dask, run, finish, progress, timeout) -> None:
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    client = connect(dask, timeout=timeout)
    own = client is not dask
    try:
        futures = client.map(run, [specs[i] for i in todo], pure=False)
        index = {f.key: i for f, i in zip(futures, todo)}
        got = 0
        with _bar(len(todo), progress) as bar:
            try:
                for fut in as_completed(futures, loop=client.loop):
                    i = index[fut.key]
                    try:
                        row = fut.result()
                    except KilledWorker as exc:
                        row = _lost_row(specs[i], f"Dask gave up on the cell: its workers died ({exc})")
                    finish(i, row, bar)
                    got += 1
            except Exception as exc:  # the scheduler went away: what arrived is stored, the rest can be resumed
                raise OptkitError(
                    f"dask: lost the cluster after {got} of {len(todo)} cells ({type(exc).__name__}: "
                    f"{' '.join(str(exc).split())}); "
                    "the finished cells are stored: rerun with --resume to run the rest"
                ) from exc
    finally:
        if own:
            client.close()


def dask_executor(client_or_address, *, timeout: float = 10.0):
    """The ``concurrent.futures.Executor`` of a Dask client, for ``optkit.minimize(..., executor=...)``.

    The points of each ``ask`` are then evaluated on the cluster's workers (the objective must be
    picklable); a point whose worker dies is retried by the scheduler, and one it gives up on is
    recorded as a failed evaluation (the problem's ``on_error`` policy applies). Pass a
    ``distributed.Client`` you manage (``with Client(...) as client``), or a scheduler address (a
    client is then connected, and lives as long as the process). The same as
    ``client.get_executor()``, with the clear error of :func:`connect` for an address that does not answer.

    Examples
    --------
    >>> from distributed import Client, LocalCluster          # doctest: +SKIP
    >>> with LocalCluster(n_workers=2, processes=False) as cluster, Client(cluster) as client:  # doctest: +SKIP
    ...     res = optkit.minimize(f, bounds, method="cmaes", budget=500, executor=dask_executor(client))
    """
    return connect(client_or_address, timeout=timeout).get_executor()


__all__ = ["connect", "dask_executor", "run_cells"]
