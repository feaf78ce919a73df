"""Procedural generators (no LLM): school math (`math`) and tool-calling traces (`tools`); `run` drives them as jobs."""
