"""Reads of outcome data: the facts of the outcomes checks, the course of the schedule,
and the last date a subject was known alive."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import Max

from crf import registry
from crf.models import Visit, VisitKind
from outcomes.models import Death, EndOfTreatment, StudyEnd
from study.models import Subject
from visits.models import Exposure


def _active(model: type[Any], subject: Subject) -> Any:
    return model.objects.filter(subject=subject, is_deleted=False).first()


def _date_fields(model: type[models.Model]) -> list[str]:
    spec = registry.for_model(model)
    return [v.field_name for v in spec.input_variables if isinstance(v.field, models.DateField)]


# Visits held by a log form's date rather than a visit form (visits.services.
# record_survival_contacts): leaving the form out leaves them out too.
VISITS_HELD_BY = {"SV": VisitKind.SURVIVAL_FOLLOW_UP}


def latest_dates(
    subject_ids: Iterable[int], *, exclude: tuple[str, ...] = ()
) -> dict[int, dt.date]:
    """The latest date of every dated record of each subject (every form's date variables
    and the visits held): "last known alive" (protocol.md OS). One query per form model."""
    ids = list(subject_ids)
    latest: dict[int, dt.date] = defaultdict(lambda: dt.date.min)
    for spec in registry.all_forms():
        if spec.code in exclude:
            continue
        fields = _date_fields(spec.model)
        if not fields:
            continue
        rows = (
            spec.model.objects.filter(subject_id__in=ids, is_deleted=False)
            .values("subject_id")
            .annotate(**{f"max_{f}": Max(f) for f in fields})
        )
        for row in rows:
            for field in fields:
                value = row[f"max_{field}"]  # type: ignore[literal-required]
                if value is not None and value > latest[row["subject_id"]]:
                    latest[row["subject_id"]] = value
    held = (
        Visit.objects.filter(subject_id__in=ids)
        .exclude(held_on=None)
        .exclude(kind__in=[kind for code, kind in VISITS_HELD_BY.items() if code in exclude])
        .values("subject_id")
        .annotate(last=Max("held_on"))
    )
    for row in held:
        if row["last"] > latest[row["subject_id"]]:
            latest[row["subject_id"]] = row["last"]
    return {k: v for k, v in latest.items() if v != dt.date.min}


def last_exposure_date(subject: Subject) -> dt.date | None:
    return (
        Exposure.objects.filter(subject=subject, is_deleted=False)
        .exclude(last_dose_on=None)
        .aggregate(last=Max("last_dose_on"))["last"]
    )


def end_of_treatment_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    eot = _active(EndOfTreatment, subject)
    return {
        "LASTDOSE": eot.last_dose_on if eot else None,
        "EOTDAT": eot.decided_on if eot else None,
    }


def last_exposure_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    return {"LAST_EXENDAT": last_exposure_date(subject)}


def death_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    death = _active(Death, subject)
    return {
        "DTHDAT": death.died_on if death else None,
        "HAS_DD": death is not None and death.died_on is not None,
    }


def open_ae_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    from adverse_events.models import AdverseEvent

    open_aes = (
        AdverseEvent.objects.filter(subject=subject, is_deleted=False, ongoing="Y")
        .exclude(outcome="FATAL")
        .count()
    )
    return {"OPEN_NONFATAL_AES": open_aes}


def latest_other_date_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    # The death date is on or after every other date but those of the survival contact and
    # the end of study that report the death (they may come later).
    latest = latest_dates([subject.pk], exclude=("DD", "SV", "DS")).get(subject.pk)
    return {"LATEST_OTHER_DATE": latest}


# Each provider with the facts it gives: a save computes only those its checks read.
FACT_PROVIDERS: list[tuple[Any, tuple[str, ...]]] = [
    (end_of_treatment_facts, ("LASTDOSE", "EOTDAT")),
    (last_exposure_facts, ("LAST_EXENDAT",)),
    (death_facts, ("DTHDAT", "HAS_DD")),
    (open_ae_facts, ("OPEN_NONFATAL_AES",)),
    (latest_other_date_facts, ("LATEST_OTHER_DATE",)),
]


def outcome_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    """Every fact of the outcomes checks and of the AE checks at once."""
    facts: dict[str, Any] = {}
    for provider, _names in FACT_PROVIDERS:
        facts.update(provider(subject, visit))
    return facts


def course_dates(subject: Subject) -> dict[str, Any]:
    """What the visit schedule needs from the outcomes forms (visits.schedule.SubjectCourse)."""
    eot = _active(EndOfTreatment, subject)
    death = _active(Death, subject)
    end = _active(StudyEnd, subject)
    return {
        "treatment_end_decided_on": eot.decided_on if eot else None,
        "last_dose": eot.last_dose_on if eot else None,
        "death_on": death.died_on if death else None,
        "study_end_on": end.ended_on if end else None,
    }
