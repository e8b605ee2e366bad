"""A subject's status follows its forms on every path (issue 10 item 2).

enrolled → on treatment; EOT → in follow-up; DS (any reason but death) → off study;
DD → died (study/subject_status.py); each change audited (SUBJ STATUS, old and new, actor,
source), recomputed when a deciding form is saved or deleted, in a form, an import or a
service; shown in the subject header, the subject list and its filter, the home pages and
the enrolment dashboard.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from crf import registry
from crf.datafile import dumps, export_document, import_document, parse
from crf.models import AuditEntry
from crf.services import Reason, delete_form, save_form
from enrollment.demo import screen, screen_and_enrol, screen_and_fail
from enrollment.services import EnrolmentCapReached, enroll_subject
from outcomes.services import open_end_of_treatment, recompute_subject_status
from study import protocol
from study.models import Role, Subject, SubjectStatus
from tests.enrollment.conftest import fill_enrolled
from visits.demo import treat

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)
DAY1 = START + dt.timedelta(days=5)
LAST_DOSE = DAY1 + dt.timedelta(days=21 + 13)
EOTDAT = LAST_DOSE + dt.timedelta(days=3)
DIED = DAY1 + dt.timedelta(days=200)
ENDED = DAY1 + dt.timedelta(days=210)


@pytest.fixture
def treated(investigator, sites):
    subject = screen_and_enrol(investigator, sites["01"], start=START)
    treat(investigator, subject, day1=DAY1, cycles=2, course="SD")
    return subject


def save(actor, subject, code, values, visit=None, **kwargs):
    return save_form(
        actor=actor,
        spec=registry.get(code),
        subject=subject,
        visit=visit,
        values=values,
        complete=True,
        **kwargs,
    )


def end_treatment(actor, subject):
    visit = open_end_of_treatment(actor=actor, subject=subject)
    values = {"decided_on": EOTDAT, "last_dose_on": LAST_DOSE, "reason": "ADVERSE_EVENT"}
    return save(actor, subject, "EOT", values, visit=visit)


def die(actor, subject):
    return save(actor, subject, "DD", {"died_on": DIED, "cause": "DISEASE_PROGRESSION"})


def end_study(actor, subject, reason="CONSENT_WITHDRAWN"):
    return save(actor, subject, "DS", {"ended_on": ENDED, "reason": reason})


def status_of(subject) -> str:
    return Subject.objects.get(pk=subject.pk).status


def status_changes(subject) -> list[tuple[str | None, str | None, str, str, str, str]]:
    return [
        (e.old_value, e.new_value, e.actor_username, e.source, e.reason_code, e.file_sha256)
        for e in AuditEntry.objects.filter(subject=subject, form_code="SUBJ", variable="STATUS")
    ]


# --- Every path -----------------------------------------------------------------------------


def test_status_screening_then_enrolled_is_on_treatment_audited(investigator, sites):
    subject = screen(investigator, sites["01"], start=START)
    assert status_of(subject) == SubjectStatus.SCREENING

    enroll_subject(
        actor=investigator,
        subject=subject,
        enrolled_on=START + dt.timedelta(days=3),
        planned_day1=START + dt.timedelta(days=5),
    )

    assert status_of(subject) == SubjectStatus.ON_TREATMENT
    assert status_changes(subject) == [
        ("screening", "on_treatment", "inv01", "web", "DERIVATION", "")
    ]


def test_status_of_a_screen_failure_is_screen_failed(investigator, sites):
    subject = screen_and_fail(investigator, sites["01"], start=START, failing=("IN06",))

    assert status_of(subject) == SubjectStatus.SCREEN_FAILED
    assert [(o, n) for o, n, *_ in status_changes(subject)] == [("screening", "screen_failed")]


def test_status_with_eot_is_in_follow_up_audited(investigator, treated):
    end_treatment(investigator, treated)

    assert status_of(treated) == SubjectStatus.FOLLOW_UP
    assert status_changes(treated)[-1] == (
        "on_treatment",
        "follow_up",
        "inv01",
        "web",
        "DERIVATION",
        "",
    )


def test_status_with_ds_is_off_study(investigator, treated):
    end_treatment(investigator, treated)

    end_study(investigator, treated)

    assert status_of(treated) == SubjectStatus.OFF_STUDY
    assert status_changes(treated)[-1][:2] == ("follow_up", "off_study")


def test_status_with_ds_death_but_no_dd_is_off_study(investigator, treated):
    end_study(investigator, treated, reason="DEATH")

    assert status_of(treated) == SubjectStatus.OFF_STUDY


def test_status_with_dd_is_died_whatever_else(investigator, treated):
    end_treatment(investigator, treated)
    end_study(investigator, treated, reason="DEATH")

    die(investigator, treated)

    assert status_of(treated) == SubjectStatus.DIED
    assert [(o, n) for o, n, *_ in status_changes(treated)] == [
        ("screening", "on_treatment"),
        ("on_treatment", "follow_up"),
        ("follow_up", "off_study"),
        ("off_study", "died"),
    ]


def test_deleting_the_dd_recomputes_the_status_audited(people, investigator, treated):
    end_treatment(investigator, treated)
    death = die(investigator, treated)
    data_manager = people[Role.DATA_MANAGER]

    delete_form(
        actor=data_manager,
        spec=registry.get("DD"),
        instance=death,
        reason=Reason("ENTERED_IN_ERROR"),
    )

    assert status_of(treated) == SubjectStatus.FOLLOW_UP
    assert status_changes(treated)[-1] == ("died", "follow_up", "dm", "web", "DERIVATION", "")


def test_deleting_the_ds_and_eot_goes_back_to_on_treatment(people, investigator, treated):
    eot = end_treatment(investigator, treated)
    ds = end_study(investigator, treated, reason="COMPLETED")
    data_manager = people[Role.DATA_MANAGER]

    delete_form(
        actor=data_manager, spec=registry.get("DS"), instance=ds, reason=Reason("OTHER", "x")
    )
    assert status_of(treated) == SubjectStatus.FOLLOW_UP
    delete_form(
        actor=data_manager, spec=registry.get("EOT"), instance=eot, reason=Reason("OTHER", "y")
    )
    assert status_of(treated) == SubjectStatus.ON_TREATMENT


def test_a_dd_entered_in_the_web_form_gives_died(client, investigator, treated):
    client.force_login(investigator)

    response = client.post(
        reverse("crf:form", kwargs={"subject_pk": treated.pk, "form_code": "DD"}),
        {
            "version": "0",
            "died_on": DIED.isoformat(),
            "cause": "DISEASE_PROGRESSION",
            "cause_detail": "",
            "autopsy": "",
            "mark_complete": "on",
        },
    )

    assert response.status_code == 302
    assert status_of(treated) == SubjectStatus.DIED
    assert status_changes(treated)[-1] == ("on_treatment", "died", "inv01", "web", "DERIVATION", "")


def test_an_import_of_a_file_with_dd_gives_died_audited_as_imported(people, investigator, treated):
    document = export_document()
    (entry,) = document["subjects"]
    entry["forms"].append(
        {"form": "DD", "data": {"DTHDAT": DIED.isoformat(), "DTHCAUS": "DISEASE_PROGRESSION"}}
    )
    text = dumps(document)
    sha = hashlib.sha256(text.encode()).hexdigest()

    report = import_document(
        document=parse(text),
        actor=people[Role.DATA_MANAGER],
        reason="death reported by the site",
        file_sha256=sha,
    )

    assert report.errors == []
    assert status_of(treated) == SubjectStatus.DIED
    change = AuditEntry.objects.filter(subject=treated, form_code="SUBJ", variable="STATUS").last()
    assert (
        change.old_value,
        change.new_value,
        change.actor_username,
        change.source,
        change.reason_code,
        change.reason_text,
        change.file_sha256,
    ) == ("on_treatment", "died", "dm", "import", "DATA_IMPORT", "death reported by the site", sha)


def test_an_import_corrects_a_status_its_forms_do_not_change(people, investigator, treated):
    end_treatment(investigator, treated)
    Subject.objects.filter(pk=treated.pk).update(status=SubjectStatus.ON_TREATMENT)  # stale
    text = dumps(export_document())

    report = import_document(
        document=parse(text),
        actor=people[Role.DATA_MANAGER],
        reason="re-import",
        file_sha256=hashlib.sha256(text.encode()).hexdigest(),
    )

    assert (report.errors, report.summary.forms_changed) == ([], 0)
    assert status_of(treated) == SubjectStatus.FOLLOW_UP
    assert status_changes(treated)[-1][:5] == (
        "on_treatment",
        "follow_up",
        "dm",
        "import",
        "DATA_IMPORT",
    )


def test_recomputing_a_right_status_writes_nothing(investigator, treated):
    before = AuditEntry.objects.count()

    assert recompute_subject_status(actor=None, subject=treated) == SubjectStatus.ON_TREATMENT
    assert AuditEntry.objects.count() == before


def test_the_migration_corrects_existing_subjects_as_the_system(investigator, treated, sites):
    end_treatment(investigator, treated)
    die(investigator, treated)
    waiting = screen(investigator, sites["02"], start=START)
    Subject.objects.filter(pk=treated.pk).update(status=SubjectStatus.ON_TREATMENT)  # as before
    migration = importlib.import_module("outcomes.migrations.0002_recompute_subject_status")

    migration.recompute_statuses(apps, None)

    assert status_of(treated) == SubjectStatus.DIED
    assert status_of(waiting) == SubjectStatus.SCREENING
    assert status_changes(treated)[-1] == (
        "on_treatment",
        "died",
        "system",
        "service",
        "DERIVATION",
        "",
    )
    assert AuditEntry.objects.filter(subject=waiting, variable="STATUS").count() == 0


def test_the_migrations_audit_entries_keep_the_hash_chain(investigator, treated):
    from crf.audit import ChainProblem, verify_chains

    end_treatment(investigator, treated)
    Subject.objects.filter(pk=treated.pk).update(status=SubjectStatus.ON_TREATMENT)
    migration = importlib.import_module("outcomes.migrations.0002_recompute_subject_status")

    migration.recompute_statuses(apps, None)
    die(investigator, treated)  # the application appends after the migration's entry

    assert [p for p in verify_chains() if isinstance(p, ChainProblem)] == []


def test_a_subject_who_died_still_counts_towards_the_enrolment_cap(investigator, sites, treated):
    die(investigator, treated)
    fill_enrolled(sites["02"], protocol.TARGET_ENROLMENT - 1)
    one_too_many = screen(investigator, sites["01"], start=START)

    with pytest.raises(EnrolmentCapReached):
        enroll_subject(
            actor=investigator,
            subject=one_too_many,
            enrolled_on=START + dt.timedelta(days=3),
            planned_day1=START + dt.timedelta(days=5),
        )
    assert status_of(treated) == SubjectStatus.DIED


# --- Where people see it ----------------------------------------------------------------------


def test_the_subject_header_shows_in_follow_up_after_eot(client, investigator, treated):
    end_treatment(investigator, treated)
    client.force_login(investigator)

    page = client.get(reverse("crf:subject_detail", kwargs={"subject_pk": treated.pk}))

    header = page.content.decode().split("<h1", 1)[1].split("</p>", 1)[0]
    assert '<strong class="text-body" data-testid="subject-status">In follow-up</strong>' in header
    assert "Enrolled / on treatment" not in header


def test_the_subject_list_shows_and_filters_the_status(client, investigator, treated, sites):
    end_treatment(investigator, treated)
    waiting = screen(investigator, sites["01"], start=START)
    client.force_login(investigator)

    page = client.get(reverse("crf:subject_list")).content.decode()
    follow_up = client.get(reverse("crf:subject_list"), {"status": "follow_up"})
    on_treatment = client.get(reverse("crf:subject_list"), {"status": "on_treatment"})

    row = page.split(f">{treated.subject_id}</a>", 1)[1].split("</tr>", 1)[0]
    assert "<td>In follow-up</td>" in row
    assert [s.pk for s in follow_up.context["page"].object_list] == [treated.pk]
    assert list(on_treatment.context["page"].object_list) == []
    assert waiting.pk not in [s.pk for s in follow_up.context["page"].object_list]


def test_the_home_page_shows_died(client, people, treated):
    die(people[Role.INVESTIGATOR], treated)
    client.force_login(people[Role.STUDY_COORDINATOR])

    page = client.get(reverse("study:home")).content.decode()

    recent = page.split('id="recent-heading"', 1)[1].split("</section>", 1)[0]
    assert f'{treated.subject_id}</a><span class="text-muted small">01 · Died</span>' in recent


def test_the_dashboard_counts_subjects_by_their_status(client, people, investigator, sites):
    on_treatment, follow_up, off_study, died = (
        screen_and_enrol(investigator, sites["01"], start=START) for _ in range(4)
    )
    for subject in (follow_up, off_study, died):
        treat(investigator, subject, day1=DAY1, cycles=2, course="SD")
        end_treatment(investigator, subject)
    end_study(investigator, off_study, reason="LOST_TO_FOLLOWUP")
    die(investigator, died)
    screen_and_fail(investigator, sites["01"], start=START, failing=("IN06",))
    client.force_login(people[Role.STUDY_COORDINATOR])

    response = client.get(reverse("enrollment:dashboard"))

    statuses = [(s.status, s.label, s.count) for s in response.context["dashboard"].statuses]
    assert statuses == [
        ("screening", "Screening", 0),
        ("screen_failed", "Screen failed", 1),
        ("on_treatment", "Enrolled / on treatment", 1),
        ("follow_up", "In follow-up", 1),
        ("off_study", "Off study", 1),
        ("died", "Died", 1),
    ]
    table = response.content.decode().split('data-testid="status-table"', 1)[1]
    for label in ("In follow-up", "Off study", "Died"):
        assert (
            f'<th scope="row" class="fw-normal">{label}</th>\n              <td class="text-end">1</td>'
            in table
        )
    assert "<strong>4 / 28</strong>" in response.content.decode()  # every enrolled subject
