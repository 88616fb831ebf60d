"""Small-cell suppression of a one-way table with its total: the rule every statistic of this service shares
(`app/services/statistics.py` for the yearly tables, `app/services/cross_tables.py` for two-way tables).

Primary suppression hides every count from 1 to threshold - 1 (a zero discloses no person). Secondary
suppression: a table with exactly one hidden cell would let it be recomputed as total minus the others, so the
next smallest shown cell is hidden too. A total below the threshold hides its whole table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    value: str
    count: int | None
    suppressed: bool


@dataclass(frozen=True)
class Table:
    dimension: str
    total: int | None
    total_suppressed: bool
    cells: list[Cell]


def suppress(dimension: str, counts: dict[str, int], total: int, threshold: int) -> Table:
    """Apply primary and secondary suppression to a one-way table with its total."""
    if total < threshold:
        return Table(dimension, None, True, [Cell(value, None, True) for value in sorted(counts)])
    hidden = {value for value, count in counts.items() if 0 < count < threshold}
    if len(hidden) == 1:
        shown = sorted((count, value) for value, count in counts.items() if value not in hidden and count > 0)
        if shown:
            hidden.add(shown[0][1])
    cells = [
        Cell(value, None if value in hidden else count, value in hidden) for value, count in sorted(counts.items())
    ]
    return Table(dimension, total, False, cells)
