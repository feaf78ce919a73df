import sys
from pathlib import Path

import pytest

from curator.store import Store

sys.path.insert(0, str(Path(__file__).parent))  # tests import fake_messages_api and friends

# Tests that draw the app run on fixed vectors: a snapshot or a screen assertion never reads a model score.
APP_TESTS = ("test_tui", "test_snapshots", "test_app")


@pytest.fixture(autouse=True, scope="module")
def _fixed_vectors_for_app_tests(request):
    """Module-scoped, so it is in place before a module's own module-scoped fixtures (the databases
    its snapshots draw are gated with these vectors too, whatever ran before in the process)."""
    if not request.module.__name__.startswith(APP_TESTS):
        yield
        return
    from curator.meaning import embedder
    from stub_embedder import STUB

    def refuse(*args, **kwargs):
        raise AssertionError("an app test loaded the embedding model: its scores differ by CPU")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(embedder.Embedder, "__init__", refuse)
        embedder.install(STUB)
        try:
            yield
        finally:
            embedder.install(None)


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "curator.db"


@pytest.fixture
def store(db_file: Path):
    with Store(db_file) as s:
        yield s
