"""The save path is lean and does not grow with the subject's history (issue 11): a form's
checks read only the facts they need (crf.registry.Facts, computed on first read), the audit
entries go in with one INSERT, and the visit's held date is read with one query.

Each save is posted through the web page as a person would, for a subject with a short and a
long history; the number of SQL queries is the same for both and within the bound, and it is
printed (``pytest -s``) so a change that adds queries shows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crf.models import AuditEntry, Visit
from enrollment.demo import screen_and_enrol
from visits.demo import treat

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)
DAY1 = START + dt.timedelta(days=5)
# The most queries one save may cost, the request's own (session, user, role and sites)
# included; the bare Django save of benchmarks/ costs about 8.
MAX_SAVE_QUERIES = {"VS": 24, "TA": 42, "AE": 26}


def _subject(investigator: Any, site: Any, cycles: int, course: str = "SD") -> Any:
    subject = screen_and_enrol(investigator, site, start=START)
    treat(investigator, subject, day1=DAY1, cycles=cycles, course=course)
    return subject


def _post(client: Any, url: str, data: dict[str, str]) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    return len(queries)


def _vs(client: Any, subject: Any, code: str) -> int:
    visit = Visit.objects.get(subject=subject, code=code)
    url = reverse(
        "crf:visit_form",
        kwargs={"subject_pk": subject.pk, "visit_code": code, "form_code": "VS"},
    )
    return _post(
        client,
        url,
        {
            "version": "0",
            "assessed_on": visit.planned_date.isoformat(),
            "systolic_bp": "128",
            "diastolic_bp": "82",
            "pulse": "70",
            "temperature": "36.6",
            "weight_kg": "61.0",
            "ecog": "1",
            "mark_complete": "on",
        },
    )


def _ae(client: Any, subject: Any) -> int:
    url = reverse("crf:form", kwargs={"subject_pk": subject.pk, "form_code": "AE"})
    return _post(
        client,
        url,
        {
            "version": "0",
            "term": "Fatigue",
            "onset_on": (DAY1 + dt.timedelta(days=10)).isoformat(),
            "ongoing": "Y",
            "grade": "1",
            "serious": "N",
            "relationship": "POSSIBLY_RELATED",
            "action": "DOSE_NOT_CHANGED",
            "outcome": "NOT_RECOVERED",
            "mark_complete": "on",
        },
    )


def _ta(client: Any, subject: Any, code: str) -> int:
    visit = Visit.objects.get(subject=subject, code=code)
    url = reverse(
        "crf:visit_form",
        kwargs={"subject_pk": subject.pk, "visit_code": code, "form_code": "TA"},
    )
    data = {
        "version": "0",
        "scanned_on": visit.planned_date.isoformat(),
        "method": "CT",
        "investigator_response": "SD",
        "mark_complete": "on",
        "ntl-TOTAL_FORMS": "1",
        "ntl-INITIAL_FORMS": "0",
        "ntl-0-lesion_id": "NT01",
        "ntl-0-organ": "PERITONEUM",
        "ntl-0-status": "PRESENT",
        "nl-TOTAL_FORMS": "0",
        "nl-INITIAL_FORMS": "0",
        "tl-TOTAL_FORMS": "3",
        "tl-INITIAL_FORMS": "0",
    }
    # The SD course's baseline: three targets of 30, 18 and 12 mm (visits.demo).
    for i, (lesion, organ, diameter) in enumerate(
        [("T01", "LIVER", "29.0"), ("T02", "LIVER", "17.5"), ("T03", "LUNG", "11.5")]
    ):
        data |= {
            f"tl-{i}-lesion_id": lesion,
            f"tl-{i}-organ": organ,
            f"tl-{i}-is_node": "N",
            f"tl-{i}-status": "MEASURED",
            f"tl-{i}-diameter_mm": diameter,
        }
    for prefix in ("tl", "ntl", "nl"):
        data |= {f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
    return _post(client, url, data)


@pytest.mark.parametrize("form", ["VS", "AE", "TA"])
def test_a_save_costs_the_same_queries_whatever_the_subjects_history(
    client, investigator, sites, form
) -> None:
    # Short: one cycle, three follow-up TAs; long: six cycles, four follow-up TAs.
    short = _subject(investigator, sites["01"], cycles=1, course="NE_THEN_SD")
    long = _subject(investigator, sites["01"], cycles=6)
    client.force_login(investigator)
    client.get("/")  # the session and the language, as a signed-in person's next request

    if form == "VS":
        counts = [_vs(client, short, "C2D1"), _vs(client, long, "C7D1")]
    elif form == "AE":
        counts = [_ae(client, short), _ae(client, long)]
    else:
        # The TA after those the course recorded (their scans are all in the past).
        counts = [_ta(client, short, "TA4"), _ta(client, long, "TA5")]

    print(f"\n{form} save: {counts[0]} SQL queries (short history), {counts[1]} (long)")
    assert counts[0] == counts[1]
    assert counts[1] <= MAX_SAVE_QUERIES[form]
    assert AuditEntry.objects.filter(subject=long, form_code=form).exists()
