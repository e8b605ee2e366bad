"""Writes of the outcomes app: opening the end-of-treatment visit; the schedule follows;
the subject's status, recomputed from the forms that decide it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from crf import audit, registry
from crf.codelists import YN
from crf.models import AuditAction, AuditEntry, AuditSource, ChangeReason, Visit, VisitKind
from crf.services import Reason, once_per_subject
from enrollment.models import Enrolment, ScreeningLog
from outcomes.models import Death, EndOfTreatment, StudyEnd
from study import protocol
from study.models import Subject
from study.subject_status import StatusFacts, subject_status
from visits.services import schedule_after_forms, sync_schedule

# The forms whose saving or deletion may change a subject's status (study/subject_status.py).
STATUS_FORMS = ("SL", "ENR", "EOT", "DS", "DD")


@transaction.atomic
def open_end_of_treatment(*, actor: Any, subject: Subject) -> Visit:
    """Open the subject's EOT visit (planned today, within EOT_WITHIN_DAYS) for the EOT form.

    Side effects: one Visit row (audited); idempotent (an open EOT visit is returned).
    """
    Subject.objects.select_for_update().filter(pk=subject.pk).first()
    registry.check_write(registry.WriteAttempt(actor, subject, None, action="visit"))
    if not subject.subject_id:
        raise ValidationError(_("Only an enrolled subject has an end of treatment."))
    existing = Visit.objects.filter(subject=subject, code="EOT").first()
    if existing is not None:
        return existing
    today = timezone.localdate()
    visit = Visit.objects.create(
        subject=subject,
        code="EOT",
        kind=VisitKind.END_OF_TREATMENT,
        number=0,
        planned_date=today,
        window_start=today,
        window_end=today + dt.timedelta(days=protocol.EOT_WITHIN_DAYS),
    )
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        form_code="VISIT",
        obj=visit,
        subject_id=subject.pk,
        visit_code="EOT",
        changes=[("OPENED", None, today.isoformat())],
    )
    return visit


@once_per_subject(schedule_after_forms)
def after_outcome_saved(instance: Any, actor: Any) -> None:
    """EOT, DD and DS drive the schedule: EOT ends the cycles and opens SFU and SURV;
    death or end of study closes every visit not held."""
    sync_schedule(instance.subject)


def recheck_after_death(instance: Any, actor: Any) -> None:
    """A death form settles (or reopens) the queries of fatal AEs and of DS = DEATH."""
    from adverse_events.models import AdverseEvent
    from crf import registry
    from crf.services import recheck_findings
    from outcomes.models import StudyEnd

    ae_spec = registry.get("AE")
    fatal = AdverseEvent.objects.filter(subject_id=instance.subject_id, is_deleted=False).filter(
        models.Q(outcome="FATAL") | models.Q(grade=5)
    )
    for event in fatal:
        recheck_findings(spec=ae_spec, instance=event)
    for end in StudyEnd.objects.filter(subject_id=instance.subject_id, is_deleted=False):
        recheck_findings(spec=registry.get("DS"), instance=end)


def recheck_death_after_ae(instance: Any, actor: Any) -> None:
    """An AE's outcome changes whether the death form's "open AEs" query still applies."""
    from crf import registry
    from crf.services import recheck_findings
    from outcomes.models import Death

    for death in Death.objects.filter(subject_id=instance.subject_id, is_deleted=False):
        recheck_findings(spec=registry.get("DD"), instance=death)


# --- The subject's status follows its forms (issue 10 item 2) -------------------------------


def status_facts(subject: Subject) -> StatusFacts:
    """The facts of the status rule, from the subject's active forms (one query)."""

    def active(model: type[Any]) -> Any:
        return model.objects.filter(subject_id=OuterRef("pk"), is_deleted=False)

    row = (
        Subject.objects.filter(pk=subject.pk)
        .annotate(
            has_screen_failure=Exists(active(ScreeningLog).filter(screen_failure=YN.Y)),
            has_enrolment=Exists(active(Enrolment)),
            has_end_of_treatment=Exists(active(EndOfTreatment)),
            study_end_reason=Subquery(active(StudyEnd).order_by("pk").values("reason")[:1]),
            has_death=Exists(active(Death)),
        )
        .values(
            "subject_id",
            "has_screen_failure",
            "has_enrolment",
            "has_end_of_treatment",
            "study_end_reason",
            "has_death",
        )
        .get()
    )
    return StatusFacts(
        screen_failed=row["has_screen_failure"],
        enrolled=bool(row["subject_id"]) or row["has_enrolment"],
        end_of_treatment=row["has_end_of_treatment"],
        study_end=row["study_end_reason"] is not None,
        study_end_reason=row["study_end_reason"] or "",
        death=row["has_death"],
    )


@transaction.atomic
def recompute_subject_status(
    *,
    actor: Any,
    subject: Subject,
    source: str = AuditSource.SERVICE,
    reason: Reason | None = None,
    file_sha256: str = "",
) -> str:
    """Set the subject's status from its active SL, ENR, EOT, DS and DD forms; return it.

    The rule is ``study.subject_status.subject_status`` (issue 10, crf-spec). When the
    status changes, the row is written and one audit entry (form code SUBJ, variable
    STATUS, old and new) records ``actor``, ``source`` (web, import or service), the
    reason (DERIVATION unless given) and, on import, the file's SHA-256. Nothing is
    written when the status is already right. ``actor`` None is the system.
    """
    locked = Subject.objects.select_for_update().get(pk=subject.pk)
    new = subject_status(status_facts(locked))
    if locked.status != new:
        old = locked.status
        locked.status = new
        locked.save(update_fields=["status"])
        reason = reason or Reason(ChangeReason.DERIVATION)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            form_code="SUBJ",
            obj=locked,
            subject_id=locked.pk,
            changes=[("STATUS", old, new)],
            source=source,
            file_sha256=file_sha256,
            reason_code=reason.code,
            reason_text=reason.text,
        )
    subject.status = new
    return new


def status_after_form_saved(instance: Any, actor: Any) -> None:
    """After-save hook of SL, ENR, EOT, DS and DD (run after a save and after a soft
    delete, crf.services): recompute the status, audited with the source, reason and file
    SHA-256 of the form change that caused it (its last audit entry), so a change typed
    in a form, imported from a file or made by a service is told apart."""
    cause = (
        AuditEntry.objects.filter(
            subject_id=instance.subject_id,
            object_model=instance._meta.label,
            object_id=instance.pk,
        )
        .order_by("-id")
        .values("source", "reason_code", "reason_text", "file_sha256")
        .first()
    )
    source: str = AuditSource.WEB
    reason: Reason | None = None
    sha = ""
    if cause is not None:
        source, sha = cause["source"], cause["file_sha256"]
        if cause["source"] == AuditSource.IMPORT and cause["reason_code"]:
            reason = Reason(cause["reason_code"], cause["reason_text"])
    recompute_subject_status(
        actor=actor, subject=instance.subject, source=source, reason=reason, file_sha256=sha
    )


def status_after_import(subject: Subject, actor: Any, *, file_sha256: str, reason: str) -> None:
    """After-import hook: every imported subject's status is recomputed (also when the file
    changed none of its deciding forms), audited as imported with the file's SHA-256."""
    recompute_subject_status(
        actor=actor,
        subject=subject,
        source=AuditSource.IMPORT,
        reason=Reason(ChangeReason.DATA_IMPORT, reason),
        file_sha256=file_sha256,
    )
