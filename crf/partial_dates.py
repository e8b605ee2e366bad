"""Partial dates (crf-spec: ``2025-03`` or ``2025`` where a date is marked *partial*).

Pure Python. A partial date stands for a range of days: ``2025-03`` is
2025-03-01 .. 2025-03-31. A rule such as "DIAGDAT ≤ ICDAT" is broken only when
it is broken for every day of the range, i.e. when the earliest day is already
after ICDAT; it cannot be confirmed while the range straddles the limit.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_PATTERN = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True, order=True)
class PartialDate:
    earliest: dt.date
    latest: dt.date
    text: str

    @property
    def is_complete(self) -> bool:
        return self.earliest == self.latest


def parse_partial_date(text: str) -> PartialDate:
    """Parse ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; ValueError when it is none of them."""
    match = _PATTERN.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    if month is None:
        return PartialDate(dt.date(year, 1, 1), dt.date(year, 12, 31), text.strip())
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r}: month must be 01 to 12")
    if day is None:
        last = calendar.monthrange(year, month)[1]
        return PartialDate(dt.date(year, month, 1), dt.date(year, month, last), text.strip())
    value = dt.date(year, month, day)  # raises ValueError for 2025-02-30
    return PartialDate(value, value, text.strip())


def as_range(value: PartialDate | dt.date | str) -> tuple[dt.date, dt.date]:
    if isinstance(value, PartialDate):
        return value.earliest, value.latest
    if isinstance(value, dt.date):
        return value, value
    parsed = parse_partial_date(value)
    return parsed.earliest, parsed.latest


def surely_after(value: PartialDate | dt.date | str, limit: dt.date) -> bool:
    """Every day the value may stand for is after ``limit``."""
    return as_range(value)[0] > limit


def surely_before(value: PartialDate | dt.date | str, limit: dt.date) -> bool:
    """Every day the value may stand for is before ``limit``."""
    return as_range(value)[1] < limit


def in_future(value: PartialDate | dt.date | str, today: dt.date) -> bool:
    """The date lies after ``today`` at its own precision.

    crf-spec "Types": a partial date stands for its whole range, so it is in the future
    only when its earliest day is: on 2026-12-01, ``2027`` and ``2027-01`` are in the
    future, ``2026-12`` and ``2026`` are not (they may be a day already past).
    """
    return surely_after(value, today)


def age_range(birth: PartialDate | dt.date | str, on: dt.date) -> tuple[int, int]:
    """Smallest and largest age in whole years on ``on`` for a (partial) birth date."""
    earliest, latest = as_range(birth)

    def age(born: dt.date) -> int:
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

    return age(latest), age(earliest)
