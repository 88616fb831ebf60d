"""Two-way suppression (the needs gaps report): no small count shown, none recomputable from one line or from
the margins, every shown count true. Pure: no database."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.cross_tables import CrossTable, suppress_cross

THRESHOLD = 5


@st.composite
def grids(draw: st.DrawFn) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    rows = [f"FR-{n}" for n in range(draw(st.integers(1, 4)))]
    columns = [f"k{n}" for n in range(draw(st.integers(1, 5)))]
    counts = {(r, c): draw(st.sampled_from([0, 0, 1, 2, 3, 4, 5, 6, 9, 12])) for r in rows for c in columns}
    return rows, columns, counts


def _check(rows: list[str], columns: list[str], counts: dict[tuple[str, str], int], table: CrossTable) -> None:
    cells = {(c.row, c.column): c for c in table.cells}
    assert set(cells) == set(counts)
    if table.total_suppressed:
        assert all(c.suppressed for c in table.cells)
        return
    assert table.total == sum(counts.values()) >= THRESHOLD
    row_totals = {t.value: t for t in table.row_totals}
    column_totals = {t.value: t for t in table.column_totals}
    for key, cell in cells.items():
        if not cell.suppressed:
            assert cell.count == counts[key]  # a shown count is the true one
            assert cell.count == 0 or cell.count >= THRESHOLD  # and never a small one
        else:
            assert cell.count is None
    lines = [(row_totals[r], [cells[(r, c)] for c in columns]) for r in rows]
    lines += [(column_totals[c], [cells[(r, c)] for r in rows]) for c in columns]
    for total, line in lines:
        hidden = sum(1 for cell in line if cell.suppressed)
        if total.suppressed:
            # A hidden total with every cell shown would be their sum.
            assert hidden >= 1 or all(counts[(c.row, c.column)] == 0 for c in line)
        else:
            assert (total.count is not None and total.count >= THRESHOLD) or total.count == 0
            assert hidden != 1, "one hidden cell in a line with its total is the total minus the others"
    for margins in (table.row_totals, table.column_totals):
        assert sum(1 for t in margins if t.suppressed) != 1, "one hidden total is the grand total minus the others"


@settings(max_examples=400, deadline=None, database=None)
@given(grids())
def test_no_small_or_recomputable_count_is_shown(grid: tuple[list[str], list[str], dict[tuple[str, str], int]]) -> None:
    rows, columns, counts = grid
    table = suppress_cross("recorded", ("region", "need_kind"), rows, columns, counts, THRESHOLD)
    _check(rows, columns, counts, table)
    assert suppress_cross("recorded", ("region", "need_kind"), rows, columns, counts, THRESHOLD) == table


def test_a_worked_example() -> None:
    rows, columns = ["FR-75", "FR-93"], ["shelter", "debt", "housing"]
    counts = {
        ("FR-75", "shelter"): 12,
        ("FR-75", "debt"): 2,
        ("FR-75", "housing"): 9,
        ("FR-93", "shelter"): 6,
        ("FR-93", "debt"): 0,
        ("FR-93", "housing"): 7,
    }
    table = suppress_cross("unmet", ("region", "need_kind"), rows, columns, counts, THRESHOLD)
    shown = {(c.row, c.column): c.count for c in table.cells}
    # 2 is small; FR-75's next smallest (9) goes with it; the debt column (2 + 0) then hides its total too, and
    # the housing column, which lost 9, hides its next smallest (7), which FR-93's row must answer for in turn.
    assert shown[("FR-75", "debt")] is None and shown[("FR-75", "housing")] is None
    assert shown[("FR-93", "debt")] == 0
    _check(rows, columns, counts, table)
    assert table.total == 36


def test_a_small_table_is_hidden_whole() -> None:
    table = suppress_cross("late", ("region", "need_kind"), ["FR-75"], ["shelter"], {("FR-75", "shelter"): 4}, 5)
    assert table.total is None and table.total_suppressed and table.cells[0].suppressed
