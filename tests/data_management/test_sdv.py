"""Source data verification services: the critical fields one by one, the rest of a form with
one action, a change resetting only the value changed (form page, import batch), a deleted
form or row resetting its values, who may verify (issue 12, "Source data verification")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from crf import registry
from crf.models import AuditAction, AuditEntry, ChangeReason
from crf.services import Reason, SubjectBatch, delete_form, save_form
from data_management import sdv
from data_management.models import SourceVerification
from enrollment.demo import screen_and_enrol
from enrollment.models import InformedConsent
from study.models import Role
from visits.demo import record_screening
from visits.models import TumourAssessment

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)
TODAY = dt.date(2026, 3, 20)


@pytest.fixture
def monitor(people: dict[Role, Any]) -> Any:
    return people[Role.MONITOR]


@pytest.fixture
def subject(investigator: Any, sites: dict[str, Any]) -> Any:
    """Screened, enrolled, with the screening visit's VS, LB, CP and the baseline TA (three
    targets T01-T03, one non-target NT01)."""
    subject = screen_and_enrol(investigator, sites["01"], start=START)
    record_screening(investigator, subject, on=START + dt.timedelta(days=1), today=TODAY)
    return subject


def baseline(subject: Any) -> TumourAssessment:
    return TumourAssessment.objects.get(subject=subject, visit__code="SCR", is_deleted=False)


def active(instance: Any) -> set[sdv.Key]:
    return {
        (v.group, v.row_key, v.variable)
        for v in SourceVerification.objects.filter(
            object_model=instance._meta.label, object_id=instance.pk, reset_at__isnull=True
        )
    }


TA_CRITICAL = {
    ("", "", "TADAT"),
    *(("TL", f"T0{i}", v) for i in (1, 2, 3) for v in ("TLLOC", "TLNODE", "TLSTAT", "TLDIAM")),
    ("NTL", "NT01", "NTLLOC"),
    ("NTL", "NT01", "NTLSTAT"),
}


def test_critical_fields_are_the_protocols_and_day1_only_at_c1d1() -> None:
    assert sdv.is_critical("IC", "SCR", ("", "", "ICDAT"))
    assert not sdv.is_critical("IC", "SCR", ("", "", "ICVER"))
    assert sdv.is_critical("IE", "SCR", ("IE", "IN01", "IEORRES"))
    assert not sdv.is_critical("IE", "SCR", ("", "", "IEDAT"))
    assert sdv.is_critical("EX", "C1D1", ("", "", "EXSTDAT"))
    assert not sdv.is_critical("EX", "C2D1", ("", "", "EXSTDAT"))
    assert sdv.is_critical("TA", "TA3", ("NL", "N01", "NLDAT"))
    assert not sdv.is_critical("TA", "TA3", ("", "", "TAMETH"))
    assert [sdv.is_critical("AE", "", ("", "", v)) for v in ("AETERM", "AETOXGR", "AESER")] == [
        True,
        True,
        True,
    ]
    assert not sdv.is_critical("AE", "", ("", "", "AEREL"))
    assert sdv.is_critical("DD", "", ("", "", "DTHDAT"))
    assert not sdv.is_critical("VS", "SCR", ("", "", "SYSBP"))


def test_every_critical_variable_is_a_variable_of_its_form() -> None:
    for rule in sdv.CRITICAL_FIELDS:
        spec = registry.get(rule.form)
        assert rule.variables <= {v.name for v in spec.input_variables}, rule.form
        assert rule.groups <= {g.name for g in spec.groups}, rule.form


def test_verify_form_leaves_the_critical_values_to_verify_one_by_one(subject, monitor) -> None:
    ta = baseline(subject)

    done = sdv.verify_form(actor=monitor, instance=ta)

    assert done == sdv.Verified(verified=1, critical_left=len(TA_CRITICAL), form_verified=False)
    assert active(ta) == {("", "", "TAMETH")}

    done = sdv.verify_values(actor=monitor, instance=ta, keys=sorted(TA_CRITICAL))

    assert done == sdv.Verified(verified=len(TA_CRITICAL), critical_left=0, form_verified=True)
    assert active(ta) == TA_CRITICAL | {("", "", "TAMETH"), sdv.FORM}  # and the whole form


def test_a_verification_keeps_the_value_the_form_version_and_an_audit_entry(
    subject, monitor
) -> None:
    ta = baseline(subject)
    diameter = ta.targets.get(lesion_id="T01", is_deleted=False).diameter_mm

    sdv.verify_values(actor=monitor, instance=ta, keys=[("TL", "T01", "TLDIAM")])

    verification = SourceVerification.objects.get()
    assert (
        verification.subject_id,
        verification.form_code,
        verification.visit_code,
        verification.value,
        verification.form_version,
        verification.verified_by,
    ) == (subject.pk, "TA", "SCR", format(diameter, "f"), ta.version, monitor)
    entry = AuditEntry.objects.filter(action=AuditAction.VERIFY).get()
    assert (
        entry.chain,
        entry.actor_username,
        entry.form_code,
        entry.group,
        entry.row_key,
        entry.variable,
        entry.new_value,
    ) == (f"subject:{subject.pk}", "mon01", "TA", "TL", "T01", "TLDIAM", format(diameter, "f"))


def test_verifying_again_changes_nothing(subject, monitor) -> None:
    ta = baseline(subject)
    sdv.verify_values(actor=monitor, instance=ta, keys=[("", "", "TADAT")])

    done = sdv.verify_values(actor=monitor, instance=ta, keys=[("", "", "TADAT")])

    assert done.verified == 0
    assert SourceVerification.objects.count() == 1


def test_a_key_that_is_no_value_of_the_form_is_refused(subject, monitor) -> None:
    with pytest.raises(ValidationError, match="TL · T09 · TLDIAM is no value"):
        sdv.verify_values(actor=monitor, instance=baseline(subject), keys=[("TL", "T09", "TLDIAM")])
    assert SourceVerification.objects.count() == 0


def test_a_form_changed_since_it_was_read_is_refused(subject, monitor) -> None:
    ta = baseline(subject)
    with pytest.raises(ValidationError, match="changed since you opened it"):
        sdv.verify_form(actor=monitor, instance=ta, expected_version=ta.version - 1)


@pytest.mark.parametrize(
    "role", [Role.INVESTIGATOR, Role.SITE_COORDINATOR, Role.DATA_MANAGER, Role.STUDY_COORDINATOR]
)
def test_only_a_monitor_verifies(subject, people, role) -> None:
    with pytest.raises(PermissionDenied):
        sdv.verify_form(actor=people[role], instance=baseline(subject))
    assert SourceVerification.objects.count() == 0


def test_a_monitor_of_another_site_may_not_verify(subject, make_person) -> None:
    other = make_person("mon02", Role.MONITOR, ("02",))
    with pytest.raises(PermissionDenied):
        sdv.verify_form(actor=other, instance=baseline(subject))


def test_a_locked_form_is_not_verified(subject, monitor, people) -> None:
    from data_management.locks import lock_form

    ta = baseline(subject)
    lock_form(actor=people[Role.DATA_MANAGER], spec=registry.get("TA"), instance=ta, reason="x")

    with pytest.raises(ValidationError, match="Locked: "):
        sdv.verify_form(actor=monitor, instance=ta)
    assert SourceVerification.objects.count() == 0


def _verify_all(monitor: Any, instance: Any) -> None:
    sdv.verify_form(actor=monitor, instance=instance)
    spec = registry.for_model(type(instance))
    from data_management.sdv_selectors import form_state

    keys = [v.item.key for v in form_state(spec, instance).values if not v.verified]
    sdv.verify_values(actor=monitor, instance=instance, keys=keys)


def _targets(ta: TumourAssessment, t01: str) -> list[dict[str, Any]]:
    rows = []
    for row in ta.targets.filter(is_deleted=False).order_by("id"):
        diameter = Decimal(t01) if row.lesion_id == "T01" else row.diameter_mm
        rows.append(
            {
                "lesion_id": row.lesion_id,
                "organ": row.organ,
                "is_node": row.is_node,
                "status": row.status,
                "diameter_mm": diameter,
            }
        )
    return rows


def test_a_change_through_the_form_resets_that_value_only(subject, monitor, investigator) -> None:
    ta = baseline(subject)
    _verify_all(monitor, ta)
    before = active(ta)
    old = format(ta.targets.get(lesion_id="T01").diameter_mm, "f")

    save_form(
        actor=investigator,
        spec=registry.get("TA"),
        subject=subject,
        visit=ta.visit,
        instance=ta,
        values={"scanned_on": ta.scanned_on, "method": ta.method},
        groups={"TL": _targets(ta, "31.5")},
        complete=True,
        reason=Reason(ChangeReason.TRANSCRIPTION_ERROR, ""),
        today=TODAY,
    )

    assert active(ta) == before - {("TL", "T01", "TLDIAM"), sdv.FORM}
    reset = SourceVerification.objects.get(reset_at__isnull=False, variable="TLDIAM")
    day = reset.reset_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    assert (reset.row_key, reset.variable, reset.reset_by, reset.reset_note) == (
        "T01",
        "TLDIAM",
        investigator,
        f"changed by inv01 on {day}: {old} → 31.5",
    )


def test_a_change_through_the_import_batch_resets_that_value_only(subject, monitor, people) -> None:
    ta = baseline(subject)
    _verify_all(monitor, ta)
    before = active(ta)
    data_manager = people[Role.DATA_MANAGER]

    with transaction.atomic():
        batch = SubjectBatch(
            actor=data_manager, subject=subject, reason=Reason(ChangeReason.DATA_IMPORT, "")
        )
        batch.save(
            spec=registry.get("TA"),
            visit=ta.visit,
            instance=ta,
            values={"scanned_on": ta.scanned_on, "method": "MRI"},
            groups={"TL": _targets(ta, "29.0")},
            complete=True,
        )
        batch.finish()

    assert active(ta) == before - {("", "", "TAMETH"), ("TL", "T01", "TLDIAM"), sdv.FORM}
    assert sorted(
        SourceVerification.objects.filter(reset_at__isnull=False).values_list(
            "variable", "reset_by__username"
        )
    ) == [("", "dm"), ("TAMETH", "dm"), ("TLDIAM", "dm")]
    assert "CT → MRI" in SourceVerification.objects.get(variable="TAMETH").reset_note


def test_a_deleted_row_resets_its_values(subject, monitor, investigator) -> None:
    ta = baseline(subject)
    _verify_all(monitor, ta)

    save_form(
        actor=investigator,
        spec=registry.get("TA"),
        subject=subject,
        visit=ta.visit,
        instance=ta,
        values={"scanned_on": ta.scanned_on, "method": ta.method},
        groups={"NTL": []},
        complete=True,
        reason=Reason(ChangeReason.ENTERED_IN_ERROR, ""),
        today=TODAY,
    )

    reset = SourceVerification.objects.filter(reset_at__isnull=False).order_by("variable")
    assert [(v.group, v.variable) for v in reset] == [
        ("", ""),
        ("NTL", "NTLLOC"),
        ("NTL", "NTLSTAT"),
    ]
    assert reset[0].reset_note.startswith("form changed by inv01 on ")
    assert reset[1].reset_note.startswith("row NT01 deleted by inv01 on ")


def test_deleting_a_form_resets_its_verifications(subject, monitor, investigator) -> None:
    consent = InformedConsent.objects.get(subject=subject)
    _verify_all(monitor, consent)
    assert active(consent) == {("", "", "ICDAT"), ("", "", "ICVER"), sdv.FORM}

    delete_form(
        actor=investigator,
        spec=registry.get("IC"),
        instance=consent,
        reason=Reason(ChangeReason.ENTERED_IN_ERROR, ""),
    )

    assert active(consent) == set()
    notes = set(SourceVerification.objects.values_list("reset_note", flat=True))
    assert len(notes) == 1 and notes.pop().startswith("form deleted by inv01 on ")


def test_a_new_form_reads_no_verification(subject, investigator, django_assert_num_queries) -> None:
    """The listener costs nothing where nothing can have been verified (a new form)."""
    from data_management.sdv import reset_on_change

    consent = InformedConsent.objects.get(subject=subject)  # written once: version 1
    change = registry.WrittenChange(
        investigator, subject, registry.get("IC"), consent, [{"action": "create"}], None
    )
    with django_assert_num_queries(0):
        reset_on_change(change)


def test_the_whole_form_is_reset_by_a_value_entered_not_by_a_derivation() -> None:
    active_rows = [(1, sdv.FORM, None)]
    derived = [{"action": "update", "variable": "TASUM", "old_value": "60.0", "new_value": "61.0"}]
    added = [{"action": "update", "variable": "PULSE", "old_value": None, "new_value": "72"}]
    new_row = [{"action": "create", "group": "NL", "row_key": "N01", "variable": "NLLOC"}]

    def reset(entries: list[dict[str, Any]]) -> list[sdv.Reset]:
        return sdv.resets_for(
            active_rows, entries, who="inv01", on="2026-03-05", derived=frozenset({"TASUM"})
        )

    assert reset(derived) == []
    assert reset(added) == reset(new_row) == [sdv.Reset(1, "form changed by inv01 on 2026-03-05")]


def test_resets_for_is_pure() -> None:
    entries = [
        {
            "action": "update",
            "group": "TL",
            "row_key": "T02",
            "variable": "TLDIAM",
            "old_value": "20.0",
            "new_value": None,
        },
        {"action": "status", "group": "", "row_key": "", "variable": ""},
    ]
    active_rows = [(1, ("TL", "T02", "TLDIAM"), "20.0"), (2, ("TL", "T02", "TLSTAT"), "MEASURED")]

    resets = sdv.resets_for(active_rows, entries, who="inv01", on="2026-03-05")

    assert resets == [sdv.Reset(1, "changed by inv01 on 2026-03-05: 20.0 → (empty)")]


def test_the_demo_monitor_has_verified_the_screening_visit(subject, monitor) -> None:
    from data_management.sdv_selectors import progress
    from study.models import Subject

    assert sdv.seed_demo(actor=monitor, subjects=[subject]) > 0

    screening = [f for f in progress(Subject.objects.all()) if f.visit_code == "SCR"]
    assert screening and all(f.verified for f in screening)


def test_progress_counts_in_sql_what_the_form_page_counts(investigator, monitor, sites) -> None:
    """The progress pages count in SQL the values form_state lists one by one (text, codes,
    lists of codes, dates, decimals; rows; Day 1 critical at C1D1 only)."""
    from crf.models import Visit
    from data_management.sdv_selectors import form_state, progress
    from study.models import Subject
    from visits.demo import treat

    subject = screen_and_enrol(investigator, sites["01"], start=START)
    day1 = Visit.objects.get(subject=subject, code="C1D1").planned_date
    treat(investigator, subject, day1=day1, cycles=2, course="PR")
    sdv.verify_form(actor=monitor, instance=baseline(subject))
    _verify_all(monitor, InformedConsent.objects.get(subject=subject))

    counted = {
        (f.spec.code, f.object_id): (
            f.tally.values,
            f.tally.values_verified,
            f.tally.critical,
            f.tally.critical_verified,
        )
        for f in progress(Subject.objects.filter(pk=subject.pk))
    }

    listed = {}
    for spec in registry.all_forms():
        for instance in spec.model.objects.filter(subject=subject, is_deleted=False):
            state = form_state(spec, instance)
            if state.values:
                listed[(spec.code, instance.pk)] = (
                    len(state.values),
                    state.verified,
                    state.critical,
                    state.critical_verified,
                )
    assert counted == listed
    assert {code for code, _pk in counted} >= {"SL", "IC", "IE", "HX", "TA", "EX", "VS"}
    ex = {v.code: v for v in Visit.objects.filter(subject=subject)}
    exposure = registry.get("EX").model.objects.get
    assert counted[("EX", exposure(visit=ex["C1D1"]).pk)][2] == 1  # EXSTDAT: Day 1
    assert counted[("EX", exposure(visit=ex["C2D1"]).pk)][2] == 0
