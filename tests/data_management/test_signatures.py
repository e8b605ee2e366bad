"""PI signatures, the services: what is hashed, who may sign, the password, invalidation by
any later change, and what awaits a signature (issue 12, "Signatures"; 21 CFR Part 11
§11.50, §11.70, §11.200)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from crf import registry
from crf.models import AuditAction, AuditEntry, Visit
from crf.services import Reason, SubjectBatch, delete_form, save_form
from data_management import signatures
from data_management.models import Signature, SignatureScope
from study.models import AuthEvent, AuthEventKind, Role, Subject, SubjectStatus
from study.services import upsert_person
from tests.conftest import PASSWORD
from tests.factories import save_xx

pytestmark = pytest.mark.django_db

LESIONS = [{"lesion_id": "L1", "diameter": "21.0"}, {"lesion_id": "L2", "diameter": "9.5"}]


@pytest.fixture
def pi(sites: dict[str, Any], people: dict[Role, Any]) -> Any:
    """The principal investigator of site 01 (``inv01`` of the shared fixtures is a
    sub-investigator: an investigator without the PI mark)."""
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
def pi02(sites: dict[str, Any]) -> Any:
    return upsert_person(
        username="pi02",
        password=PASSWORD,
        role=Role.INVESTIGATOR,
        sites=[sites["02"]],
        is_principal_investigator=True,
    )


@pytest.fixture
def scr(subject01: Subject) -> Visit:
    return Visit.objects.get(subject=subject01, code="SCR")


@pytest.fixture
def vitals(investigator: Any, subject01: Subject) -> Any:
    """A complete XX form at SCR with two lesion rows."""
    return save_xx(investigator, subject01, complete=True, lesions=LESIONS)


def _log(actor: Any, subject: Subject, term: str = "Headache") -> Any:
    return save_form(
        actor=actor,
        spec=registry.get("XL"),
        subject=subject,
        values={"logged_on": dt.date(2026, 1, 6), "term": term},
        complete=True,
        today=dt.date(2026, 11, 23),
    )


def _fresh(user: Any) -> Any:
    """The user as a new request loads it (memberships are kept on the user object)."""
    return type(user).objects.get(pk=user.pk)


def _sign(actor: Any, subject: Subject, visit: Visit | None = None, **kwargs: Any) -> Signature:
    return signatures.sign(
        actor=_fresh(actor), subject=subject, visit=visit, password=PASSWORD, **kwargs
    )


# --- The hash of the data signed ------------------------------------------------------------


def test_hash_is_the_same_for_the_same_data(subject01, scr, vitals) -> None:
    first = signatures.data_sha256(subject01, scr)

    assert signatures.data_sha256(subject01, scr) == first
    assert len(first) == 64


def test_hash_covers_every_value_and_row_in_a_canonical_text(subject01, scr, vitals) -> None:
    text = signatures.canonical_text(subject01, scr, signatures.signed_forms(subject01, scr))

    assert '"SYSBP":"120"' in text
    assert '"LS":[{"LDIAM":"21.0","LID":"L1"},{"LDIAM":"9.5","LID":"L2"}]' in text
    assert text.index('"forms"') < text.index('"scope"') < text.index('"subject"')  # sorted


def test_hash_changes_with_a_value_and_with_a_row(investigator, subject01, scr, vitals) -> None:
    before = signatures.data_sha256(subject01, scr)
    changed = save_xx(
        investigator, subject01, instance=vitals, systolic=121, reason=Reason("TRANSCRIPTION_ERROR")
    )
    after_value = signatures.data_sha256(subject01, scr)
    save_xx(
        investigator,
        subject01,
        instance=changed,
        lesions=[*LESIONS, {"lesion_id": "L3", "diameter": "5.0"}],
        reason=Reason("NEW_SOURCE_INFORMATION"),
    )

    assert len({before, after_value, signatures.data_sha256(subject01, scr)}) == 3


def test_saving_without_a_change_keeps_the_hash(investigator, subject01, scr, vitals) -> None:
    before = signatures.data_sha256(subject01, scr)

    save_xx(investigator, subject01, instance=vitals, complete=True, lesions=LESIONS)

    assert signatures.data_sha256(subject01, scr) == before


def test_casebook_hash_covers_log_forms(investigator, subject01, vitals) -> None:
    before = signatures.data_sha256(subject01)

    _log(investigator, subject01)

    assert signatures.data_sha256(subject01) != before
    assert [f.spec.code for f in signatures.signed_forms(subject01)] == ["XX", "XL"]  # visits first


# --- Signing ---------------------------------------------------------------------------------


def test_pi_signs_a_visit_with_name_time_zone_meaning_and_hash(pi, subject01, scr, vitals) -> None:
    signature = _sign(pi, subject01, scr)

    assert signature.scope == SignatureScope.VISIT
    assert signature.visit == scr
    assert signature.printed_name == "Wei Zhang"
    assert signature.site_time_zone == "Asia/Shanghai"
    assert abs(timezone.now() - signature.signed_at) < dt.timedelta(minutes=1)
    assert signature.meaning == (
        f"I have reviewed the data of visit SCR of subject {subject01.label} as recorded in this "
        "electronic case report form and attest that, to the best of my knowledge, they are "
        "accurate and complete and agree with the source documents."
    )
    assert signature.data_sha256 == signatures.data_sha256(subject01, scr)
    assert signature.invalidated_at is None


def test_signing_is_audited_in_the_subjects_chain(pi, subject01, scr, vitals) -> None:
    signature = _sign(pi, subject01, scr)

    entry = AuditEntry.objects.filter(subject_id=subject01.pk).order_by("-id").first()
    assert entry is not None
    assert (entry.action, entry.visit_code, entry.actor_username) == (
        AuditAction.SIGN,
        "SCR",
        "pi01",
    )
    assert entry.new_value == f"Wei Zhang; SCR; SHA-256 {signature.data_sha256}"
    assert entry.reason_text == signature.meaning


def test_pi_signs_the_casebook(pi, investigator, subject01, vitals) -> None:
    _log(investigator, subject01)

    signature = _sign(pi, subject01)

    assert (signature.scope, signature.visit) == (SignatureScope.CASEBOOK, None)
    assert signature.meaning.startswith(
        f"I have reviewed all the data of subject {subject01.label}"
    )
    assert signature.data_sha256 == signatures.data_sha256(subject01)


@pytest.mark.parametrize("who", ["sub_investigator", "site_coordinator", "monitor", "other_pi"])
def test_only_a_pi_of_the_site_may_sign(people, pi02, subject01, scr, vitals, who) -> None:
    actor = {
        "sub_investigator": people[Role.INVESTIGATOR],
        "site_coordinator": people[Role.SITE_COORDINATOR],
        "monitor": people[Role.MONITOR],
        "other_pi": pi02,
    }[who]

    with pytest.raises(PermissionDenied):
        _sign(actor, subject01, scr)

    assert not Signature.objects.exists()


def test_a_wrong_password_is_refused_and_logged(pi, subject01, scr, vitals) -> None:
    with pytest.raises(ValidationError) as refused:
        signatures.sign(actor=_fresh(pi), subject=subject01, visit=scr, password="not-mine-at-all")

    assert "The password is not correct; nothing was signed." in str(refused.value)
    assert not Signature.objects.exists()
    assert list(AuthEvent.objects.values_list("kind", "username")) == [
        (AuthEventKind.LOGIN_FAILED, "pi01")
    ]


def test_nothing_to_sign_is_refused(pi, subject01, scr) -> None:
    with pytest.raises(ValidationError, match="nothing to sign"):
        _sign(pi, subject01, scr)


def test_data_changed_since_the_page_was_opened_are_not_signed(
    pi, investigator, subject01, scr, vitals
) -> None:
    shown = signatures.data_sha256(subject01, scr)
    save_xx(
        investigator, subject01, instance=vitals, systolic=125, reason=Reason("TRANSCRIPTION_ERROR")
    )

    with pytest.raises(ValidationError, match="The data changed since this page was opened"):
        _sign(pi, subject01, scr, expected_sha256=shown)

    assert not Signature.objects.exists()


def test_the_same_data_are_not_signed_twice(pi, subject01, scr, vitals) -> None:
    _sign(pi, subject01, scr)

    with pytest.raises(ValidationError, match="These data are already signed."):
        _sign(pi, subject01, scr)

    assert Signature.objects.count() == 1


# --- Invalidation ----------------------------------------------------------------------------


def test_a_change_to_the_signed_visit_invalidates_its_signature(
    pi, investigator, subject01, scr, vitals
) -> None:
    signature = _sign(pi, subject01, scr)

    save_xx(
        investigator,
        subject01,
        instance=vitals,
        systolic=131,
        complete=True,
        reason=Reason("TRANSCRIPTION_ERROR"),
    )

    signature.refresh_from_db()
    assert signature.invalidated_at is not None
    assert signature.invalidated_by == investigator
    with timezone.override(signatures.site_zone(subject01.site)):
        when = timezone.localtime(signature.invalidated_at).strftime("%Y-%m-%d %H:%M")
        text = signatures.invalidation_text(signature)
    assert text == (
        f"Signature invalidated by the change of SYSBP (Systolic BP) in Test vitals on {when} CST "
        "by inv01. (1 other value changed with it.)"  # the derived pulse pressure
    )
    entry = AuditEntry.objects.filter(subject_id=subject01.pk).order_by("-id").first()
    assert entry is not None
    assert (entry.action, entry.old_value, entry.new_value) == (
        AuditAction.SIGN,
        f"Wei Zhang; SCR; SHA-256 {signature.data_sha256}",
        "invalidated",
    )
    assert entry.reason_text == text


def test_a_row_change_is_named_with_its_row(pi, investigator, subject01, scr, vitals) -> None:
    signature = _sign(pi, subject01, scr)

    save_xx(
        investigator,
        subject01,
        instance=vitals,
        lesions=[LESIONS[0], {"lesion_id": "L2", "diameter": "11.0"}],
        reason=Reason("TRANSCRIPTION_ERROR"),
    )

    signature.refresh_from_db()
    assert "the change of LDIAM (Diameter) of row L2 in Test vitals on" in (
        signatures.invalidation_text(signature)
    )


def test_a_change_elsewhere_keeps_the_visit_signature_but_not_the_casebook(
    pi, investigator, subject01, scr, vitals
) -> None:
    visit_signature = _sign(pi, subject01, scr)
    casebook = _sign(pi, subject01)

    _log(investigator, subject01)

    visit_signature.refresh_from_db()
    casebook.refresh_from_db()
    assert visit_signature.invalidated_at is None
    assert casebook.invalidated_at is not None
    assert "the change of XLDAT (Date) in Test log" in signatures.invalidation_text(casebook)


def test_deleting_a_signed_form_invalidates(pi, investigator, subject01, vitals) -> None:
    record = _log(investigator, subject01)
    casebook = _sign(pi, subject01)

    delete_form(
        actor=investigator,
        spec=registry.get("XL"),
        instance=record,
        reason=Reason("ENTERED_IN_ERROR"),
    )

    casebook.refresh_from_db()
    assert "the deletion of the form Test log" in signatures.invalidation_text(casebook)


def test_a_batch_change_invalidates_too(pi, investigator, subject01, scr, vitals) -> None:
    """The import and the demo write through SubjectBatch: the same listener hears them, the
    change stands in the trail before the invalidation it causes, and the subject's
    signatures are read once a batch."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    visit_signature = _sign(pi, subject01, scr)
    casebook = _sign(pi, subject01)
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        batch = SubjectBatch(actor=investigator, subject=subject01, reason=Reason("DATA_IMPORT"))
        batch.save(
            spec=registry.get("XX"),
            visit=scr,
            instance=type(vitals).objects.get(pk=vitals.pk),
            values={"diastolic": 70},
            complete=True,
        )
        batch.save(
            spec=registry.get("XL"),
            values={"logged_on": dt.date(2026, 1, 6), "term": "Rash"},
            complete=True,
        )
        batch.finish()

    visit_signature.refresh_from_db()
    casebook.refresh_from_db()
    assert "DIABP (Diastolic BP)" in signatures.invalidation_text(visit_signature)
    assert "DIABP (Diastolic BP)" in signatures.invalidation_text(casebook)
    trail = list(
        AuditEntry.objects.filter(subject_id=subject01.pk, id__gt=before)
        .order_by("id")
        .values_list("action", "form_code", "variable", "new_value")
    )
    assert trail[:4] == [
        (AuditAction.UPDATE, "XX", "DIABP", "70"),
        (AuditAction.UPDATE, "XX", "XXPP", "50"),
        (AuditAction.SIGN, "", "signature", "invalidated"),
        (AuditAction.SIGN, "", "signature", "invalidated"),
    ]
    assert trail[4][:2] == (AuditAction.CREATE, "XL")
    reads = [q for q in queries.captured_queries if 'FROM "data_management_signature"' in q["sql"]]
    assert len(reads) == 1


