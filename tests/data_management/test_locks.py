"""Locks: the services, and every write path refused under each kind of lock, naming it."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from crf import registry
from crf.datafile import dumps, export_document
from crf.models import AuditEntry, Visit
from crf.services import Reason, SubjectBatch, delete_form, save_form
from data_management import locks
from data_management.models import Lock, LockLevel
from enrollment.models import EligibilityCriterion
from enrollment.services import (
    enroll_subject,
    raise_enrolment_target,
    record_screen_failure,
    register_screening,
    save_criterion,
)
from outcomes.services import open_end_of_treatment
from study.models import Role, StudyParameters, Subject
from tests.crf.test_datafile import counts, document, run_import
from tests.crftest.models import DemoLog, DemoVitals
from visits.services import declare_missed

pytestmark = pytest.mark.django_db

# The lock's day in the site's zone (the sites of the tests: the study's default zone).
TODAY = timezone.localdate(timezone=ZoneInfo(settings.EDC_DEFAULT_SITE_TIME_ZONE)).isoformat()
VITALS = {"assessed_on": dt.date(2026, 3, 2), "systolic": 120, "diastolic": 80}
LOG = {"logged_on": dt.date(2026, 3, 3), "term": "Headache"}
REASON = Reason("TRANSCRIPTION_ERROR", "")


@pytest.fixture
def dm(people: dict[Role, Any]) -> Any:
    return people[Role.DATA_MANAGER]


@pytest.fixture
def inv(people: dict[Role, Any]) -> Any:
    return people[Role.INVESTIGATOR]


@pytest.fixture
def scr(subject01: Subject) -> Visit:
    return Visit.objects.get(subject=subject01, code="SCR")


@pytest.fixture
def vitals(inv: Any, subject01: Subject, scr: Visit) -> DemoVitals:
    form = save_form(
        actor=inv, spec=registry.get("XX"), subject=subject01, visit=scr, values=VITALS
    )
    assert isinstance(form, DemoVitals)
    return form


@pytest.fixture
def log(inv: Any, subject01: Subject) -> DemoLog:
    form = save_form(actor=inv, spec=registry.get("XL"), subject=subject01, values=LOG)
    assert isinstance(form, DemoLog)
    return form


def change_vitals(actor: Any, form: DemoVitals) -> Any:
    return save_form(
        actor=actor,
        spec=registry.get("XX"),
        subject=form.subject,
        visit=form.visit,
        instance=form,
        values={**VITALS, "systolic": 130},
    )


def add_log(actor: Any, subject: Subject) -> Any:
    return save_form(actor=actor, spec=registry.get("XL"), subject=subject, values=LOG)


def refused(call: Any, *args: Any, **kwargs: Any) -> str:
    """The message of the ValidationError the call raises."""
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return " ".join(caught.value.messages)


# --- The messages ---------------------------------------------------------------------------


def test_a_study_lock_refuses_a_form_save_naming_level_who_when_and_why(dm, inv, vitals) -> None:
    locks.lock_study(actor=dm, reason="database lock for the final analysis")

    message = refused(change_vitals, inv, vitals)

    assert message == (
        f"Locked: the study was locked by dm on {TODAY} (database lock for the final analysis)"
    )


def test_each_level_names_what_is_locked(dm, inv, subject01, scr, vitals) -> None:
    lock = locks.lock_form(actor=dm, spec=registry.get("XX"), instance=vitals, reason="SDV done")
    assert refused(change_vitals, inv, vitals) == (
        f"Locked: Test vitals (XX) at SCR of subject S01-001 was locked by dm on {TODAY} (SDV done)"
    )
    locks.unlock(actor=dm, lock=lock, reason="query on SYSBP")
    lock = locks.lock_visit(actor=dm, visit=scr, reason="visit cleaned")
    assert refused(change_vitals, inv, vitals) == (
        f"Locked: visit SCR of subject S01-001 was locked by dm on {TODAY} (visit cleaned)"
    )
    locks.unlock(actor=dm, lock=lock, reason="late lab")
    locks.lock_subject(actor=dm, subject=subject01, reason="casebook complete")
    assert refused(change_vitals, inv, vitals) == (
        f"Locked: subject S01-001 was locked by dm on {TODAY} (casebook complete)"
    )


# --- A form lock ------------------------------------------------------------------------------


def test_a_form_lock_refuses_changing_and_deleting_that_form_only(
    dm, inv, subject01, vitals, log
) -> None:
    locks.lock_form(actor=dm, spec=registry.get("XX"), instance=vitals, reason="verified")

    assert refused(change_vitals, inv, vitals).startswith("Locked: Test vitals (XX)")
    message = refused(
        delete_form, actor=inv, spec=registry.get("XX"), instance=vitals, reason=REASON
    )
    assert message.startswith("Locked: Test vitals (XX)")
    vitals.refresh_from_db()
    assert (vitals.systolic, vitals.is_deleted, vitals.version) == (120, False, 1)
    # The rest of the subject is open: another form, a new log record.
    changed = save_form(
        actor=inv,
        spec=registry.get("XL"),
        subject=subject01,
        instance=log,
        values={**LOG, "term": "Migraine"},
    )
    assert isinstance(changed, DemoLog) and changed.term == "Migraine"
    assert add_log(inv, subject01).pk


def test_a_form_lock_refuses_the_subject_batch_of_the_import(dm, inv, subject01, vitals) -> None:
    locks.lock_form(actor=dm, spec=registry.get("XX"), instance=vitals, reason="verified")

    with transaction.atomic():
        batch = SubjectBatch(actor=inv, subject=subject01)
        message = refused(
            batch.save,
            spec=registry.get("XX"),
            visit=vitals.visit,
            instance=vitals,
            values={**VITALS, "systolic": 140},
        )

    assert message.startswith("Locked: Test vitals (XX)")


# --- A visit lock -----------------------------------------------------------------------------


def test_a_visit_lock_refuses_its_forms_new_or_changed_and_declaring_it_missed(
    dm, inv, subject01, scr, vitals
) -> None:
    locks.lock_visit(actor=dm, visit=scr, reason="visit cleaned")

    assert refused(change_vitals, inv, vitals).startswith("Locked: visit SCR")
    delete = refused(
        delete_form, actor=inv, spec=registry.get("XX"), instance=vitals, reason=REASON
    )
    assert delete.startswith("Locked: visit SCR")
    assert refused(declare_missed, actor=inv, visit=scr, reason="no show").startswith(
        "Locked: visit SCR"
    )
    # A log form belongs to no visit: still open.
    assert add_log(inv, subject01).pk


def test_a_visit_lock_refuses_a_new_form_at_the_visit(dm, inv, subject01, scr) -> None:
    locks.lock_visit(actor=dm, visit=scr, reason="visit cleaned")

    message = refused(
        save_form, actor=inv, spec=registry.get("XX"), subject=subject01, visit=scr, values=VITALS
    )

    assert message.startswith("Locked: visit SCR")
    assert not DemoVitals.objects.exists()


# --- A subject lock ---------------------------------------------------------------------------


def test_a_subject_lock_refuses_every_write_to_the_subject_only(
    dm, inv, subject01, subject02, vitals, log
) -> None:
    locks.lock_subject(actor=dm, subject=subject01, reason="casebook complete")

    expected = "Locked: subject S01-001"
    assert refused(change_vitals, inv, vitals).startswith(expected)
    assert refused(add_log, inv, subject01).startswith(expected)
    assert refused(
        delete_form, actor=inv, spec=registry.get("XL"), instance=log, reason=REASON
    ).startswith(expected)
    assert refused(
        record_screen_failure, actor=inv, subject=subject01, criteria=["IN01"]
    ).startswith(expected)
    assert refused(
        enroll_subject,
        actor=inv,
        subject=subject01,
        enrolled_on=dt.date(2026, 3, 5),
        planned_day1=dt.date(2026, 3, 7),
    ).startswith(expected)
    assert refused(open_end_of_treatment, actor=inv, subject=subject01).startswith(expected)
    assert refused(
        declare_missed, actor=inv, visit=subject01.visits.get(code="SCR"), reason="x"
    ).startswith(expected)
    # Another subject is open.
    assert add_log(inv, subject02).pk


# --- The study lock ---------------------------------------------------------------------------


def test_a_study_lock_refuses_every_service_that_writes(dm, inv, sites, subject01, vitals) -> None:
    locks.lock_study(actor=dm, reason="final analysis")
    expected = "Locked: the study was locked by dm"

    assert refused(change_vitals, inv, vitals).startswith(expected)
    assert refused(add_log, inv, subject01).startswith(expected)
    assert refused(
        delete_form, actor=inv, spec=registry.get("XX"), instance=vitals, reason=REASON
    ).startswith(expected)
    assert refused(register_screening, actor=inv, site=sites["01"]).startswith(expected)
    assert refused(
        record_screen_failure, actor=inv, subject=subject01, criteria=["IN01"]
    ).startswith(expected)
    assert refused(
        declare_missed, actor=inv, visit=subject01.visits.get(code="SCR"), reason="x"
    ).startswith(expected)
    assert refused(raise_enrolment_target, actor=dm, target=99, reason="more").startswith(expected)
    criterion = EligibilityCriterion.objects.first()
    assert criterion is not None
    assert refused(
        save_criterion,
        actor=dm,
        criterion=criterion,
        text="changed",
        kind=criterion.kind,
        reason="typo",
    ).startswith(expected)
    with transaction.atomic():
        batch = SubjectBatch(actor=inv, subject=subject01)
        assert refused(batch.save, spec=registry.get("XL"), values=LOG).startswith(expected)
    assert Subject.objects.count() == 1
    assert StudyParameters.objects.current().target_enrolment != 99


def test_a_study_lock_refuses_the_import_and_its_preview_writing_nothing(dm, sites) -> None:
    locks.lock_study(actor=dm, reason="final analysis")
    before = counts()

    preview = run_import(dm, document(), dry_run=True)
    real = run_import(dm, document())

    expected = f"Locked: the study was locked by dm on {TODAY} (final analysis)"
    assert [e.message for e in preview.errors] == [expected]
    assert [e.message for e in real.errors] == [expected]
    assert counts() == before


def test_a_subject_lock_refuses_an_import_that_changes_the_subject(dm, sites) -> None:
    assert run_import(dm, document()).errors == []
    subject = Subject.objects.get(screening_id="S03-001")
    locks.lock_subject(actor=dm, subject=subject, reason="casebook complete")
    doc = document()
    doc["subjects"][0]["forms"][6]["data"]["SYSBP"] = 150  # XX at C1D1
    before = counts()

    report = run_import(dm, doc)

    assert {(e.subject, e.form, e.message.split(" was")[0]) for e in report.errors} == {
        ("03-001", "XX", "Locked: subject 03-001")
    }
    assert counts() == before
    # The same file unchanged writes nothing and is no error.
    assert run_import(dm, document()).errors == []


def test_reading_and_the_export_work_under_a_study_lock(dm, sites) -> None:
    assert run_import(dm, document()).errors == []
    before = export_document(user=dm)
    locks.lock_study(actor=dm, reason="final analysis")

    after = export_document(user=dm)

    assert dumps(after["subjects"]) == dumps(before["subjects"])
    assert len(after["subjects"]) == 1


def test_the_demo_builders_are_refused_under_a_study_lock(dm, inv, sites) -> None:
    from enrollment.demo import screen

    locks.lock_study(actor=dm, reason="final analysis")

    with pytest.raises(ValidationError):
        screen(inv, sites["01"], start=dt.date(2026, 3, 2))
    assert Subject.objects.count() == 0


# --- Unlocking, the rows and the audit trail --------------------------------------------------


def test_unlocking_restores_editing_and_keeps_the_lock_row(dm, inv, subject01, vitals) -> None:
    lock = locks.lock_subject(actor=dm, subject=subject01, reason="casebook complete")
    assert refused(change_vitals, inv, vitals)

    locks.unlock_subject(actor=dm, subject=subject01, reason="late lab result")

    assert change_vitals(inv, vitals).systolic == 130
    lock.refresh_from_db()
    assert (lock.level, lock.reason, lock.unlocked_by, lock.unlock_reason) == (
        LockLevel.SUBJECT,
        "casebook complete",
        dm,
        "late lab result",
    )
    assert lock.unlocked_at is not None
    with pytest.raises(PermissionError):
        lock.delete()


def test_each_step_is_in_the_subjects_audit_chain(dm, subject01, scr, vitals) -> None:
    spec = registry.get("XX")
    locks.lock_form(actor=dm, spec=spec, instance=vitals, reason="r1")
    locks.unlock_form(actor=dm, instance=vitals, reason="r2")
    locks.lock_visit(actor=dm, visit=scr, reason="r3")
    locks.unlock_visit(actor=dm, visit=scr, reason="r4")
    locks.lock_subject(actor=dm, subject=subject01, reason="r5")
    locks.unlock_subject(actor=dm, subject=subject01, reason="r6")

    entries = AuditEntry.objects.filter(action__in=["lock", "unlock"]).order_by("id")
    assert [
        (e.chain, e.action, e.form_code, e.visit_code, e.old_value, e.new_value, e.reason_text)
        for e in entries
    ] == [
        (f"subject:{subject01.pk}", "lock", "XX", "SCR", None, "form", "r1"),
        (f"subject:{subject01.pk}", "unlock", "XX", "SCR", "form", None, "r2"),
        (f"subject:{subject01.pk}", "lock", "VISIT", "SCR", None, "visit", "r3"),
        (f"subject:{subject01.pk}", "unlock", "VISIT", "SCR", "visit", None, "r4"),
        (f"subject:{subject01.pk}", "lock", "SUBJ", "", None, "subject", "r5"),
        (f"subject:{subject01.pk}", "unlock", "SUBJ", "", "subject", None, "r6"),
    ]
    assert {e.actor_username for e in entries} == {"dm"}
    assert Lock.objects.count() == 3


def test_the_study_lock_is_in_the_study_chain_and_anchors_the_trail(
    dm, sites, settings, tmp_path, django_capture_on_commit_callbacks
) -> None:
    settings.EDC_AUDIT_ANCHOR_LOG = str(tmp_path / "anchors.jsonl")
    with django_capture_on_commit_callbacks(execute=True):
        locks.lock_study(actor=dm, reason="final analysis")
    locks.unlock_study(actor=dm, reason="a late SAE follow-up")

    entries = AuditEntry.objects.filter(chain="study", action__in=["lock", "unlock"])
    assert [(e.action, e.form_code, e.subject_id, e.reason_text) for e in entries] == [
        ("lock", "STUDY", None, "final analysis"),
        ("unlock", "STUDY", None, "a late SAE follow-up"),
    ]
    anchors = (tmp_path / "anchors.jsonl").read_text().splitlines()
    assert len(anchors) == 1 and "study lock" in anchors[0]


# --- What the services refuse -----------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role if r != Role.DATA_MANAGER])
def test_only_a_data_manager_locks(people, subject01, role) -> None:
    with pytest.raises(PermissionDenied):
        locks.lock_subject(actor=people[role], subject=subject01, reason="x")
    with pytest.raises(PermissionDenied):
        locks.lock_study(actor=people[role], reason="x")
    assert not Lock.objects.exists()


def test_a_lock_and_an_unlock_need_a_reason(dm, subject01) -> None:
    with pytest.raises(ValidationError) as caught:
        locks.lock_subject(actor=dm, subject=subject01, reason="  ")
    assert caught.value.message_dict == {"reason": ["Give the reason for locking."]}
    locks.lock_subject(actor=dm, subject=subject01, reason="done")
    with pytest.raises(ValidationError) as caught:
        locks.unlock_subject(actor=dm, subject=subject01, reason="")
    assert caught.value.message_dict == {"reason": ["Give the reason for unlocking."]}


def test_locking_twice_or_unlocking_what_is_not_locked_is_refused(dm, subject01) -> None:
    locks.lock_subject(actor=dm, subject=subject01, reason="done")
    assert refused(locks.lock_subject, actor=dm, subject=subject01, reason="again") == (
        "This is locked already."
    )
    assert refused(locks.unlock_study, actor=dm, reason="x") == "This is not locked."
    lock = locks.unlock_subject(actor=dm, subject=subject01, reason="x")
    assert refused(locks.unlock, actor=dm, lock=lock, reason="again") == "This is not locked."


def test_under_a_study_lock_only_the_study_unlock_is_allowed(dm, subject01, scr) -> None:
    subject_lock = locks.lock_subject(actor=dm, subject=subject01, reason="done")
    locks.lock_study(actor=dm, reason="final analysis")
    expected = "Locked: the study was locked by dm"

    assert refused(locks.lock_visit, actor=dm, visit=scr, reason="x").startswith(expected)
    assert refused(locks.unlock, actor=dm, lock=subject_lock, reason="x").startswith(expected)
    assert refused(locks.lock_study, actor=dm, reason="x") == "This is locked already."
    locks.unlock_study(actor=dm, reason="reopened")
    locks.unlock(actor=dm, lock=subject_lock, reason="x")
    assert not Lock.objects.filter(unlocked_at__isnull=True).exists()


def test_a_deleted_form_cannot_be_locked(dm, inv, log) -> None:
    delete_form(actor=inv, spec=registry.get("XL"), instance=log, reason=REASON)
    log.refresh_from_db()

    assert (
        refused(locks.lock_form, actor=dm, spec=registry.get("XL"), instance=log, reason="x")
        == "A deleted form cannot be locked."
    )


# --- The commands -----------------------------------------------------------------------------


def test_lock_study_and_unlock_study_commands_as_the_first_data_manager(dm, inv, vitals) -> None:
    out = io.StringIO()
    call_command("lock_study", "--reason", "database lock", stdout=out)

    assert out.getvalue().startswith("The study is locked by dm at ")
    assert refused(change_vitals, inv, vitals).startswith("Locked: the study was locked by dm")
    with pytest.raises(CommandError, match="This is locked already."):
        call_command("lock_study", "--reason", "again")

    call_command("unlock_study", "--reason", "reopened", stdout=out)

    assert "The study is unlocked by dm" in out.getvalue()
    assert change_vitals(inv, vitals).systolic == 130
    with pytest.raises(CommandError, match="This is not locked."):
        call_command("unlock_study", "--reason", "again")


def test_the_commands_need_a_reason_and_a_data_manager(people, make_person) -> None:
    with pytest.raises(CommandError, match="Give the reason"):
        call_command("lock_study", "--reason", " ")
    with pytest.raises(CommandError, match="inv01 may not lock data"):
        call_command("lock_study", "--reason", "x", "--user", "inv01")
    with pytest.raises(CommandError, match="No active user 'nobody'"):
        call_command("lock_study", "--reason", "x", "--user", "nobody")
    dm = people[Role.DATA_MANAGER]
    dm.is_active = False
    dm.save()
    with pytest.raises(CommandError, match="No active data manager"):
        call_command("unlock_study", "--reason", "x")
    second = make_person("dm2", Role.DATA_MANAGER)
    call_command("lock_study", "--reason", "x", stdout=io.StringIO())
    assert Lock.objects.get().locked_by == second


def test_the_import_command_is_refused_under_a_study_lock(dm, sites, tmp_path) -> None:
    locks.lock_study(actor=dm, reason="final analysis")
    path = tmp_path / "study.json"
    path.write_text(dumps(document()), encoding="utf-8")

    with pytest.raises(CommandError, match="1 errors: nothing was imported"):
        call_command("import_study_data", str(path), "--reason", "x", stderr=io.StringIO())


# --- Under concurrency (PostgreSQL) -----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_study_lock_amid_parallel_saves_lets_none_through_after_it(people, sites) -> None:
    """Each save either commits before the lock (the lock waits for the subjects it is
    writing) or is refused naming it; none is written after the lock."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    inv, dm = people[Role.INVESTIGATOR], people[Role.DATA_MANAGER]
    SAVES = 4  # noqa: N806  (a subject's saves, one after another on its row)
    subjects = [register_screening(actor=inv, site=sites["01"]) for _ in range(8)]
    start = threading.Barrier(len(subjects) * SAVES + 1)

    def save(subject_pk: int) -> str:
        try:
            start.wait()
            add_log(inv, Subject.objects.get(pk=subject_pk))
            return "saved"
        except ValidationError as error:
            return " ".join(error.messages)
        finally:
            connections.close_all()

    def lock() -> str:
        try:
            start.wait()
            time.sleep(0.01)  # amid the saves
            locks.lock_study(actor=dm, reason="final analysis")
            return "locked"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(subjects) * SAVES + 1) as pool:
        locking = pool.submit(lock)
        results = list(pool.map(save, [s.pk for s in subjects for _ in range(SAVES)]))

    assert locking.result() == "locked"
    lock_row = Lock.objects.get(level=LockLevel.STUDY)
    refusals = [r for r in results if r != "saved"]
    assert all(r.startswith("Locked: the study was locked by dm") for r in refusals)
    written = list(DemoLog.objects.values_list("modified_at", flat=True))
    assert len(written) == results.count("saved")
    assert all(at < lock_row.locked_at for at in written)
    assert refused(add_log, inv, subjects[0]).startswith("Locked: the study")
