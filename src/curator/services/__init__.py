"""The application services: one module per use case, the only API the CLI and the TUI use.

Each function takes explicit inputs (an open `Store` first), optionally a `progress(done, total)`
callback and a `cancel` token (anything with `is_set()`), and returns a typed report. Services never
import the TUI or Textual, and never speak SQL (the store does).
"""
