import sys
from pathlib import Path

import pytest

from curator.store import Store

sys.path.insert(0, str(Path(__file__).parent))  # tests import fake_messages_api and friends


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "curator.db"


@pytest.fixture
def store(db_file: Path):
    with Store(db_file) as s:
        yield s

