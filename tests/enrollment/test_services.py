"""Screening, screen failure, enrolment with the cap, target and criteria changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from crf.models import AuditEntry, Visit
from crf.services import CheckError
from enrollment.demo import screen, screen_and_enrol, screen_and_fail
from enrollment.models import EligibilityCriterion, ScreeningLog
from enrollment.services import (
    EnrolmentCapReached,
    enroll_subject,
    raise_enrolment_target,
    record_screen_failure,
    register_screening,
    save_criterion,
)
from study.models import StudyParameters, SubjectStatus
from tests.enrollment.conftest import START, TARGET, fill_enrolled

pytestmark = pytest.mark.django_db


def test_screening_numbers_count_up_per_site(investigator, sites) -> None:
    ids = [
        register_screening(actor=investigator, site=sites[n]).screening_id
        for n in ("01", "01", "02")
    ]

    assert ids == ["S01-001", "S01-002", "S02-001"]


def test_enrolment_assigns_the_subject_id_planned_day1_and_c1d1(investigator, eligible) -> None:
    subject = enroll_subject(
        actor=investigator,
        subject=eligible,
        enrolled_on=START + dt.timedelta(days=3),
        planned_day1=START + dt.timedelta(days=5),
    )

    assert (subject.subject_id, subject.status, subject.enrolled_at) == (
        "01-001",
        SubjectStatus.ON_TREATMENT,
        START + dt.timedelta(days=3),
    )
    assert Visit.objects.get(subject=subject, code="C1D1").planned_date == START + dt.timedelta(
        days=5
    )
    assert ScreeningLog.objects.get(subject=subject).status == "complete"
    ids = AuditEntry.objects.filter(subject=subject, form_code="SUBJ", variable="SUBJECT_ID")
    assert [(e.old_value, e.new_value, e.actor_username) for e in ids] == [
        (None, "01-001", "inv01")
    ]


def test_subject_ids_are_never_reused_after_a_screen_failure(investigator, sites) -> None:
    first = screen_and_enrol(investigator, sites["01"], start=START)
    failed = screen_and_fail(investigator, sites["01"], start=START, failing=("IN06",))
    second = screen_and_enrol(investigator, sites["01"], start=START)

    assert (first.subject_id, failed.subject_id, second.subject_id) == ("01-001", None, "01-002")
    assert (first.screening_id, failed.screening_id, second.screening_id) == (
        "S01-001",
        "S01-002",
        "S01-003",
    )


def test_screen_failure_records_the_failing_criteria(investigator, sites) -> None:
    subject = screen_and_fail(investigator, sites["01"], start=START, failing=("IN06", "EX03"))

    log = ScreeningLog.objects.get(subject=subject)
    assert (log.screen_failure, log.failed_criteria, log.status) == (
        "Y",
        ["IN06", "EX03"],
        "complete",
    )
    assert subject.status == SubjectStatus.SCREEN_FAILED


def test_a_screen_failure_cannot_be_enrolled(investigator, sites) -> None:
    subject = screen_and_fail(investigator, sites["01"], start=START, failing=("IN06",))

    with pytest.raises(ValidationError):
        enroll_subject(actor=investigator, subject=subject, enrolled_on=START, planned_day1=START)
    subject.refresh_from_db()
    assert subject.subject_id is None


def test_an_ineligible_person_is_not_enrolled(investigator, sites) -> None:
    subject = screen(investigator, sites["01"], start=START, failing=("EX03",))

    with pytest.raises(CheckError) as refused:
        enroll_subject(
            actor=investigator,
            subject=subject,
            enrolled_on=START + dt.timedelta(days=3),
            planned_day1=START + dt.timedelta(days=4),
        )

    assert [f.check for f in refused.value.findings] == ["ENR_eligible"]


def test_the_target_plus_one_enrolment_is_refused_naming_the_target(
    investigator, sites, eligible
) -> None:
    fill_enrolled(sites["02"], TARGET - 1)
    enroll_subject(
        actor=investigator,
        subject=eligible,
        enrolled_on=START + dt.timedelta(days=3),
        planned_day1=START + dt.timedelta(days=4),
    )
    one_too_many = screen(investigator, sites["01"], start=START)

    with pytest.raises(EnrolmentCapReached) as refused:
        enroll_subject(
            actor=investigator,
            subject=one_too_many,
            enrolled_on=START + dt.timedelta(days=3),
            planned_day1=START + dt.timedelta(days=4),
        )

    assert f"reached its target of {TARGET} subjects" in refused.value.messages[0]
    one_too_many.refresh_from_db()
    assert one_too_many.subject_id is None


def test_a_data_manager_raises_the_target_with_a_reason(
    people, sites, investigator, eligible
) -> None:
    from study.models import Role

    fill_enrolled(sites["02"], TARGET)
    data_manager = people[Role.DATA_MANAGER]

    with pytest.raises(ValidationError):
        raise_enrolment_target(actor=data_manager, target=TARGET + 2, reason=" ")
    with pytest.raises(ValidationError):
        raise_enrolment_target(actor=data_manager, target=TARGET, reason="not higher")
    raise_enrolment_target(actor=data_manager, target=TARGET + 2, reason="sponsor amendment 2")

    assert StudyParameters.objects.current().target_enrolment == TARGET + 2
    entry = AuditEntry.objects.get(form_code="PARAM")
    assert (
        entry.variable,
        entry.old_value,
        entry.new_value,
        entry.reason_text,
        entry.actor_username,
    ) == ("TARGET_ENROLMENT", str(TARGET), str(TARGET + 2), "sponsor amendment 2", "dm")
    enrolled = enroll_subject(
        actor=investigator,
        subject=eligible,
        enrolled_on=START + dt.timedelta(days=3),
        planned_day1=START + dt.timedelta(days=4),
    )
    assert enrolled.subject_id == "01-001"


def test_a_criterion_change_is_audited_with_its_reason(people) -> None:
    from study.models import Role

    criterion = EligibilityCriterion.objects.get(code="IN06")
    save_criterion(
        actor=people[Role.DATA_MANAGER],
        criterion=criterion,
        text="ECOG 0-2.",
        kind="IN",
        reason="amendment 1.1",
    )

    entry = AuditEntry.objects.get(form_code="IECRIT")
    assert (entry.variable, entry.new_value, entry.reason_text) == (
        "IN06.TEXT",
        "ECOG 0-2.",
        "amendment 1.1",
    )
    with pytest.raises(ValidationError):
        save_criterion(
            actor=people[Role.DATA_MANAGER], criterion=criterion, text="x", kind="IN", reason=""
        )


def test_reference_data_is_present_after_migrate() -> None:
    codes = list(
        EligibilityCriterion.objects.filter(protocol_version="1.0").values_list("code", flat=True)
    )
    assert codes == [f"IN{i:02d}" for i in range(1, 13)] + [f"EX{i:02d}" for i in range(1, 9)]
    from enrollment.models import ConsentFormVersion

    assert ConsentFormVersion.objects.get(version="2.0").all_sites
    assert StudyParameters.objects.current().target_enrolment == TARGET


def test_screening_after_a_failure_record_cannot_enrol_again(investigator, eligible) -> None:
    subject = enroll_subject(
        actor=investigator,
        subject=eligible,
        enrolled_on=START + dt.timedelta(days=3),
        planned_day1=START + dt.timedelta(days=4),
    )
    with pytest.raises(ValidationError):
        record_screen_failure(actor=investigator, subject=subject, criteria=["IN06"])
    with pytest.raises(ValidationError):
        enroll_subject(
            actor=investigator,
            subject=subject,
            enrolled_on=START + dt.timedelta(days=3),
            planned_day1=START + dt.timedelta(days=4),
        )
