"""In a real browser: a baseline TA with three targets (rows added with htmx), then a
follow-up with one lesion gone; the computed response and the summary page."""

from __future__ import annotations

import datetime as dt

import pytest

from crf.models import Visit
from enrollment.demo import screen_and_enrol
from tests.browser.test_sign_in import sign_in
from tests.conftest import PASSWORD
from visits.models import TumourAssessment

pytestmark = pytest.mark.django_db(transaction=True)


def fill_row(page, group: str, i: int, lesion: str, organ: str, status: str, diameter: str) -> None:
    page.fill(f"[name={group}-{i}-lesion_id]", lesion)
    page.select_option(f"[name={group}-{i}-organ]", organ)
    page.select_option(f"[name={group}-{i}-is_node]", "N")
    page.select_option(f"[name={group}-{i}-status]", status)
    page.fill(f"[name={group}-{i}-diameter_mm]", diameter)


def test_baseline_with_three_targets_then_a_follow_up_with_one_gone(
    page, investigator, sites
) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    day1 = Visit.objects.get(subject=subject, code="C1D1").planned_date
    sign_in(page, "inv01", PASSWORD)

    page.goto(f"/crf/subjects/{subject.pk}/visits/SCR/forms/TA/")
    page.fill("#id_scanned_on", day1.isoformat())
    page.select_option("#id_method", "CT")
    fill_row(page, "tl", 0, "T01", "LIVER", "MEASURED", "30")
    for i in (1, 2):
        page.get_by_role("button", name="Add a row: Target lesions").click()
        page.wait_for_selector(f"[name=tl-{i}-lesion_id]")
    fill_row(page, "tl", 1, "T02", "LIVER", "MEASURED", "20")
    fill_row(page, "tl", 2, "T03", "LUNG", "MEASURED", "10")
    page.check("#id_mark_complete")
    page.get_by_role("button", name="Save").click()
    assert "Tumour assessment (RECIST 1.1) saved." in page.inner_text("main")
    assert TumourAssessment.objects.get(visit__code="SCR").sum_mm == 60

    ta1 = Visit.objects.get(subject=subject, code="TA1").planned_date
    page.goto(f"/crf/subjects/{subject.pk}/visits/TA1/forms/TA/")
    assert page.input_value("[name=tl-2-lesion_id]") == "T03"  # carried forward from baseline
    page.fill("#id_scanned_on", ta1.isoformat())
    page.select_option("#id_method", "CT")
    page.select_option("#id_investigator_response", "PR")
    for i, (status, diameter) in enumerate(
        [("MEASURED", "20"), ("MEASURED", "15"), ("DISAPPEARED", "0")]
    ):
        page.select_option(f"[name=tl-{i}-status]", status)
        page.fill(f"[name=tl-{i}-diameter_mm]", diameter)
    page.check("#id_mark_complete")
    page.get_by_role("button", name="Save").click()
    assert "saved." in page.inner_text("main")

    page.get_by_role("link", name="Treatment and response").click()
    lesions = page.inner_text("[data-testid=lesions]")
    assert "35.0" in lesions and "-41.7" in lesions and "Partial response" in lesions
    assert page.console_errors == []
