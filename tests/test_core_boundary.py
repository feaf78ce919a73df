"""The core never imports Textual: only curator.tui does."""

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "curator"
# Every module of the package but the TUI (the CLI's app launcher imports it lazily, inside a function).
CORE = sorted({"curator." + ".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
               for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] not in ("tui", "__main__.py")}
              | {"curator"})


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