def test_signing_again_after_an_invalidation(pi, investigator, subject01, scr, vitals) -> None:
    first = _sign(pi, subject01, scr)
    save_xx(
        investigator, subject01, instance=vitals, systolic=131, reason=Reason("TRANSCRIPTION_ERROR")
    )

    second = _sign(pi, subject01, scr)

    first.refresh_from_db()
    assert first.invalidated_at is not None
    assert second.invalidated_at is None
    assert second.data_sha256 != first.data_sha256


def test_a_change_behind_the_applications_back_shows_as_not_matching(
    pi, subject01, scr, vitals
) -> None:
    signature = _sign(pi, subject01, scr)
    assert signatures.matching(subject01, [signature]) == {signature.pk: True}

    with connection.cursor() as cursor:  # what the database's owner could do by hand
        cursor.execute(
            f"UPDATE {vitals._meta.db_table} SET systolic = 99 WHERE id = %s", [vitals.pk]
        )

    assert signatures.matching(subject01, [signature]) == {signature.pk: False}


def test_signatures_are_never_deleted(pi, subject01, scr, vitals) -> None:
    signature = _sign(pi, subject01, scr)

    with pytest.raises(PermissionError):
        signature.delete()


# --- What awaits a signature -----------------------------------------------------------------


def _queue(subject: Subject) -> list[tuple[str, str, list[tuple[str, str]]]]:
    return [
        (row.subject.label, row.casebook, [(v.code, v.state) for v in row.visits])
        for row in signatures.signing_queue(Subject.objects.filter(pk=subject.pk))
    ]


