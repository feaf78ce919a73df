"""How many cells a DataTable's last column has on screen: untrusted text cut to that width keeps its
beginning in view (a table crops what overflows on the right, which in a right-to-left line is the
beginning)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from textual.widgets import DataTable

SCROLLBAR = 2  # a vertical scrollbar may appear once the rows are in


def last_column_room(table: DataTable, rows: Sequence[Sequence[object]], least: int = 8, most: int = 80) -> int:
    """Cells left for the last column when the others (`rows`: their values, in order) take their widest."""
    pad = 2 * table.cell_padding
    labels = [column.label.plain for column in table.ordered_columns[:-1]]
    taken = sum(max([cell_len(label), *(cell_len(str(row[i])) for row in rows)]) + pad
                for i, label in enumerate(labels))
    width = table.scrollable_content_region.width or table.size.width
    return max(least, min(most, width - taken - pad - SCROLLBAR))


def fix_widths(table: DataTable, rows: Sequence[Sequence[object]]) -> None:
    """Give each column the width of its widest value (or label) before the rows go in: a table drawn
    between adding rows and its next idle moment then has its final widths already."""
    for i, column in enumerate(table.ordered_columns):
        column.width = max([cell_len(column.label.plain), *(cell_len(str(row[i])) for row in rows if i < len(row))])
        column.auto_width = False
