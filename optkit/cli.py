"""The ``optkit`` command: ``optkit list`` and ``optkit bench``.

``optkit list [--family F] [--peers]``
    The registered optimizers: name, family and the first line of the class docstring; with
    ``--peers`` the peer adapters (other libraries' optimizers) and whether each is installed.
``optkit bench [--suite bbob|classic|constrained|bo|highdim|...] [--problem MODULE:NAME [--bounds=LOW:HIGH]]...
[--config FILE.toml|yaml] [--peers [LIST]] [--peer-timeout S]``
    Other suites, the user's own problems (an ``optkit.Problem``, a factory, or a function with
    bounds), a config file, and peers side by side, each peer cell in its own subprocess with a
    timeout (:mod:`optkit.bench.peers`, :mod:`optkit.bench.problems`; docs/bench.md).
``optkit bench --suite quick|standard [--methods a,b] [--functions 1,8,15] [--dims 2,5] [--seeds 3]
[--budget N | --budget-per-dim K] [--targets 1e-8] [--out DIR] [--no-progress] [--jobs N]``
    Runs methods on COCO's BBOB functions (seed ``s`` on instance ``s + 1``), appends one row per run
    to ``DIR/bench.sqlite`` and ``DIR/<bench-id>.jsonl``, and prints COCO-style tables (success rate,
    ERT, median gap, overhead per evaluation). The suite gives the defaults; every option overrides
    its part of the grid.

``optkit bench ... [--workers N] [--dask ADDRESS] [--report FILE.html] [--export FILE.csv|json]``, ``optkit bench --resume BENCH_ID|DIR``
    Cells in N local processes or on a Dask cluster; the HTML report and the export written after
    the run; an interrupted bench continued without rerunning its finished cells (docs/bench-report.md).
``optkit report DIR [--bench ID|all] [--report FILE.html]``, ``optkit export DIR FILE.csv|FILE.json [--bench ID|all]``
    The tables and the HTML report of a stored bench (the latest by default), and its runs exported.

Exit codes: 0 done, 2 bad arguments (unknown names come with close names suggested), 130
interrupted (the runs finished so far are stored), 1 the Dask cluster was lost midway (the same).

Examples
--------
>>> main(["bench", "--methods", "randm"])   # the message goes to stderr
2
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from optkit.core.errors import OptkitError, suggest


def _csv(text: str) -> list[str]:
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list; got {text!r}")
    return items


def _int_list(text: str) -> list[int]:
    try:
        return [int(t) for t in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers; got {text!r}") from None


def _seeds(text: str) -> list[int]:
    """``"3"`` -> seeds 0, 1, 2; ``"0,4,7"`` (or ``"7,"`` for one seed) -> those seeds."""
    values = _int_list(text)
    if "," not in text:
        if values[0] < 1:
            raise argparse.ArgumentTypeError(f"a number of seeds must be >= 1; got {text!r}")
        return list(range(values[0]))
    if any(s < 0 for s in values):
        raise argparse.ArgumentTypeError(f"seeds must be >= 0; got {text!r}")
    return values


def _float_list(text: str) -> list[float]:
    try:
        values = [float(t) for t in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers; got {text!r}") from None
    if not all(0 < v < float("inf") for v in values):
        raise argparse.ArgumentTypeError(f"each value must be > 0 and finite; got {text!r}")
    return values


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not 0 < v < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0; got {text!r}")
    return v


class _BoundsAction(argparse.Action):
    """``--bounds`` belongs to the ``--problem`` given just before it: stored as {problem index: bounds}."""

    def __call__(self, parser, namespace, values, option_string=None):
        problems = getattr(namespace, "problem", None) or []
        if not problems:
            parser.error("--bounds must follow the --problem (a plain function f(x)) it bounds")
        bounds = dict(getattr(namespace, self.dest) or {})
        bounds[len(problems) - 1] = values
        setattr(namespace, self.dest, bounds)


def _peer_list(text: str):
    return "default" if text.strip().lower() == "default" else _csv(text)


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1; got {text!r}")
    return v


def _parser() -> argparse.ArgumentParser:
    from optkit import __version__
    from optkit.bench.suites import SUITES

    p = argparse.ArgumentParser(prog="optkit", description="optkit: black-box optimization methods and benchmarks.")
    p.add_argument("--version", action="version", version=f"optkit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    lp = sub.add_parser("list", help="list the registered optimizers", description="List the registered optimizers.")
    lp.add_argument("--family", help="only this family (sampling, local, population, ...)")
    lp.add_argument("--peers", action="store_true", help="list the peer adapters (other libraries' optimizers) instead")
    lp.add_argument("--rl", action="store_true", help="list the policy-optimization presets (optkit.rl, needs torch) instead")

    suites = "\n".join(f"  {s.name:<9} {s.description}" for s in SUITES.values())
    bp = sub.add_parser(
        "bench",
        help="benchmark methods on COCO's BBOB functions",
        description="Run methods on COCO's BBOB functions (seed s on instance s+1), store every run, print a report.",
        epilog=f"suites:\n{suites}\n\nthe policy-optimization testbed: optkit bench rl --task addition --methods grpo,dapo "
        "--seeds 5 (optkit bench rl --help)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bp.add_argument("--suite", help=f"the grid to start from: {', '.join(SUITES)} (default quick, or none with "
                    "--problem/--config)")
    bp.add_argument("--problem", action="append", default=[], metavar="MODULE:NAME",
                    help="your own problem (repeatable): an optkit.Problem, a factory returning one, or with --bounds a "
                    "function f(x); 'module:name', 'path/file.py:name', or an optkit.problems name")
    bp.add_argument("--bounds", action=_BoundsAction, default={}, metavar="LOW:HIGH[,LOW:HIGH...]",
                    help="box of the --problem before it, when that is a plain function f(x): one pair for every "
                    "coordinate (dims from --dims) or one pair per coordinate; write --bounds=-5:5")
    bp.add_argument("--config", metavar="FILE", help="a TOML (or YAML, with PyYAML) file naming problems, methods, budgets, "
                    "seeds (see docs/bench.md); command-line options override it")
    bp.add_argument("--peers", nargs="?", const="default", type=_peer_list, metavar="LIST",
                    help="add peers (other libraries' optimizers; 'optkit list --peers'): the suite's default set, or a "
                    "comma-separated list such as cma,optuna:tpe")
    bp.add_argument("--peer-timeout", type=_positive_float, metavar="SECONDS",
                    help="seconds each peer cell may take, in its own subprocess (default 900)")
    bp.add_argument("--methods", type=_csv, help="comma-separated registry names (see 'optkit list') and peers "
                    "such as peer:cma, peer:optuna:tpe ('optkit list --peers')")
    bp.add_argument("--functions", type=_csv, help="BBOB functions: numbers 1..24 or names, e.g. 1,8,rastrigin; on "
                    "the classic/constrained/bo/highdim suites, their problems' names")
    bp.add_argument("--dims", type=_int_list, help="dimensions, e.g. 2,5,10")
    bp.add_argument("--seeds", type=_seeds, help="a count N (seeds 0..N-1) or a list, e.g. 0,1,2 (one seed: '7,')")
    budget = bp.add_mutually_exclusive_group()
    budget.add_argument("--budget", type=_positive_int, help="evaluations per run")
    budget.add_argument("--budget-per-dim", type=_positive_int, help="evaluations per run per dimension")
    bp.add_argument("--targets", type=_float_list, help="precisions f - f_opt to record hitting times for (default 1e-8); "
                    "success means reaching the smallest")
    bp.add_argument("--out", default="optkit-results", help="results directory (default ./optkit-results)")
    bp.add_argument("--no-progress", action="store_true", help="no progress bar (it goes to stderr)")
    bp.add_argument("--jobs", type=_positive_int, default=1, help="worker processes (default 1)")
    _add_scale_and_output_options(bp, sub)
    return p


def _error(command: str, message: str) -> int:
    print(f"optkit {command}: error: {message}", file=sys.stderr)
    return 2


def _summary(doc: str | None) -> str:
    """The docstring's short summary: its first paragraph on one line."""
    lines = []
    for line in (doc or "").strip().splitlines():
        if not line.strip():
            break
        lines.append(line.strip())
    return " ".join(lines)


