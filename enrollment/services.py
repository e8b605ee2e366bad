"""Screening and enrolment writes: register, screen failure, enrol (with the cap), target."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crf import audit, registry
from crf.codelists import YN
from crf.models import AuditAction, AuditSource, ChangeReason, Visit, VisitKind
from crf.services import Reason, save_form
from enrollment.models import EligibilityCriterion, Enrolment, ScreeningLog
from study.models import Site, StudyParameters, Subject, SubjectStatus


def _next_sequence(values: Sequence[str | None]) -> int:
    return max((int(v.rsplit("-", 1)[1]) for v in values if v), default=0) + 1


def _set_subject(
    subject: Subject,
    *,
    actor: Any,
    source: str = AuditSource.WEB,
    file_sha256: str = "",
    reason: Reason | None = None,
    **changes: Any,
) -> None:
    """Change the subject's identity or status, audited (form code SUBJ)."""
    audited = [
        (name.upper(), getattr(subject, name), value)
        for name, value in changes.items()
        if getattr(subject, name) != value
    ]
    if not audited:
        return
    for name, value in changes.items():
        setattr(subject, name, value)
    subject.save(update_fields=list(changes))
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        form_code="SUBJ",
        obj=subject,
        subject_id=subject.pk,
        changes=audited,
        source=source,
        file_sha256=file_sha256,
        reason_code=reason.code if reason else "",
        reason_text=reason.text if reason else "",
    )


@transaction.atomic
def register_screening(
    *,
    actor: AbstractBaseUser,
    site: Site,
    screening_date: dt.date | None = None,
    today: dt.date | None = None,
) -> Subject:
    """Register a screened person: screening number ``S<site>-<seq>``, the SCR visit and SL.

    The site row is locked while the number is chosen, so two registrations at
    once never get the same number; numbers are never reused.
    """
    registry.check_write(registry.WriteAttempt(actor, None, None, action="subject"))
    locked = Site.objects.select_for_update().get(pk=site.pk)
    prefix = f"S{locked.number}-"
    existing = Subject.objects.filter(site=locked, screening_id__startswith=prefix)
    sequence = _next_sequence(list(existing.values_list("screening_id", flat=True)))
    subject = Subject.objects.create(site=locked, screening_id=f"{prefix}{sequence:03d}")
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        form_code="SUBJ",
        obj=subject,
        subject_id=subject.pk,
        changes=[("SITE", None, locked.number), ("SCREENING_ID", None, subject.screening_id)],
    )
    visit = Visit.objects.create(subject=subject, code="SCR", kind=VisitKind.SCREENING, number=0)
    if screening_date is not None:
        save_form(
            actor=actor,
            spec=registry.get("SL"),
            subject=subject,
            visit=visit,
            values={"screening_date": screening_date, "screen_failure": YN.N},
            today=today,
        )
    return subject


def _screening_log(subject: Subject) -> ScreeningLog | None:
    return ScreeningLog.objects.filter(subject=subject, is_deleted=False).first()


@transaction.atomic
def record_screen_failure(
    *,
    actor: AbstractBaseUser,
    subject: Subject,
    criteria: Sequence[str],
    reason: Reason | None = None,
) -> Subject:
    """Record a screen failure with the failing criteria (SL SCRFAIL=Y, SCRFRS)."""
    registry.check_write(registry.WriteAttempt(actor, subject, None, action="subject"))
    if subject.subject_id:
        raise ValidationError(_("An enrolled subject cannot become a screen failure."))
    log = _screening_log(subject)
    save_form(
        actor=actor,
        spec=registry.get("SL"),
        subject=subject,
        visit=subject.visits.get(code="SCR"),
        instance=log,
        values={"screen_failure": YN.Y, "failed_criteria": list(criteria)},
        complete=True,
        reason=reason,
    )
    # The status (screen failed) follows the SL form: outcomes.services, an SL after-save hook.
    subject.refresh_from_db(fields=["status"])
    return subject


