"""The pure enrolment figures: accrual series, month table and SVG geometry (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from enrollment.charts import (
    Bar,
    Frame,
    MonthRow,
    Point,
    Series,
    Tick,
    add_months,
    bar_chart,
    cumulative_series,
    line_chart,
    monthly_accrual,
    nice_step,
    percent,
    planned_accrual,
    planned_at,
    planned_end,
)
from study import protocol

D = dt.date
START = protocol.PLANNED_ACCRUAL_START  # 2026-01-05
MONTHS = protocol.PLANNED_ACCRUAL_MONTHS  # 18
TARGET = protocol.TARGET_ENROLMENT  # 28


def test_add_months_clamps_the_day_to_the_month_length() -> None:
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert add_months(D(2028, 1, 31), 1) == D(2028, 2, 29)
    assert add_months(D(2026, 11, 15), 3) == D(2027, 2, 15)


def test_planned_end_is_start_plus_calendar_months() -> None:
    assert planned_end(D(2026, 1, 5), 18) == D(2027, 7, 5)


def test_planned_at_is_linear_in_days_and_capped_at_the_target() -> None:
    # 2026-01-05 + 18 months = 2027-07-05, 546 days later.
    assert planned_at(D(2026, 1, 5), 18, 28, D(2026, 1, 4)) == 0
    assert planned_at(D(2026, 1, 5), 18, 28, D(2026, 1, 5)) == 0
    assert planned_at(D(2026, 1, 5), 18, 28, D(2026, 10, 5)) == Fraction(28 * 273, 546)
    assert planned_at(D(2026, 1, 5), 18, 28, D(2026, 10, 5)) == 14
    assert planned_at(D(2026, 1, 5), 18, 28, D(2027, 7, 5)) == 28
    assert planned_at(D(2026, 1, 5), 18, 28, D(2030, 1, 1)) == 28


def test_planned_at_with_zero_months_is_the_target_from_the_start() -> None:
    assert planned_at(D(2026, 1, 5), 0, 28, D(2026, 1, 5)) == 28


def test_planned_accrual_reaches_the_target_and_stays_there() -> None:
    assert planned_accrual(D(2026, 1, 5), 18, 28, D(2027, 9, 1)) == [
        Point(D(2026, 1, 5), 0),
        Point(D(2027, 7, 5), 28),
        Point(D(2027, 9, 1), 28),
    ]


def test_planned_accrual_ending_on_the_planned_date_has_two_points() -> None:
    assert planned_accrual(D(2026, 1, 5), 18, 28, D(2027, 7, 5)) == [
        Point(D(2026, 1, 5), 0),
        Point(D(2027, 7, 5), 28),
    ]


def test_planned_accrual_cut_before_the_planned_date_ends_on_the_line() -> None:
    assert planned_accrual(D(2026, 1, 5), 18, 28, D(2026, 10, 5)) == [
        Point(D(2026, 1, 5), 0),
        Point(D(2026, 10, 5), 14),
    ]


def test_planned_accrual_until_the_start_is_one_point() -> None:
    assert planned_accrual(D(2026, 1, 5), 18, 28, D(2026, 1, 1)) == [Point(D(2026, 1, 5), 0)]


def test_cumulative_series_steps_on_each_enrolment_day() -> None:
    dates = [D(2026, 2, 3), D(2026, 1, 20), D(2026, 2, 3), D(2026, 3, 9)]

    assert cumulative_series(dates, D(2026, 1, 5), D(2026, 4, 1)) == [
        Point(D(2026, 1, 5), 0),
        Point(D(2026, 1, 20), 1),
        Point(D(2026, 2, 3), 3),
        Point(D(2026, 3, 9), 4),
        Point(D(2026, 4, 1), 4),
    ]


def test_cumulative_series_counts_earlier_enrolments_at_the_start_and_drops_later_ones() -> None:
    dates = [D(2025, 12, 30), D(2026, 1, 5), D(2026, 2, 1), D(2026, 5, 1)]

    assert cumulative_series(dates, D(2026, 1, 5), D(2026, 2, 1)) == [
        Point(D(2026, 1, 5), 2),
        Point(D(2026, 2, 1), 3),
    ]


def test_cumulative_series_without_enrolments_is_flat_at_zero() -> None:
    assert cumulative_series([], D(2026, 1, 5), D(2026, 1, 5)) == [Point(D(2026, 1, 5), 0)]


def test_cumulative_series_refuses_an_end_before_the_start() -> None:
    with pytest.raises(ValueError):
        cumulative_series([], D(2026, 1, 5), D(2026, 1, 4))


def test_monthly_accrual_gives_each_month_its_count_cumulative_and_plan() -> None:
    dates = [D(2026, 1, 15), D(2026, 1, 15), D(2026, 3, 2)]

    rows = monthly_accrual(
        dates, start=START, months=MONTHS, target=TARGET, first=START, last=D(2026, 3, 10)
    )

    # Planned at month ends: 28 x 26/546, 28 x 54/546, 28 x 85/546.
    assert rows == [
        MonthRow("2026-01", 2, 2, Decimal("1.3")),
        MonthRow("2026-02", 0, 2, Decimal("2.8")),
        MonthRow("2026-03", 1, 3, Decimal("4.4")),
    ]


def test_monthly_accrual_starts_from_enrolments_before_the_first_month() -> None:
    rows = monthly_accrual(
        [D(2025, 11, 3), D(2026, 2, 1)],
        start=D(2026, 1, 1),
        months=2,
        target=10,
        first=D(2026, 1, 20),
        last=D(2026, 3, 1),
    )

    # 2026-01-01 + 2 months = 2026-03-01 (59 days): 30/59 and 58/59 of 10 by the month ends.
    assert rows == [
        MonthRow("2026-01", 0, 1, Decimal("5.1")),
        MonthRow("2026-02", 1, 2, Decimal("9.8")),
        MonthRow("2026-03", 0, 2, Decimal("10.0")),
    ]


def test_percent_rounds_half_up_to_one_decimal_and_is_none_of_nothing() -> None:
    assert percent(1, 15) == Decimal("6.7")
    assert percent(1, 8) == Decimal("12.5")
    assert percent(1, 16) == Decimal("6.3")  # 6.25 rounds up
    assert percent(0, 4) == Decimal("0.0")
    assert percent(3, 0) is None


def test_nice_step_is_1_2_or_5_times_a_power_of_ten() -> None:
    assert [nice_step(m) for m in (0, 1, 6, 7, 12, 28, 60, 500)] == [1, 1, 1, 2, 2, 5, 10, 100]


def test_line_chart_maps_dates_and_counts_to_the_plot_area() -> None:
    frame = Frame(width=200, height=140, left=20, right=20, top=10, bottom=30)
    enrolled = Series(
        "enrolled",
        (Point(D(2026, 1, 1), 0), Point(D(2026, 1, 15), 5), Point(D(2026, 3, 1), 10)),
        step=True,
    )
    planned = Series("planned", (Point(D(2026, 1, 1), 0), Point(D(2026, 4, 1), 10)))

    chart = line_chart(
        [planned, enrolled],
        first=D(2026, 1, 1),
        last=D(2026, 3, 31),
        y_max=10,
        marker=D(2026, 3, 1),
        frame=frame,
    )

    # x: 2026-01-01 .. 2026-04-01 (90 days) onto 20..180; y: 0..10 onto 110..10.
    assert chart.x_ticks == (
        Tick(20.0, "2026-01"),
        Tick(75.1, "2026-02"),
        Tick(124.9, "2026-03"),
        Tick(180.0, "2026-04"),
    )
    assert chart.y_ticks == tuple(Tick(110.0 - 10 * v, str(v)) for v in (0, 2, 4, 6, 8, 10))
    assert chart.lines[0].key == "planned"
    assert chart.lines[0].points == "20,110 180,10"
    assert chart.lines[1].points == "20,110 44.9,110 44.9,60 124.9,60 124.9,10"  # staircase
    assert chart.marker == 124.9
    assert chart.marker_label_x == 128.9
    assert (chart.x_tick_label_y, chart.y_tick_label_x, chart.x_title) == (128, 14, (100.0, 134))


def test_line_chart_thins_month_ticks_to_quarters_over_a_long_span() -> None:
    chart = line_chart([], first=D(2026, 1, 5), last=D(2027, 7, 5), y_max=28)

    assert [t.label for t in chart.x_ticks] == [
        "2026-01",
        "2026-04",
        "2026-07",
        "2026-10",
        "2027-01",
        "2027-04",
        "2027-07",
    ]
    assert [t.label for t in chart.y_ticks] == ["0", "5", "10", "15", "20", "25", "30"]
    assert chart.marker is None


def test_line_chart_leaves_out_a_marker_outside_the_axis() -> None:
    chart = line_chart([], first=D(2026, 1, 5), last=D(2026, 2, 5), y_max=1, marker=D(2027, 1, 1))

    assert chart.marker is None
    assert chart.marker_label_x is None


def test_bar_chart_puts_each_bar_under_its_label_on_a_nice_scale() -> None:
    chart = bar_chart(
        [Bar("IN06", "IN06", 3, "IN06 ECOG 0-1"), Bar("EX05", "EX05", 1)],
        width=200,
        left=10,
        right=40,
        label_height=16,
        bar_height=14,
        gap=10,
        top=4,
        axis_height=28,
    )

    # Scale 0..3 (step 1) onto 10..160.
    assert [(b.key, b.label_y, b.y, b.height, b.width, b.value_x) for b in chart.bars] == [
        ("IN06", 16, 20, 14, 150.0, 164.0),
        ("EX05", 56, 60, 14, 50.0, 64.0),
    ]
    assert [b.title for b in chart.bars] == ["IN06 ECOG 0-1", "EX05"]
    assert chart.bars[0].value_y == 27
    assert chart.x_ticks == (Tick(10.0, "0"), Tick(60.0, "1"), Tick(110.0, "2"), Tick(160.0, "3"))
    assert (chart.axis_y, chart.height, chart.right, chart.tick_label_y) == (84, 112, 160, 100)


def test_bar_chart_of_zeros_keeps_a_scale_of_one() -> None:
    chart = bar_chart([Bar("a", "A", 0)], width=100, left=0, right=0)

    assert chart.bars[0].width == 0
    assert chart.x_ticks == (Tick(0.0, "0"), Tick(100.0, "1"))