def end_study(subject: Subject, status: str = SubjectStatus.OFF_STUDY) -> None:
    """The subject's study ended (the status the outcomes forms derive, set here directly)."""
    Subject.objects.filter(pk=subject.pk).update(status=status)


def test_queue_lists_complete_visits_not_signed(subject01, vitals) -> None:
    assert _queue(subject01) == [(subject01.label, "", [("SCR", "awaiting")])]


@pytest.mark.parametrize("status", [SubjectStatus.OFF_STUDY, SubjectStatus.DIED])
def test_queue_lists_the_casebook_once_the_subjects_study_ended(subject01, vitals, status) -> None:
    end_study(subject01, status)

    assert _queue(subject01) == [(subject01.label, "awaiting", [("SCR", "awaiting")])]


def test_queue_counts_casebooks_as_the_status_matrix_does(
    investigator, pi, sites, subject01, scr, vitals
) -> None:
    from data_management.matrix_selectors import awaiting_signature_q
    from enrollment.services import register_screening

    ended, signed, invalidated = (
        register_screening(actor=investigator, site=sites["01"]) for _ in range(3)
    )
    forms = {}
    for subject in (ended, signed, invalidated):
        forms[subject.pk] = save_xx(investigator, subject, complete=True, lesions=LESIONS)
        end_study(subject)
    _sign(pi, signed)
    _sign(pi, invalidated)
    save_xx(
        investigator,
        invalidated,
        instance=forms[invalidated.pk],
        systolic=131,
        complete=True,
        reason=Reason("TRANSCRIPTION_ERROR"),
    )
    subjects = Subject.objects.all()

    queued = {
        row.subject.pk
        for row in signatures.signing_queue(subjects)
        if row.casebook in ("awaiting", "invalidated")
    }

    assert queued == set(subjects.filter(awaiting_signature_q()).values_list("pk", flat=True))
    assert queued == {ended.pk, invalidated.pk}


