"""The site worklist: due, overdue and missing forms; scoped; bounded queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crf.models import Visit
from enrollment.demo import screen_and_enrol
from study.models import Role
from visits.worklist import build_worklist

pytestmark = pytest.mark.django_db


def test_overdue_due_soon_and_held_visits_with_missing_forms(investigator, sites) -> None:
    today = dt.date(2026, 5, 1)
    subject = screen_and_enrol(
        investigator, sites["01"], start=dt.date(2026, 3, 2)
    )  # Day 1 2026-03-07
    c2 = Visit.objects.get(subject=subject, code="C2D1")
    c2.held_on = c2.planned_date
    c2.save(update_fields=["held_on"])

    worklist = build_worklist(investigator, today=today)

    overdue = {i.visit.code: i.days_overdue for i in worklist.overdue}
    assert "C1D1" in overdue and "C3D1" in overdue and "TA1" in overdue
    assert (
        overdue["C3D1"] == (today - Visit.objects.get(subject=subject, code="C3D1").window_end).days
    )
    assert [i.visit.code for i in worklist.due_soon] == ["C4D1"]  # 2026-05-09, within 14 days
    missing = {i.visit.code: i.missing for i in worklist.missing_forms}
    assert list(missing) == ["C2D1"]
    assert {"VS", "LB", "CP", "EX"} <= set(missing["C2D1"])  # (+ the test-only form XX)


def test_another_sites_visits_are_not_on_the_worklist(investigator, people, sites) -> None:
    other = screen_and_enrol(investigator, sites["02"], start=dt.date(2026, 3, 2))

    worklist = build_worklist(people[Role.INVESTIGATOR], today=dt.date(2026, 5, 1))

    assert all(i.visit.subject_id != other.pk for i in worklist.overdue + worklist.due_soon)


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_worklist_costs_the_same_with_1_and_6_subjects(client, investigator, sites) -> None:
    client.force_login(investigator)
    url = reverse("visits:worklist")
    screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    _queries(client, url)
    small = _queries(client, url)

    for i in range(5):
        screen_and_enrol(
            investigator, sites["01"], start=dt.date(2026, 4, 1) + dt.timedelta(days=i)
        )
    large = _queries(client, url)

    assert small == large


def test_a_missed_visit_is_declared_with_a_reason_and_leaves_the_overdue_list(
    client, investigator, sites
) -> None:
    from crf.models import AuditEntry

    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    client.force_login(investigator)
    url = reverse("visits:declare_missed", kwargs={"subject_pk": subject.pk, "visit_code": "C2D1"})

    client.post(url, {"reason": ""})
    assert not Visit.objects.get(subject=subject, code="C2D1").missed
    client.post(url, {"reason": "patient in hospital"})

    c2 = Visit.objects.get(subject=subject, code="C2D1")
    assert (c2.missed, c2.missed_reason) == (True, "patient in hospital")
    entry = AuditEntry.objects.get(form_code="VISIT")
    assert (entry.visit_code, entry.variable, entry.new_value, entry.reason_text) == (
        "C2D1",
        "MISSED",
        "Y",
        "patient in hospital",
    )
    worklist = build_worklist(investigator, today=dt.date(2026, 5, 1))
    assert "C2D1" not in [i.visit.code for i in worklist.overdue]
