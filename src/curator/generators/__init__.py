"""Procedural generators: math problems and tool-use traces computed, not written by a model."""
