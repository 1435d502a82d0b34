"""The ``optkit`` command: ``optkit list`` and ``optkit bench``.

``optkit list [--family F]``
    The registered optimizers: name, family and the first line of the class docstring.
``optkit bench --suite quick|standard [--methods a,b] [--functions 1,8,15] [--dims 2,5] [--seeds 3]
[--budget N | --budget-per-dim K] [--targets 1e-8] [--out DIR] [--no-progress] [--jobs N]``
    Runs methods on COCO's BBOB functions (seed ``s`` on instance ``s + 1``), appends one row per run
    to ``DIR/bench.sqlite`` and ``DIR/<bench-id>.jsonl``, and prints COCO-style tables (success rate,
    ERT, median gap, overhead per evaluation). The suite gives the defaults; every option overrides
    its part of the grid.

Exit codes: 0 done, 2 bad arguments (unknown names come with close names suggested), 130
interrupted (the runs finished so far are stored).

Examples
--------
>>> main(["bench", "--methods", "randm"])   # the message goes to stderr
2
"""

from __future__ import annotations

import argparse
import sys
import time

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
        raise argparse.ArgumentTypeError(f"targets are precisions f - f_opt and must be > 0; got {text!r}")
    return values


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

    suites = "\n".join(f"  {s.name:<9} {s.description}" for s in SUITES.values())
    bp = sub.add_parser(
        "bench",
        help="benchmark methods on COCO's BBOB functions",
        description="Run methods on COCO's BBOB functions (seed s on instance s+1), store every run, print a report.",
        epilog=f"suites:\n{suites}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bp.add_argument("--suite", default="quick", help="the grid to start from: quick (default) or standard")
    bp.add_argument("--methods", type=_csv, help="comma-separated registry names (see 'optkit list')")
    bp.add_argument("--functions", type=_csv, help="BBOB functions: numbers 1..24 or names, e.g. 1,8,rastrigin")
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
    from optkit.bench.report import print_report
    from optkit.bench.runner import ResultStore, plan, run_bench
    from optkit.bench.suites import DEFAULT_TARGETS, get_suite, resolve_functions, resolve_methods

    try:
        suite = get_suite(args.suite)
        methods = resolve_methods(args.methods if args.methods is not None else suite.method_names())
        functions = resolve_functions(args.functions if args.functions is not None else suite.functions)
        dims = args.dims if args.dims is not None else list(suite.dims)
        seeds = args.seeds if args.seeds is not None else list(suite.seeds)
        targets = args.targets if args.targets is not None else list(DEFAULT_TARGETS)
        if args.budget is not None:
            budget_kw, budget_text = {"budget": args.budget}, f"{args.budget}"
        else:
            per_dim = args.budget_per_dim if args.budget_per_dim is not None else suite.budget_per_dim
            budget_kw, budget_text = {"budget_per_dim": per_dim}, f"{per_dim}*dim"
        specs = plan(methods, functions, dims, seeds, targets=targets, suite=suite.name, **budget_kw)
    except OptkitError as exc:
        return _error("bench", str(exc))

    print(f"optkit bench: suite {suite.name}: {len(methods)} methods x {len(functions)} functions x {len(dims)} dims x "
          f"{len(seeds)} seeds = {len(specs)} runs; budget {budget_text}; target f - f_opt <= {min(targets):g}; "
          f"{args.jobs} job{'s' if args.jobs > 1 else ''}", flush=True)
    config = {"methods": methods, "functions": functions, "dims": dims, "seeds": seeds, "targets": targets, **budget_kw}
    t0 = time.perf_counter()
    try:
        store = ResultStore(args.out)
    except OSError as exc:
        return _error("bench", f"cannot write results to {args.out!r}: {exc}")
    try:
        bench_id = store.begin(suite=suite.name, argv=argv, jobs=args.jobs, config=config)
        try:
            rows = run_bench(specs, jobs=args.jobs, progress=not args.no_progress, bench_id=bench_id, on_row=store.add)
        except KeyboardInterrupt:
            store.finish()
            print(f"optkit bench: interrupted; {store.n_runs} of {len(specs)} runs stored in {store.db_path} and "
                  f"{store.jsonl_path}", file=sys.stderr)
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
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``optkit`` command with ``argv`` (``sys.argv[1:]`` by default); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse's usage errors (2), --help and --version (0)
        return exc.code if isinstance(exc.code, int) else 2
    if args.command == "list":
        return _cmd_list(args)
    return _cmd_bench(args, ["optkit", *argv])


if __name__ == "__main__":
    raise SystemExit(main())
