"""The tree passes ruff with the project's configuration (pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_passes():
    # ruff is in the dev extra, beside pytest itself: a missing ruff is a broken set-up, not a skip
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "optkit", "optkit_native", "tests",
                          "benchmarks", "examples"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
