"""Two-way tables of counts (say region × need kind) with the statistics' small-cell suppression.

The rule is the one of `app/services/suppression.suppress`, applied to every line of the table: each row and
each column with its total, and the row totals and column totals with the grand total.

1. Primary: a count from 1 to threshold - 1 is hidden (zero is shown: it points at nobody); so is a row or
   column total in that range; a grand total below the threshold hides the whole table.
2. Secondary, repeated until nothing changes: a line (a row or a column) whose total is shown and which has
   exactly one hidden cell would give that cell back as the total minus the others, so its next smallest shown
   cell is hidden too; a line whose total is hidden but whose cells are all shown would give the total back,
   so its smallest cell is hidden; and the same holds for the vector of row totals and of column totals
   against the grand total (the one-way rule itself).

This protects every cell against recomputation from one line or from the margins, which is what the one-way
tables promise. It is the usual heuristic of statistical offices, not a full audit of every combination of
lines; docs/auditing.md says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.services.suppression import Cell, suppress


@dataclass(frozen=True)
class CrossCell:
    row: str
    column: str
    count: int | None
    suppressed: bool


@dataclass(frozen=True)
class CrossTable:
    """One measure by two dimensions; a hidden count is null with `suppressed: true`."""

    measure: str
    row_dimension: str
    column_dimension: str
    total: int | None
    total_suppressed: bool
    row_totals: list[Cell]
    column_totals: list[Cell]
    cells: list[CrossCell]


def _hide_next(counts: Mapping[str, int], hidden: set[str]) -> bool:
    """Hide the smallest shown non-zero count, if any; whether one was hidden."""
    shown = sorted((count, key) for key, count in counts.items() if key not in hidden and count > 0)
    if not shown:
        return False
    hidden.add(shown[0][1])
    return True


class _Leak(Exception):
    """A count would be given back and nothing is left to hide in its line: the whole table is hidden."""


def _protect_line(cells: Mapping[str, int], hidden: set[str], totals_hidden: set[str] | None, total: str) -> bool:
    """One line and its total (`total` in `totals_hidden`, or the grand total, always shown, when that is None):
    a shown total with exactly one hidden cell, or a hidden total with none, gives a count back. Hide the next
    smallest cell; with none left, hide the line's total; the grand total cannot be: `_Leak`. Whether anything
    was hidden."""
    total_hidden = totals_hidden is not None and total in totals_hidden
    hidden_here = sum(1 for key in cells if key in hidden)
    if not ((not total_hidden and hidden_here == 1) or (total_hidden and hidden_here == 0 and any(cells.values()))):
        return False
    if _hide_next(cells, hidden):
        return True
    if totals_hidden is None:
        raise _Leak
    totals_hidden.add(total)
    return True


def suppress_cross(
    measure: str,
    dimensions: tuple[str, str],
    rows: Sequence[str],
    columns: Sequence[str],
    counts: Mapping[tuple[str, str], int],
    threshold: int,
) -> CrossTable:
    """Suppress a two-way table; `counts` may leave out zero cells."""
    grid = {(r, c): counts.get((r, c), 0) for r in rows for c in columns}
    if sum(grid.values()) >= threshold:
        try:
            return _suppressed(measure, dimensions, rows, columns, grid, threshold)
        except _Leak:
            pass
    return CrossTable(
        measure,
        *dimensions,
        None,
        True,
        [Cell(r, None, True) for r in rows],
        [Cell(c, None, True) for c in columns],
        [CrossCell(r, c, None, True) for r in rows for c in columns],
    )


def _suppressed(
    measure: str,
    dimensions: tuple[str, str],
    rows: Sequence[str],
    columns: Sequence[str],
    grid: Mapping[tuple[str, str], int],
    threshold: int,
) -> CrossTable:
    row_totals = {r: sum(grid[(r, c)] for c in columns) for r in rows}
    column_totals = {c: sum(grid[(r, c)] for r in rows) for c in columns}
    total = sum(row_totals.values())
    keys = {(r, c): f"{r}\x1f{c}" for r in rows for c in columns}
    hidden = {keys[rc] for rc, count in grid.items() if 0 < count < threshold}
    # The one-way rule on each vector of totals.
    hidden_rows = {
        cell.value for cell in suppress(dimensions[0], row_totals, total, threshold).cells if cell.suppressed
    }
    hidden_columns = {
        cell.value for cell in suppress(dimensions[1], column_totals, total, threshold).cells if cell.suppressed
    }
    changed = True
    while changed:
        changed = False
        for r in rows:
            line = {keys[(r, c)]: grid[(r, c)] for c in columns}
            changed |= _protect_line(line, hidden, hidden_rows, r)
        for c in columns:
            line = {keys[(r, c)]: grid[(r, c)] for r in rows}
            changed |= _protect_line(line, hidden, hidden_columns, c)
        changed |= _protect_line(row_totals, hidden_rows, None, "")
        changed |= _protect_line(column_totals, hidden_columns, None, "")
    return CrossTable(
        measure,
        *dimensions,
        total,
        False,
        [Cell(r, None if r in hidden_rows else row_totals[r], r in hidden_rows) for r in rows],
        [Cell(c, None if c in hidden_columns else column_totals[c], c in hidden_columns) for c in columns],
        [
            CrossCell(r, c, None if keys[(r, c)] in hidden else grid[(r, c)], keys[(r, c)] in hidden)
            for r in rows
            for c in columns
        ],
    )
