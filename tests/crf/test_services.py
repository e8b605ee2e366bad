"""The CRF write path: audit trail, reasons, optimistic lock, soft deletion, guards."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from crf import registry
from crf.guard import UnauditedWriteError
from crf.models import AuditEntry, CheckFinding, FindingStatus, FormStatus
from crf.services import CheckError, Reason, StaleFormError, delete_form
from tests.crftest.models import DemoLesion, DemoVitals
from tests.factories import save_xx

pytestmark = pytest.mark.django_db


def entries(subject) -> list[tuple[str, str, str, str | None, str | None]]:
    return [
        (e.action, e.group, e.variable, e.old_value, e.new_value)
        for e in AuditEntry.objects.filter(subject=subject, form_code="XX").order_by("id")
    ]


def test_create_audits_every_value_with_who_and_when(investigator, subject01) -> None:
    form = save_xx(investigator, subject01, smoker="N")

    rows = AuditEntry.objects.filter(subject=subject01, form_code="XX").order_by("id")
    assert entries(subject01) == [
        ("create", "", "XXDAT", None, "2026-01-05"),
        ("create", "", "SYSBP", None, "120"),
        ("create", "", "DIABP", None, "80"),
        ("create", "", "XXYN", None, "N"),
        ("create", "", "XXPP", None, "40"),
        ("status", "", "", None, "in_progress"),
    ]
    assert {r.actor_username for r in rows} == {"inv01"}
    assert {r.form_code for r in rows} == {"XX"}
    assert {r.visit_code for r in rows} == {"SCR"}
    assert form.version == 1
    assert form.created_by == investigator


def test_change_audits_old_and_new_value_of_changed_fields_only(investigator, subject01) -> None:
    form = save_xx(investigator, subject01)
    before = AuditEntry.objects.count()

    form = save_xx(investigator, subject01, instance=form, systolic=130)

    new = list(AuditEntry.objects.order_by("id")[before:])
    assert [(e.action, e.variable, e.old_value, e.new_value) for e in new] == [
        ("update", "SYSBP", "120", "130"),
        ("update", "XXPP", "40", "50"),
    ]
    assert form.version == 2


def test_saving_unchanged_values_writes_nothing(investigator, subject01) -> None:
    form = save_xx(investigator, subject01)
    before = AuditEntry.objects.count()

    again = save_xx(investigator, subject01, instance=form, systolic=120)

    assert AuditEntry.objects.count() == before
    assert again.version == 1


def test_change_after_complete_needs_a_reason(investigator, subject01) -> None:
    form = save_xx(investigator, subject01, complete=True)

    with pytest.raises(ValidationError) as refused:
        save_xx(investigator, subject01, instance=form, systolic=125, complete=True)

    assert "reason" in refused.value.message_dict
    assert DemoVitals.objects.get(pk=form.pk).systolic == 120


def test_change_after_complete_records_the_reason(investigator, subject01) -> None:
    form = save_xx(investigator, subject01, complete=True)

    save_xx(
        investigator,
        subject01,
        instance=form,
        systolic=125,
        complete=True,
        reason=Reason("TRANSCRIPTION_ERROR", "typed 120, source says 125"),
    )

    entry = AuditEntry.objects.get(subject=subject01, variable="SYSBP", action="update")
    assert (entry.old_value, entry.new_value) == ("120", "125")
    assert (entry.reason_code, entry.reason_text) == (
        "TRANSCRIPTION_ERROR",
        "typed 120, source says 125",
    )


def test_reopened_form_still_needs_a_reason(investigator, subject01) -> None:
    """Once complete, always a reason: un-ticking complete does not escape it."""
    form = save_xx(investigator, subject01, complete=True)
    form = save_xx(
        investigator, subject01, instance=form, complete=False, reason=Reason("OTHER", "reopen")
    )

    with pytest.raises(ValidationError):
        save_xx(investigator, subject01, instance=form, systolic=140)


def test_other_reason_needs_an_explanation(investigator, subject01) -> None:
    form = save_xx(investigator, subject01, complete=True)

    with pytest.raises(ValidationError) as refused:
        save_xx(investigator, subject01, instance=form, systolic=125, reason=Reason("OTHER", " "))

    assert "reason" in refused.value.message_dict


def test_complete_needs_required_variables(investigator, subject01) -> None:
    with pytest.raises(CheckError) as refused:
        save_xx(investigator, subject01, assessed_on=None, complete=True)

    assert [f.variable for f in refused.value.findings] == ["XXDAT"]
    assert "assessed_on" in refused.value.message_dict


def test_hard_check_refuses_and_writes_nothing(investigator, subject01) -> None:
    with pytest.raises(CheckError) as refused:
        save_xx(investigator, subject01, systolic=300, diastolic=20)

    assert sorted(f.check for f in refused.value.findings) == ["DIABP_range", "SYSBP_range"]
    assert refused.value.message_dict["systolic"] == ["SYSBP must be between 60 and 260 mmHg."]
    assert DemoVitals.objects.count() == 0
    assert AuditEntry.objects.filter(subject=subject01, form_code="XX").count() == 0


def test_soft_check_saves_and_opens_a_finding_then_resolves_it(investigator, subject01) -> None:
    form = save_xx(investigator, subject01, systolic=170)

    finding = CheckFinding.objects.get(subject=subject01)
    assert (finding.variable, finding.check_code, finding.status) == (
        "SYSBP",
        "SYSBP_soft_high",
        FindingStatus.OPEN,
    )

    save_xx(investigator, subject01, instance=form, systolic=150)
    finding.refresh_from_db()
    assert finding.status == FindingStatus.RESOLVED


def test_second_save_from_the_same_opened_version_is_refused(
    investigator, make_person, subject01
) -> None:
    other = make_person("sc01b", "site_coordinator")
    opened_by_both = save_xx(investigator, subject01)
    first_copy = DemoVitals.objects.get(pk=opened_by_both.pk)
    second_copy = DemoVitals.objects.get(pk=opened_by_both.pk)

    save_xx(other, subject01, instance=first_copy, systolic=131)
    with pytest.raises(StaleFormError) as stale:
        save_xx(investigator, subject01, instance=second_copy, systolic=142)

    assert stale.value.current.systolic == 131
    assert "changed by sc01b at" in stale.value.message
    assert DemoVitals.objects.get(pk=opened_by_both.pk).systolic == 131


def test_creating_a_form_someone_else_just_created_is_refused(investigator, subject01) -> None:
    save_xx(investigator, subject01, systolic=121)

    with pytest.raises(StaleFormError):
        save_xx(investigator, subject01, systolic=122)

    assert DemoVitals.objects.get().systolic == 121


def test_repeating_rows_are_audited_by_group_and_row(investigator, subject01) -> None:
    form = save_xx(
        investigator,
        subject01,
        lesions=[
            {"lesion_id": "T01", "diameter": Decimal("45.0")},
            {"lesion_id": "T02", "diameter": Decimal("12.5")},
        ],
    )
    save_xx(
        investigator,
        subject01,
        instance=form,
        lesions=[{"lesion_id": "T01", "diameter": Decimal("41.5")}],
    )

    child_entries = [
        (e.action, e.row_key, e.variable, e.old_value, e.new_value)
        for e in AuditEntry.objects.filter(subject=subject01, group="LS").order_by("id")
    ]
    assert child_entries == [
        ("create", "T01", "LID", None, "T01"),
        ("create", "T01", "LDIAM", None, "45.0"),
        ("create", "T02", "LID", None, "T02"),
        ("create", "T02", "LDIAM", None, "12.5"),
        ("update", "T01", "LDIAM", "45.0", "41.5"),
        ("delete", "T02", "", None, None),
    ]
    assert DemoLesion.objects.filter(form=form, is_deleted=False).count() == 1
    assert DemoLesion.objects.filter(form=form, is_deleted=True).count() == 1


def test_soft_delete_keeps_the_row_with_who_when_why(investigator, subject01) -> None:
    form = save_xx(investigator, subject01)

    delete_form(
        actor=investigator,
        spec=registry.get("XX"),
        instance=form,
        reason=Reason("ENTERED_IN_ERROR", "wrong subject"),
    )

    kept = DemoVitals.objects.get(pk=form.pk)
    assert kept.is_deleted
    assert kept.deleted_by == investigator
    assert kept.delete_reason == "wrong subject"
    last = AuditEntry.objects.filter(subject=subject01).latest("id")
    assert (last.action, last.old_value, last.reason_code) == (
        "delete",
        "in_progress",
        "ENTERED_IN_ERROR",
    )


def test_direct_save_outside_the_services_is_refused(investigator, subject01) -> None:
    form = save_xx(investigator, subject01)
    form.systolic = 99

    with pytest.raises(UnauditedWriteError):
        form.save()
    assert DemoVitals.objects.get(pk=form.pk).systolic == 120


@pytest.mark.parametrize(
    "bulk_write",
    [
        lambda qs: qs.update(systolic=99),
        lambda qs: qs.delete(),
        lambda qs: qs.bulk_update(list(qs), ["systolic"]),
    ],
    ids=["update", "delete", "bulk_update"],
)
def test_bulk_writes_on_clinical_data_are_refused(investigator, subject01, bulk_write) -> None:
    save_xx(investigator, subject01)

    with pytest.raises(UnauditedWriteError):
        bulk_write(DemoVitals.objects.all())
    assert DemoVitals.objects.get().systolic == 120


def test_hard_delete_of_a_row_is_refused(investigator, subject01) -> None:
    form = save_xx(investigator, subject01)

    with pytest.raises(UnauditedWriteError):
        form.delete()
    assert DemoVitals.objects.filter(pk=form.pk).exists()


def test_audit_entries_cannot_be_changed_through_the_orm(investigator, subject01) -> None:
    save_xx(investigator, subject01)
    entry = AuditEntry.objects.filter(subject=subject01).first()
    entry.new_value = "999"

    with pytest.raises(UnauditedWriteError):
        entry.save()
    with pytest.raises(UnauditedWriteError):
        entry.delete()


def test_form_status_follows_completion(investigator, subject01) -> None:
    form = save_xx(investigator, subject01)
    assert form.status == FormStatus.IN_PROGRESS
    form = save_xx(investigator, subject01, instance=form, complete=True)
    assert form.status == FormStatus.COMPLETE
    assert form.was_completed


def test_a_visit_form_is_refused_at_a_log_visit(investigator, subject01) -> None:
    with pytest.raises(ValidationError):
        from crf.services import save_form

        save_form(
            actor=investigator,
            spec=registry.get("XL"),
            subject=subject01,
            visit=subject01.visits.get(code="SCR"),
            values={"logged_on": dt.date(2026, 1, 5)},
        )
