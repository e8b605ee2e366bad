"""A subject's AE timeline against cycles and doses: the SVG geometry, as pure code.

Pure Python, no Django import: frozen dataclasses in, a ``Timeline`` of coordinates out;
the template (templates/adverse_events/_timeline.html) only prints them. The x axis runs
in days; with a Day 1 (the first anlotinib dose) its ticks are study days (protocol.md:
no Day 0, the day before Day 1 is Day -1), otherwise dates. One band per cycle with
its dose, the dosing days (first..last dose of the cycle) shaded; below it one bar per AE
from onset to resolution, or with an open end (an arrow) up to ``today`` while it has
no resolution date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from study.protocol import CYCLE_LENGTH_DAYS

WIDTH = 960
LEFT = 180  # room for the AE terms
RIGHT = 24  # room for the arrow of an ongoing AE
BAND_Y = 8
BAND_HEIGHT = 26
ROW_PITCH = 22
BAR_HEIGHT = 14
ROWS_GAP = 10  # between the cycle band and the first AE
GRADES = (1, 2, 3, 4, 5)  # CTCAE v5.0
LABEL_CHARS = 26
FULL_LABEL_WIDTH = 64  # "C1 · 12 mg" fits; narrower bands write the dose only
DOSE_LABEL_WIDTH = 18  # "12" fits; narrower bands carry their dose in the tooltip only
STUDY_DAY_STEPS = (1, 7, 21, 42, 84, 168, 336, 672, 1344)
DATE_STEPS = (1, 7, 14, 28, 56, 91, 182, 364, 728, 1456)
MAX_DAY_TICKS = 12
MAX_DATE_TICKS = 6


@dataclass(frozen=True)
class CycleSpan:
    """One treated cycle (EX): its label, dose and dosing days."""

    label: str  # "C1"
    dose_mg: int | None
    first_dose_on: dt.date
    last_dose_on: dt.date | None


@dataclass(frozen=True)
class EventSpan:
    """One AE of the log; ``resolved`` None: ongoing (or its end not entered yet)."""

    key: int
    term: str
    onset: dt.date | None
    resolved: dt.date | None
    grade: int | None
    serious: bool
    teae: bool


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Band:
    """A cycle band: the whole cycle (x, width) and its dosing days (dose_x, dose_width)."""

    label: str
    dose_mg: int | None
    first_dose_on: dt.date
    last_dose_on: dt.date
    x: float
    width: float
    dose_x: float
    dose_width: float

    @property
    def label_mode(self) -> str:
        """What the band has room to write: "full" (cycle and dose), "dose" or ""."""
        if self.width >= FULL_LABEL_WIDTH:
            return "full"
        return "dose" if self.width >= DOSE_LABEL_WIDTH and self.dose_mg is not None else ""

    @property
    def label_x(self) -> float:
        return round(self.x + 4, 1)


@dataclass(frozen=True)
class Bar:
    """One AE: the bar from onset to its end, where its term is written, its marks."""

    key: int
    term: str
    short_term: str
    onset: dt.date
    end: dt.date  # resolution date, or today for an open end
    ongoing: bool
    grade: int | None
    serious: bool
    teae: bool
    x: float
    y: float
    width: float
    height: float
    arrow: str  # polygon points of the open end, "" when resolved
    marker: str  # polygon points of the serious mark (a diamond at onset), "" if not serious

    @property
    def grade_class(self) -> str:
        return f"ae-grade-{self.grade}" if self.grade is not None else "ae-grade-none"

    @property
    def label_y(self) -> float:
        return round(self.y + self.height / 2, 1)


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    left: int
    right: int  # x of the right end of the plot
    start: dt.date
    end: dt.date
    band_y: int
    band_height: int
    axis_y: float
    study_days: bool  # ticks are study days (else dates)
    ticks: tuple[Tick, ...]
    bands: tuple[Band, ...]
    bars: tuple[Bar, ...]
    today_x: float | None

    @property
    def band_label_y(self) -> float:
        return self.band_y + self.band_height / 2

    @property
    def tick_label_y(self) -> float:
        return self.axis_y + 16

    @property
    def axis_title_y(self) -> float:
        return self.axis_y + 34

    @property
    def axis_title_x(self) -> float:
        return round((self.left + self.right) / 2, 1)

    @property
    def rows_top(self) -> int:
        return self.band_y + self.band_height + ROWS_GAP

    @property
    def rows_height(self) -> float:
        return round(self.axis_y - self.rows_top, 1)

    @property
    def label_x(self) -> int:
        """Where the row labels end (text-anchor: end), left of the plot."""
        return self.left - 8

    @property
    def grades(self) -> tuple[int, ...]:
        return GRADES


def study_day(day1: dt.date, day: dt.date) -> int:
    """protocol.md: Day 1 is the first dose and there is no Day 0."""
    offset = (day - day1).days
    return offset + 1 if offset >= 0 else offset


def _cycle_end(cycles: Sequence[CycleSpan], index: int) -> dt.date:
    """The day before the next cycle starts; a last cycle runs its planned 21 days."""
    cycle = cycles[index]
    planned = cycle.first_dose_on + dt.timedelta(days=CYCLE_LENGTH_DAYS - 1)
    if index + 1 < len(cycles):
        following = cycles[index + 1].first_dose_on - dt.timedelta(days=1)
        return max(cycle.first_dose_on, following)
    return max(planned, cycle.last_dose_on or cycle.first_dose_on)


def _shorten(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _ticks(start: dt.date, end: dt.date, day1: dt.date | None, x_of: _Scale) -> tuple[Tick, ...]:
    span = (end - start).days + 1
    origin = day1 if day1 is not None else start
    steps, most = (STUDY_DAY_STEPS, MAX_DAY_TICKS) if day1 else (DATE_STEPS, MAX_DATE_TICKS)
    step = next((s for s in steps if span / s <= most), steps[-1])
    first_k = -((origin - start).days // step)  # the first multiple of step on or after start
    ticks = []
    k = first_k
    while True:
        day = origin + dt.timedelta(days=k * step)
        if day > end:
            break
        if day >= start:
            label = str(study_day(day1, day)) if day1 is not None else day.isoformat()
            ticks.append(Tick(x_of.middle(day), label))
        k += 1
    return tuple(ticks)


@dataclass(frozen=True)
class _Scale:
    start: dt.date
    days: int
    left: int
    right: int

    def at(self, day: dt.date) -> float:
        """x of the start of ``day`` (a day is one column from at(day) to at(day + 1))."""
        offset = (day - self.start).days
        return round(self.left + (self.right - self.left) * offset / self.days, 1)

    def middle(self, day: dt.date) -> float:
        return round((self.at(day) + self.at(day + dt.timedelta(days=1))) / 2, 1)


def build_timeline(
    *,
    day1: dt.date | None,
    cycles: Sequence[CycleSpan],
    events: Sequence[EventSpan],
    today: dt.date,
) -> Timeline | None:
    """The geometry of the AE timeline; None when there is nothing dated to draw.

    AEs without an onset date are left out (the log table lists them). The axis runs from
    the earliest of Day 1, the first cycle and the first onset to the latest of the cycles'
    ends, the resolutions and, while an AE has no resolution date, today.
    """
    cycles = sorted(cycles, key=lambda c: c.first_dose_on)
    dated = [(e, e.onset) for e in events if e.onset is not None]
    ends = {
        e.key: max(onset, e.resolved if e.resolved is not None else today) for e, onset in dated
    }
    starts = [c.first_dose_on for c in cycles] + [onset for _e, onset in dated]
    if day1 is not None:
        starts.append(day1)
    if not starts:
        return None
    cycle_ends = [_cycle_end(cycles, i) for i in range(len(cycles))]
    start = min(starts)
    end = max([*cycle_ends, *ends.values(), start])
    right = WIDTH - RIGHT
    scale = _Scale(start, (end - start).days + 1, LEFT, right)
    one_day = dt.timedelta(days=1)

    bands = []
    for cycle, cycle_end in zip(cycles, cycle_ends, strict=True):
        last = max(cycle.first_dose_on, cycle.last_dose_on or cycle.first_dose_on)
        x = scale.at(cycle.first_dose_on)
        width = round(scale.at(cycle_end + one_day) - x, 1)
        dose_x = x
        bands.append(
            Band(
                label=cycle.label,
                dose_mg=cycle.dose_mg,
                first_dose_on=cycle.first_dose_on,
                last_dose_on=last,
                x=x,
                width=width,
                dose_x=dose_x,
                dose_width=round(scale.at(last + one_day) - dose_x, 1),
            )
        )

    rows_top = BAND_Y + BAND_HEIGHT + ROWS_GAP
    bars = []
    ordered = sorted(dated, key=lambda item: (item[1], item[0].key))
    for row, (event, onset) in enumerate(ordered):
        x = scale.at(onset)
        x_end = scale.at(ends[event.key] + one_day)
        y = rows_top + row * ROW_PITCH + (ROW_PITCH - BAR_HEIGHT) / 2
        ongoing = event.resolved is None
        arrow = ""
        if ongoing:
            arrow = f"{x_end},{y - 2} {round(x_end + 9, 1)},{y + BAR_HEIGHT / 2} {x_end},{y + BAR_HEIGHT + 2}"
        marker = ""
        if event.serious:
            cy = y + BAR_HEIGHT / 2
            marker = f"{x},{cy - 8} {round(x + 6, 1)},{cy} {x},{cy + 8} {round(x - 6, 1)},{cy}"
        bars.append(
            Bar(
                key=event.key,
                term=event.term,
                short_term=_shorten(event.term),
                onset=onset,
                end=ends[event.key],
                ongoing=ongoing,
                grade=event.grade,
                serious=event.serious,
                teae=event.teae,
                x=x,
                y=y,
                width=max(round(x_end - x, 1), 2.0),
                height=BAR_HEIGHT,
                arrow=arrow,
                marker=marker,
            )
        )

    axis_y = rows_top + max(len(bars), 1) * ROW_PITCH + 4
    today_x = scale.middle(today) if start <= today <= end else None
    return Timeline(
        width=WIDTH,
        height=int(axis_y + 44),
        left=LEFT,
        right=right,
        start=start,
        end=end,
        band_y=BAND_Y,
        band_height=BAND_HEIGHT,
        axis_y=axis_y,
        study_days=day1 is not None,
        ticks=_ticks(start, end, day1, scale),
        bands=tuple(bands),
        bars=tuple(bars),
        today_x=today_x,
    )
