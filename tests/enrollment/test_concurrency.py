"""The enrolment cap holds under concurrency (PostgreSQL, real parallel requests)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from enrollment.demo import screen
from study.models import Subject
from tests.enrollment.conftest import START, TARGET, fill_enrolled

ALREADY_ENROLLED = 25
FIRED = 40


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_forty_parallel_enrolments_stop_exactly_at_the_target(investigator, sites) -> None:
    fill_enrolled(sites["02"], ALREADY_ENROLLED)
    waiting = [screen(investigator, sites["01"], start=START) for _ in range(FIRED)]
    url_for = {s.pk: reverse("enrollment:enrol", kwargs={"subject_pk": s.pk}) for s in waiting}

    def enrol(subject_pk: int) -> tuple[int, str]:
        try:
            client = Client()
            client.force_login(investigator)
            response = client.post(
                url_for[subject_pk],
                {
                    "enrolled_on": (START + dt.timedelta(days=3)).isoformat(),
                    "planned_day1": (START + dt.timedelta(days=5)).isoformat(),
                },
            )
            return response.status_code, response.content.decode()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=FIRED) as pool:
        results = list(pool.map(enrol, [s.pk for s in waiting]))

    statuses = [status for status, _ in results]
    refusals = [body for status, body in results if status == 200]
    assert set(statuses) <= {200, 302}, statuses  # no error pages
    assert Subject.objects.filter(subject_id__isnull=False).count() == TARGET
    assert statuses.count(302) == TARGET - ALREADY_ENROLLED
    assert len(refusals) == FIRED - (TARGET - ALREADY_ENROLLED)
    assert all(f"reached its target of {TARGET} subjects" in body for body in refusals)
    new_ids = list(
        Subject.objects.filter(site=sites["01"], subject_id__isnull=False).values_list(
            "subject_id", flat=True
        )
    )
    assert sorted(new_ids) == ["01-001", "01-002", "01-003"]  # no duplicates, no gaps
    assert connection.vendor == "postgresql"
