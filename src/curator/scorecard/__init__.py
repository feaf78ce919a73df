"""Scoring the student's answers to the private eval set (`score`) and the scorecard per family and
coverage cell (`card`). Pure: no store, no network."""
