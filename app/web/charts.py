"""Charts drawn on the server as SVG: no script, no style attribute (the CSP forbids both), colours from the
stylesheet's `chart__*` classes so that print and high-contrast modes can change them.

Each chart is an image (`role="img"`) named by its title and described by a short summary; the page shows the
same figures in a table beside it, which is what screen readers and the CSV use. Labels and numbers come in
already translated and formatted: this module only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

_WIDTH = 640
_LABEL_WIDTH = 200
_BAR_HEIGHT = 22
_GAP = 10
_ids = count(1)


@dataclass(frozen=True)
class Series:
    """One series of a chart: its legend and its CSS modifier (`chart__bar--<tone>`)."""

    label: str
    tone: str


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: its label and one value per series (None: no value)."""

    label: str
    values: tuple[float | None, ...]
    texts: tuple[str, ...]  # each value as the page writes it


def _open(title: str, summary: str, height: int) -> tuple[str, list[str]]:
    ident = f"chart-{next(_ids)}"
    head = [
        f'<svg class="chart__image" viewBox="0 0 {_WIDTH} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(summary)}</desc>',
    ]
    return ident, head


def _legend(series: tuple[Series, ...], y: int) -> list[str]:
    parts, x = [], _LABEL_WIDTH
    for item in series:
        parts.append(f'<rect class="chart__bar chart__bar--{item.tone}" x="{x}" y="{y}" width="12" height="12"/>')
        parts.append(f'<text class="chart__legend" x="{x + 16}" y="{y + 11}">{escape(item.label)}</text>')
        x += 24 + 8 * len(item.label)
    return parts


def _close(parts: list[str]) -> Markup:
    # Every text and label above went through `escape`; the rest are this module's own tags and numbers.
    return Markup("".join([*parts, "</svg>"]))  # noqa: S704


def _label(text: str, y: float) -> str:
    shown = text if len(text) <= 28 else text[:27] + "…"
    return f'<text class="chart__label" x="{_LABEL_WIDTH - 8}" y="{y:.1f}" text-anchor="end">{escape(shown)}</text>'


def stacked_bars(title: str, summary: str, series: tuple[Series, ...], bars: list[Bar]) -> Markup:
    """Horizontal bars, each split into its series, scaled to the largest total (a count per series)."""
    height = 30 + len(bars) * (_BAR_HEIGHT + _GAP) + 10
    _, parts = _open(title, summary, height)
    parts += _legend(series, 4)
    largest = max((sum(v or 0 for v in bar.values) for bar in bars), default=0) or 1
    scale = (_WIDTH - _LABEL_WIDTH - 60) / largest
    for row, bar in enumerate(bars):
        y = 30 + row * (_BAR_HEIGHT + _GAP)
        parts.append(_label(bar.label, y + _BAR_HEIGHT * 0.7))
        x = float(_LABEL_WIDTH)
        for item, value in zip(series, bar.values, strict=True):
            width = (value or 0) * scale
            if width > 0:
                parts.append(
                    f'<rect class="chart__bar chart__bar--{item.tone}" x="{x:.1f}" y="{y}" '
                    f'width="{width:.1f}" height="{_BAR_HEIGHT}"/>'
                )
            x += width
        total = sum(v or 0 for v in bar.values)
        parts.append(
            f'<text class="chart__value" x="{x + 6:.1f}" y="{y + _BAR_HEIGHT * 0.7:.1f}">{escape(str(total))}</text>'
        )
    return _close(parts)


def grouped_bars(title: str, summary: str, series: tuple[Series, ...], bars: list[Bar]) -> Markup:
    """Horizontal bars side by side for each row, one per series, on one scale (days, say)."""
    per_row = len(series) * 12 + _GAP + 4
    height = 30 + len(bars) * per_row + 10
    _, parts = _open(title, summary, height)
    parts += _legend(series, 4)
    largest = max((v for bar in bars for v in bar.values if v is not None), default=0) or 1
    scale = (_WIDTH - _LABEL_WIDTH - 70) / largest
    for row, bar in enumerate(bars):
        y = 30 + row * per_row
        parts.append(_label(bar.label, y + len(series) * 6 + 4))
        for index, (item, value, text) in enumerate(zip(series, bar.values, bar.texts, strict=True)):
            top = y + index * 12
            if value is not None:
                parts.append(
                    f'<rect class="chart__bar chart__bar--{item.tone}" x="{_LABEL_WIDTH}" y="{top}" '
                    f'width="{max(value * scale, 1):.1f}" height="10"/>'
                )
            parts.append(
                f'<text class="chart__value" x="{_LABEL_WIDTH + (value or 0) * scale + 6:.1f}" y="{top + 9}">'
                f"{escape(text)}</text>"
            )
    return _close(parts)


def rate_line(title: str, summary: str, points: list[tuple[str, float | None, str]]) -> Markup:
    """A line of rates (0 to 1) over periods: (period label, rate or None for no deadline, rate as written)."""
    height, left, top, bottom = 240, 48, 16, 200
    _, parts = _open(title, summary, height)
    for tick in (0, 0.5, 1):
        y = bottom - tick * (bottom - top)
        parts.append(f'<line class="chart__grid" x1="{left}" y1="{y:.1f}" x2="{_WIDTH - 10}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="chart__axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{int(tick * 100)} %</text>'
        )
    line_at = len(parts)
    step = (_WIDTH - left - 70) / max(len(points) - 1, 1)
    coordinates: list[tuple[float, float]] = []
    every = max(1, len(points) // 8)
    for index, (label, rate, text) in enumerate(points):
        x = left + 10 + index * step
        if index % every == 0:
            parts.append(
                f'<text class="chart__axis" x="{x:.1f}" y="{bottom + 20}" text-anchor="middle">{escape(label)}</text>'
            )
        if rate is None:
            continue
        y = bottom - rate * (bottom - top)
        coordinates.append((x, y))
        parts.append(
            f'<circle class="chart__point" cx="{x:.1f}" cy="{y:.1f}" r="4">'
            f"<title>{escape(label)}: {escape(text)}</title></circle>"
        )
    if len(coordinates) > 1:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
        parts.insert(line_at, f'<polyline class="chart__line" points="{line}"/>')
    return _close(parts)