class EnrolmentCapReached(ValidationError):
    """The study has its target number of subjects enrolled."""


def check_enrolment_cap(subject: Subject) -> None:
    """crf-spec ENR "enrolment cap not reached": refuse to enrol ``subject`` when the
    other subjects enrolled (those with a subject ID, whatever their later status: a
    subject who died still counts) already reach the target enrolment.

    The study-parameters row is locked first (held to the end of the transaction), so
    concurrent enrolments and imports are counted one after another. Raises
    EnrolmentCapReached on ENRDAT (``enrolled_on``) naming the target.
    """
    parameters = StudyParameters.objects.select_for_update().get(
        pk=StudyParameters.objects.current().pk
    )
    others = Subject.objects.filter(subject_id__isnull=False).exclude(pk=subject.pk).count()
    if others >= parameters.target_enrolment:
        raise EnrolmentCapReached(
            {
                "enrolled_on": ValidationError(
                    _(
                        "Enrolment is closed: the study has reached its target of %(target)d "
                        "subjects. A data manager may raise the target."
                    )
                    % {"target": parameters.target_enrolment},
                    code="cap",
                )
            }
        )


def enforce_enrolment_cap(instance: Any, actor: Any) -> None:
    """ENR after-save hook: the cap holds on every path that writes an enrolment form
    (the enrol page, the study data file import, any service), inside its transaction, so a
    refusal undoes the save. A deleted ENR enrols nobody."""
    if not instance.is_deleted:
        check_enrolment_cap(instance.subject)


@transaction.atomic
def enroll_subject(
    *,
    actor: AbstractBaseUser,
    subject: Subject,
    enrolled_on: dt.date,
    planned_day1: dt.date,
    today: dt.date | None = None,
) -> Subject:
    """Enrol an eligible, consented person: ENR form, subject ID, C1D1 visit.

    The study-parameters row is locked first, so concurrent enrolments are counted
    one after another and the cap (protocol.md: target enrolment) holds. The
    subject ID is ``<site>-<3-digit sequence>``, never reused. Raises
    EnrolmentCapReached at the cap, CheckError when ENR's checks fail.
    """
    StudyParameters.objects.select_for_update().get(pk=StudyParameters.objects.current().pk)
    subject = Subject.objects.select_for_update().get(pk=subject.pk)
    registry.check_write(registry.WriteAttempt(actor, subject, None, action="subject"))
    if subject.subject_id:
        raise ValidationError(
            _("%(subject)s is already enrolled.") % {"subject": subject.subject_id}
        )
    if subject.status == SubjectStatus.SCREEN_FAILED:
        raise ValidationError(_("A screen failure cannot be enrolled."))
    # Before ENR's own checks, so a closed study says so first; the ENR after-save hook
    # (enforce_enrolment_cap) runs the same check on every other path.
    check_enrolment_cap(subject)
    save_form(
        actor=actor,
        spec=registry.get("ENR"),
        subject=subject,
        visit=subject.visits.get(code="SCR"),
        values={"enrolled_on": enrolled_on, "planned_day1": planned_day1},
        complete=True,
        today=today,
    )
    site = Site.objects.select_for_update().get(pk=subject.site_id)
    taken = Subject.objects.filter(site=site, subject_id__isnull=False).values_list(
        "subject_id", flat=True
    )
    subject_id = f"{site.number}-{_next_sequence(list(taken)):03d}"
    # The status (on treatment) follows the ENR form: outcomes.services, an after-save hook.
    _set_subject(subject, actor=actor, subject_id=subject_id, enrolled_at=enrolled_on)
    log = _screening_log(subject)
    if log is not None and log.status != "complete":
        save_form(
            actor=actor,
            spec=registry.get("SL"),
            subject=subject,
            visit=log.visit,
            instance=log,
            values={"screen_failure": YN.N, "failed_criteria": []},
            complete=True,
            today=today,
        )
    Visit.objects.get_or_create(
        subject=subject,
        code="C1D1",
        defaults={"kind": VisitKind.CYCLE, "number": 1, "planned_date": planned_day1},
    )
    return subject


