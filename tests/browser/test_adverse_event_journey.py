"""In a real browser: an investigator records a grade 3 serious hypertension with the
CTCAE type-ahead (keyboard only for the term), the SAE mail goes out, the medical
monitor's safety page counts it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from adverse_events.models import AdverseEvent, SafetyMail
from enrollment.demo import screen_and_enrol
from study.models import Role
from tests.browser.test_sign_in import sign_in
from tests.conftest import PASSWORD, ROLE_USERS
from visits.demo import treat

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.date(2026, 3, 2)
DAY1 = START + dt.timedelta(days=5)


def test_investigator_records_a_serious_hypertension_and_the_monitor_sees_it(
    page, people, investigator, sites, settings
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the mail task runs on commit, in process
    settings.EDC_SAFETY_CONTACTS = ["pv@example.org"]
    from trial_edc.celery import app

    app.conf.task_always_eager = True
    subject = screen_and_enrol(investigator, sites["01"], start=START)
    treat(investigator, subject, day1=DAY1, cycles=2, course="SD")
    onset = DAY1 + dt.timedelta(days=20)
    try:
        sign_in(page, "inv01", PASSWORD)
        page.goto(f"/crf/subjects/{subject.pk}/")
        page.get_by_test_id("record-ae").click()

        term = page.get_by_role("combobox", name="CTCAE v5.0 term")
        term.fill("hyperten")
        page.wait_for_selector("#ae-term-options [data-term=Hypertension]")
        term.press("ArrowDown")
        page.keyboard.press("Enter")
        page.wait_for_selector("#ae-grade-field >> text=Systolic BP >=160 mm Hg")
        assert term.input_value() == "Hypertension"
        assert page.inner_text("[data-testid=ae-soc]").endswith("Vascular disorders")

        page.fill("#id_onset_on", onset.isoformat())
        page.check("#id_ongoing_0")  # Yes
        page.check("#id_grade_2")  # grade 3 (the term defines 1-5)
        page.check("#id_serious_0")
        for name in ("results_in_death", "life_threatening", "disability", "congenital_anomaly"):
            page.check(f"#id_{name}_1")  # No
        page.check("#id_hospitalisation_0")  # Yes
        page.check("#id_important_medical_event_1")
        page.fill("#id_aware_on", onset.isoformat())
        page.fill("#id_narrative", "BP 182/112 on day 21; admitted, amlodipine started.")
        page.select_option("#id_relationship", "RELATED")
        page.select_option("#id_action", "INTERRUPTED")
        page.select_option("#id_outcome", "NOT_RECOVERED")
        page.check("#id_mark_complete")
        page.get_by_role("button", name="Save").click()
        assert "Adverse event saved." in page.inner_text("main")

        ae = AdverseEvent.objects.get(subject=subject)
        assert (ae.term, ae.grade, ae.serious, ae.treatment_emergent) == (
            "Hypertension",
            3,
            "Y",
            "Y",
        )
        sent = SafetyMail.objects.get(adverse_event=ae, kind="initial")
        assert sent.sent_at is not None
        assert [(m.subject, m.to) for m in mail.outbox] == [(sent.subject_line, ["pv@example.org"])]
        assert subject.subject_id in mail.outbox[0].body

        page.get_by_role("button", name="Sign out").click()
        sign_in(page, ROLE_USERS[Role.MEDICAL_MONITOR], PASSWORD)
        page.get_by_role("link", name="Safety").first.click()
        serious = page.get_by_test_id("overview-serious")
        assert serious.get_by_test_id("count").inner_text() == "1"
        serious.get_by_test_id("count").click()
        assert subject.subject_id in page.inner_text("main")
        assert "Hypertension" in page.inner_text("main")
        assert page.console_errors == []
    finally:
        app.conf.task_always_eager = False
