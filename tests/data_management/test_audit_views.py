"""Audit views: each field's history on the form, the subject's trail with filters, the
study-wide search and its CSV, and verify_audit's result shown to and run by data managers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from typing import Any

import pytest
import tinyhtml5
from django.urls import reverse
from django.utils import timezone

from crf import registry
from crf.models import AuditEntry, ChangeReason
from crf.selectors import form_url
from crf.services import Reason
from data_management.models import AuditCheck
from study.models import Role
from tests.factories import save_xx

pytestmark = pytest.mark.django_db

REASON = Reason(code=ChangeReason.TRANSCRIPTION_ERROR, text="misread the chart")


def visible_text(html: str) -> str:
    root = tinyhtml5.parse(html)
    body = root.find(".//{http://www.w3.org/1999/xhtml}body")
    assert body is not None
    return " ".join(" ".join(body.itertext()).split())


def _element(html: str, element_id: str) -> str:
    root = tinyhtml5.parse(html)
    found = root.find(f".//*[@id='{element_id}']")
    assert found is not None, element_id
    return " ".join(" ".join(found.itertext()).split())


@pytest.fixture
def corrected(investigator, subject01) -> Any:
    """Subject 01's XX form saved complete, then its systolic pressure corrected."""
    form = save_xx(investigator, subject01, complete=True, smoker="Y")
    save_xx(investigator, subject01, instance=form, systolic=125, reason=REASON)
    return form


