"""The second process that makes a large export's curation log: its failures are reported, never silent."""

from __future__ import annotations

import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from curator.export.curation_log import LogError, LogWriter
from curator.store import Store


def test_a_log_process_that_cannot_read_the_store_says_why(tmp_path: Path) -> None:
    writer = LogWriter(SimpleNamespace(path=tmp_path / "gone.db"), tmp_path, [], in_child=True)
    try:
        with pytest.raises(LogError, match="could not be made: StoreError: .*gone.db"):
            writer.finish({})
    finally:
        writer.cancel()
    assert not (tmp_path / "curation_log.jsonl").exists() and not list(tmp_path.glob(".curation_log*"))


def test_a_killed_log_process_is_reported_with_its_exit_code(tmp_path: Path) -> None:
    Store(tmp_path / "curator.db").close()
    # Killed wherever it is (starting, spooling, or waiting for the mix's reasons): the same report.
    writer = LogWriter(SimpleNamespace(path=tmp_path / "curator.db"), tmp_path, [], in_child=True)
    writer.process.send_signal(signal.SIGKILL)
    try:
        with pytest.raises(LogError, match=r"ended without a word \(exit code -9\)"):
            writer.finish({})
    finally:
        writer.cancel()
