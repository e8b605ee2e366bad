"""Demo outcomes through the services (make run; never for production): subjects whose
disease progressed end treatment the day after the scan that showed it (vital signs,
laboratory values and liver scores at the EOT visit), have their safety follow-up visit
30 days after the last dose and survival contacts every 84 days; two of them die (one
after a new anticancer therapy), so the KM curves, the swimmer plot and the censoring
explanations have something to show. Nothing is dated after ``today``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Max

from adverse_events.models import AdverseEvent
from crf import registry
from crf.models import Visit
from crf.services import save_form
from outcomes.services import open_end_of_treatment
from study.models import Subject
from visits.demo import Toxicity, record_assessments, tumour_burden
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


# The hospital's records tell the site of a death this many days after EOT, before the
# first survival visit's window opens (EOT + 84 - 14 days): the contact holds no survival
# visit, so no date of the subject is after the death (crf-spec DD DTHDAT).
DEATH_REPORTED_AFTER_EOT_DAYS = 59


def _toxicities(subject: Subject) -> list[Toxicity]:
    return [
        Toxicity(ae.term, ae.onset_on, ae.resolved_on, ae.grade or 1, ae.action)
        for ae in AdverseEvent.objects.filter(subject=subject, is_deleted=False)
        if ae.onset_on is not None
    ]


def _assess(actor: Any, subject: Subject, visit: Visit, on: dt.date, today: dt.date) -> None:
    """The visit's VS, LB (and CP) on ``on``, when ``on`` is in its window."""
    visit.refresh_from_db()
    start, end = visit.window_start, visit.window_end
    if start is not None and end is not None and not start <= on <= end:
        return
    record_assessments(
        actor,
        subject,
        visit,
        on=on,
        today=today,
        burden=tumour_burden(subject, on),
        toxicities=_toxicities(subject),
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
        # The investigator reads the scan the next day (the next cycle's visit) and stops.
        decided = max(progressed_on, last_dose) + dt.timedelta(days=1)
        if decided > today:
            continue
        visit = open_end_of_treatment(actor=actor, subject=subject)
        _save(
            actor,
            subject,
            "EOT",
            {"decided_on": decided, "last_dose_on": last_dose, "reason": "PD_RADIOLOGICAL"},
            visit=visit,
        )
        _assess(actor, subject, visit, decided, today)
        sfu_on = last_dose + dt.timedelta(days=31)
        sfu = Visit.objects.filter(subject=subject, code="SFU").first()
        if sfu is not None and sfu_on <= today:
            _save(
                actor,
                subject,
                "SFU",
                {"contacted_on": sfu_on, "contact": "VISIT", "new_adverse_events": "N"},
                visit=sfu,
            )
            _assess(actor, subject, sfu, sfu_on, today)
        dies = index in (0, 2)
        therapy = index in (1, 2)
        first = decided + dt.timedelta(days=DEATH_REPORTED_AFTER_EOT_DAYS if dies else 84)
        contact = first
        while contact < today - dt.timedelta(days=3):
            values: dict[str, Any] = {
                "contacted_on": contact,
                "method": "RECORDS" if dies else "PHONE",
                "status_found": "DEAD" if dies else "ALIVE",
                "new_therapy": "N",
            }
            if therapy and contact == first:
                values |= {
                    "new_therapy": "Y",
                    "new_therapy_started_on": decided + dt.timedelta(days=20),
                    "new_therapy_type": "TACE",
                    "new_therapy_name": "Conventional TACE",
                }
            if dies:
                death_on = contact - dt.timedelta(days=4)
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