def _local(entry: AuditEntry, zone: str) -> str:
    return timezone.localtime(entry.at, zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


# --- A form's history ----------------------------------------------------------------------


def test_form_page_shows_each_fields_history_old_to_new_who_when_reason_source(
    client, investigator, subject01, corrected
) -> None:
    client.force_login(investigator)
    url = form_url(subject01, registry.get("XX"), corrected)

    html = client.get(url).content.decode()

    change = AuditEntry.objects.get(variable="SYSBP", action="update")
    section = _element(html, "history-sysbp")
    assert "120 → 125" in section
    assert "Transcription error: misread the chart" in section
    assert _local(change, subject01.site.time_zone) in section
    assert "TRANSCRIPTION_ERROR" not in section
    assert "History of this form" in visible_text(html)
    assert f"Times in the site's time zone ({subject01.site.time_zone})" in visible_text(html)


def test_form_page_marks_each_field_with_a_link_to_its_history(
    client, investigator, subject01, corrected
) -> None:
    client.force_login(investigator)

    html = client.get(form_url(subject01, registry.get("XX"), corrected)).content.decode()

    root = tinyhtml5.parse(html)
    links = {
        a.get("href"): " ".join(a.itertext())
        for a in root.iter("{http://www.w3.org/1999/xhtml}a")
        if "edc-history-link" in (a.get("class") or "")
    }
    assert links["#history-sysbp"] == "History (2)"
    assert links["#history-diabp"] == "History (1)"


def test_code_values_in_the_history_show_their_label(
    client, investigator, subject01, corrected
) -> None:
    client.force_login(investigator)

    html = client.get(form_url(subject01, registry.get("XX"), corrected)).content.decode()

    assert "Yes (Y)" in _element(html, "history-xxyn")


def test_a_repeating_rows_history_is_one_section_with_its_values(
    client, investigator, subject01
) -> None:
    form = save_xx(investigator, subject01, lesions=[{"lesion_id": "T1", "diameter": 12}])
    client.force_login(investigator)

    html = client.get(form_url(subject01, registry.get("XX"), form)).content.decode()

    section = _element(html, "history-ls-t1")
    assert "LDIAM" in section
    assert "Diameter → 12" in section


def test_no_history_on_a_new_form(client, investigator, subject01) -> None:
    client.force_login(investigator)

    html = client.get(form_url(subject01, registry.get("XX"), None)).content.decode()

    assert "History of this form" not in html


# --- The subject's trail with filters ------------------------------------------------------


def _trail(client, subject, **params: str) -> str:
    url = reverse("crf:subject_audit", kwargs={"subject_pk": subject.pk})
    return client.get(url, params).content.decode()


def _rows(html: str) -> int:
    return html.count('data-testid="audit-row"')


def test_subject_trail_filters_by_form_visit_user_action_and_dates(
    client, people, investigator, subject01, corrected
) -> None:
    client.force_login(people[Role.DATA_MANAGER])
    all_rows = AuditEntry.objects.filter(subject=subject01).count()
    xx_rows = AuditEntry.objects.filter(subject=subject01, form_code="XX").count()
    today = timezone.localdate(timezone.now(), zoneinfo.ZoneInfo(subject01.site.time_zone))

    assert _rows(_trail(client, subject01)) == all_rows
    assert _rows(_trail(client, subject01, form="XX")) == xx_rows
    assert (
        _rows(_trail(client, subject01, visit="SCR"))
        == AuditEntry.objects.filter(subject=subject01, visit_code="SCR").count()
    )
    assert _rows(_trail(client, subject01, user="inv01")) == all_rows
    refused = _trail(client, subject01, user="dm")  # no entry of theirs: not a choice
    assert _rows(refused) == 0
    assert "Select a valid choice" in visible_text(refused)
    # the correction: systolic pressure and the pulse pressure derived from it
    assert _rows(_trail(client, subject01, action="update", form="XX")) == 2
    assert _rows(_trail(client, subject01, date_from=str(today), date_to=str(today))) == all_rows
    tomorrow = today + dt.timedelta(days=1)
    assert _rows(_trail(client, subject01, date_from=str(tomorrow))) == 0


def test_subject_trail_refuses_an_end_before_the_start(client, investigator, subject01) -> None:
    client.force_login(investigator)

    html = _trail(client, subject01, date_from="2026-05-02", date_to="2026-05-01")

    assert "The end of the range is before its start." in visible_text(html)


def test_subject_trail_pages_keep_the_filters(client, investigator, subject01) -> None:
    from crf.audit import record
    from crf.models import AuditAction

    form = save_xx(investigator, subject01)
    changes = [("SYSBP", 100 + n, 101 + n) for n in range(100)]
    record(
        actor=investigator,
        action=AuditAction.UPDATE,
        form_code="XX",
        obj=form,
        changes=changes,
        subject_id=subject01.pk,
    )
    client.force_login(investigator)

    html = _trail(client, subject01, form="XX")

    assert _rows(html) == 100
    assert "?form=XX&amp;page=2" in html


# --- The study-wide search -----------------------------------------------------------------


def test_study_search_lists_every_sites_entries_for_the_data_manager(
    client, people, investigator, subject01, subject02, corrected
) -> None:
    save_xx(investigator, subject02)
    client.force_login(people[Role.DATA_MANAGER])
    url = reverse("data_management:audit_search")

    every = visible_text(client.get(url).content.decode())
    site02 = visible_text(client.get(url, {"site": str(subject02.site_id)}).content.decode())
    one = visible_text(client.get(url, {"subject": subject01.label}).content.decode())

    total = AuditEntry.objects.count()
    assert f"{total} entries" in every
    n02 = AuditEntry.objects.filter(subject=subject02).count()
    assert f"{n02} entries" in site02
    n01 = AuditEntry.objects.filter(subject=subject01).count()
    assert f"{n01} entries" in one


def test_study_search_is_the_data_managers_only(client, people) -> None:
    for role in (Role.MONITOR, Role.INVESTIGATOR, Role.MEDICAL_MONITOR):
        client.force_login(people[role])
        assert client.get(reverse("data_management:audit_search")).status_code == 403


def test_study_csv_streams_every_filtered_entry_with_labels(
    client, people, investigator, subject01, subject02, corrected
) -> None:
    save_xx(investigator, subject02)
    client.force_login(people[Role.DATA_MANAGER])

    response = client.get(reverse("data_management:audit_csv"), {"form": "XX"})

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == AuditEntry.objects.filter(form_code="XX").count()
    change = next(r for r in rows if r["Action"] == "Changed" and r["Variable"] == "SYSBP")
    assert (change["Variable"], change["Old value"], change["New value"]) == ("SYSBP", "120", "125")
    assert change["Reason"] == "Transcription error"
    assert change["Source"] == "Data entry"
    assert change["Variable name"] == "Systolic BP"
    smoker = next(r for r in rows if r["Variable"] == "XXYN")
    assert smoker["New value"] == "Yes (Y)"
    entry = AuditEntry.objects.get(variable="SYSBP", action="update")
    assert change["Time (site)"] == timezone.localtime(
        entry.at, zoneinfo.ZoneInfo(subject01.site.time_zone)
    ).strftime("%Y-%m-%d %H:%M:%S")


# --- verify_audit's result, shown and run --------------------------------------------------


def test_data_manager_runs_the_check_and_sees_its_result(
    client, people, investigator, subject01, corrected
) -> None:
    client.force_login(people[Role.DATA_MANAGER])

    response = client.post(
        reverse("data_management:audit_check_run"), {"next": reverse("study:home")}
    )
    home = visible_text(client.get(reverse("study:home")).content.decode())

    assert response.status_code == 302
    assert response["Location"] == reverse("study:home")
    check = AuditCheck.objects.get()
    assert (check.intact, check.actor_username) == (True, "dm")
    entries = AuditEntry.objects.count()
    assert f"Audit trail intact: {entries} entries in 1 chains." in home
    assert f"Intact {entries} entries in 1 chains." in home
    assert "No anchor to compare with yet." in home


def test_a_broken_trail_shows_its_problems_on_the_search_page(
    client, people, investigator, subject01, corrected
) -> None:
    AuditCheck.objects.create(
        at=timezone.now(),
        actor_username="system",
        intact=False,
        chains=1,
        entries=3,
        problems="subject:1: the chain is missing (anchored with 7 entries)",
    )
    client.force_login(people[Role.DATA_MANAGER])

    text = visible_text(client.get(reverse("data_management:audit_search")).content.decode())

    assert "Problems found" in text
    assert "subject:1: the chain is missing (anchored with 7 entries)" in text


def test_the_check_is_not_shown_to_others(client, people) -> None:
    client.force_login(people[Role.MONITOR])

    assert "Audit trail check" not in client.get(reverse("study:home")).content.decode()


# --- Queries do not grow with the data -----------------------------------------------------


@pytest.mark.parametrize("subjects", [1, 4])
def test_audit_pages_read_a_fixed_number_of_queries(
    client, people, investigator, sites, subjects, django_assert_max_num_queries
) -> None:
    from enrollment.services import register_screening

    for _ in range(subjects):
        subject = register_screening(actor=investigator, site=sites["01"])
        form = save_xx(investigator, subject, complete=True)
        save_xx(investigator, subject, instance=form, systolic=130, reason=REASON)
    client.force_login(people[Role.DATA_MANAGER])

    with django_assert_max_num_queries(14):
        assert client.get(reverse("data_management:audit_search")).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(reverse("crf:subject_audit", kwargs={"subject_pk": subject.pk}))
    client.force_login(investigator)
    url = form_url(subject, registry.get("XX"), form)
    with django_assert_max_num_queries(40):
        assert client.get(url).status_code == 200


def test_data_management_steps_in_the_trail_show_labels(
    client, people, investigator, subject01, corrected
) -> None:
    from data_management.queries import raise_query

    raise_query(
        actor=people[Role.MONITOR],
        subject=subject01,
        form_code="XX",
        instance=corrected,
        variable="SYSBP",
        text="Please check against the chart.",
    )
    client.force_login(investigator)

    html = _trail(client, subject01, action="query")

    assert _rows(html) == 1
    root = tinyhtml5.parse(html)
    row = root.find(".//*[@data-testid='audit-row']")
    assert row is not None
    cells = [" ".join(" ".join(td.itertext()).split()) for td in row]
    # old, new (the query's status), reason (the query's text)
    assert cells[6:9] == ["", "Open", "Please check against the chart."]


def test_a_long_trail_is_checked_by_the_worker(
    client, people, investigator, subject01, corrected, settings, django_capture_on_commit_callbacks
) -> None:
    from data_management.tasks import check_audit_trail

    settings.EDC_AUDIT_CHECK_INLINE_MAX = 3
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the worker, here in the test's process
    check_audit_trail.app.conf.task_always_eager = True
    client.force_login(people[Role.DATA_MANAGER])

    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("data_management:audit_check_run"), follow=True)
    finally:
        check_audit_trail.app.conf.task_always_eager = False

    assert "it is being checked in the background" in visible_text(response.content.decode())
    check = AuditCheck.objects.get()
    assert (check.intact, check.actor_username) == (True, "dm")
