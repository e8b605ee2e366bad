"""Writes of the adverse events app that follow other data (TEAE after Day 1 changes)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from adverse_events.models import AdverseEvent
from crf import registry
from crf.models import AuditSource, ChangeReason, FormStatus
from crf.services import CheckError, Reason, once_per_subject, save_form
from study.models import Subject

logger = logging.getLogger(__name__)


def treatment_emergence_after_forms(
    subject: Subject, instances: Sequence[Any], actor: AbstractBaseUser
) -> None:
    """``refresh_treatment_emergence`` once for a batch of the subject's forms
    (crf.services.SubjectBatch)."""
    refresh_subject_treatment_emergence(subject=subject, actor=actor)


@once_per_subject(treatment_emergence_after_forms)
def refresh_treatment_emergence(instance: Any, actor: AbstractBaseUser) -> None:
    """After-save hook of EX and EOT: Day 1 or the last dose may have changed."""
    refresh_subject_treatment_emergence(subject=instance.subject, actor=actor)


def refresh_subject_treatment_emergence(*, subject: Subject, actor: AbstractBaseUser) -> None:
    """Recompute TEAE of the subject's AEs after Day 1 (EX at C1D1) or the last dose changed.

    Side effects: each AE whose TEAE flag changes is saved through crf.services with
    the reason DERIVATION (audited as the system's change, made on ``actor``'s save).
    """
    spec = registry.get("AE")
    events = list(AdverseEvent.objects.filter(subject_id=subject.pk, is_deleted=False))
    if not events:
        return
    facts = registry.subject_facts(subject)
    for event in events:
        data = {v.name: getattr(event, v.field_name) for v in spec.variables}
        derived = spec.derive(data, facts) if spec.derive else {}
        if derived.get("TEAE") == event.treatment_emergent:
            continue
        try:
            save_form(
                actor=actor,
                spec=spec,
                subject=subject,
                instance=event,
                values={},
                complete=event.status == FormStatus.COMPLETE,
                reason=Reason(ChangeReason.DERIVATION),
                source=AuditSource.SERVICE,
                facts=facts,
            )
        except CheckError:  # a rule now refuses the AE: it keeps its flag and its query
            logger.warning("TEAE of AE %s not recomputed: edit checks refuse it", event.pk)


def register_navigation() -> None:
    from django.utils.translation import gettext_lazy as _

    from study import navigation
    from study.roles import SAFETY, VIEW

    navigation.register(navigation.NavItem(_("Safety"), "adverse_events:safety", SAFETY, order=40))
    navigation.register(
        navigation.NavItem(_("Deviations"), "adverse_events:deviations", VIEW, order=45)
    )
