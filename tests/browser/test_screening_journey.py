"""The investigator's main journey in a real browser: screen, consent, check eligibility, enrol."""

from __future__ import annotations

import pytest

from enrollment.selectors import criteria_in_force
from tests.browser.test_sign_in import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def save_form(
    page,
    fields: dict[str, str],
    selects: dict[str, str] | None = None,
    checks: tuple[str, ...] = (),
) -> None:
    for field, value in fields.items():
        page.fill(f"#id_{field}", value)
    for field, value in (selects or {}).items():
        page.select_option(f"#id_{field}", value)
    for checkbox in checks:
        page.check(checkbox)
    page.check("#id_mark_complete")
    page.get_by_role("button", name="Save").click()


def test_an_investigator_screens_and_enrols_a_patient(page, people) -> None:
    sign_in(page, "inv01", PASSWORD)
    page.get_by_role("link", name="Register screening").click()
    page.fill("#id_screening_date", "2026-11-16")
    page.get_by_role("button", name="Register").click()
    assert "Screening number S01-001 registered." in page.inner_text("main")

    page.get_by_role("link", name="IC · Informed consent").click()
    save_form(page, {"consent_date": "2026-11-16", "consent_version": "2.0"})
    assert "Informed consent saved." in page.inner_text("main")

    page.get_by_role("link", name="DM · Demographics").click()
    save_form(
        page, {"birth_date": "1961-07", "height_cm": "171"}, {"sex": "F", "ethnic_group": "HAN"}
    )

    page.get_by_role("link", name="HX · HCC and prior treatment history").click()
    save_form(
        page,
        {
            "diagnosis_date": "2024-02",
            "lenvatinib_start": "2025-06",
            "lenvatinib_last_dose": "2026-10-30",
        },
        {
            "diagnosis_method": "CLINICAL",
            "bclc_stage": "C",
            "macrovascular_invasion": "N",
            "extrahepatic_spread": "Y",
            "lenvatinib_dose": "8",
            "lenvatinib_best_response": "SD",
            "lenvatinib_stop_reason": "PROGRESSION",
        },
        checks=("input[name=aetiology][value=HBV]",),
    )
    assert "HCC and prior treatment history saved." in page.inner_text("main")

    page.get_by_role("link", name="Eligibility checklist").first.click()
    page.fill("#id_confirmed_on", "2026-11-18")
    for criterion in criteria_in_force():
        answer = "Y" if criterion.kind == "IN" else "N"
        page.check(f"#a-{criterion.code}-{answer}")
    page.check("#a-IN06-N")  # a wrong answer shows at once
    page.wait_for_selector("text=Not eligible: these criteria fail")
    assert "IN06" in page.inner_text("[data-testid=verdict]")
    page.check("#a-IN06-Y")
    page.wait_for_selector("text=All criteria are met: eligible.")
    page.get_by_role("button", name="Save").click()
    assert "Eligibility saved." in page.inner_text("main")

    page.get_by_role("link", name="Go to enrolment").click()
    page.fill("#id_enrolled_on", "2026-11-20")
    page.fill("#id_planned_day1", "2026-11-23")
    page.get_by_role("button", name="Enrol").click()
    page.wait_for_load_state("load")  # the subject page is long: read it whole

    assert "S01-001 is enrolled as subject 01-001." in page.inner_text("main")
    assert "C1D1" in page.inner_text("main")
    assert page.console_errors == []
