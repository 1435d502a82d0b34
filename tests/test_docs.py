"""The docs cover the registry: every method has a row in docs/methods/index.md and a page."""

import re
from pathlib import Path

import optkit
from optkit.core.registry import _BUILTIN

DOCS = Path(__file__).resolve().parents[1] / "docs" / "methods"


def _rows():
    rows = {}
    for line in (DOCS / "index.md").read_text().splitlines():
        m = re.match(r"\| `([^`]+)` \| (\w+) \| \[[^\]]+\]\(([^)]+)\) \|", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


def test_every_registered_method_has_a_row_with_its_family():
    rows = _rows()
    # the built-in methods (other tests register throwaway ones in the same process)
    missing = [n for n in _BUILTIN if n not in rows]
    assert not missing, f"docs/methods/index.md lacks {missing}"
    for name in _BUILTIN:
        assert rows[name][0] == optkit.get(name).family, name


def test_every_row_names_a_registered_method_and_an_existing_page():
    for name, (_, page) in _rows().items():
        assert name in _BUILTIN, f"docs/methods/index.md lists unknown {name!r}"
        assert (DOCS / page).is_file(), f"{name}: {page} does not exist"


def test_ci_runs_the_readme_test_command_exactly():
    root = DOCS.parents[1]
    readme = (root / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    assert len(blocks) >= 2, "the README opens with two set-up commands"
    test_command = blocks[1].strip()
    assert "pytest" in test_command
    ci = [line for line in (root / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == test_command