def test_queue_leaves_out_incomplete_visits(investigator, subject01) -> None:
    save_xx(investigator, subject01, complete=False)

    assert _queue(subject01) == []


def test_queue_leaves_out_what_is_signed(pi, subject01, scr, vitals) -> None:
    end_study(subject01)
    _sign(pi, subject01, scr)
    assert _queue(subject01) == [(subject01.label, "awaiting", [])]

    _sign(pi, subject01)
    assert _queue(subject01) == []


def test_an_invalidated_signature_puts_the_subject_back_in_the_queue(
    pi, investigator, subject01, scr, vitals
) -> None:
    _sign(pi, subject01, scr)
    _sign(pi, subject01)

    save_xx(
        investigator, subject01, instance=vitals, systolic=131, reason=Reason("TRANSCRIPTION_ERROR")
    )

    assert _queue(subject01) == [(subject01.label, "invalidated", [("SCR", "invalidated")])]
    row = signatures.signing_queue(Subject.objects.filter(pk=subject01.pk))[0]
    assert row.casebook_note.startswith("Signature invalidated by the change of SYSBP")


def test_a_valid_casebook_signature_attests_an_invalidated_visit(
    pi, investigator, subject01, scr, vitals
) -> None:
    _sign(pi, subject01, scr)
    save_xx(
        investigator,
        subject01,
        instance=vitals,
        systolic=131,
        complete=True,
        reason=Reason("TRANSCRIPTION_ERROR"),
    )
    assert _queue(subject01) == [(subject01.label, "", [("SCR", "invalidated")])]

    _sign(pi, subject01)

    assert _queue(subject01) == []


