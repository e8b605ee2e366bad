"""Screening fixtures built through the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from enrollment.demo import screen
from study import protocol
from study.models import Subject, SubjectStatus

START = dt.date(2026, 3, 2)


@pytest.fixture
def eligible(investigator, sites) -> Any:
    """A screened, consented, eligible person at site 01 (not enrolled)."""
    return screen(investigator, sites["01"], start=START)


def fill_enrolled(site: Any, n: int) -> None:
    """Put ``n`` already enrolled subjects in the study (rows only: they stand for the
    subjects enrolled before the test, whose forms the test does not need)."""
    Subject.objects.bulk_create(
        Subject(
            site=site,
            screening_id=f"S{site.number}-9{i:02d}",
            subject_id=f"{site.number}-9{i:02d}",
            status=SubjectStatus.ON_TREATMENT,
            enrolled_at=START,
        )
        for i in range(n)
    )


TARGET = protocol.TARGET_ENROLMENT
