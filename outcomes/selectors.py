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


def outcome_facts(subject: Subject, visit: Any = None) -> dict[str, Any]:
    """Facts of the outcomes checks and of the AE checks (LASTDOSE for TEAE, DTHDAT)."""
    from adverse_events.models import AdverseEvent

    eot = _active(EndOfTreatment, subject)
    death = _active(Death, subject)
    open_aes = (
        AdverseEvent.objects.filter(subject=subject, is_deleted=False, ongoing="Y")
        .exclude(outcome="FATAL")
        .count()
    )
    return {
        "LASTDOSE": eot.last_dose_on if eot else None,
        "EOTDAT": eot.decided_on if eot else None,
        "LAST_EXENDAT": last_exposure_date(subject),
        "DTHDAT": death.died_on if death else None,
        "HAS_DD": death is not None and death.died_on is not None,
        "OPEN_NONFATAL_AES": open_aes,
        # Read only by the DD checks: a callable, so other forms' saves do not pay for it.
        # (the survival contact and end of study that report the death may come later)
        "LATEST_OTHER_DATE": lambda: latest_dates([subject.pk], exclude=("DD", "SV", "DS")).get(
            subject.pk
        ),
    }


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
