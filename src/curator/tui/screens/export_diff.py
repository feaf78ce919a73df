"""Two exports compared (the dashboard's `D`, `curator export diff A B`): per family and cell, the training
rows B adds, removes and changes against A, with the eval run that steered each; read from the two
curation logs in a worker. The names come from the logs (files on disk): every cell is drawn inert."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from curator.display.cell import cell, fit
from curator.display.inert import visible
from curator.tui.errors import EXPECTED_ERRORS, describe
from curator.tui.keys import shown_key

NAME, NUMBER = 22, 7  # the family / cell column and each count's (cells); "steered by" takes the rest


class DiffComputed(Message):
    """The diff, or why there is none (`error`)."""

    def __init__(self, found=None, error: str | None = None) -> None:  # found: export.diff.ExportDiff
        super().__init__()
        self.found = found
        self.error = error


def totals(found) -> tuple[int, int, int, dict[int, int]]:
    """(added, removed, changed, {eval run: rows it steered}) over the families' own lines."""
    lines = [line for line in found.lines if line.cell is None]
    steered: dict[int, int] = {}
    for line in lines:
        for run, n in line.steered.items():
            steered[run] = steered.get(run, 0) + n
    return (sum(line.added for line in lines), sum(line.removed for line in lines),
            sum(line.changed for line in lines), steered)


def steered_by(steered: dict[int, int], long: bool = False) -> str:
    """`run 3: 2, run 4: 1` (long: `eval run 3 (2 rows), eval run 4 (1 row)`)."""
    if long:
        return ", ".join(f"eval run {run} ({n} row{'s' if n != 1 else ''})" for run, n in sorted(steered.items()))
    return ", ".join(f"run {run}: {n}" for run, n in sorted(steered.items()))


class ExportDiffScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="export_diff.close")]
    DEFAULT_CSS = """
    ExportDiffScreen { align: center top; }
    ExportDiffScreen > Vertical { margin: 1 2 0 2; border: round $accent; background: $surface; padding: 0 1;
                                  height: auto; max-height: 100%;
                                  border-title-color: $text; border-subtitle-color: $text-muted; }
    ExportDiffScreen.narrow > Vertical { margin: 1 0 0 0; }
    ExportDiffScreen #diff-summary { height: auto; margin: 0 0 1 0; }
    ExportDiffScreen #diff { height: auto; }
    """

    def __init__(self, db_path: Path, a: str, b: str) -> None:
        """Compare export `b` against export `a` (version ids in exports/ beside `db_path`)."""
        super().__init__()
        self.db_path, self.a, self.b = db_path, a, b
        self.found = None  # the diff, once the worker has it

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(visible(f"comparing {self.b} against {self.a}…"), id="diff-summary", markup=False)
            yield DataTable(id="diff", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        frame = self.query_one(Vertical)
        frame.border_title = Text(fit(f"exports: {self.b} against {self.a}", 100, "terminal"))
        frame.border_subtitle = Text(f"{shown_key(self.app, 'export_diff.close', self)} close")
        table = self.query_one("#diff", DataTable)
        table.add_column("family / cell", width=NAME, key="name")
        for label in ("added", "removed", "changed"):
            table.add_column(label, width=NUMBER, key=label)
        table.add_column("steered by", width=12, key="steered")
        table.display = False
        self.compute()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100, "narrow")

    @work(thread=True, exclusive=True, group="export-diff", exit_on_error=False)
    def compute(self) -> None:
        """Read the two curation logs (a file may be large: never on the UI thread)."""
        from curator.services.export import export_diff

        try:
            self.post_message(DiffComputed(export_diff(self.db_path, self.a, self.b)))
        except EXPECTED_ERRORS as exc:
            self.post_message(DiffComputed(error=describe(exc, "cannot compare")))

    def on_diff_computed(self, message: DiffComputed) -> None:
        summary = self.query_one("#diff-summary", Static)
        if message.error is not None:
            summary.update(message.error)
            return
        self.found = found = message.found
        added, removed, changed, steered = totals(found)
        text = (f"training rows, by lineage: {added} added, {removed} removed, {changed} changed"
                + (f"; steered by {steered_by(steered, long=True)}" if steered else ""))
        if not found.lines:
            text += "\nno difference in the training rows"
        summary.update(visible(text))
        table = self.query_one("#diff", DataTable)
        table.clear()
        mode = self.app.bidi_mode
        inside = self.query_one(Vertical).content_region.width or 76
        room = max(12, inside - NAME - 3 * NUMBER - 5 * 2 * table.cell_padding - 2)  # less a scrollbar
        table.columns["steered"].width = room
        for n, line in enumerate(found.lines):
            style = "bold" if line.cell is None else ""
            name = fit(line.family, NAME, mode) if line.cell is None else "  " + fit(line.cell, NAME - 2, mode)
            counts = [Text(f"{v:,}" if v else "·", justify="right", style=style)
                      for v in (line.added, line.removed, line.changed)]
            table.add_row(Text(name, style=style, no_wrap=True, end=""), *counts,
                          cell(steered_by(line.steered), room, mode), key=str(n))
        # As tall as its rows, up to what the frame has below the summary (then it scrolls).
        table.styles.max_height = max(3, self.size.height - 6 - summary.content_region.height)
        table.display = bool(found.lines)
        if found.lines:
            table.focus()