def _cmd_list(args) -> int:
    import optkit
    from optkit.bench.report import format_table

    if args.rl:
        try:
            from optkit.rl.runner import preset_records
        except ImportError as exc:
            return _error("list", f"--rl needs torch: pip install 'optkit[rl]' ({exc})")
        print(format_table([(k, k, "text") for k in ("name", "kind", "needs", "paper")], preset_records()))
        return 0
    if args.peers:
        from optkit.bench.peers import PEERS, install_hint, missing_packages, package_version

        records = []
        for name, info in PEERS.items():
            missing = missing_packages(name)
            state = f"missing {', '.join(missing)}: {install_hint(missing)}" if missing else \
                f"{info.packages[0]} {package_version(name)}"
            records.append({"name": name, "installed": state, "summary": info.summary})
        print(format_table([("name", "name", "text"), ("installed", "installed", "text"), ("summary", "summary", "text")],
                           records))
        return 0
    records = []
    for name in optkit.available():
        try:
            cls = optkit.get(name)
            records.append({"name": name, "family": cls.family or "-", "summary": _summary(cls.__doc__)})
        except Exception as exc:  # an optional dependency is missing: list it, say why
            records.append({"name": name, "family": "?", "summary": f"(cannot load: {type(exc).__name__}: {exc})"})
    if args.family is not None:
        families = sorted({r["family"] for r in records})
        key = args.family.strip().lower()
        if key not in families:
            return _error("list", f"unknown family {args.family!r}.{suggest(key, families)} Known families: {', '.join(families)}")
        records = [r for r in records if r["family"] == key]
    print(format_table([("name", "name", "text"), ("family", "family", "text"), ("summary", "summary", "text")], records))
    return 0


