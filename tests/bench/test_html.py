"""The HTML report: self-contained, with the tables and figures, built from a stored bench, and
opened in a real headless Chromium (skipped where none is installed)."""

import re
import shutil
import subprocess

import pytest

from optkit.bench.export import load_bench
from optkit.bench.html import build_report, write_report
from optkit.cli import main

pytest.importorskip("matplotlib")

BENCH = ["bench", "--methods", "random,nelder-mead", "--functions", "1,8", "--dims", "2,3", "--seeds", "2", "--budget",
         "60", "--targets", "1e-1,1e-8", "--no-progress"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert main([*BENCH, "--out", str(out), "--report", str(out / "report.html")]) == 0
    rows, benches = load_bench(out)
    return out, rows, benches


def test_the_page_holds_every_section(stored):
    out, rows, benches = stored
    page = (out / "report.html").read_text()
    for section in ('id="summary"', 'id="ecdf"', 'id="convergence-d2"', 'id="convergence-d3"', 'id="ert"',
                    'id="problems"', 'id="failures"', 'id="about"'):
        assert section in page, section
    assert page.count("<svg") == 3  # the ECDFs and one convergence figure per dimension
    # the summary table has one row per method; the ERT table one per (problem, method)
    summary = re.search(r'<table id="summary">.*?</table>', page, re.S).group(0)
    assert summary.count("<tr>") == 1 + 2 and ">nelder-mead<" in summary and ">random<" in summary
    ert = re.search(r'<table id="ert">.*?</table>', page, re.S).group(0)
    assert ert.count("<tr>") == 1 + 8 and "f8 rosenbrock d3" in ert and "ERT 1e-08" in ert
    assert benches[0]["bench_id"] in page
    # text stays text inside the figures: the axis labels and the problem titles
    assert "evaluations / dimension" in page and "f1 sphere d2" in page


def test_the_page_is_self_contained(stored):
    page = (stored[0] / "report.html").read_text()
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert not re.search(r"url\((?!#)", page)  # CSS or SVG references to anything outside the page


def test_report_command_rebuilds_it_from_the_store(stored, tmp_path, capsys):
    out, rows, benches = stored
    capsys.readouterr()
    assert main(["report", str(out), "--report", str(tmp_path / "again.html"), "--title", "Again"]) == 0
    text = capsys.readouterr().out
    assert "Per method" in text and f"report: {tmp_path / 'again.html'}" in text
    page = (tmp_path / "again.html").read_text()
    assert "<title>Again</title>" in page and page.count("<svg") == 3
    assert main(["report", str(out), "--bench", "nope"]) == 2
    assert "no bench 'nope'" in capsys.readouterr().err


def test_failed_runs_and_empty_input():
    page = build_report([])
    assert "No runs." in page
    row = {"method": "m", "function": 1, "function_name": "sphere", "dim": 2, "seed": 0, "nfev": 0, "status": "FAILED",
           "error": "ValueError: <bad> & worse", "targets": [1e-8], "evals_to_targets": [None], "evals_to_target": None,
           "success": False, "f_opt": 1.0}
    page = build_report([row])
    assert "ValueError: &lt;bad&gt; &amp; worse" in page  # escaped
    assert "No traces recorded" in page


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason="no headless Chromium installed (apt-get install chromium)")
def test_chromium_renders_the_tables_and_figures(stored, tmp_path):
    out, rows, benches = stored
    page = write_report(rows, tmp_path / "report.html", benches=benches)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    # the browser parsed the page: the tables and the inline SVG figures are in its DOM
    assert re.search(r'<table id="summary">.*?nelder-mead.*?</table>', html, re.S)
    assert re.search(r'<table id="ert">.*?f8 rosenbrock d3.*?</table>', html, re.S)
    assert len(re.findall(r"<svg[^>]*>", html)) == 3
    assert 'id="ecdf"' in html and "evaluations / dimension" in html
    shot = tmp_path / "shot.png"
    res = subprocess.run([_chromium(), *flags, "--hide-scrollbars", "--window-size=1200,1600", f"--screenshot={shot}",
                          page.as_uri()], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and shot.stat().st_size > 20_000  # a page with figures, not a blank one
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
