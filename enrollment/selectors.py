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


def consent_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    consent = _active(InformedConsent, subject)
    return {
        "ICDAT": consent.consent_date if consent else None,
        "IC_COMPLETE": bool(consent and consent.status == FormStatus.COMPLETE),
    }


def consent_version_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    return {"CONSENT_VERSIONS": approved_consent_versions(subject.site_id)}


def demographics_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    birth = (
        Demographics.objects.filter(subject=subject, is_deleted=False)
        .values_list("birth_date", flat=True)
        .first()
    )
    return {"BRTHDAT": birth}


def criteria_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    criteria = criteria_in_force()
    return {"IE_CODES": [c.code for c in criteria], "IE_KINDS": {c.code: c.kind for c in criteria}}


def history_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    last_dose = (
        History.objects.filter(subject=subject, is_deleted=False)
        .values_list("lenvatinib_last_dose", flat=True)
        .first()
    )
    return {"LENENDAT": last_dose}


def eligibility_and_enrolment_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    eligibility = _active(Eligibility, subject)
    enrolment = _active(Enrolment, subject)
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
        "IEDAT": eligibility.confirmed_on if eligibility else None,
        "IEYN": (
            eligibility.all_met
            if eligibility and eligibility.status == FormStatus.COMPLETE
            else None
        ),
        "ENRDAT": enrolment.enrolled_on if enrolment else None,
        "PLDAY1": enrolment.planned_day1 if enrolment else None,
        "STUDY_DATES": study_dates,
    }


# Each provider with the facts it gives: a save computes only those its checks read.
FACT_PROVIDERS: list[tuple[Any, tuple[str, ...]]] = [
    (consent_facts, ("ICDAT", "IC_COMPLETE")),
    (consent_version_facts, ("CONSENT_VERSIONS",)),
    (demographics_facts, ("BRTHDAT",)),
    (criteria_facts, ("IE_CODES", "IE_KINDS")),
    (history_facts, ("LENENDAT",)),
    (eligibility_and_enrolment_facts, ("IEDAT", "IEYN", "ENRDAT", "PLDAY1", "STUDY_DATES")),
]


def screening_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    """Every fact the screening forms' checks read, at once."""
    facts: dict[str, Any] = {}
    for provider, _names in FACT_PROVIDERS:
        facts.update(provider(subject, visit))
    return facts


def enrolled_count() -> int:
    return Subject.objects.filter(subject_id__isnull=False).count()
