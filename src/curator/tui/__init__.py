"""The Textual app. Only this package imports Textual; it presents, asks and dispatches."""
