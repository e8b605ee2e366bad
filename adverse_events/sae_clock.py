"""The SAE report clock: when it starts, when the report is due, when it is overdue.

Pure Python (no Django): datetimes in, datetimes out, all timezone-aware.

Source: crf-spec AE SAEAWDAT ("the SAE report is due within 24 h of it") and
protocol.md (SAE_REPORT_HOURS in study/protocol.py). SAEAWDAT is a date without a
time, so the site is given the whole awareness day: the clock starts when the AE
is first saved as serious, or at the end of the awareness date in the site's time
zone when it was recorded later than that day — whichever comes first.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from study.protocol import SAE_REPORT_HOURS


@dataclass(frozen=True)
class SaeClock:
    started_at: dt.datetime
    due_at: dt.datetime


def end_of_day(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The instant the local date ``day`` ends in ``zone`` (midnight of the next day)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)


def start_clock(
    *, serious_since: dt.datetime, aware_on: dt.date | None, zone: dt.tzinfo
) -> SaeClock:
    """The clock of an SAE first saved as serious at ``serious_since``, aware on ``aware_on``.

    Recorded on (or before) the awareness day: the clock starts at the save.
    Recorded on a later day (site time): it started at the end of the awareness day.
    Without an awareness date (the edit checks require one) the save starts it.
    The report is due SAE_REPORT_HOURS elapsed hours after the start.
    """
    if serious_since.tzinfo is None:
        raise ValueError("serious_since must be timezone-aware")
    started_at = serious_since
    if aware_on is not None:
        started_at = min(serious_since, end_of_day(aware_on, zone))
    return SaeClock(started_at=started_at, due_at=started_at + dt.timedelta(hours=SAE_REPORT_HOURS))


def is_overdue(
    *,
    due_at: dt.datetime,
    now: dt.datetime,
    completed_at: dt.datetime | None,
    closed_at: dt.datetime | None,
) -> bool:
    """Past its due time, not complete and not closed (no longer serious or deleted)."""
    return now > due_at and completed_at is None and closed_at is None


@dataclass(frozen=True)
class Lateness:
    """How long after its deadline a report was completed, in whole days, hours, minutes."""

    days: int
    hours: int
    minutes: int


def completed_late(*, due_at: dt.datetime, completed_at: dt.datetime | None) -> Lateness | None:
    """How late the report was completed: ``completed_at`` − ``due_at``; None when it was
    completed by its deadline, or is not complete (then it may be overdue: ``is_overdue``).

    crf-spec AE SAEAWDAT: the SAE report is due within SAE_REPORT_HOURS of awareness; a
    report completed after that is late, and stays late once complete. Rounded up to the
    whole minute (20 seconds late is one minute late, never "0 minutes").
    """
    if completed_at is None or completed_at <= due_at:
        return None
    minutes = math.ceil((completed_at - due_at).total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    return Lateness(days=days, hours=rest // 60, minutes=rest % 60)
