"""One project: its database file, its settings and its task families, loaded once per CLI command or
app session and handed to the services. It opens the stores: a writer (the file must exist once the
project is open, so a file deleted under the app is an error, never a new empty database) and readers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curator.config import Settings
from curator.families import FamilySet, load_families
from curator.store import Store


@dataclass
class Project:
    db_path: Path
    settings: Settings
    loaded: FamilySet = field(repr=False)

    @classmethod
    def load(cls, db_path: Path, settings: Settings | None = None) -> "Project":
        settings = settings or Settings.load()
        return cls(Path(db_path), settings, load_families(settings.prompts_path()))

    @property
    def families(self) -> dict[str, Any]:
        return self.loaded.families

    def writer(self, **options: Any) -> Store:
        """A connection that writes (each thread its own); the file must exist."""
        return Store(self.db_path, create=False, **options)

    def reader(self) -> Store:
        """A read-only connection (never creates nor changes the file)."""
        return Store(self.db_path, readonly=True, create=False)

    def coverage_map(self):  # -> CoverageMap
        """The target mix of `coverage.toml` over the families (CoverageError names a bad setting)."""
        from curator.services.coverage import coverage_map

        return coverage_map(self.settings, self.families)
