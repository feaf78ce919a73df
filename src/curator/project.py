"""One project: its database file, its settings and its task families, built once per CLI command
(`cli.base.project`) or app session and handed to the services. Settings and families are read when
first asked for. It opens the stores: writers and readers."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from curator.config import Settings
from curator.families import Family, FamilySet, load_families, load_family
from curator.store import Store


class Project:
    def __init__(self, db_path: str | Path, settings: Settings | None = None, loaded: FamilySet | None = None, *,
                 session: bool = False):
        """`session`: the app holds the project open, so its file must stay where it is (a file gone
        is an error, never a new empty database); a command's project may create its file."""
        self.db_path = Path(db_path)
        self.session = session
        if settings is not None:
            self.settings = settings
        if loaded is not None:
            self.loaded = loaded

    def __repr__(self) -> str:
        return f"Project({str(self.db_path)!r})"

    @classmethod
    def load(cls, db_path: str | Path, settings: Settings | None = None) -> "Project":
        """The app's project, its settings and families read now (errors before the screen)."""
        project = cls(db_path, settings, session=True)
        project.loaded  # noqa: B018 (read now)
        return project

    @cached_property
    def settings(self) -> Settings:
        """`curator.toml` over the defaults (ConfigError names a bad setting)."""
        return Settings.load()

    @cached_property
    def loaded(self) -> FamilySet:
        """The task families of the prompts folder, with the errors of the files that failed."""
        return load_families(self.settings.prompts_path())

    @property
    def families(self) -> dict[str, Any]:
        return self.loaded.families

    def rubric(self, name: str) -> Family:
        """A prompt file beside the families that is not one (`judge`, `classify`)."""
        return load_family(self.settings.prompts_path() / f"{name}.toml")

    def writer(self, **options: Any) -> Store:
        """A connection that writes (each thread its own)."""
        return Store(self.db_path, create=not self.session, **options)

    def reader(self) -> Store:
        """A read-only connection (never creates nor changes the file)."""
        return Store(self.db_path, readonly=True, create=not self.session)

    def coverage_map(self):  # -> CoverageMap
        """The target mix of `coverage.toml` over the families (CoverageError names a bad setting)."""
        from curator.services.coverage import coverage_map

        return coverage_map(self.settings, self.families)