def test_queue_reads_a_constant_number_of_queries(
    investigator, sites, subject01, vitals, django_assert_max_num_queries
) -> None:
    from enrollment.services import register_screening

    with django_assert_max_num_queries(4):
        small = signatures.signing_queue(Subject.objects.all())
    for _ in range(3):
        other = register_screening(actor=investigator, site=sites["01"])
        save_xx(investigator, other, complete=True, lesions=LESIONS)

    with django_assert_max_num_queries(4):
        large = signatures.signing_queue(Subject.objects.all())

    assert (len(small), len(large)) == (1, 4)


def test_locked_data_are_not_signed(pi, people, subject01, scr, vitals) -> None:
    from data_management import locks

    locks.lock_study(actor=people[Role.DATA_MANAGER], reason="database lock")

    with pytest.raises(ValidationError, match="study was locked"):
        _sign(pi, subject01, scr)
    assert not Signature.objects.exists()


def test_the_sentence_names_the_value_entered_not_the_one_derived_from_it() -> None:
    # Correcting a lesion's diameter also changes the derived sum of diameters (TASUM):
    # the invalidation names the diameter a person changed.
    entries = [
        {"form_code": "TA", "group": "", "variable": "TASUM", "old_value": "59", "new_value": "61"},
        {"form_code": "TA", "group": "TL", "variable": "TLDIAM", "row_key": "T01"},
    ]

    assert signatures._naming_entry(entries)["variable"] == "TLDIAM"
    assert signatures._naming_entry(entries[:1])["variable"] == "TASUM"
