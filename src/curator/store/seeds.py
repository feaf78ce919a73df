"""Seed versions and role changes (an edit makes a new version; a role change is logged)."""

from __future__ import annotations


class SeedQueries:
    pass
