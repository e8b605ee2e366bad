"""Enrolment figures: cumulative and planned accrual, and the SVG geometry of the dashboard.

Pure Python, no Django import: frozen dataclasses in, dataclasses out. The template only
prints the coordinates computed here (protocol.md: planned enrolment; the planned accrual
start, months to full enrolment and target are the StudyParameters row).

Planned accrual uses **calendar months**: full enrolment is planned on ``start`` plus
``months`` calendar months (the day clamped to the month's length, 31 Jan + 1 month =
28 Feb), and the planned number grows linearly, day by day, from 0 on ``start`` to
``target`` on that date, and stays at ``target`` afterwards.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

ONE_DECIMAL = Decimal("0.1")
MONTH_TICK_STEPS = (1, 2, 3, 6, 12, 24, 60, 120)


@dataclass(frozen=True)
class Point:
    """A value of a series on a day."""

    day: dt.date
    value: float


@dataclass(frozen=True)
class Series:
    """A named series; ``step`` draws it as a staircase (a count that jumps on a day)."""

    key: str
    points: tuple[Point, ...]
    step: bool = False


@dataclass(frozen=True)
class MonthRow:
    """One calendar month of accrual: the table behind the cumulative chart."""

    month: str  # YYYY-MM
    enrolled: int
    cumulative: int  # at the end of the month
    planned: Decimal  # planned cumulative at the end of the month, one decimal


@dataclass(frozen=True)
class Tick:
    """An axis tick: its position in SVG units and its label."""

    position: float
    label: str


@dataclass(frozen=True)
class Polyline:
    key: str
    points: str  # "x,y x,y ..." for <polyline points="...">


@dataclass(frozen=True)
class Frame:
    """The SVG canvas (viewBox size) and the margins around the plot area."""

    width: int = 960
    height: int = 340
    left: int = 48
    right: int = 24
    top: int = 28
    bottom: int = 48

    @property
    def plot_right(self) -> int:
        return self.width - self.right

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom


@dataclass(frozen=True)
class LineChart:
    frame: Frame
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    lines: tuple[Polyline, ...]
    marker: float | None  # x of the "today" line, when it falls inside the plot

    # Where the template writes the axis texts (no arithmetic in templates).
    @property
    def x_tick_label_y(self) -> int:
        return self.frame.plot_bottom + 18

    @property
    def x_title(self) -> tuple[float, int]:
        return ((self.frame.left + self.frame.plot_right) / 2, self.frame.height - 6)

    @property
    def y_tick_label_x(self) -> int:
        return self.frame.left - 6

    @property
    def marker_label_x(self) -> float | None:
        return None if self.marker is None else round(self.marker + 4, 1)


@dataclass(frozen=True)
class Bar:
    """One bar to draw: a key (for CSS and tests), its label and its value."""

    key: str
    label: str
    value: int
    title: str = ""  # a longer description (the tooltip); the label when empty


@dataclass(frozen=True)
class BarShape:
    key: str
    label: str
    value: int
    title: str
    label_y: float  # baseline of the label, written above the bar
    y: float
    height: float
    width: float
    value_x: float  # where the value is written, just after the bar's end

    @property
    def value_y(self) -> float:
        return self.y + self.height / 2


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    right: int  # x of the right end of the scale
    axis_y: float  # y of the value axis under the bars
    bars: tuple[BarShape, ...]
    x_ticks: tuple[Tick, ...]

    @property
    def tick_label_y(self) -> float:
        return self.axis_y + 16


# --- dates -------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus calendar months, the day clamped to the length of the target month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """First days of every calendar month from ``first``'s month to ``last``'s, inclusive."""
    months = []
    current = month_start(first)
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    return months


# --- accrual -----------------------------------------------------------------------------


def planned_end(start: dt.date, months: int) -> dt.date:
    """The date full enrolment is planned: ``start`` plus ``months`` calendar months."""
    return add_months(start, months)


def planned_at(start: dt.date, months: int, target: int, day: dt.date) -> Fraction:
    """Planned cumulative enrolment on ``day`` (exact): linear from 0 on start to target."""
    total = (planned_end(start, months) - start).days
    if day < start:
        return Fraction(0)
    if total <= 0 or (day - start).days >= total:
        return Fraction(target)
    return Fraction(target * (day - start).days, total)


def planned_accrual(start: dt.date, months: int, target: int, until: dt.date) -> list[Point]:
    """The planned accrual line from ``start`` to ``until``: its corners, 0 at start.

    One point at start, one where the target is planned to be reached (if on or before
    ``until``), and one at ``until``; nothing before start.
    """
    end = planned_end(start, months)
    if until <= start:
        return [Point(start, 0)]
    points = [Point(start, 0)]
    if end <= until:
        points.append(Point(end, target))
    if until != end:
        points.append(Point(until, float(planned_at(start, months, target, until))))
    return points


def cumulative_series(
    enrolment_dates: Iterable[dt.date], start: dt.date, end: dt.date
) -> list[Point]:
    """Cumulative number enrolled: a point on ``start``, one per enrolment day, one on ``end``.

    Enrolments before ``start`` count in the first point; those after ``end`` are left out.
    Drawn as a staircase (the count jumps on the day of enrolment).
    """
    if end < start:
        raise ValueError("end is before start")
    counts = Counter(enrolment_dates)
    running = sum(n for day, n in counts.items() if day <= start)
    points = [Point(start, running)]
    for day in sorted(d for d in counts if start < d <= end):
        running += counts[day]
        points.append(Point(day, running))
    if points[-1].day != end:
        points.append(Point(end, running))
    return points


def monthly_accrual(
    enrolment_dates: Iterable[dt.date],
    *,
    start: dt.date,
    months: int,
    target: int,
    first: dt.date,
    last: dt.date,
) -> list[MonthRow]:
    """One row per calendar month from ``first``'s to ``last``'s: enrolled that month,
    cumulative at the month's end (enrolments before ``first`` included) and planned
    cumulative at the month's end."""
    per_month = Counter(month_start(d) for d in enrolment_dates)
    first_month = month_start(first)
    running = sum(n for month, n in per_month.items() if month < first_month)
    rows = []
    for month in months_between(first, last):
        running += per_month[month]
        planned = planned_at(start, months, target, month_end(month))
        rows.append(
            MonthRow(
                month=month.strftime("%Y-%m"),
                enrolled=per_month[month],
                cumulative=running,
                planned=to_decimal(planned),
            )
        )
    return rows


