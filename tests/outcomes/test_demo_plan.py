"""The demo's plan on whatever day `make run` builds it (issue 10 item 9): the accrual keeps
the study at its cap, the two enrolled last have C1D1 due today or in two days, and the few
deliberate gaps (one overdue visit and one missed visit at site 01, one lab missing at site
02) exist on every day of the next four months. Pure: no database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from outcomes.management.commands import seed_demo
from study import protocol

TODAY = timezone.localdate()


@pytest.mark.parametrize("days_later", range(0, 120, 3))
def test_demo_plan_has_its_gaps_on_later_days(days_later: int) -> None:
    today = TODAY + dt.timedelta(days=days_later)
    screenings = seed_demo.accrual(today)
    treated = [s for s in screenings if s.enrol and not s.recent]
    courses = seed_demo.courses(list(range(len(treated))), screenings, today)
    gaps = seed_demo.plan_gaps(courses, today)
    sites = {c.key: c.site for c in courses}

    kinds = sorted(
        (sites[key], name)
        for key, gap in gaps.items()
        for name in ("overdue_last_cycle", "labs_missing_last_cycle", "missed_cycle")
        if getattr(gap, name)
    )
    assert kinds == [
        ("01", "missed_cycle"),
        ("01", "overdue_last_cycle"),
        ("02", "labs_missing_last_cycle"),
    ]
    assert sum(s.enrol for s in screenings) == protocol.TARGET_ENROLMENT
    assert [s.day1 - today for s in screenings if s.recent] == [
        dt.timedelta(days=0),
        dt.timedelta(days=2),
    ]
