"""A table drawn line by line over an ordered list of row ids (Textual's ScrollView and `render_line`,
as Toolong's LogLines draws a log of any length). It holds only the ids; the rows in view are read
when a line is drawn (the missing ones of the screenful in one call) and the last few hundred are
kept, so a list of 200k rows costs its ids and a screen of rows. It looks like a DataTable with a row
cursor and zebra stripes (it draws with DataTable's component classes and styles).

Cells are plain strings drawn as they are, never as markup: the caller makes untrusted text inert and
cuts it to its column's width (`display.cell.fit`)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

GONE = object()  # a row the fetch did not return (deleted, or it could not be read)
SCROLLBAR = 2  # cells kept for the vertical scrollbar (see `table_room.last_column_room`)
WARM_AFTER = 0.05  # seconds without a key before the pages around the view are read and drawn ahead

Fetch = Callable[[list[int]], Mapping[int, Any]]
Cells = Callable[[int, Any, Sequence[int]], Sequence[str]]  # (id, row or None if gone, widths) -> cells


class LineTable(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First row", show=False),
        Binding("end,ctrl+end", "last", "Last row", show=False),
    ]
    COMPONENT_CLASSES = {"datatable--header", "datatable--cursor", "datatable--even-row", "datatable--odd-row"}
    DEFAULT_CSS = """
    LineTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        overflow-x: hidden;
        &:focus {
            background-tint: $foreground 5%;
            & > .datatable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .datatable--header { background-tint: $foreground 5%; }
        }
        &:dark > .datatable--even-row { background: $surface-darken-1 40%; }
        & > .datatable--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .datatable--header { background: ansi_bright_blue; color: ansi_default; }
        & > .datatable--odd-row { }
        & > .datatable--even-row { background: $surface-lighten-1 50%; }
        & > .datatable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    PAD = 1  # cells each side of a cell, as a DataTable's cell_padding

    def __init__(self, fetch: Fetch, cells: Cells, highlighted: Callable[[int | None], None] | None = None,
                 ahead: Callable[[], None] | None = None, *, keep: int = 1000, most: int = 80,
                 id: str | None = None) -> None:
        """`fetch(ids)`: the rows of these ids by id (one read; an id left out is drawn as gone).
        `cells(id, row, widths)`: the row's cells, each at most its column's width. `highlighted(id)`:
        called at once when the cursor comes to another row or the rows change (None: no rows), so
        what shows that row (a side panel) is drawn in the same frame as the cursor; a message would be
        handled a frame later. `ahead()`: called first when keys pause (see `_warm_soon`), to prepare
        what the next key would show. `keep`: rows kept read. `most`: the widest the last column gets
        when it takes the room left."""
        super().__init__(id=id)
        self.fetch = fetch
        self.cells = cells
        self.highlighted = highlighted
        self.ahead = ahead
        self.keep = keep
        self.most = most
        self.ids: Sequence[int] = ()
        self.cursor = 0
        self.labels: list[str] = []
        self.asked: list[int | None] = []  # each column's width; None: the room left (the last column)
        self.widths: tuple[int, ...] = ()  # as drawn now
        self._laid_out_for = -1  # the width the columns were laid out for
        self._rows: OrderedDict[int, Any] = OrderedDict()  # id -> row (or GONE), least recently used first
        self._drawn: dict[int, tuple[Sequence[str], dict[Style, Strip]]] = {}  # id -> cells and lines, as drawn
        self._header: tuple[Style, Strip] | None = None  # the header line and its style
        self._warming: Timer | None = None  # reads and draws the pages around the view when keys pause
        self._to_warm: list[int] = []  # the steps it has left: the first position of a page, or -1 for `ahead`
        self._asked_to_warm = 0  # moves of the cursor so far (a warm asked before the last one is dropped)

    # -- data ----------------------------------------------------------------------------------

    def set_columns(self, columns: Sequence[tuple[str, int | None]]) -> None:
        """Labels and widths; a width of None takes the room left (at most `most`), for the last column."""
        labels, asked = [c[0] for c in columns], [c[1] for c in columns]
        if labels != self.labels or asked != self.asked:
            self.labels, self.asked = labels, asked
            self._lay_out()

    def set_ids(self, ids: Sequence[int], cursor: int = 0) -> None:
        """Show these rows (their ids, in order), the cursor on position `cursor`; rows read before are
        read again when drawn (they may have changed)."""
        self.ids = ids
        self._rows.clear()
        self._drawn.clear()
        self.virtual_size = Size(sum(self.widths) + 2 * self.PAD * len(self.widths), len(ids) + 1)
        self.cursor = max(0, min(cursor, len(ids) - 1))
        self._scroll_to_cursor()
        self.refresh()
        if self.highlighted is not None:
            self.highlighted(self.row_id)
        self._warm_soon()

    @property
    def row_id(self) -> int | None:
        """The id under the cursor (None when there are no rows)."""
        return self.ids[self.cursor] if self.ids else None

    def row(self, position: int) -> Any | None:
        """The row at `position`, read now if it is not kept (with the rest of the screenful it is on);
        None if there is none or it is gone."""
        if not 0 <= position < len(self.ids):
            return None
        row_id = self.ids[position]
        if row_id not in self._rows:
            top = self.top
            start = top if top <= position < top + self.page else position
            self._read(start, position)
        row = self._rows.get(row_id, GONE)
        return None if row is GONE else row

    def current(self) -> Any | None:
        """The row under the cursor (None if there is none)."""
        return self.row(self.cursor)

    def put(self, row_id: int, row: Any) -> None:
        """A row that changed (written by the caller): kept as given and drawn again."""
        self._rows[row_id] = row
        self.redraw_row(row_id)

    def redraw_row(self, row_id: int) -> None:
        """Draw a row again (its cells depend on something that changed, say a mark)."""
        self._drawn.pop(row_id, None)
        top = self.top
        for position in range(top, min(top + self.page, len(self.ids))):
            if self.ids[position] == row_id:
                self.refresh_line(position + 1)

    def redraw(self) -> None:
        """Draw every row again (what the cells show changed: the marks, who reorders right to left)."""
        self._drawn.clear()
        self.refresh()

    def cells_at(self, position: int) -> Sequence[str]:
        """The cells drawn for the row at `position` (read if need be)."""
        row_id = self.ids[position]
        return self.cells(row_id, self.row(position), self.widths)

    def _read(self, start: int, must: int) -> None:
        """Read the missing rows of the screenful from `start` (and position `must`) in one fetch."""
        wanted = {self.ids[p] for p in range(start, min(start + self.page, len(self.ids)))}
        wanted.add(self.ids[must])
        missing = [i for i in wanted if i not in self._rows]
        if not missing:
            return
        got = self.fetch(sorted(missing))
        for row_id in missing:
            self._rows[row_id] = got.get(row_id, GONE)
        while len(self._rows) > max(self.keep, 2 * self.page):
            dropped, _ = self._rows.popitem(last=False)
            self._drawn.pop(dropped, None)

    # -- cursor and scrolling -----------------------------------------------------------------

    @property
    def top(self) -> int:
        """The position of the first row in view."""
        return self.scroll_offset.y

    @property
    def page(self) -> int:
        """Rows in view (the header takes a line)."""
        return max(1, self.scrollable_content_region.height - 1)

    def move_cursor(self, position: int, *, scroll: bool = True) -> None:
        if not self.ids:
            return
        position = max(0, min(position, len(self.ids) - 1))
        before, self.cursor = self.cursor, position
        if scroll:
            self._scroll_to_cursor()
        if position != before:
            self.refresh_line(before + 1)
            self.refresh_line(position + 1)
            if self.highlighted is not None:
                self.highlighted(self.ids[position])
            self._warm_soon()

    def _scroll_to_cursor(self) -> None:
        top, page = self.top, self.page
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + page:
            self.scroll_to(y=self.cursor - page + 1, animate=False)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_down(self) -> None:
        """A page further, the cursor on the same line of the view (as a DataTable's)."""
        page = self.page
        self.scroll_to(y=self.top + page, animate=False)
        self.move_cursor(self.cursor + page)

    def action_page_up(self) -> None:
        page = self.page
        self.scroll_to(y=max(0, self.top - page), animate=False)
        self.move_cursor(self.cursor - page)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.ids) - 1)

    def on_click(self, event: events.Click) -> None:
        row = event.style.meta.get("row")
        if isinstance(row, int) and row >= 0:
            self.move_cursor(row)

    # -- drawing ------------------------------------------------------------------------------

    def on_resize(self, _event: events.Resize) -> None:
        self._lay_out()

    def _lay_out(self) -> None:
        """Column widths for the width the table has now: the last column takes the room left."""
        width = self.size.width
        self._laid_out_for = width
        pads = 2 * self.PAD * len(self.asked)
        taken = sum(w for w in self.asked if w is not None) + pads
        self.widths = tuple(w if w is not None else max(8, min(self.most, width - taken - SCROLLBAR))
                            for w in self.asked)
        self.virtual_size = Size(sum(self.widths) + pads, len(self.ids) + 1)
        self._drawn.clear()
        self._header = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if width != self._laid_out_for:
            self._lay_out()
        if y == 0:
            style = self.get_component_rich_style("datatable--header")
            if self._header is None or self._header[0] != style:
                self._header = (style, self._strip(-1, self.labels, style, width))
            return self._header[1]
        position = self.top + y - 1
        if position >= len(self.ids):
            return Strip.blank(width, self.rich_style)
        return self._line(position, self.top, width)

    def _line(self, position: int, window: int, width: int) -> Strip:
        """The line of the row at `position` (its rows read from `window` on, if not kept)."""
        row_id = self.ids[position]
        drawn = self._drawn.get(row_id)
        if drawn is None:
            if row_id not in self._rows:
                self._read(window, position)
            row = self._rows.get(row_id, GONE)
            drawn = self._drawn[row_id] = (self.cells(row_id, None if row is GONE else row, self.widths), {})
        style = self.get_component_rich_style("datatable--odd-row" if position % 2 else "datatable--even-row")
        if position == self.cursor:
            style += self.get_component_rich_style("datatable--cursor")
        cells, strips = drawn
        strip = strips.get(style)
        if strip is None:
            strip = strips[style] = self._strip(position, cells, style, width)
        return strip

    def _warm_soon(self) -> None:
        """Once the view is drawn and no key has come for WARM_AFTER seconds, call `ahead`, then read and
        draw the pages after and before the view, a step at a time (a key waiting goes first): a page
        key then finds its lines ready."""
        if self._warming is not None:
            self._warming.stop()
            self._warming = None
        top, page = self.top, self.page
        pages = [start for start in (top + page, max(0, top - page)) if start < len(self.ids) and start != top]
        self._to_warm = [-1, *pages]  # -1: `ahead`
        self._asked_to_warm += 1
        asked = self._asked_to_warm

        def drawn() -> None:
            if asked == self._asked_to_warm:  # no key since
                self._warming = self.set_timer(WARM_AFTER, self._warm)

        self.call_after_refresh(drawn)

    def _warm(self) -> None:
        if not self._to_warm or not self.ids:
            self._warming = None
            return
        start = self._to_warm.pop(0)
        if start < 0:
            if self.ahead is not None:
                self.ahead()
        else:
            width = self.size.width
            for position in range(start, min(start + self.page, len(self.ids))):
                self._line(position, start, width)
        self._warming = self.set_timer(0.01, self._warm)  # the next step after any key waiting

    def _strip(self, row: int, cells: Sequence[str], style: Style, width: int) -> Strip:
        """One line: each cell padded to its width, then the row's style to the edge. Each cell carries
        its row and column (as a DataTable's do: a click says where it was, and the line is drawn in the
        same segments)."""
        pad = " " * self.PAD
        segments, used = [], 0
        for column, (value, w) in enumerate(zip(cells, self.widths)):
            text = pad + (value if cell_len(value) == w else set_cell_size(value, w)) + pad
            used += w + 2 * self.PAD
            segments.append(Segment(text, style + Style.from_meta({"row": row, "column": column})))
        if width > used:
            segments.append(Segment(" " * (width - used),
                                    style + Style.from_meta({"row": row, "column": 0, "out_of_bounds": True})))
        return Strip(segments).adjust_cell_length(width, self.rich_style).simplify()
