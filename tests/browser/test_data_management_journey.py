"""In a real browser, the data-management journey of issue 12 ("Done when"): a monitor
raises a query on a lesion measurement (TA form, a target lesion's row), the investigator
corrects the value with its reason and answers, the monitor closes the query and verifies
the form (the critical values one by one, then the rest); the PI signs the casebook of the
subject, whose study has ended; a later change invalidates the signature ("Signature
invalidated by the change of …" on the subject page); a data manager locks the study on
the locks page, after which nothing changes it: a form's POST is refused naming the lock
(in the browser), so is the study data file import and the lock_study command, while the
export download still works. Every action is a click on what a person sees; axe on the
main pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from playwright.sync_api import expect

from crf import registry
from crf.datafile import dumps, export_document, import_document, parse
from crf.models import AuditEntry, Visit
from crf.services import save_form
from data_management.models import Lock, Query, QueryStatus, Signature, SourceVerification
from enrollment.demo import screen_and_enrol
from study.models import Role, Subject
from study.services import upsert_person
from tests.browser.conftest import describe_violations, run_axe
from tests.browser.test_sign_in import sign_in
from tests.conftest import PASSWORD
from visits.demo import treat
from visits.models import TumourAssessment

pytestmark = pytest.mark.django_db(transaction=True)

LOCK_REASON = "Database lock for the final analysis"


@pytest.fixture
def pi(sites: dict[str, Any], people: dict[Role, Any]) -> Any:
    """The principal investigator of site 01 (``inv01`` of the shared fixtures is a
    sub-investigator): answers the query, corrects the value and signs."""
    return upsert_person(
        username="pi01",
        password=PASSWORD,
        role=Role.INVESTIGATOR,
        sites=[sites["01"]],
        first_name="Wei",
        last_name="Zhang",
        is_principal_investigator=True,
    )


@pytest.fixture
def ta1(pi: Any, sites: dict[str, Any]) -> TumourAssessment:
    """A subject of site 01 treated two cycles (first scan at TA1), whose study has ended
    (DS: consent withdrawn), so that the casebook awaits the PI's signature."""
    subject = screen_and_enrol(pi, sites["01"], start=dt.date(2026, 3, 2))
    day1 = Visit.objects.get(subject=subject, code="C1D1").planned_date
    assert day1 is not None
    treat(pi, subject, day1=day1, cycles=2, course="PR")
    save_form(
        actor=pi,
        spec=registry.get("DS"),
        subject=subject,
        values={"ended_on": day1 + dt.timedelta(days=60), "reason": "CONSENT_WITHDRAWN"},
        complete=True,
    )
    subject.refresh_from_db()
    assert subject.status == "off_study"
    return TumourAssessment.objects.get(subject=subject, visit__code="TA1", is_deleted=False)


def form_path(ta: TumourAssessment, visit: str = "TA1", form: str = "TA") -> str:
    return f"/crf/subjects/{ta.subject_id}/visits/{visit}/forms/{form}/"


def seen(locator: Any) -> Any:
    """``locator``, once it is visible with a box of non-zero size (what a person sees)."""
    locator.wait_for(state="visible")
    box = locator.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0, locator
    return locator


def click(locator: Any) -> None:
    seen(locator).click()


def no_axe_problems(page: Any) -> None:
    assert describe_violations(run_axe(page)) == []


