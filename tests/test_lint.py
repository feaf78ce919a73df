"""ruff runs with the suite: pyflakes, syntax, and the import contract (pyproject's banned-api:
the core never imports Textual, and nothing outside the TUI and the CLI's app launcher imports it)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean() -> None:
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_import_contract_is_enforced(tmp_path: Path) -> None:
    """A core module that imports Textual, or a service that imports the TUI, fails the lint."""
    bad = tmp_path / "service.py"  # outside tui/: the contract applies
    bad.write_text("import textual\nfrom curator.tui.app import CuratorApp\n\nprint(textual, CuratorApp)\n",
                   encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"),
                          str(bad)], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode != 0
    assert "the core never imports Textual" in out.stdout
    assert "never import the TUI" in out.stdout
