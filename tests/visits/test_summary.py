"""Treatment and response page, fed by the demo builder (six cycles, four TAs)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from enrollment.demo import screen_and_enrol
from visits.demo import treat
from visits.models import TumourAssessment

pytestmark = pytest.mark.django_db

LABELS = {"CR": "Complete response", "PR": "Partial response", "SD": "Stable disease"}
LABELS["PD"] = "Progressive disease"


@pytest.mark.parametrize(
    ("course", "responses", "bor"),
    [
        ("PR_THEN_PD", ["PR", "PR", "PR", "PD"], "PR"),
        ("CR", ["PR", "CR", "CR", "CR"], "CR"),
        ("SD", ["SD", "SD", "SD", "SD"], "SD"),
        ("UNCONFIRMED_PR_PD", ["PR", "PD"], "SD"),
        ("PD", ["PD"], "PD"),
        ("NE_THEN_SD", ["NE", "SD", "SD"], "SD"),
    ],
)
def test_six_cycles_and_the_tumour_course(
    client, investigator, sites, course, responses, bor
) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 1, 5))
    treat(investigator, subject, day1=dt.date(2026, 1, 10), cycles=6, course=course)

    computed = list(
        TumourAssessment.objects.filter(subject=subject, visit__kind="TA")
        .order_by("scanned_on")
        .values_list("overall_response", flat=True)
    )
    assert computed == responses
    client.force_login(investigator)
    page = client.get(reverse("visits:summary", kwargs={"subject_pk": subject.pk})).content.decode()
    assert f"Best overall response: {LABELS[bor]}</strong>" in page
    exposure = page.split('data-testid="exposure"')[1].split("</table>")[0]
    assert exposure.count("<tr>") == 7  # header + six cycles
    assert 'C4D1</td><td class="text-end">10</td>' in exposure  # reduced from cycle 4
