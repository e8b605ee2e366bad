"""Reads of screening data: the facts the checks need, criteria, counts."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from crf.models import FormStatus
from enrollment.models import (
    ConsentFormVersion,
    Demographics,
    Eligibility,
    EligibilityCriterion,
    Enrolment,
    History,
    InformedConsent,
)
from study import protocol
from study.models import Subject


def criteria_in_force() -> list[EligibilityCriterion]:
    """The eligibility criteria of the protocol version in force, in order."""
    return list(EligibilityCriterion.objects.filter(protocol_version=protocol.PROTOCOL_VERSION))


def approved_consent_versions(site_id: int) -> set[str]:
    return set(
        ConsentFormVersion.objects.filter(Q(all_sites=True) | Q(sites__id=site_id))
        .values_list("version", flat=True)
        .distinct()
    )


def _active(model: Any, subject: Subject) -> Any:
    return model.objects.filter(subject=subject, is_deleted=False).first()


def screening_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    """What the screening forms' checks need from the subject's other forms."""
    consent = _active(InformedConsent, subject)
    demographics = _active(Demographics, subject)
    eligibility = _active(Eligibility, subject)
    history = _active(History, subject)
    enrolment = _active(Enrolment, subject)
    criteria = criteria_in_force()
    study_dates = [
        (name, value)
        for name, value in (
            ("IEDAT", eligibility.confirmed_on if eligibility else None),
            ("ENRDAT", enrolment.enrolled_on if enrolment else None),
            ("PLDAY1", enrolment.planned_day1 if enrolment else None),
        )
        if value is not None
    ]
    return {
        "ICDAT": consent.consent_date if consent else None,
        "IC_COMPLETE": bool(consent and consent.status == FormStatus.COMPLETE),
        "CONSENT_VERSIONS": approved_consent_versions(subject.site_id),
        "BRTHDAT": demographics.birth_date if demographics else None,
        "IEDAT": eligibility.confirmed_on if eligibility else None,
        "IEYN": (
            eligibility.all_met
            if eligibility and eligibility.status == FormStatus.COMPLETE
            else None
        ),
        "IE_CODES": [c.code for c in criteria],
        "IE_KINDS": {c.code: c.kind for c in criteria},
        "LENENDAT": history.lenvatinib_last_dose if history else None,
        "ENRDAT": enrolment.enrolled_on if enrolment else None,
        "PLDAY1": enrolment.planned_day1 if enrolment else None,
        "STUDY_DATES": study_dates,
    }


def enrolled_count() -> int:
    return Subject.objects.filter(subject_id__isnull=False).count()
