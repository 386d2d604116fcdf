"""Bar charts drawn on the server as SVG: no script, no library, nothing fetched; the figures
table beside each chart is its text equivalent.

A chart here is its geometry only (where each bar, tick and label goes, in the SVG's own units);
`templates/reports_chart.html` draws it. Bars run horizontally, one band per category (agency
names are long and read best on the left), with the series of a category side by side or
stacked. Each series has a CSS class for its colour and, after the first, a hatching, so that
colour is never the only thing that tells them apart; every bar carries its number too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 1100  # drawn at this size on a desktop, scaled down on a narrower screen
LABEL_WIDTH = 380  # the category names, left of the bars
VALUE_MARGIN = 44  # right of the longest bar: its number
TOP, AXIS_HEIGHT = 30, 48  # above the first band: the categories' title; below the last: ticks
# and the values' title
BAR_HEIGHT, BAR_GAP, BAND_GAP = 20, 3, 14
MAX_TICKS = 6
MIN_SCALE = 5  # the value axis runs to 5 at least: a count of 1 is not drawn as a full bar


@dataclass(frozen=True)
class Series:
    """One kind of bar: its name in the legend and its look (`chart-<style>` in reports.css)."""

    label: str
    style: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: int  # its index in `BarChart.series`


@dataclass(frozen=True)
class Number:
    """A number written at a bar's end: its value, or a stacked bar's total."""

    x: float
    y: float
    value: int


@dataclass(frozen=True)
class Band:
    """A category's row: its name, where the name goes and its bars."""

    label: str
    y: float
    label_y: float
    bars: tuple[Bar, ...]
    numbers: tuple[Number, ...]


@dataclass(frozen=True)
class Tick:
    x: float
    value: int


@dataclass(frozen=True)
class BarChart:
    """A chart's geometry, ready to draw (see the module's docstring)."""

    key: str  # unique on the page: the ids of its title, description and patterns
    title: str
    description: str
    value_axis: str  # the axis' title, under the ticks
    category_axis: str  # the categories' title, above their names
    series: tuple[Series, ...]
    bands: tuple[Band, ...]
    ticks: tuple[Tick, ...]
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int

    @property
    def empty(self) -> bool:
        return not self.bands


def nice_step(largest: int, ticks: int = MAX_TICKS) -> int:
    """A step of 1, 2 or 5 times a power of ten that covers `largest` in at most `ticks` steps."""
    if largest <= ticks:
        return 1
    rough = largest / ticks
    power = 10 ** math.floor(math.log10(rough))
    for factor in (1, 2, 5, 10):
        if factor * power >= rough:
            return int(factor * power)
    raise AssertionError("unreachable")  # pragma: no cover


def shorten(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with an ellipsis: a category's name must fit left of
    the bars (the table beside the chart has it whole)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bar_chart(
    *,
    key: str,
    title: str,
    description: str,
    value_axis: str,
    category_axis: str,
    series: Sequence[Series],
    categories: Sequence[tuple[str, Sequence[int]]],
    stacked: bool = False,
) -> BarChart:
    """The chart of `categories`, each a name and its value in every series, in this order.

    Side by side, each series has a bar of its own in the category's band; `stacked`, they
    follow one another on one bar and the number at its end is their total."""
    if any(len(values) != len(series) for _, values in categories):
        raise ValueError("each category needs one value per series")
    bars_per_band = 1 if stacked else len(series)
    band_height = bars_per_band * BAR_HEIGHT + (bars_per_band - 1) * BAR_GAP
    plot_left, plot_right = LABEL_WIDTH, WIDTH - VALUE_MARGIN
    largest = max(
        (sum(values) if stacked else max(values, default=0) for _, values in categories),
        default=0,
    )
    step = nice_step(largest)
    top = max(MIN_SCALE, step * math.ceil(largest / step))
    scale = (plot_right - plot_left) / top

    bands = []
    y = float(TOP)
    for name, values in categories:
        bars, numbers = [], []
        start = float(plot_left)
        for index, value in enumerate(values):
            width = value * scale
            bar_y = y if stacked else y + index * (BAR_HEIGHT + BAR_GAP)
            x = start if stacked else float(plot_left)
            bars.append(Bar(x, bar_y, width, BAR_HEIGHT, value, index))
            if stacked:
                start += width
            else:
                numbers.append(Number(x + width + 5, bar_y + BAR_HEIGHT / 2, value))
        if stacked:
            numbers.append(Number(start + 5, y + BAR_HEIGHT / 2, sum(values)))
        bands.append(
            Band(
                label=name,
                y=y,
                label_y=y + band_height / 2,
                bars=tuple(bars),
                numbers=tuple(numbers),
            )
        )
        y += band_height + BAND_GAP
    plot_bottom = int(y - BAND_GAP + 6) if bands else TOP + BAR_HEIGHT
    ticks = tuple(
        Tick(x=plot_left + value * scale, value=value) for value in range(0, top + 1, step)
    )
    return BarChart(
        key=key,
        title=title,
        description=description,
        value_axis=value_axis,
        category_axis=category_axis,
        series=tuple(series),
        bands=tuple(bands),
        ticks=ticks,
        width=WIDTH,
        height=plot_bottom + AXIS_HEIGHT,
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=TOP,
        plot_bottom=plot_bottom,
    )