def test_query_sdv_signature_and_study_lock(page, new_page, people, pi, ta1) -> None:
    subject = Subject.objects.get(pk=ta1.subject_id)
    monitor_page, site, dm_page = page, new_page(), new_page()

    # 1. The monitor raises a query on T01's diameter.
    sign_in(monitor_page, "mon01", PASSWORD)
    monitor_page.goto(form_path(ta1))
    seen(monitor_page.locator("#raise-variable")).select_option("TL.TLDIAM")
    seen(monitor_page.locator("#raise-row")).select_option("TL:T01")
    seen(monitor_page.locator("#raise-text")).fill("The CT report gives 34 mm for T01.")
    click(monitor_page.get_by_role("button", name="Raise the query"))
    seen(monitor_page.get_by_test_id("query-notice"))
    query = Query.objects.get(origin="manual")
    assert (query.group, query.row_key, query.variable) == ("TL", "T01", "TLDIAM")
    no_axe_problems(monitor_page)

    # 2. The investigator follows the badge, corrects the value with its reason, answers.
    sign_in(site, "pi01", PASSWORD)
    site.goto(form_path(ta1))
    badge = site.locator(f'a[data-testid=query-badge][href="#query-{query.pk}"]')
    assert seen(badge).inner_text() == "Diameter: 1 open query"
    click(badge)
    seen(site.locator("[name=tl-0-diameter_mm]")).fill("34")
    seen(site.locator("#id_reason_code")).select_option("QUERY_RESPONSE")
    click(site.get_by_role("button", name="Save"))
    assert "saved." in site.inner_text("main")
    site.goto(form_path(ta1))
    seen(site.locator(f"#answer-{query.pk}")).fill("Corrected to 34 mm from the CT report.")
    click(site.locator(f"#query-{query.pk}").get_by_test_id("answer"))
    seen(site.get_by_test_id("query-notice"))
    correction = AuditEntry.objects.get(
        subject_id=subject.pk, variable="TLDIAM", reason_code="QUERY_RESPONSE"
    )
    assert (correction.visit_code, correction.row_key, correction.new_value) == ("TA1", "T01", "34")

    # 3. The monitor closes the query, then verifies the form: critical values one by one
    # (the scan date, each lesion's values), then the rest of the form.
    monitor_page.reload()
    click(monitor_page.locator(f"#query-{query.pk}").get_by_test_id("close"))
    seen(monitor_page.get_by_test_id("query-notice"))
    status = monitor_page.locator(f"#query-{query.pk} [data-testid=query-status]")
    assert status.inner_text() == "Closed"
    panel = monitor_page.get_by_test_id("sdv-panel")
    critical_rows = panel.locator("tr:has([data-testid=critical]):has(input[name=key])")
    critical = critical_rows.count()
    assert critical >= 5  # TADAT and T01-T03's values at least
    for i in range(critical):
        click(critical_rows.nth(i).locator("input[name=key]"))
    click(panel.get_by_test_id("sdv-verify-selected"))
    seen(monitor_page.get_by_test_id("sdv-status"))
    panel = monitor_page.get_by_test_id("sdv-panel")
    assert panel.locator("tr:has([data-testid=critical]):has(input[name=key])").count() == 0
    click(panel.get_by_test_id("sdv-verify-form"))
    expect(monitor_page.get_by_test_id("sdv-summary")).to_contain_text("Source data verified")
    assert SourceVerification.objects.filter(object_id=ta1.pk, variable="", group="").exists()
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    no_axe_problems(monitor_page)

    # 4. The PI signs the casebook from the subject page (the study has ended).
    site.goto(f"/crf/subjects/{subject.pk}/")
    click(site.get_by_test_id("sign-casebook-link"))
    assert "Casebook signature of subject" in site.inner_text("h1")
    no_axe_problems(site)
    click(site.get_by_role("checkbox"))
    seen(site.get_by_label("Password")).fill(PASSWORD)
    click(site.get_by_test_id("sign"))
    signature = Signature.objects.get(subject=subject)
    assert (signature.scope, signature.signer, signature.invalidated_at) == ("casebook", pi, None)
    seen(site.get_by_test_id("already-signed"))

    # 5. A later change (the weight of C2D1, with its reason) invalidates the signature.
    site.goto(form_path(ta1, "C2D1", "VS"))
    weight = seen(site.locator("[name=weight_kg]"))
    weight.fill(str(float(weight.input_value()) + 1))
    seen(site.locator("#id_reason_code")).select_option("TRANSCRIPTION_ERROR")
    click(site.get_by_role("button", name="Save"))
    assert "saved." in site.inner_text("main")
    site.goto(f"/crf/subjects/{subject.pk}/")
    panel_text = seen(site.get_by_test_id("signatures-panel")).inner_text()
    assert "Signature invalidated by the change of WEIGHT (Weight)" in panel_text
    no_axe_problems(site)

    # The investigator opens a form to change it (before the lock, in their tab)...
    site.goto(form_path(ta1, "C2D1", "VS"))
    weight = seen(site.locator("[name=weight_kg]"))

    # 6. ... and the data manager locks the study on the locks page.
    sign_in(dm_page, "dm", PASSWORD)
    dm_page.goto("/data-management/locks/")
    no_axe_problems(dm_page)
    section = dm_page.get_by_test_id("study-lock")
    seen(section.locator("[name=reason]")).fill(LOCK_REASON)
    dm_page.once("dialog", lambda dialog: dialog.accept())
    click(section.get_by_test_id("lock-study"))
    seen(dm_page.get_by_test_id("study-locked"))
    lock = Lock.objects.get(unlocked_at=None)
    assert lock.reason == LOCK_REASON
    no_axe_problems(dm_page)

    # Nothing changes the study: the form's POST is refused naming the lock...
    weight.fill(str(float(weight.input_value()) + 1))
    seen(site.locator("#id_reason_code")).select_option("TRANSCRIPTION_ERROR")
    click(site.get_by_role("button", name="Save"))
    refusal = "Locked: the study was locked by dm on"
    assert refusal in site.inner_text("main")
    assert LOCK_REASON in site.inner_text("main")
    # ... so is the study data file import (the file just exported) ...
    text = dumps(export_document(user=people[Role.DATA_MANAGER]))
    report = import_document(
        document=parse(text),
        actor=people[Role.DATA_MANAGER],
        reason="Re-import of the exported file",
        file_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )
    assert len(report.errors) == 1
    assert report.errors[0].message.startswith(refusal)
    assert LOCK_REASON in report.errors[0].message
    # ... and the operators' command says the study is already locked.
    with pytest.raises(CommandError, match="locked already"):
        call_command("lock_study", "--reason", "again", stdout=io.StringIO())
    assert Lock.objects.filter(unlocked_at=None).count() == 1
    assert Signature.objects.get(subject=subject).invalidated_at is not None

    # The export still downloads.
    dm_page.goto("/crf/data/import/")
    with dm_page.expect_download() as download:
        click(dm_page.get_by_test_id("export-link"))
    assert download.value.suggested_filename.endswith(".json")
    assert site.console_errors == [] and dm_page.console_errors == []
