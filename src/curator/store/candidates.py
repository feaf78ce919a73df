"""Candidate listings for scripts (`curator candidates list`) and candidates from elsewhere."""

from __future__ import annotations


class CandidateQueries:
    pass
