"""A self-contained HTML report of a bench: tables, runtime ECDFs and convergence plots.

``optkit bench --report report.html`` and ``optkit report DIR --report report.html`` call
:func:`write_report`. The page needs nothing beyond itself: the figures are matplotlib drawings
embedded as inline SVG (text kept as text), the style sheet is inline, and there is no script.

Sections (each with an ``id`` for links and tests): ``summary`` (per method: success rate, problems
solved, ERT relative to the best, final gaps, overhead per evaluation, peak memory, wall time),
``ecdf`` (runtime ECDFs per dimension, COCO style), ``convergence`` (median best gap against
evaluations per problem, interquartile band shaded), ``ert`` (ERT per target per problem, the best
in bold), ``problems`` (the per-problem table of the terminal report), ``failures`` and ``about``
(the definitions, the bench records).

matplotlib is imported here only (``pip install 'optkit[report]'``).
"""

from __future__ import annotations

import html
import io
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from optkit.bench import measures
from optkit.bench.report import _fmt, aggregate, summarize
from optkit.core.errors import InvalidParameterError

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1400px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
p.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.6em 0; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e3e3e3; text-align: right; white-space: nowrap; }
th { background: #f3f4f6; white-space: normal; vertical-align: bottom; } td.text, th.text { text-align: left; }
.scroll { overflow-x: auto; }
tr:hover td { background: #fafafa; } td.best { font-weight: bold; color: #05662f; } td.bad { color: #a11; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; }
figure svg { max-width: 100%; height: auto; }
code { background: #f3f4f6; padding: 0 0.2em; } dl dt { font-weight: bold; margin-top: 0.5em; }
nav a { margin-right: 1em; }
"""


def _require_matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise InvalidParameterError(
            "the HTML report draws its figures with matplotlib: pip install 'optkit[report]' (or pip install matplotlib)"
        ) from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return matplotlib, plt


def _svg(fig) -> str:
    """The figure as inline SVG markup (without the XML prolog), and the figure closed."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _log_axes(ax, x: bool = True, y: bool = False) -> None:
    """Log scales with plain-text tick labels (matplotlib's mathtext labels cost most of the drawing time)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    def label(v, _pos) -> str:
        if v <= 0:
            return ""
        e = math.log10(v)
        return f"{v:g}" if abs(e - round(e)) > 1e-9 or -3 <= e < 4 else f"1e{round(e)}"

    for on, axis in ((x, ax.xaxis), (y, ax.yaxis)):
        if on:
            axis.set_major_locator(LogLocator(base=10.0, numticks=6))
            axis.set_major_formatter(FuncFormatter(label))
            axis.set_minor_formatter(NullFormatter())


def _colors(methods: Sequence[str]) -> dict[str, str]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if len(methods) <= 10 else "tab20"]
    return {m: matplotlib.colors.to_hex(cmap(i % cmap.N)) for i, m in enumerate(methods)}


def ecdf_figure(rows: Sequence[dict], colors: dict[str, str]) -> str | None:
    """Runtime ECDFs, one panel per dimension: the fraction of (run, target) pairs reached against
    evaluations / dim (log scale), over COCO's 51 targets ``10**2 .. 10**-8``. None without data."""
    _, plt = _require_matplotlib()
    data = measures.ecdf(rows)
    if not data:
        return None
    dims = list(data)
    fig, axes = plt.subplots(1, len(dims), figsize=(4.2 * len(dims) + 1.5, 3.4), squeeze=False, sharey=True)
    for ax, dim in zip(axes[0], dims):
        for method, d in data[dim].items():
            x = d["x"]
            xs = [1.0 / dim, *x.tolist(), max(d["max_budget"], x[-1] if x.size else 1.0)]
            ys = [0.0, *d["y"].tolist(), d["y"][-1] if x.size else 0.0]
            ax.step(xs, ys, where="post", color=colors[method], label=method, lw=1.6)
        ax.set_xscale("log")
        _log_axes(ax)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{dim}-D, {len({measures.problem_key(r) for r in rows if r.get('dim') == dim})} problem(s)", fontsize=10)
        ax.set_xlabel("evaluations / dimension")
        ax.grid(True, which="major", alpha=0.3)
    axes[0][0].set_ylabel("fraction of (run, target) pairs")
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8, frameon=False)
    return _svg(fig)


def convergence_figures(rows: Sequence[dict], colors: dict[str, str], ncols: int = 4) -> list[tuple[int, str]]:
    """Median best gap against evaluations (log-log), one panel per problem, one figure per dimension.

    Returns ``[(dim, svg), ...]``.
    """
    _, plt = _require_matplotlib()
    conv = measures.convergence(rows)
    by_dim: dict[int, list[tuple]] = {}
    for key in conv:
        by_dim.setdefault(key[2], []).append(key)
    out = []
    for dim in sorted(by_dim, key=lambda d: (d is None, d)):
        keys = by_dim[dim]
        nrows = math.ceil(len(keys) / ncols)
        cols = min(ncols, len(keys))
        fig, axes = plt.subplots(nrows, cols, figsize=(3.6 * cols + 1.5, 2.9 * nrows), squeeze=False)
        for ax in axes.flat[len(keys):]:
            ax.set_visible(False)
        for ax, key in zip(axes.flat, keys):
            for method, c in conv[key].items():
                ax.plot(c["n"], c["median"], color=colors[method], lw=1.5, label=method)
                ax.fill_between(c["n"], c["q25"], c["q75"], color=colors[method], alpha=0.15, lw=0)
            ax.set_xscale("log")
            ax.set_yscale("log")
            _log_axes(ax, x=True, y=True)
            ax.set_title(measures.problem_label(key), fontsize=9)
            ax.grid(True, which="major", alpha=0.3)
            ax.tick_params(labelsize=7)
        for ax in axes[:, 0]:
            ax.set_ylabel("best f - f_opt", fontsize=8)
        for ax in axes[-1, :]:
            ax.set_xlabel("evaluations", fontsize=8)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
        fig.subplots_adjust(wspace=0.3, hspace=0.45)
        out.append((dim, _svg(fig)))
    return out


def _table(table_id: str, columns: Sequence[tuple[str, str, str]], records: Sequence[dict], best: dict | None = None) -> str:
    """An HTML table; ``columns`` as in :func:`optkit.bench.report.format_table`; ``best[(i, key)]`` marks cells."""
    best = best or {}
    head = "".join(f'<th class="{"text" if kind == "text" else "num"}">{html.escape(h)}</th>' for _, h, kind in columns)
    body = []
    for i, r in enumerate(records):
        cells = []
        for key, _, kind in columns:
            cls = ["text" if kind == "text" else "num"]
            if best.get((i, key)):
                cls.append(best[(i, key)])
            cells.append(f'<td class="{" ".join(cls)}">{html.escape(_fmt(r.get(key), kind))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
            "</table></div>")


_SUMMARY_COLUMNS = [
    ("method", "method", "text"), ("runs", "runs", "int"), ("failed", "failed", "int"),
    ("success_rate", "success", "pct"), ("solved_text", "solved", "text"), ("ert_ratio", "ERT / best (median)", "ratio"),
    ("median_gap", "median final gap", "sci"), ("gap_iqr", "gap q25 .. q75", "text"), ("best_gap", "best gap", "sci"),
    ("overhead_us_per_eval", "overhead us/eval", "us"), ("median_peak_mem_mb", "peak mem MB (med)", "us"),
    ("max_peak_mem_mb", "peak mem MB (max)", "us"), ("wall_time", "total wall s", "sec"),
]

_PROBLEM_COLUMNS = [
    ("problem", "problem", "text"), ("method", "method", "text"), ("runs", "runs", "int"),
    ("success_rate", "success", "pct"), ("median_evals", "median evals", "evals"), ("ert", "ERT", "evals"),
    ("median_gap", "median gap", "sci"), ("median_wall_time", "median wall s", "sec"),
    ("overhead_us_per_eval", "overhead us/eval", "us"),
]


def _summary_records(rows: Sequence[dict], target: float | None) -> list[dict]:
    extra = {m["method"]: m for m in measures.method_measures(rows)}
    out = []
    for s in summarize(rows, target):
        m = extra[s["method"]]
        iqr = "-" if m["gap_q25"] is None else f"{m['gap_q25']:.2e} .. {m['gap_q75']:.2e}"
        out.append({**m, **s, "solved_text": f"{s['solved']}/{s['problems']}", "gap_iqr": iqr, "best_gap": m["best_gap"]})
    return out


def _ert_section(rows: Sequence[dict]) -> str:
    recs = measures.ert_per_target(rows)
    if not recs:
        return "<p>No runs.</p>"
    targets = recs[0]["targets"]
    keys = [f"ert_{k}" for k in range(len(targets))]
    flat = []
    for r in recs:
        flat.append({"problem": r["problem"], "method": r["method"], "runs": r["runs"], "successes": r["successes"],
                     **dict(zip(keys, r["ert"]))})
    best: dict = {}
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(flat):
        groups.setdefault(r["problem"], []).append(i)
    for idx in groups.values():
        for k in keys:
            vals = [flat[i][k] for i in idx if flat[i][k] is not None]
            finite = [v for v in vals if math.isfinite(v)]
            for i in idx:
                v = flat[i][k]
                if v is not None and finite and v == min(finite):
                    best[(i, k)] = "best"
    columns = [("problem", "problem", "text"), ("method", "method", "text"), ("runs", "runs", "int"),
               ("successes", f"reached {min(targets):g}", "int")]
    columns += [(k, f"ERT {t:g}", "evals") for k, t in zip(keys, targets)]
    return _table("ert", columns, flat, best)


def _problems_table(rows: Sequence[dict], target: float | None) -> str:
    recs = aggregate(rows, target)
    for r in recs:
        r["problem"] = measures.problem_label((r["function"], r.get("function_name"), r["dim"]))
    best = {}
    for i, r in enumerate(recs):
        same = [s["ert"] for s in recs if (s["function"], s["dim"]) == (r["function"], r["dim"])]
        if math.isfinite(r["ert"]) and r["ert"] == min(same):
            best[(i, "ert")] = "best"
    return _table("problems", _PROBLEM_COLUMNS, recs, best)


def _failures(rows: Sequence[dict]) -> str:
    failed = [r for r in rows if r.get("status") == "FAILED"]
    if not failed:
        return "<p>No run failed.</p>"
    cols = [("method", "method", "text"), ("problem", "problem", "text"), ("seed", "seed", "int"), ("error", "error", "text")]
    recs = [{**r, "problem": measures.problem_label(measures.problem_key(r))} for r in failed[:200]]
    more = f"<p>and {len(failed) - 200} more.</p>" if len(failed) > 200 else ""
    return _table("failures-table", cols, recs) + more


def _bench_info(benches: Sequence[dict]) -> str:
    if not benches:
        return ""
    items = []
    for b in benches:
        argv = b.get("argv")
        cmd = " ".join(argv) if isinstance(argv, list) else (argv or "")
        items.append(
            f"<li><code>{html.escape(str(b.get('bench_id')))}</code>: <code>{html.escape(cmd)}</code>, started "
            f"{html.escape(str(b.get('started')))}, finished {html.escape(str(b.get('finished') or '-'))}, "
            f"{b.get('n_runs')} runs ({b.get('n_failed')} failed), on {html.escape(str(b.get('host')))} "
            f"({html.escape(str(b.get('platform')))}, Python {html.escape(str(b.get('python')))}, "
            f"{b.get('cpu_count')} CPUs), optkit {html.escape(str(b.get('optkit_version')))}</li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


_ABOUT = """
<dl>
<dt>ERT (expected running time)</dt><dd>The evaluations spent by all runs (up to the target for those that reached it,
all of them for the others) divided by the number of runs that reached it; infinite when none did (COCO).</dd>
<dt>ERT / best</dt><dd>Per method, the median over the problems some method solved of its ERT divided by the best ERT
on that problem.</dd>
<dt>Runtime ECDF</dt><dd>For each method and dimension, the fraction of (run, target) pairs reached within a budget of
x times the dimension evaluations, over COCO's 51 targets 10<sup>2</sup> .. 10<sup>-8</sup> and every function of
that dimension (problems without a known optimum use the best value any run found as reference).</dd>
<dt>Convergence</dt><dd>The median over runs of the best gap f - f_opt reached after n evaluations (from each run's
trace, recorded at 10 log-spaced points per decade), the band between the quartiles shaded; gaps below 1e-10 are
drawn at 1e-10.</dd>
<dt>Overhead per evaluation</dt><dd>(wall time of the run - time inside the objective) / evaluations: the optimizer's
own cost and the loop's, median over runs.</dd>
<dt>Peak memory</dt><dd>The peak resident memory of the process that ran the cell, during the run (the kernel's
high-water mark reset at the start of the run on Linux; the process peak so far elsewhere).</dd>
</dl>
"""


def build_report(rows: Iterable[dict], *, title: str | None = None, benches: Sequence[dict] = (),
                 target: float | None = None) -> str:
    """The report page for ``rows`` (bench rows, e.g. :func:`optkit.bench.export.load_bench`) as a string."""
    rows = list(rows)
    matplotlib, _ = _require_matplotlib()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "optkit"}):
        return _build(rows, title, benches, target)


def _build(rows: list[dict], title: str | None, benches: Sequence[dict], target: float | None) -> str:
    methods = sorted({r["method"] for r in rows})
    colors = _colors(methods)
    title = title or "optkit bench report"
    problems = {measures.problem_key(r) for r in rows}
    meta = (f"{len(rows)} runs: {len(methods)} method(s) on {len(problems)} problem(s); generated "
            f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class=\"meta\">{html.escape(meta)}</p>",
        '<nav><a href="#summary">summary</a><a href="#ecdf-section">ECDFs</a><a href="#convergence">convergence</a>'
        '<a href="#ert-section">ERT per target</a><a href="#problems-section">per problem</a>'
        '<a href="#failures">failures</a><a href="#about">about</a></nav>',
    ]
    if not rows:
        parts.append("<p>No runs.</p></body></html>")
        return "\n".join(parts)
    summary = _summary_records(rows, target)
    best = {}
    for key, better in (("success_rate", max), ("ert_ratio", min), ("median_gap", min), ("overhead_us_per_eval", min)):
        vals = [s[key] for s in summary if s.get(key) is not None and math.isfinite(s[key])]
        for i, s in enumerate(summary):
            if vals and s.get(key) == better(vals):
                best[(i, key)] = "best"
    parts.append('<h2 id="summary-section">Per method</h2>')
    parts.append(_table("summary", _SUMMARY_COLUMNS, summary, best))
    parts.append('<h2 id="ecdf-section">Runtime ECDFs</h2>')
    svg = ecdf_figure(rows, colors)
    parts.append('<figure id="ecdf">' + svg + "<figcaption>Fraction of (run, target) pairs reached against evaluations / "
                 "dimension, targets 1e2 .. 1e-8.</figcaption></figure>" if svg else "<p>No run recorded target hits.</p>")
    parts.append('<h2 id="convergence">Convergence</h2>')
    figs = convergence_figures(rows, colors)
    for dim, svg in figs:
        parts.append(f'<figure class="convergence" id="convergence-d{dim}">{svg}<figcaption>Dimension {dim}: median best '
                     "gap against evaluations, quartiles shaded.</figcaption></figure>")
    if not figs:
        parts.append("<p>No traces recorded (a store from an older optkit).</p>")
    parts.append('<h2 id="ert-section">ERT per target</h2><p>Expected running time in evaluations to reach each '
                 "precision f - f_opt; the best per problem in bold; - where the runs did not record that target.</p>")
    parts.append(_ert_section(rows))
    parts.append('<h2 id="problems-section">Per problem</h2>')
    parts.append(_problems_table(rows, target))
    parts.append('<h2 id="failures">Failures</h2>' + _failures(rows))
    parts.append('<h2 id="about">About these measures</h2>' + _ABOUT + _bench_info(benches))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(rows: Iterable[dict], path, **kwargs) -> Path:
    """Write :func:`build_report` to ``path`` (parent folders created); returns the path."""
    page = build_report(rows, **kwargs)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(page, encoding="utf-8")
    return p


__all__ = ["build_report", "convergence_figures", "ecdf_figure", "write_report"]
