"""Job kinds register their result handlers: the engine never imports the gates that build on it."""

from __future__ import annotations

import subprocess
import sys


def test_the_job_engine_and_the_teacher_import_no_gates() -> None:
    code = ("import sys\nimport curator.jobs.runner, curator.jobs.batch, curator.jobs.procedural, curator.teacher.client\n"
            "import curator.services.generate, curator.services.classify\n"
            "bad = sorted(m for m in sys.modules if m.startswith('curator.gates') or m.startswith('curator.tui'))\n"
            "assert not bad, bad\n"
            "from curator.jobs.results import HANDLERS\n"
            "assert sorted(HANDLERS) == ['classify', 'generate'], sorted(HANDLERS)\n"
            "import curator.services.judge\n"
            "assert 'judge' in HANDLERS\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
