"""A synthetic study of any size as a study data file (crf.datafile), for `make bench`.

Generated in Python as the document itself (fast), never through the database: the import
(``import_study_data``) is the way in, with every check and the audit trail. Each subject is
one of the demo's patients (visits.demo: its values, toxicities, dosing and RECIST courses)
followed from screening to today: screening (SL, IC, DM, HX, IE, ENR; VS, LB, CP and the
baseline scan), every cycle visit (VS, LB, CP, EX), every tumour assessment until
progression, adverse events (some serious, with their report), concomitant medication,
then for those whose disease progressed the end of treatment, the safety follow-up,
survival contacts, and for some a death and the end of study. One in ten persons screened
fails screening. Every date is in the past; values pass every hard check. Deterministic
for a seed and a day.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from adverse_events.demo import NOT_SERIOUS, TOXICITIES, TREATMENTS, PlannedAE, planned_toxicity
from crf import registry
from crf.datafile import FORMAT, PARAMETERS, TARGET_ENROLMENT, Stream
from crf.datafile.document import is_empty
from enrollment.models import CriterionKind
from enrollment.selectors import criteria_in_force
from study import protocol
from visits.demo import (
    COURSES,
    Dosing,
    Toxicity,
    course_response,
    course_sum,
    lab_values,
    patient,
    progression_assessment,
    scan_day,
    split_sum,
    vital_values,
)

SUBJECTS_PER_SITE = 200
SCREEN_FAILURE_EVERY = 10  # one person in ten screened is not enrolled
# Screening days spread over the study's two years, the last one ten days ago.
ACCRUAL_DAYS = protocol.STUDY_DURATION_DAYS - 30
SERIOUS_EVERY = 7  # one treated subject in seven has a serious AE
DEATH_EVERY = 3  # one subject in three whose disease progressed dies in follow-up


def synthetic_document(subjects: int, *, seed: int = 0, today: dt.date) -> dict[str, Any]:
    """The study data file of ``subjects`` enrolled subjects (and the persons who failed
    screening beside them), their lists as ``Stream``s written one subject at a time.
    The target enrolment is ``subjects``."""
    sites = max(1, -(-subjects // SUBJECTS_PER_SITE))
    criteria = [(c.code, c.kind) for c in criteria_in_force()]
    failures = subjects // SCREEN_FAILURE_EVERY
    return {
        "format": FORMAT,
        "study": protocol.STUDY_CODE,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        PARAMETERS: {TARGET_ENROLMENT: max(subjects, 1)},
        "sites": [
            {"site": f"{n:02d}", "name": f"Synthetic site {n:02d}"} for n in range(1, sites + 1)
        ],
        "subjects": Stream(
            _Subject(seed, i, sites, today, criteria).enrolled() for i in range(subjects)
        ),
        "screening": Stream(
            _Subject(seed, subjects + i, sites, today, criteria).failed() for i in range(failures)
        ),
    }


def _entry(
    code: str,
    visit: str | None,
    values: Mapping[str, Any],
    groups: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """One form of the file from model field values (crf-spec names, empty values left out)."""
    spec = registry.get(code)
    data: dict[str, Any] = {}
    for variable in spec.input_variables:
        value = values.get(variable.field_name)
        if not is_empty(value):
            data[variable.name] = _json(value)
    for group in spec.groups:
        data[group.name] = [
            {
                v.name: _json(row[v.field_name])
                for v in group.variables
                if not is_empty(row.get(v.field_name))
            }
            for row in (groups or {}).get(group.name, ())
        ]
    entry: dict[str, Any] = {"form": code}
    if visit is not None:
        entry["visit"] = visit
    entry["data"] = data
    return entry


def _json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return Decimal(str(value))
    return value


class _Subject:
    """One synthetic person: number ``index`` of the study, at one of ``sites``."""

    def __init__(
        self,
        seed: int,
        index: int,
        sites: int,
        today: dt.date,
        criteria: Sequence[tuple[str, str]],
    ) -> None:
        self.rng = random.Random(f"{seed}:{index}")
        self.index, self.today, self.criteria = index, today, criteria
        self.site = f"{index % sites + 1:02d}"
        self.number = index // sites + 1
        self.patient = patient(seed * 1_000_003 + index)
        self.start = today - dt.timedelta(days=10 + self.rng.randrange(ACCRUAL_DAYS))
        self.forms: list[dict[str, Any]] = []

    def add(self, code: str, visit: str | None, values: Mapping[str, Any], **kw: Any) -> None:
        self.forms.append(_entry(code, visit, values, **kw))

    # Screening -----------------------------------------------------------------------

    def _screening(self, failing: Sequence[str] = ()) -> None:
        start = self.start
        self.add(
            "SL",
            "SCR",
            {
                "screening_date": start,
                "screen_failure": "Y" if failing else "N",
                "failed_criteria": list(failing),
            },
        )
        self.add("IC", "SCR", {"consent_date": start, "consent_version": "2.0"})
        born = start.year - 45 - self.rng.randrange(30)
        self.add(
            "DM",
            "SCR",
            {
                "birth_date": f"{born}-{self.rng.randint(1, 12):02d}",
                "sex": "M" if self.rng.random() < 0.8 else "F",
                "ethnic_group": "HAN",
                "height_cm": Decimal(self.rng.randint(152, 182)),
            },
        )
        self.add(
            "HX",
            "SCR",
            {
                "diagnosis_date": f"{start.year - 2}",
                "diagnosis_method": "CLINICAL",
                "aetiology": ["HBV"] if self.rng.random() < 0.8 else ["HCV", "ALCOHOL"],
                "bclc_stage": "C" if self.rng.random() < 0.7 else "B",
                "macrovascular_invasion": "N",
                "extrahepatic_spread": "Y",
                "prior_therapy": ["TACE"],
                "lenvatinib_start": (start - dt.timedelta(days=300)).isoformat()[:7],
                "lenvatinib_last_dose": start - dt.timedelta(days=20),
                "lenvatinib_dose": "8",
                "lenvatinib_best_response": "PR",
                "lenvatinib_stop_reason": "PROGRESSION",
            },
        )
        answers = [
            {
                "criterion_code": code,
                "answer": (
                    ("N" if kind == CriterionKind.INCLUSION else "Y")
                    if code in failing
                    else ("Y" if kind == CriterionKind.INCLUSION else "N")
                ),
            }
            for code, kind in self.criteria
        ]
        self.add(
            "IE",
            "SCR",
            {"confirmed_on": start + dt.timedelta(days=2)},
            groups={"IE": answers},
        )

    def failed(self) -> dict[str, Any]:
        """A person screened who failed one or two criteria: the screening forms only."""
        codes = [code for code, _kind in self.criteria]
        failing = sorted(self.rng.sample(codes, self.rng.choice((1, 1, 2))))
        self._screening(failing)
        return {
            "site": self.site,
            "screening_id": f"S{self.site}-{self.number:03d}",
            "forms": self.forms,
        }

    # Treatment -----------------------------------------------------------------------

    def enrolled(self) -> dict[str, Any]:
        """An enrolled subject followed from screening to today (module docstring)."""
        rng, today, start = self.rng, self.today, self.start
        self._screening()
        day1 = start + dt.timedelta(days=5)
        self.add(
            "ENR",
            "SCR",
            {"enrolled_on": start + dt.timedelta(days=3), "planned_day1": day1},
        )
        course = rng.choice(list(COURSES))
        progression_k = progression_assessment(course)
        progressed = None
        if progression_k is not None and scan_day(day1, progression_k) <= today:
            progressed = scan_day(day1, progression_k)
        # A few stop for toxicity or withdraw; the others go on until progression or today.
        stop_cycle = rng.randint(3, 12) if rng.random() < 0.1 else None
        planned = self._adverse_events(day1, progressed)
        toxicities = [event.toxicity for event in planned]
        self._assess("SCR", start, toxicities=toxicities)
        self._scan("SCR", course, 0, day1 - dt.timedelta(days=3))
        ends = progressed or today
        dosing = Dosing(toxicities)
        last_dose: dt.date | None = None
        decided: dt.date | None = None
        n = 1
        while (on := day1 + dt.timedelta(days=protocol.CYCLE_LENGTH_DAYS * (n - 1))) <= ends:
            if n > protocol.STUDY_DURATION_DAYS // protocol.CYCLE_LENGTH_DAYS:
                break
            if stop_cycle is not None and n > stop_cycle:
                decided = on - dt.timedelta(days=2)
                break
            visit = f"C{n}D1"
            self._assess(visit, on, toxicities=toxicities, burden=self._burden(course, day1, on))
            values, complete = dosing.cycle(on, today=today)
            self.add("EX", visit, values)
            if not complete:  # the cycle goes on: no end of treatment yet
                progressed = decided = None
                break
            last_dose = values["last_dose_on"]
            n += 1
        k = 1
        while (scanned := scan_day(day1, k)) <= ends and (
            progression_k is None or k <= progression_k
        ):
            if decided is not None and scanned >= decided:
                break
            self._scan(f"TA{k}", course, k, scanned)
            k += 1
        self._events(planned)
        if progressed is not None and last_dose is not None:
            decided = max(progressed, last_dose) + dt.timedelta(days=1)
            reason = "PD_RADIOLOGICAL"
        elif decided is not None and last_dose is not None:
            reason = "ADVERSE_EVENT" if rng.random() < 0.6 else "CONSENT_WITHDRAWN"
        else:
            decided = None
        if decided is not None and decided <= today and last_dose is not None:
            self._follow_up(decided, last_dose, reason, toxicities, course, day1)
        return {
            "site": self.site,
            "subject_id": f"{self.site}-{self.number:03d}",
            "screening_id": f"S{self.site}-{self.number:03d}",
            "forms": self.forms,
        }

    def _burden(self, course: str, day1: dt.date, on: dt.date) -> Decimal:
        k = max(0, (on - day1).days // protocol.TA_INTERVAL_DAYS)
        return (
            course_sum(course, k) / course_sum(course, 0) if course_sum(course, 0) else Decimal(1)
        )

    def _assess(
        self,
        visit: str,
        on: dt.date,
        *,
        toxicities: Sequence[Toxicity] = (),
        burden: Decimal = Decimal(1),
        cp: bool = True,
    ) -> None:
        """VS, LB (and CP) of one visit on ``on``."""
        p = self.patient
        day1 = self.start + dt.timedelta(days=5)
        self.add("VS", visit, vital_values(p, on, key=visit, day1=day1, toxicities=toxicities))
        self.add("LB", visit, lab_values(p, on, key=visit, burden=burden, toxicities=toxicities))
        if cp:
            self.add("CP", visit, {"ascites": p.ascites, "encephalopathy": "NONE"})

    def _scan(self, visit: str, course: str, k: int, scanned: dt.date) -> None:
        """The TA of ``visit``: baseline (k = 0) or TAk of ``course`` (visits.demo)."""
        organs = ["LIVER", "LIVER", "LUNG"]
        total = course_sum(course, k)
        targets: list[dict[str, Any]] = [
            {
                "lesion_id": f"T0{i + 1}",
                "organ": organs[i],
                "is_node": "N",
                "status": "DISAPPEARED" if d == 0 else "MEASURED",
                "diameter_mm": d,
            }
            for i, d in enumerate(split_sum(total))
        ]
        if course == "NE_THEN_SD" and k == 1:
            targets[2] = {**targets[2], "status": "NOT_ASSESSED", "diameter_mm": None}
        values: dict[str, Any] = {"scanned_on": scanned, "method": "CT"}
        if k:
            values["investigator_response"] = course_response(course, k)
        groups = {
            "TL": targets,
            "NTL": [
                {
                    "lesion_id": "NT01",
                    "organ": "PERITONEUM",
                    "status": "ABSENT" if total == 0 else "PRESENT",
                }
            ],
            "NL": [],
        }
        if k and course_response(course, k) == "PD" and self.index % 2:
            # Half of the progressions show a new lesion too (RECIST 1.1 §4.3.2).
            groups["NL"] = [
                {"lesion_id": "N01", "organ": "LUNG", "unequivocal": "Y", "first_seen_on": scanned}
            ]
        self.add("TA", visit, values, groups=groups)

    def _adverse_events(self, day1: dt.date, progressed: dt.date | None) -> list[PlannedAE]:
        rng = self.rng
        rows = rng.sample(TOXICITIES, rng.randint(0, 4))
        planned = [
            event for row in rows if (event := planned_toxicity(day1, self.today, row, progressed))
        ]
        onset = day1 + dt.timedelta(days=rng.randint(20, 200))
        if self.index % SERIOUS_EVERY == 0 and onset < (progressed or self.today):
            aware = min(onset + dt.timedelta(days=1), self.today)
            resolved = onset + dt.timedelta(days=12)
            planned.append(
                PlannedAE(
                    {
                        "term": "Upper gastrointestinal hemorrhage",
                        "onset_on": onset,
                        "resolved_on": resolved if resolved <= self.today else None,
                        "ongoing": "N" if resolved <= self.today else "Y",
                        "grade": 3,
                        "serious": "Y",
                        "results_in_death": "N",
                        "life_threatening": "N",
                        "hospitalisation": "Y",
                        "disability": "N",
                        "congenital_anomaly": "N",
                        "important_medical_event": "N",
                        "aware_on": aware,
                        "narrative": "Melaena; haemoglobin fell by 20 g/L. Endoscopy showed "
                        "oozing from oesophageal varices, banded. Anlotinib interrupted.",
                        "relationship": "POSSIBLY_RELATED",
                        "action": "INTERRUPTED",
                        "outcome": "RECOVERED" if resolved <= self.today else "RECOVERING",
                    }
                )
            )
        return planned

    def _events(self, planned: Sequence[PlannedAE]) -> None:
        """The AE log and the medication that treats them (adverse_events.demo)."""
        for event in sorted(planned, key=lambda e: e.values["onset_on"]):
            self.add("AE", None, {**NOT_SERIOUS, **event.values})
            if (treatment := TREATMENTS.get(event.values["term"])) is not None:
                medication, dose = treatment
                self.add(
                    "CM",
                    None,
                    {
                        "medication": medication,
                        "indication": event.values["term"],
                        "dose": dose,
                        "route": "ORAL",
                        "started_on": event.values["onset_on"].isoformat(),
                        "ongoing": "Y",
                    },
                )

    def _follow_up(
        self,
        decided: dt.date,
        last_dose: dt.date,
        reason: str,
        toxicities: Sequence[Toxicity],
        course: str,
        day1: dt.date,
    ) -> None:
        """EOT, its assessments, the safety follow-up, survival contacts; a death for some
        (outcomes.demo.seed_outcomes)."""
        today = self.today
        self.add("EOT", "EOT", {"decided_on": decided, "last_dose_on": last_dose, "reason": reason})
        self._assess(
            "EOT", decided, toxicities=toxicities, burden=self._burden(course, day1, decided)
        )
        sfu_on = last_dose + dt.timedelta(days=31)
        if sfu_on <= today:
            self.add(
                "SFU",
                "SFU",
                {"contacted_on": sfu_on, "contact": "VISIT", "new_adverse_events": "N"},
            )
            self._assess("SFU", sfu_on, toxicities=toxicities, cp=False)
        dies = self.index % DEATH_EVERY == 0
        contact = decided + dt.timedelta(days=59 if dies else 84)
        first = True
        while contact < today - dt.timedelta(days=3):
            values: dict[str, Any] = {
                "contacted_on": contact,
                "method": "RECORDS" if dies else "PHONE",
                "status_found": "DEAD" if dies else "ALIVE",
                "new_therapy": "N",
            }
            if first and self.index % 2 == 0:
                values |= {
                    "new_therapy": "Y",
                    "new_therapy_started_on": decided + dt.timedelta(days=20),
                    "new_therapy_type": "TACE",
                    "new_therapy_name": "Conventional TACE",
                }
            first = False
            if dies:
                self.add(
                    "DD",
                    None,
                    {
                        "died_on": contact - dt.timedelta(days=4),
                        "cause": "DISEASE_PROGRESSION",
                        "autopsy": "N",
                    },
                )
                self.add("SV", None, values)
                self.add("DS", None, {"ended_on": contact, "reason": "DEATH"})
                return
            self.add("SV", None, values)
            contact += dt.timedelta(days=84)


def subjects_of(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every subject and screened person of a document (for tests)."""
    yield from document["subjects"]
    yield from document["screening"]
