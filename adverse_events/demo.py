"""Demo adverse events and deviations through the services (make run; never for production).

Typical anlotinib toxicities for most treated subjects, one AE that began before
Day 1 (not treatment-emergent), one complete SAE, one SAE whose report is overdue
(red on the safety page and the site's home page), deviations, and an out-of-window
visit that waits for a data manager as a suggested deviation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crf import registry
from crf.models import Visit
from crf.services import Reason, save_form
from study.models import Subject
from visits.demo import Toxicity
from visits.models import Exposure, VitalSigns
from visits.selectors import actual_day1, progression_date

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

# (term, onset day, days to resolution or None if ongoing, grade, relationship, action).
# The laboratory AEs are found on a cycle visit's samples (day 22 = C2D1, day 43 = C3D1), so
# the values of that visit show them (visits.demo.lab_values); an interruption begins on a
# dosing day; a reduction lowers the dose from the next cycle visit (visits.demo.Dosing).
TOXICITIES: list[tuple[str, int, int | None, int, str, str]] = [
    ("Hypertension", 8, None, 2, "RELATED", "DOSE_NOT_CHANGED"),
    ("Palmar-plantar erythrodysesthesia syndrome", 10, 21, 2, "RELATED", "INTERRUPTED"),
    ("Diarrhea", 10, 5, 1, "POSSIBLY_RELATED", "DOSE_NOT_CHANGED"),
    ("Proteinuria", 22, 41, 2, "PROBABLY_RELATED", "REDUCED"),  # settles at the lower dose
    ("Fatigue", 5, 30, 1, "POSSIBLY_RELATED", "DOSE_NOT_CHANGED"),
    ("Aspartate aminotransferase increased", 43, 20, 2, "PROBABLY_RELATED", "REDUCED"),
    ("Hypothyroidism", 43, None, 2, "RELATED", "DOSE_NOT_CHANGED"),
    ("Platelet count decreased", 36, 10, 1, "UNLIKELY_RELATED", "DOSE_NOT_CHANGED"),
]


# The concomitant medication a toxicity is treated with, from its onset (CM log).
TREATMENTS = {
    "Hypertension": ("Amlodipine", "5 mg once daily"),
    "Hypothyroidism": ("Levothyroxine", "50 µg once daily"),
}


@dataclass(frozen=True)
class PlannedAE:
    """An AE of the demo before it is entered: its AE form values (model field names)."""

    values: dict[str, Any]
    complete: bool = True

    @property
    def toxicity(self) -> Toxicity:
        """What the visit data must show of it (visits.demo)."""
        v = self.values
        return Toxicity(
            term=v["term"],
            onset=v["onset_on"],
            resolved=v.get("resolved_on"),
            grade=v["grade"],
            action=v["action"],
        )


def _ae(actor: Any, subject: Subject, values: dict[str, Any], *, complete: bool = True) -> Any:
    return save_form(
        actor=actor,
        spec=registry.get("AE"),
        subject=subject,
        values={**NOT_SERIOUS, **values},
        complete=complete,
    )


def planned_toxicity(
    day1: dt.date, today: dt.date, row: tuple[Any, ...], until: dt.date | None
) -> PlannedAE | None:
    term, onset_day, duration, grade, relationship, action = row
    onset = day1 + dt.timedelta(days=onset_day - 1)
    if onset > today or (until is not None and onset > until):
        return None  # not yet, or after the treatment ended
    end = onset + dt.timedelta(days=duration) if duration is not None else None
    if end is not None and end > today:
        end = None
    return PlannedAE(
        {
            "term": term,
            "onset_on": onset,
            "resolved_on": end,
            "ongoing": "N" if end else "Y",
            "grade": grade,
            "relationship": relationship,
            "action": action,
            "outcome": "RECOVERED" if end else "NOT_RECOVERED",
        }
    )


# (subject, its Day 1, the date its disease progressed or None)
Treated = tuple[Subject, dt.date, dt.date | None]


def plan_adverse_events(
    treated: Sequence[Treated], *, today: dt.date
) -> dict[int, list[PlannedAE]]:
    """The demo's AEs, by subject pk, in the order of ``treated`` (enrolment order).

    Each subject gets a few of TOXICITIES in turn (none after its progression, when
    treatment ends); the first subject an AE that began before Day 1 (not treatment-
    emergent); the next one still on treatment a complete SAE reported on time (an upper
    GI haemorrhage the site learnt of today); the last subject of site 01 still on
    treatment a serious raised bilirubin three days ago whose 24-hour report is overdue."""
    plan: dict[int, list[PlannedAE]] = {subject.pk: [] for subject, _day1, _pd in treated}
    for index, (subject, day1, progressed) in enumerate(treated):
        for offset in range(index % 4):
            row = TOXICITIES[(index + offset) % len(TOXICITIES)]
            if (planned := planned_toxicity(day1, today, row, progressed)) is not None:
                plan[subject.pk].append(planned)
    if len(treated) < 3:
        return plan
    subject, day1, _pd = treated[0]
    # Began before Day 1: not treatment-emergent (a worsening after Day 1 would be a new row).
    plan[subject.pk].append(
        PlannedAE(
            {
                "term": "Abdominal pain",
                "onset_on": day1 - dt.timedelta(days=3),
                "resolved_on": day1 + dt.timedelta(days=2),
                "ongoing": "N",
                "grade": 1,
                "relationship": "NOT_RELATED",
                "action": "NOT_APPLICABLE",
                "outcome": "RECOVERED",
            }
        )
    )
    # A serious AE the site became aware of today and reported at once, complete with its
    # narrative: on time (its 24-hour clock runs from the save, adverse_events.sae_clock).
    going = [(s, d) for s, d, pd in treated[1:] if pd is None and d < today]
    if going:
        subject, day1 = going[0]
        plan[subject.pk].append(
            PlannedAE(
                {
                    "term": "Upper gastrointestinal hemorrhage",
                    "onset_on": today - dt.timedelta(days=1),
                    "ongoing": "Y",
                    "grade": 3,
                    "serious": "Y",
                    "results_in_death": "N",
                    "life_threatening": "N",
                    "hospitalisation": "Y",
                    "disability": "N",
                    "congenital_anomaly": "N",
                    "important_medical_event": "N",
                    "aware_on": today,
                    "narrative": "Melaena since the evening before admission; haemoglobin "
                    "fell by 20 g/L. Endoscopy showed oozing from oesophageal varices, "
                    "banded. Anlotinib interrupted; to resume at the next lower dose once "
                    "recovered.",
                    "relationship": "POSSIBLY_RELATED",
                    "action": "INTERRUPTED",
                    "outcome": "RECOVERING",
                }
            )
        )
    # The last subject of site 01 (the demo investigator's site) still on treatment: a serious
    # AE saved three days ago without its narrative, so its 24-hour report is overdue.
    aware = today - dt.timedelta(days=3)
    still_treated = [
        (s, d) for s, d, pd in treated if s.site.number == "01" and pd is None and aware >= d
    ]
    if still_treated:
        subject, day1 = still_treated[-1]
        plan[subject.pk].append(
            PlannedAE(
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
        )
    return plan


def seed_adverse_events(
    actors: dict[str, Any],
    *,
    today: dt.date,
    plan: dict[int, list[PlannedAE]] | None = None,
) -> None:
    """Enter the AEs of ``plan`` (by default planned here for the subjects treated so far,
    in enrolment order), each through crf.services like entry in the AE form."""
    subjects = {
        subject.pk: subject
        for subject in Subject.objects.filter(subject_id__isnull=False).select_related("site")
    }
    if plan is None:
        treated = [
            (subject, day1, progression_date(subject))
            for subject in sorted(subjects.values(), key=lambda s: (s.enrolled_at, s.subject_id))
            if (day1 := actual_day1(subject)) is not None
        ]
        plan = plan_adverse_events(treated, today=today)
    for pk, events in plan.items():
        subject = subjects[pk]
        for event in sorted(events, key=lambda e: e.values["onset_on"]):
            actor = actors[subject.site.number]
            _ae(actor, subject, event.values, complete=event.complete)
            if (treatment := TREATMENTS.get(event.values["term"])) is not None:
                medication, dose = treatment
                save_form(
                    actor=actor,
                    spec=registry.get("CM"),
                    subject=subject,
                    values={
                        "medication": medication,
                        "indication": event.values["term"],
                        "dose": dose,
                        "route": "ORAL",
                        "started_on": event.values["onset_on"].isoformat(),
                        "ongoing": "Y",
                    },
                    complete=True,
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
        occurred = day1 or subject.enrolled_at
        if values["category"] == "DOSING":  # the cycle's last dosing day, if entered
            cycle2 = Exposure.objects.filter(
                subject=subject, visit__code="C2D1", is_deleted=False
            ).first()
            occurred = (cycle2.last_dose_on if cycle2 else None) or occurred
        save_form(
            actor=actors[subject.site.number],
            spec=spec,
            subject=subject,
            values={"occurred_on": occurred, **values},
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