def to_decimal(value: Fraction) -> Decimal:
    """A fraction rounded half up to one decimal."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in per cent, one decimal; None when ``whole`` is 0."""
    if whole == 0:
        return None
    return to_decimal(Fraction(100 * part, whole))


# --- geometry ----------------------------------------------------------------------------


def nice_step(maximum: float, max_ticks: int = 6) -> int:
    """The smallest step of 1, 2 or 5 x 10^k giving at most ``max_ticks`` steps to maximum."""
    if maximum <= 0:
        return 1
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if math.ceil(maximum / step) <= max_ticks:
                return step
        magnitude *= 10


def _num(value: float) -> str:
    rounded = round(value, 1)
    return f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def line_chart(
    series: Sequence[Series],
    *,
    first: dt.date,
    last: dt.date,
    y_max: float,
    marker: dt.date | None = None,
    frame: Frame | None = None,
    max_x_ticks: int = 8,
) -> LineChart:
    """Map date series to polylines in ``frame``.

    The x axis runs from the first day of ``first``'s month to the first day of the month
    after ``last``, with YYYY-MM ticks every 1, 2, 3, 6 or 12 months (at most
    ``max_x_ticks``, on month indexes divisible by the step, so quarters fall on Jan, Apr,
    Jul, Oct). The y axis runs from 0 to ``y_max`` rounded up to a nice step. Coordinates
    are rounded to 0.1 unit.
    """
    frame = frame or Frame()
    x0 = month_start(first)
    x1 = add_months(month_start(last), 1)
    span = (x1 - x0).days
    step = nice_step(y_max)
    top = max(step, math.ceil(y_max / step) * step)
    plot_width = frame.plot_right - frame.left
    plot_height = frame.plot_bottom - frame.top

    def x(day: dt.date) -> float:
        return round(frame.left + plot_width * (day - x0).days / span, 1)

    def y(value: float) -> float:
        return round(frame.plot_bottom - plot_height * value / top, 1)

    n_months = _month_index(x1) - _month_index(x0)
    month_step = next(
        (s for s in MONTH_TICK_STEPS if n_months // s + 1 <= max_x_ticks), MONTH_TICK_STEPS[-1]
    )
    x_ticks = tuple(
        Tick(x(month), month.strftime("%Y-%m"))
        for month in months_between(x0, x1)
        if _month_index(month) % month_step == 0
    )
    y_ticks = tuple(Tick(y(v), str(v)) for v in range(0, top + 1, step))

    lines = []
    for s in series:
        coords: list[tuple[float, float]] = []
        for point in s.points:
            if s.step and coords:
                coords.append((x(point.day), coords[-1][1]))
            coords.append((x(point.day), y(point.value)))
        lines.append(Polyline(s.key, " ".join(f"{_num(a)},{_num(b)}" for a, b in coords)))

    shown_marker = x(marker) if marker is not None and x0 <= marker <= x1 else None
    return LineChart(frame, x_ticks, y_ticks, tuple(lines), shown_marker)


def bar_chart(
    bars: Sequence[Bar],
    *,
    width: int = 480,
    left: int = 8,
    right: int = 48,
    label_height: int = 16,
    bar_height: int = 14,
    gap: int = 10,
    top: int = 4,
    axis_height: int = 28,
    max_ticks: int = 5,
) -> BarChart:
    """Horizontal bars, each under its label (so a label of any length or language fits).

    Bars start at ``left`` and scale to a nice maximum that ends ``right`` units before the
    canvas' right edge (room for the value written after the longest bar). The value
    axis with its ticks sits under the last bar.
    """
    maximum = max((b.value for b in bars), default=0)
    step = nice_step(maximum, max_ticks)
    scale_max = max(step, math.ceil(maximum / step) * step)
    scale_right = width - right
    plot_width = scale_right - left
    row = label_height + bar_height + gap
    shapes = []
    for i, bar in enumerate(bars):
        row_top = top + i * row
        bar_width = round(plot_width * bar.value / scale_max, 1)
        shapes.append(
            BarShape(
                key=bar.key,
                label=bar.label,
                value=bar.value,
                title=bar.title or bar.label,
                label_y=row_top + label_height - 4,
                y=row_top + label_height,
                height=bar_height,
                width=bar_width,
                value_x=round(left + bar_width + 4, 1),
            )
        )
    axis_y = top + len(bars) * row
    ticks = tuple(
        Tick(round(left + plot_width * v / scale_max, 1), str(v))
        for v in range(0, scale_max + 1, step)
    )
    return BarChart(
        width=width,
        height=axis_y + axis_height,
        left=left,
        right=scale_right,
        axis_y=axis_y,
        bars=tuple(shapes),
        x_ticks=ticks,
    )
