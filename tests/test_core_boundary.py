"""The core never imports Textual: only curator.tui does."""

import subprocess
import sys

CORE = ["curator", "curator.cli", "curator.config", "curator.models", "curator.store", "curator.text",
        "curator.text.rtl", "curator.corpus", "curator.services.seeds", "curator.sample", "curator.jsonl",
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


def test_a_bulk_import_loads_neither_sqlite_utils_nor_pandas(tmp_path) -> None:
    # sqlite-utils imports pandas when it is installed; the import path writes through the connection.
    corpus = tmp_path / "a.txt"
    corpus.write_text("فتوسنتز فرایندی است که گیاه با آن غذا می‌سازد. " * 40, encoding="utf-8")
    code = (
        "import sys\nfrom pathlib import Path\nfrom curator.store import Store\n"
        "from curator.corpus.importer import import_paths\n"
        f"report = import_paths(Store(Path({str(tmp_path / 'c.db')!r})), [Path({str(corpus)!r})])\n"
        "assert report.passages_added > 0, report\n"
        "loaded = sorted(m for m in ('sqlite_utils', 'pandas') if m in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
