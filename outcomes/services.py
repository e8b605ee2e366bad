"""Writes of the outcomes app: opening the end-of-treatment visit; the schedule follows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crf import audit
from crf.models import AuditAction, Visit, VisitKind
from study import protocol
from study.models import Subject
from visits.services import sync_schedule


@transaction.atomic
def open_end_of_treatment(*, actor: Any, subject: Subject) -> Visit:
    """Open the subject's EOT visit (planned today, within EOT_WITHIN_DAYS) for the EOT form.

    Side effects: one Visit row (audited); idempotent (an open EOT visit is returned).
    """
    Subject.objects.select_for_update().filter(pk=subject.pk).first()
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
