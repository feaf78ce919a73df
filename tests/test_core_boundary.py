"""The core never imports Textual: only curator.tui does."""

import subprocess
import sys

CORE = ["curator", "curator.cli", "curator.config", "curator.models", "curator.store", "curator.text",
        "curator.text.rtl", "curator.corpus", "curator.seeds", "curator.sample", "curator.jsonl",
        "curator.teacher.runner", "curator.teacher.batch", "curator.teacher.procedural.run", "curator.gates.runner",
        "curator.gates.judge", "curator.gates.audit", "curator.review", "curator.coverage", "curator.augment",
        "curator.export.writer"]


def test_core_modules_do_not_import_textual() -> None:
    code = "import sys\n" + "".join(f"import {m}\n" for m in CORE) + (
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "assert not bad, bad\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
