"""Reusable widgets: right-to-left text, conversation turns, verdicts."""
