"""Benchmarks: run optimizers on BBOB suites, store every run, and report COCO-style statistics.

The command line is ``optkit bench`` (see :mod:`optkit.cli`); the same pieces are usable from
Python:

>>> from optkit.bench import plan, print_report, run_bench
>>> rows = run_bench(plan(["random", "nelder-mead"], [1], [2], [0, 1], budget=100))
>>> len(rows), sorted({r["method"] for r in rows})
(4, ['nelder-mead', 'random'])

Modules: :mod:`~optkit.bench.suites` (the named grids), :mod:`~optkit.bench.runner` (running and
storing), :mod:`~optkit.bench.report` (aggregation and tables).
"""

from optkit.bench.report import aggregate, ert, format_table, print_report, summarize
from optkit.bench.runner import ResultStore, RunSpec, evals_to_targets, plan, read_runs, run_bench, run_one
from optkit.bench.suites import SUITES, Suite, get_suite, resolve_functions, resolve_methods

__all__ = [
    "SUITES", "ResultStore", "RunSpec", "Suite", "aggregate", "ert", "evals_to_targets", "format_table", "get_suite",
    "plan", "print_report", "read_runs", "resolve_functions", "resolve_methods", "run_bench", "run_one", "summarize",
]