@transaction.atomic
def raise_enrolment_target(*, actor: AbstractBaseUser, target: int, reason: str) -> StudyParameters:
    """A data manager raises the target enrolment, with a reason (audited)."""
    registry.check_write(registry.WriteAttempt(actor, None, None, action="study"))
    parameters = StudyParameters.objects.select_for_update().get(
        pk=StudyParameters.objects.current().pk
    )
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason for changing the target.")})
    if target <= parameters.target_enrolment:
        raise ValidationError(
            {
                "target": _("The new target must be above the current target of %(target)d.")
                % {"target": parameters.target_enrolment}
            }
        )
    old = parameters.target_enrolment
    parameters.target_enrolment = target
    parameters.save(update_fields=["target_enrolment"])
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        form_code="PARAM",
        obj=parameters,
        changes=[("TARGET_ENROLMENT", old, target)],
        reason_code=ChangeReason.OTHER,
        reason_text=reason,
    )
    return parameters


@transaction.atomic
def save_criterion(
    *,
    actor: AbstractBaseUser,
    criterion: EligibilityCriterion,
    text: str,
    kind: str,
    reason: str,
    text_zh_hans: str | None = None,
) -> EligibilityCriterion:
    """A data manager edits an eligibility criterion's texts (English, Simplified Chinese) or
    kind, with a reason; each changed field is an audit change (IN06.TEXT, IN06.TEXT_ZH,
    IN06.KIND: the audit's variable holds 16 characters).

    ``text_zh_hans=None`` leaves the Chinese text as it is.
    """
    registry.check_write(registry.WriteAttempt(actor, None, None, action="study"))
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason for changing the criterion.")})
    values = {"text": text, "kind": kind}
    if text_zh_hans is not None:
        values["text_zh_hans"] = text_zh_hans
    variables = {"text": "TEXT", "text_zh_hans": "TEXT_ZH", "kind": "KIND"}
    changes = [
        (f"{criterion.code}.{variables[name]}", getattr(criterion, name), value)
        for name, value in values.items()
        if getattr(criterion, name) != value
    ]
    if not changes:
        return criterion
    for name, value in values.items():
        setattr(criterion, name, value)
    criterion.save(update_fields=list(values))
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        form_code="IECRIT",
        obj=criterion,
        changes=changes,
        reason_code=ChangeReason.OTHER,
        reason_text=reason,
    )
    return criterion


def complete_imported_enrolment(
    subject: Subject, actor: Any, *, file_sha256: str = "", reason: str = ""
) -> None:
    """After-import hook: what enrolment gives an imported subject (the date enrolled, the
    C1D1 visit), audited as imported.

    The status is not set here: it follows the subject's forms on every path
    (``outcomes.services.recompute_subject_status``, run after each SL, ENR, EOT, DS and DD
    saved and after each import), so an import never puts a subject who died back on
    treatment. A subject imported with a subject ID but no ENR form is held to the
    enrolment cap here (an ENR form is held to it by ``enforce_enrolment_cap``).
    """
    enrolment = Enrolment.objects.filter(subject=subject, is_deleted=False).first()
    if enrolment is None:
        if subject.subject_id:
            check_enrolment_cap(subject)
        return
    Visit.objects.get_or_create(
        subject=subject,
        code="C1D1",
        defaults={"kind": VisitKind.CYCLE, "number": 1, "planned_date": enrolment.planned_day1},
    )
    _set_subject(
        subject,
        actor=actor,
        source=AuditSource.IMPORT,
        file_sha256=file_sha256,
        reason=Reason(ChangeReason.DATA_IMPORT, reason),
        enrolled_at=enrolment.enrolled_on,
    )
