"""Demo outcomes through the services (make run; never for production): subjects whose
disease progressed end treatment, have their safety follow-up and survival contacts;
two of them die (one after a new anticancer therapy), so the KM curves, the swimmer plot
and the censoring explanations have something to show."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Max

from crf import registry
from crf.models import Visit
from crf.services import save_form
from outcomes.services import open_end_of_treatment
from study.models import Subject
from visits.models import Exposure
from visits.selectors import progression_date


def _save(actor: Any, subject: Subject, code: str, values: dict[str, Any], **kw: Any) -> Any:
    return save_form(
        actor=actor,
        spec=registry.get(code),
        subject=subject,
        values=values,
        complete=True,
        **kw,
    )


def seed_outcomes(actors: dict[str, Any], *, today: dt.date) -> None:
    """EOT, SFU and survival contacts after progression; two deaths; one new therapy."""
    progressed = []
    for subject in (
        Subject.objects.filter(subject_id__isnull=False)
        .select_related("site")
        .order_by("enrolled_at", "subject_id")
    ):
        progressed_on = progression_date(subject)
        if progressed_on is not None:
            progressed.append((subject, progressed_on))
    for index, (subject, progressed_on) in enumerate(progressed):
        actor = actors[subject.site.number]
        last_dose = Exposure.objects.filter(subject=subject, is_deleted=False).aggregate(
            last=Max("last_dose_on")
        )["last"]
        if last_dose is None:
            continue
        decided = max(progressed_on, last_dose) + dt.timedelta(days=2)
        if decided >= today:
            continue
        visit = open_end_of_treatment(actor=actor, subject=subject)
        _save(
            actor,
            subject,
            "EOT",
            {"decided_on": decided, "last_dose_on": last_dose, "reason": "PD_RADIOLOGICAL"},
            visit=visit,
        )
        sfu_on = last_dose + dt.timedelta(days=31)
        sfu = Visit.objects.filter(subject=subject, code="SFU").first()
        if sfu is not None and sfu_on < today:
            _save(
                actor,
                subject,
                "SFU",
                {"contacted_on": sfu_on, "contact": "VISIT", "new_adverse_events": "N"},
                visit=sfu,
            )
        contact = decided + dt.timedelta(days=84)
        dies = index in (0, 2)
        therapy = index in (1, 2)
        while contact < today - dt.timedelta(days=3):
            died = dies  # at the first survival contact
            values: dict[str, Any] = {
                "contacted_on": contact,
                "method": "PHONE",
                "status_found": "DEAD" if died else "ALIVE",
                "new_therapy": "N",
            }
            if therapy and contact == decided + dt.timedelta(days=84):
                values |= {
                    "new_therapy": "Y",
                    "new_therapy_started_on": decided + dt.timedelta(days=20),
                    "new_therapy_type": "TACE",
                    "new_therapy_name": "Conventional TACE",
                }
            if died:
                death_on = contact - dt.timedelta(days=10)
                _save(
                    actor,
                    subject,
                    "DD",
                    {"died_on": death_on, "cause": "DISEASE_PROGRESSION", "autopsy": "N"},
                )
                _save(actor, subject, "SV", values)
                _save(actor, subject, "DS", {"ended_on": contact, "reason": "DEATH"})
                break
            _save(actor, subject, "SV", values)
            contact += dt.timedelta(days=84)
