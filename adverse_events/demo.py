"""Demo adverse events and deviations through the services (make run; never for production).

Typical anlotinib toxicities for most treated subjects, one AE that began before
Day 1 (not treatment-emergent), one complete SAE, one SAE whose report is overdue
(red on the safety page and the site's home page), deviations, and an out-of-window
visit that waits for a data manager as a suggested deviation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from crf import registry
from crf.models import Visit
from crf.services import Reason, save_form
from study.models import Subject
from visits.models import VitalSigns
from visits.selectors import actual_day1

NOT_SERIOUS: dict[str, Any] = {
    "serious": "N",
    "results_in_death": "",
    "life_threatening": "",
    "hospitalisation": "",
    "disability": "",
    "congenital_anomaly": "",
    "important_medical_event": "",
    "aware_on": None,
    "narrative": "",
    "term_other": "",
}

# (term, onset day, days to resolution or None if ongoing, grade, relationship, action)
TOXICITIES: list[tuple[str, int, int | None, int, str, str]] = [
    ("Hypertension", 8, None, 2, "RELATED", "DOSE_NOT_CHANGED"),
    ("Palmar-plantar erythrodysesthesia syndrome", 15, 21, 2, "RELATED", "INTERRUPTED"),
    ("Diarrhea", 10, 5, 1, "POSSIBLY_RELATED", "DOSE_NOT_CHANGED"),
    ("Proteinuria", 22, None, 2, "PROBABLY_RELATED", "REDUCED"),
    ("Fatigue", 5, 30, 1, "POSSIBLY_RELATED", "DOSE_NOT_CHANGED"),
    ("Aspartate aminotransferase increased", 29, 14, 3, "PROBABLY_RELATED", "REDUCED"),
    ("Hypothyroidism", 43, None, 2, "RELATED", "DOSE_NOT_CHANGED"),
    ("Platelet count decreased", 36, 10, 1, "UNLIKELY_RELATED", "DOSE_NOT_CHANGED"),
]


def _ae(actor: Any, subject: Subject, values: dict[str, Any], *, complete: bool = True) -> Any:
    return save_form(
        actor=actor,
        spec=registry.get("AE"),
        subject=subject,
        values={**NOT_SERIOUS, **values},
        complete=complete,
    )


def _toxicity(
    actor: Any, subject: Subject, day1: dt.date, today: dt.date, row: tuple[Any, ...]
) -> None:
    term, onset_day, duration, grade, relationship, action = row
    onset = day1 + dt.timedelta(days=onset_day - 1)
    if onset > today:
        return
    end = onset + dt.timedelta(days=duration) if duration is not None else None
    if end is not None and end > today:
        end = None
    _ae(
        actor,
        subject,
        {
            "term": term,
            "onset_on": onset,
            "resolved_on": end,
            "ongoing": "N" if end else "Y",
            "grade": grade,
            "relationship": relationship,
            "action": action,
            "outcome": "RECOVERED" if end else "NOT_RECOVERED",
        },
    )


def seed_adverse_events(actors: dict[str, Any], *, today: dt.date) -> None:
    """AEs for the treated subjects (each gets a few of TOXICITIES, in turn)."""
    treated = [
        (subject, day1)
        for subject in Subject.objects.filter(subject_id__isnull=False)
        .select_related("site")
        .order_by("enrolled_at", "subject_id")
        if (day1 := actual_day1(subject)) is not None
    ]
    for index, (subject, day1) in enumerate(treated):
        actor = actors[subject.site.number]
        for offset in range(index % 4):
            _toxicity(actor, subject, day1, today, TOXICITIES[(index + offset) % len(TOXICITIES)])
    if len(treated) < 3:
        return
    subject, day1 = treated[0]
    actor = actors[subject.site.number]
    # Began before Day 1: not treatment-emergent (a worsening after Day 1 would be a new row).
    _ae(
        actor,
        subject,
        {
            "term": "Abdominal pain",
            "onset_on": day1 - dt.timedelta(days=3),
            "resolved_on": day1 + dt.timedelta(days=2),
            "ongoing": "N",
            "grade": 1,
            "relationship": "NOT_RELATED",
            "action": "NOT_APPLICABLE",
            "outcome": "RECOVERED",
        },
    )
    subject, day1 = treated[1]
    onset = day1 + dt.timedelta(days=50)
    _ae(
        actors[subject.site.number],
        subject,
        {
            "term": "Upper gastrointestinal hemorrhage",
            "onset_on": onset,
            "resolved_on": onset + dt.timedelta(days=6),
            "ongoing": "N",
            "grade": 3,
            "serious": "Y",
            "results_in_death": "N",
            "life_threatening": "N",
            "hospitalisation": "Y",
            "disability": "N",
            "congenital_anomaly": "N",
            "important_medical_event": "N",
            "aware_on": onset,
            "narrative": "Melaena on day 50; endoscopy showed oozing from oesophageal varices, "
            "banded. Anlotinib interrupted for 7 days and resumed at 10 mg.",
            "relationship": "POSSIBLY_RELATED",
            "action": "INTERRUPTED",
            "outcome": "RECOVERED",
        },
    )
    # The last treated subject of site 01 (the demo investigator's site): a serious AE saved
    # three days ago without its narrative, so its 24-hour report is overdue.
    subject, day1 = [(s, d) for s, d in treated if s.site.number == "01"][-1]
    aware = today - dt.timedelta(days=3)
    if aware >= day1:
        _ae(
            actors[subject.site.number],
            subject,
            {
                "term": "Blood bilirubin increased",
                "onset_on": aware,
                "ongoing": "Y",
                "grade": 3,
                "serious": "Y",
                "results_in_death": "N",
                "life_threatening": "N",
                "hospitalisation": "Y",
                "disability": "N",
                "congenital_anomaly": "N",
                "important_medical_event": "N",
                "aware_on": aware,
                "relationship": "POSSIBLY_RELATED",
                "action": "INTERRUPTED",
                "outcome": "NOT_RECOVERED",
            },
            complete=False,
        )


def seed_deviations(actors: dict[str, Any]) -> None:
    """Two recorded deviations, and one out-of-window visit waiting as a suggestion."""
    enrolled = list(
        Subject.objects.filter(subject_id__isnull=False)
        .select_related("site")
        .order_by("enrolled_at", "subject_id")
    )
    if len(enrolled) < 5:
        return
    spec = registry.get("DV")
    for subject, values in (
        (
            enrolled[2],
            {
                "category": "DOSING",
                "severity": "MINOR",
                "description": "Took 12 of 14 tablets in cycle 2 (forgot two doses).",
                "action": "Patient retrained; diary card reviewed.",
            },
        ),
        (
            enrolled[4],
            {
                "category": "CONSENT",
                "severity": "MAJOR",
                "description": "Consent form page 4 not initialled by the patient.",
                "action": "Re-consented at the next visit; ethics committee informed.",
            },
        ),
    ):
        day1 = actual_day1(subject)
        save_form(
            actor=actors[subject.site.number],
            spec=spec,
            subject=subject,
            values={"occurred_on": (day1 or subject.enrolled_at), **values},
            complete=True,
        )
    # C2D1 vital signs of one subject moved two days past the window (a corrected source).
    subject = enrolled[3]
    visit = Visit.objects.filter(subject=subject, code="C2D1").first()
    vitals = VitalSigns.objects.filter(subject=subject, visit=visit, is_deleted=False).first()
    if visit is None or vitals is None or visit.window_end is None:
        return
    save_form(
        actor=actors[subject.site.number],
        spec=registry.get("VS"),
        subject=subject,
        visit=visit,
        instance=vitals,
        values={"assessed_on": visit.window_end + dt.timedelta(days=2)},
        complete=True,
        reason=Reason("NEW_SOURCE_INFORMATION", ""),
    )
