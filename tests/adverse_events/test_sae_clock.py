"""The SAE report clock (adverse_events.sae_clock): pure, no database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from adverse_events.sae_clock import SaeClock, end_of_day, is_overdue, start_clock
from study.protocol import SAE_REPORT_HOURS

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
AWARE = dt.date(2026, 3, 15)
REPORT = dt.timedelta(hours=SAE_REPORT_HOURS)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_clock_recorded_on_the_awareness_day_starts_at_the_save() -> None:
    saved = utc(2026, 3, 15, 2, 0)  # 10:00 in Shanghai on the awareness day

    clock = start_clock(serious_since=saved, aware_on=AWARE, zone=SHANGHAI)

    assert clock == SaeClock(started_at=saved, due_at=utc(2026, 3, 16, 2, 0))


def test_clock_recorded_two_days_later_starts_at_the_end_of_the_awareness_day() -> None:
    saved = utc(2026, 3, 17, 2, 0)

    clock = start_clock(serious_since=saved, aware_on=AWARE, zone=SHANGHAI)

    # The awareness day ends at midnight Shanghai time = 16:00 UTC the same date.
    assert clock == SaeClock(started_at=utc(2026, 3, 15, 16, 0), due_at=utc(2026, 3, 16, 16, 0))


def test_clock_uses_the_site_day_not_the_utc_day_after_midnight_in_shanghai() -> None:
    saved = utc(2026, 3, 15, 17, 0)  # still 15 March in UTC, already 16 March 01:00 in Shanghai

    clock = start_clock(serious_since=saved, aware_on=AWARE, zone=SHANGHAI)

    assert clock == SaeClock(started_at=utc(2026, 3, 15, 16, 0), due_at=utc(2026, 3, 16, 16, 0))


def test_clock_uses_the_site_day_not_the_utc_day_before_midnight_utc() -> None:
    saved = utc(2026, 3, 14, 23, 0)  # 14 March in UTC, 15 March 07:00 in Shanghai

    clock = start_clock(serious_since=saved, aware_on=AWARE, zone=SHANGHAI)

    assert clock == SaeClock(started_at=saved, due_at=saved + REPORT)


def test_clock_without_an_awareness_date_starts_at_the_save() -> None:
    saved = utc(2026, 3, 17, 2, 0)

    assert start_clock(serious_since=saved, aware_on=None, zone=SHANGHAI).started_at == saved


def test_clock_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError):
        start_clock(serious_since=dt.datetime(2026, 3, 15, 2, 0), aware_on=AWARE, zone=SHANGHAI)


def test_end_of_day_is_midnight_of_the_next_local_day() -> None:
    assert end_of_day(AWARE, SHANGHAI) == utc(2026, 3, 15, 16, 0)
    assert end_of_day(AWARE, UTC) == utc(2026, 3, 16, 0, 0)


DUE = utc(2026, 3, 16, 16, 0)


@pytest.mark.parametrize(
    ("now", "completed_at", "closed_at", "expected"),
    [
        (DUE + dt.timedelta(seconds=1), None, None, True),
        (DUE, None, None, False),  # due at, not yet past
        (DUE - dt.timedelta(hours=1), None, None, False),
        (DUE + dt.timedelta(days=3), DUE + dt.timedelta(hours=1), None, False),  # complete (late)
        (DUE + dt.timedelta(days=3), None, DUE - dt.timedelta(hours=1), False),  # closed
    ],
)
def test_report_is_overdue_only_past_due_and_neither_complete_nor_closed(
    now: dt.datetime,
    completed_at: dt.datetime | None,
    closed_at: dt.datetime | None,
    expected: bool,
) -> None:
    assert is_overdue(due_at=DUE, now=now, completed_at=completed_at, closed_at=closed_at) is (
        expected
    )