def _cmd_bench(args, argv: list[str]) -> int:
    if args.resume is not None and not getattr(args, "resumed", False):
        return _cmd_resume(args)
    bad = _check_outputs(args)
    if bad:
        return _error("bench", bad)
    from optkit.bench.report import print_report
    from optkit.bench.runner import ResultStore
    from optkit.bench.suites import make_plan

    try:
        bench = make_plan(suite=args.suite, methods=args.methods, functions=args.functions, dims=args.dims,
                          seeds=args.seeds, budget=args.budget, budget_per_dim=args.budget_per_dim, targets=args.targets,
                          problems=[(p, args.bounds.get(i)) for i, p in enumerate(args.problem)], config=args.config,
                          peers=args.peers,
                          peer_timeout=args.peer_timeout)
    except OptkitError as exc:
        return _error("bench", str(exc))
    specs, config = bench.specs, bench.config
    for name, exc in bench.failed.items():  # a problem that cannot be loaded: shown, recorded as FAILED rows
        details = getattr(exc, "details", "") or "".join(traceback.format_exception(exc))
        print(f"optkit bench: problem {name!r} could not be loaded; its runs are recorded as FAILED and the rest goes on:\n"
              f"{details.rstrip()}\n{type(exc).__name__}: {exc}", file=sys.stderr)

    print(f"optkit bench: {bench.summary}; {args.jobs} job{'s' if args.jobs > 1 else ''}", flush=True)
    t0 = time.perf_counter()
    try:
        store = ResultStore(args.out)
    except (OSError, OptkitError) as exc:  # OptkitError: a store of another format
        return _error("bench", f"cannot write results to {args.out!r}: {exc}")
    try:
        try:
            bench_id, skip = _open_bench(store, args, specs, suite=bench.suite, argv=argv, config=config)
        except OptkitError as exc:
            return _error("bench", str(exc))
        try:
            rows = _run_cells(specs, args, store, bench_id, skip)
        except OptkitError as exc:  # the Dask cluster went away: the rows received are stored
            store.finish()
            print(f"optkit bench: {exc}\n  continue with: optkit bench --resume {bench_id} --out {args.out}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            store.finish()
            print(f"optkit bench: interrupted; {store.n_runs} of {len(specs)} runs stored in {store.db_path} and "
                  f"{store.jsonl_path}\n  continue with: optkit bench --resume {bench_id} --out {args.out}", file=sys.stderr)
            return 130
        store.finish()
    finally:
        store.close()
    wall = time.perf_counter() - t0
    print()
    print_report(rows, file=sys.stdout)
    print()
    print(f"results: {store.db_path} (bench {bench_id}) and {store.jsonl_path}")
    print(f"wall time: {wall:.1f} s for {len(rows)} runs")
    return _write_outputs(args, rows, store.db_path, bench_id)


# --------------------------------------------------------------------------------------------
# scale (--workers, --dask), --resume, and the outputs (--report, --export, optkit report/export)


def _add_scale_and_output_options(bp, sub) -> None:
    bp.add_argument("--workers", type=_positive_int, dest="jobs", help="worker processes (the same as --jobs)")
    bp.add_argument("--dask", metavar="ADDRESS", help="run the cells on a dask.distributed cluster, e.g. tcp://host:8786 "
                    "(pip install 'optkit[dist]')")
    bp.add_argument("--dask-timeout", type=_positive_float, default=10.0, metavar="SECONDS",
                    help="seconds to wait for the Dask scheduler to answer (default 10)")
    bp.add_argument("--resume", metavar="BENCH_ID|DIR", help="continue an interrupted bench (its id in --out, or a "
                    "results directory: its latest bench) without rerunning finished cells; the grid is the one it "
                    "started with, the scale and output options are this command's")
    bp.add_argument("--report", metavar="FILE.html", help="also write a self-contained HTML report (needs matplotlib)")
    bp.add_argument("--export", metavar="FILE.csv|FILE.json", help="also export this bench's runs to CSV or JSON")

    rp = sub.add_parser("report", help="print the tables of a stored bench and write its HTML report",
                        description="Print the tables of a bench stored by 'optkit bench' and write its HTML report.")
    rp.add_argument("store", help="results directory (as given to 'optkit bench --out') or its bench.sqlite")
    rp.add_argument("--bench", metavar="BENCH_ID", help="which bench (default: the latest; 'all': every bench stored)")
    rp.add_argument("--report", metavar="FILE.html", help="write the self-contained HTML report there")
    rp.add_argument("--title", help="the report's title")

    ep = sub.add_parser("export", help="export the runs of a stored bench to CSV or JSON",
                        description="Export the runs of a bench stored by 'optkit bench' to CSV or JSON.")
    ep.add_argument("store", help="results directory (as given to 'optkit bench --out') or its bench.sqlite")
    ep.add_argument("output", help="FILE.csv or FILE.json")
    ep.add_argument("--bench", metavar="BENCH_ID", help="which bench (default: the latest; 'all': every bench stored)")
    ep.add_argument("--format", choices=("csv", "json"), help="the format (default: from the file's extension)")


def _check_outputs(args) -> str | None:
    """Why ``--export`` / ``--report`` cannot work, found before anything runs (None when they can)."""
    if args.export is not None:
        from optkit.bench.export import export_format

        try:
            export_format(args.export)
        except OptkitError as exc:
            return str(exc)
    if args.report is not None:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            return "--report draws its figures with matplotlib: pip install 'optkit[report]' (or pip install matplotlib)"
    return None


def _cmd_resume(args) -> int:
    from pathlib import Path

    from optkit.bench.export import find_bench, store_path

    target = str(args.resume)
    try:
        if Path(target).is_dir() or target.endswith(".sqlite"):
            db = store_path(target)
            record = find_bench(db)
        else:
            db = store_path(args.out)
            record = find_bench(db, target)
    except OptkitError as exc:
        return _error("bench", f"--resume: {exc}")
    stored = list(record.get("argv") or [])
    try:
        old = _parser().parse_args(stored[1:])
    except SystemExit:
        return _error("bench", f"--resume: bench {record['bench_id']}'s command line {stored!r} no longer parses")
    if old.command != "bench":
        return _error("bench", f"--resume: bench {record['bench_id']} was not started by 'optkit bench': {stored!r}")
    old.out = str(db.parent)
    for key in ("jobs", "dask", "dask_timeout", "report", "export", "no_progress"):
        setattr(old, key, getattr(args, key))
    old.resume, old.resumed = record["bench_id"], True
    print(f"optkit bench: resuming bench {record['bench_id']} in {old.out} ({record.get('n_runs')} runs stored)", flush=True)
    return _cmd_bench(old, stored)


def _open_bench(store, args, specs, **begin) -> tuple[str, set[int]]:
    """Connect to Dask if asked (a clear error before anything runs), then begin the bench, or reopen it
    for ``--resume``; returns its id and the indices of the cells already stored."""
    from optkit.bench.runner import read_runs

    args.client = None
    if args.dask is not None:
        from optkit.bench.parallel import connect

        args.client = connect(args.dask, timeout=args.dask_timeout)
    if not getattr(args, "resumed", False):
        return store.begin(jobs=args.jobs, **begin), set()
    bench_id = args.resume
    store.reopen(bench_id)
    skip = set()
    for r in read_runs(store.db_path, bench_id):
        i = int(r["run_id"].rsplit("-", 1)[1])
        spec = specs[i] if i < len(specs) else None
        if spec is None or (spec.method, spec.dim, spec.seed) != (r["method"], r["dim"], r["seed"]):
            raise OptkitError(f"--resume: the grid of bench {bench_id} is not what it was when it started (cell {i} was "
                              f"{r['method']} d{r['dim']} seed {r['seed']}); start a new bench instead")
        skip.add(i)
    print(f"optkit bench: {len(skip)} of {len(specs)} cells already stored; running the other {len(specs) - len(skip)}",
          flush=True)
    return bench_id, skip


def _run_cells(specs, args, store, bench_id: str, skip: set[int]) -> list[dict]:
    from optkit.bench.parallel import run_cells
    from optkit.bench.runner import read_runs

    try:
        rows = run_cells(specs, bench_id=bench_id, workers=args.jobs, dask=args.client, on_row=store.add, skip=skip,
                         progress=not args.no_progress)
    finally:
        if args.client is not None:
            args.client.close()
    return read_runs(store.db_path, bench_id) if skip else rows


def _write_outputs(args, rows: list[dict], db_path, bench_id: str) -> int:
    from optkit.bench.export import export_rows, find_bench

    try:
        benches = [find_bench(db_path, bench_id)]
        if args.export is not None:
            n = export_rows(rows, args.export, benches=benches)
            print(f"exported {n} runs to {args.export}")
        if args.report is not None:
            from optkit.bench.html import write_report

            path = write_report(rows, args.report, benches=benches, title=f"optkit bench {bench_id}")
            print(f"report: {path}")
    except (OptkitError, OSError) as exc:
        return _error("bench", f"the results are stored, but the outputs failed: {exc}")
    return 0


def _cmd_report(args) -> int:
    from optkit.bench.export import load_bench
    from optkit.bench.report import print_report

    try:
        rows, benches = load_bench(args.store, args.bench)
    except OptkitError as exc:
        return _error("report", str(exc))
    print_report(rows, file=sys.stdout)
    if args.report is not None:
        try:
            from optkit.bench.html import write_report

            title = args.title or (f"optkit bench {benches[0]['bench_id']}" if len(benches) == 1 else "optkit bench report")
            path = write_report(rows, args.report, benches=benches, title=title)
        except (OptkitError, OSError) as exc:
            return _error("report", str(exc))
        print(f"report: {path}")
    return 0


def _cmd_export(args) -> int:
    from optkit.bench.export import export

    try:
        n = export(args.store, args.output, bench_id=args.bench, format=args.format)
    except (OptkitError, OSError) as exc:
        return _error("export", str(exc))
    print(f"exported {n} runs to {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``optkit`` command with ``argv`` (``sys.argv[1:]`` by default); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["bench", "rl"]:  # the RL testbed's comparison runner has its own options
        try:
            from optkit.rl.runner import main as rl_main
        except ImportError as exc:
            return _error("bench rl", f"needs torch: pip install 'optkit[rl]' ({exc})")
        return rl_main(argv[2:])
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse's usage errors (2), --help and --version (0)
        return exc.code if isinstance(exc.code, int) else 2
    if args.command == "list":
        return _cmd_list(args)
    if args.command in ("report", "export"):
        return _cmd_report(args) if args.command == "report" else _cmd_export(args)
    return _cmd_bench(args, ["optkit", *argv])


if __name__ == "__main__":
    raise SystemExit(main())
