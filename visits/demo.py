"""Demo visit data through the services (make run and tests; never for production).

``treat`` is the small builder the tests use: cycles with exposure and vital signs, and the
tumour assessments of a chosen RECIST course. ``follow_course`` is the demo study's: a
subject followed from screening to today as a well-run site would, every cycle with its
vital signs, laboratory values, liver scores and exposure, every tumour assessment on time,
until progression, with only the gaps asked for (``Gaps``). Both save through
``crf.services.save_form``, audited like entry in the pages.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crf import registry
from crf.models import AuditSource, Visit, VisitKind
from crf.services import SubjectBatch, save_form
from study import protocol
from study.models import Subject
from visits.selectors import visit_facts
from visits.services import declare_missed, sync_schedule

# Target sums (mm) at baseline, then at each TA, for each demo course; three targets share it.
COURSES: dict[str, list[str]] = {
    "CR": ["60", "30", "0", "0", "0"],
    "PR": ["60", "40", "39", "38", "38"],  # confirmed PR at TA2
    "PR_THEN_PD": ["60", "40", "38", "36", "50"],  # confirmed PR, then PD against the nadir
    "SD": ["60", "55", "56", "58", "57"],
    "PD": ["60", "80"],
    "UNCONFIRMED_PR_PD": ["60", "41", "60"],
    "NE_THEN_SD": ["60", "55", "57", "56"],  # T03 not assessed at TA1: NE
}


def _save(
    actor: Any, subject: Subject, code: str, visit: Visit, values: dict[str, Any], **kwargs: Any
) -> Any:
    return save_form(
        actor=actor,
        spec=registry.get(code),
        subject=subject,
        visit=visit,
        values=values,
        complete=True,
        **kwargs,
    )


def split_sum(total: Decimal) -> list[Decimal]:
    """Three targets sharing a sum: 50 %, 30 %, 20 % (0 when the sum is 0)."""
    return [
        (total * share).quantize(Decimal("0.1"))
        for share in (Decimal("0.5"), Decimal("0.3"), Decimal("0.2"))
    ]


def treat(actor: Any, subject: Subject, *, day1: dt.date, cycles: int, course: str) -> None:
    """Cycles 1..n (EX and VS at each CnD1) and the TAs of ``course``."""
    visits = {v.code: v for v in sync_schedule(subject)}
    for n in range(1, cycles + 1):
        visit = visits[f"C{n}D1"]
        start = visit.planned_date or day1
        dose = "12" if n < 4 else "10"
        _save(
            actor,
            subject,
            "EX",
            visit,
            {
                "first_dose_on": start,
                "last_dose_on": start + dt.timedelta(days=13),
                "dose_mg": dose,
                "days_dosed": 14,
                "interrupted": "N",
                "reduced": "Y" if n == 4 else "N",
                "reduction_reason": "ADVERSE_EVENT" if n == 4 else "",
                "tablets_dispensed": 14,
                "tablets_returned": 0,
            },
        )
        if n == 1:
            visits = {v.code: v for v in sync_schedule(subject)}
        _save(
            actor,
            subject,
            "VS",
            visits[f"C{n}D1"],
            {
                "assessed_on": start,
                "systolic_bp": 128 + n,
                "diastolic_bp": 82,
                "pulse": 76,
                "weight_kg": Decimal("61.0"),
                "ecog": 1,
            },
        )
    sums = [Decimal(s) for s in COURSES[course]]
    organs = ["LIVER", "LIVER", "LUNG"]
    baseline_day = day1 - dt.timedelta(days=3)
    _save(
        actor,
        subject,
        "TA",
        visits["SCR"],
        {"scanned_on": baseline_day, "method": "CT"},
        groups={
            "TL": [
                {
                    "lesion_id": f"T0{i + 1}",
                    "organ": organs[i],
                    "is_node": "N",
                    "status": "MEASURED",
                    "diameter_mm": d,
                }
                for i, d in enumerate(split_sum(sums[0]))
            ],
            "NTL": [{"lesion_id": "NT01", "organ": "PERITONEUM", "status": "PRESENT"}],
            "NL": [],
        },
    )
    for k, total in enumerate(sums[1:], start=1):
        visit = visits[f"TA{k}"]
        scanned = visit.planned_date or day1
        if scanned > dt.date.today():
            break
        parts = split_sum(total)
        targets: list[dict[str, Any]] = [
            {
                "lesion_id": f"T0{i + 1}",
                "organ": organs[i],
                "is_node": "N",
                "status": "DISAPPEARED" if d == 0 else "MEASURED",
                "diameter_mm": d,
            }
            for i, d in enumerate(parts)
        ]
        if course == "NE_THEN_SD" and k == 1:
            targets[2] = {**targets[2], "status": "NOT_ASSESSED", "diameter_mm": None}
        computed = _expected_response(course, k)
        _save(
            actor,
            subject,
            "TA",
            visit,
            {"scanned_on": scanned, "method": "CT", "investigator_response": computed},
            groups={
                "TL": targets,
                "NTL": [
                    {
                        "lesion_id": "NT01",
                        "organ": "PERITONEUM",
                        "status": "ABSENT" if total == 0 else "PRESENT",
                    }
                ],
                "NL": [],
            },
        )


# The investigator's overall response at each TA of each course (RECIST 1.1, as computed).
RESPONSES: dict[str, list[str]] = {
    "CR": ["PR", "CR", "CR", "CR"],
    "PR": ["PR", "PR", "PR", "PR"],
    "PR_THEN_PD": ["PR", "PR", "PR", "PD"],
    "SD": ["SD", "SD", "SD", "SD"],
    "PD": ["PD"],
    "UNCONFIRMED_PR_PD": ["PR", "PD"],
    "NE_THEN_SD": ["NE", "SD", "SD"],
}


def _expected_response(course: str, k: int) -> str:
    return RESPONSES[course][k - 1]


# =========================================================================== the demo study


def course_sum(course: str, k: int) -> Decimal:
    """The target sum at TAk of ``course`` (k = 0: baseline). Past the course's list a
    response holds: the last sum, give or take a millimetre (never PD, never a new PR)."""
    sums = COURSES[course]
    if k < len(sums):
        return Decimal(sums[k])
    last = Decimal(sums[-1])
    return last if last == 0 else last + Decimal((0, -1, 1)[k % 3])


def course_response(course: str, k: int) -> str:
    """The overall response at TAk of ``course``; past its list, the last one holds."""
    table = RESPONSES[course]
    return table[min(k, len(table)) - 1]


def progression_assessment(course: str) -> int | None:
    """The number of the TA that shows progression in ``course``, or None."""
    table = RESPONSES[course]
    return table.index("PD") + 1 if "PD" in table else None


def scan_day(day1: dt.date, k: int) -> dt.date:
    """TAk is scanned on its target day, study day 42·k (protocol.md: tumour assessment)."""
    return day1 + dt.timedelta(days=protocol.TA_INTERVAL_DAYS * k - 1)


def progression_on(course: str, day1: dt.date, today: dt.date) -> dt.date | None:
    """The date of the scan that shows progression in ``course``, when it is not after today."""
    k = progression_assessment(course)
    if k is None or scan_day(day1, k) > today:
        return None
    return scan_day(day1, k)


@dataclass(frozen=True)
class Toxicity:
    """An adverse event of the demo as the visit data show it: abnormal laboratory values or
    blood pressure while it lasts, an interrupted cycle, a reduced dose (AEACN)."""

    term: str
    onset: dt.date
    resolved: dt.date | None
    grade: int
    action: str

    def active_on(self, day: dt.date) -> bool:
        return self.onset <= day and (self.resolved is None or day <= self.resolved)

    @property
    def reduces_dose(self) -> bool:
        """The next cycle starts one dose level lower (a grade 3 interruption resumes lower)."""
        return self.action == "REDUCED" or (
            self.action == "INTERRUPTED" and self.grade >= protocol.HIGH_GRADE_THRESHOLD
        )


@dataclass(frozen=True)
class Gaps:
    """The few gaps of a well-run study that the demo shows on purpose."""

    overdue_last_cycle: bool = False  # the latest cycle visit not held: its window has closed
    labs_missing_last_cycle: bool = False  # the latest cycle visit held without LB (nor CP)
    missed_cycle: int | None = None  # this cycle visit declared missed, with missed_reason
    missed_reason: str = ""
    doses_forgotten_cycle: int | None = None  # this cycle: 12 of 14 tablets taken


@dataclass(frozen=True)
class Patient:
    """One subject's own values, around which every visit varies a little."""

    seed: int
    hgb: float
    wbc: float
    plt: float
    alt: float
    ast: float
    tbil: float
    alb: float
    creat: float
    inr: float
    afp: float
    tsh: float
    systolic: int
    diastolic: int
    pulse: int
    weight: float
    ecog: int
    ascites: str


AFP_UPPER_NORMAL = 7.0  # ng/mL (visits.reference_data)


def patient(seed: int) -> Patient:
    """Plausible values of a patient with HCC after lenvatinib, Child-Pugh A: most within
    their normal ranges, one in ten slightly anaemic, one in ten with an albumin just below
    normal, a third with a raised alpha-fetoprotein that follows the tumour burden.
    Deterministic for ``seed``."""
    rng = random.Random(seed)
    return Patient(
        seed=seed,
        hgb=rng.uniform(108, 113) if seed % 10 == 3 else rng.uniform(121, 146),
        wbc=rng.uniform(4.2, 7.6),
        plt=rng.uniform(138, 240),
        alt=rng.uniform(16, 33),
        ast=rng.uniform(19, 30),
        tbil=rng.uniform(8, 18),
        alb=rng.uniform(38.4, 39.4) if seed % 10 == 6 else rng.uniform(41.0, 45.0),
        creat=rng.uniform(58, 96),
        inr=rng.uniform(0.96, 1.12),
        afp=rng.choice((86.0, 240.0, 1260.0)) if seed % 3 == 0 else rng.uniform(2.1, 6.2),
        tsh=rng.uniform(0.9, 3.1),
        systolic=rng.randint(114, 130),
        diastolic=rng.randint(70, 80),
        pulse=rng.randint(64, 84),
        weight=rng.uniform(52, 76),
        ecog=1 if seed % 3 == 1 else 0,
        ascites="MILD" if seed % 12 == 5 else "NONE",
    )


def patient_of(subject: Subject) -> Patient:
    """The subject's patient values, from its screening number (stable across databases)."""
    return patient(zlib.crc32((subject.screening_id or "").encode()))


def _q(value: float, places: str) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(places))


# CTCAE v5.0 grade of a laboratory AE -> the value that shows it (ULN from the normal ranges).
_AST_TIMES_ULN = {1: 2.1, 2: 3.6, 3: 6.8}
_BILIRUBIN_TIMES_ULN = {1: 1.3, 2: 2.1, 3: 3.6}
_PLATELETS = {1: 104.0, 2: 66.0, 3: 38.0}
_PROTEINURIA = {1: ("1+", 0.62), 2: ("2+", 1.46), 3: ("3+", 3.8)}


def lab_values(
    p: Patient,
    on: dt.date,
    *,
    key: str,
    burden: Decimal = Decimal(1),
    toxicities: Sequence[Toxicity] = (),
) -> dict[str, Any]:
    """LB values of one sample: the patient's own values, varying a little from sample to
    sample, abnormal while a laboratory AE lasts (consistent with its CTCAE grade); the
    alpha-fetoprotein of a secreting tumour follows the target sum (``burden``, 1 = baseline)."""
    rng = random.Random(f"{p.seed}:{key}")

    def near(value: float, spread: float) -> float:
        return value * (1 + rng.uniform(-spread, spread))

    hgb, plt, tbil, tsh = near(p.hgb, 0.03), near(p.plt, 0.08), near(p.tbil, 0.1), near(p.tsh, 0.12)
    ast, alt = near(p.ast, 0.1), near(p.alt, 0.1)
    uprot, uprot24 = ("NEG" if rng.random() < 0.85 else "TRACE"), None
    for t in toxicities:
        grade = min(t.grade, 3)
        bled = t.term == "Upper gastrointestinal hemorrhage"
        if bled and t.onset <= on <= (t.resolved or on) + dt.timedelta(days=21):
            hgb -= 21  # recovering from the bleed
        if not t.active_on(on):
            continue
        if t.term == "Aspartate aminotransferase increased":
            ast, alt = 35 * _AST_TIMES_ULN[grade], 40 * _AST_TIMES_ULN[grade] * 0.7
        elif t.term == "Blood bilirubin increased":
            tbil = 21 * _BILIRUBIN_TIMES_ULN[grade]
        elif t.term == "Platelet count decreased":
            plt = _PLATELETS[grade]
        elif t.term == "Proteinuria":
            uprot, uprot24 = _PROTEINURIA[grade]
        elif t.term == "Hypothyroidism" and on <= t.onset + dt.timedelta(days=42):
            tsh = near(9.4, 0.1)  # then normal on levothyroxine
    afp = p.afp * max(float(burden), 0.04) if p.afp > AFP_UPPER_NORMAL else near(p.afp, 0.1)
    wbc = near(p.wbc, 0.08)
    return {
        "sampled_on": on,
        "hgb": _q(hgb, "1"),
        "wbc": _q(wbc, "0.1"),
        "anc": _q(wbc * 0.6, "0.1"),
        "plt": _q(near(plt, 0.02), "1"),
        "alt": _q(alt, "1"),
        "ast": _q(ast, "1"),
        "tbil": _q(tbil, "0.1"),
        "alb": _q(near(p.alb, 0.015), "0.1"),
        "creat": _q(near(p.creat, 0.06), "1"),
        "inr": _q(near(p.inr, 0.03), "0.01"),
        "afp": _q(near(afp, 0.05), "0.1"),
        "tsh": _q(tsh, "0.01"),
        "urine_protein": uprot,
        "urine_protein_24h": None if uprot24 is None else _q(uprot24, "0.01"),
    }


def vital_values(
    p: Patient,
    on: dt.date,
    *,
    key: str,
    day1: dt.date | None = None,
    toxicities: Sequence[Toxicity] = (),
) -> dict[str, Any]:
    """VS of one visit: the patient's own values; a grade 2 hypertension while it lasts
    (140-159/90-99 mmHg); the weight falls slowly on treatment (about 1 kg in 12 weeks)."""
    rng = random.Random(f"{p.seed}:{key}:vs")
    systolic, diastolic = p.systolic + rng.randint(-4, 4), p.diastolic + rng.randint(-3, 3)
    if any(t.term == "Hypertension" and t.active_on(on) for t in toxicities):
        systolic, diastolic = 142 + rng.randint(0, 8), 90 + rng.randint(0, 5)
    weeks = max(0, (on - day1).days) / 7 if day1 else 0
    return {
        "assessed_on": on,
        "systolic_bp": systolic,
        "diastolic_bp": diastolic,
        "pulse": p.pulse + rng.randint(-5, 5),
        "temperature": _q(rng.uniform(36.3, 36.9), "0.1"),
        "weight_kg": _q(p.weight - weeks / 12 + rng.uniform(-0.4, 0.4), "0.1"),
        "ecog": p.ecog,
    }


def tumour_burden(subject: Subject, on: dt.date) -> Decimal:
    """The target sum of the subject's latest scan on or before ``on`` over its baseline sum."""
    from visits.models import TumourAssessment

    scans = TumourAssessment.objects.filter(subject=subject, is_deleted=False).exclude(sum_mm=None)
    baseline = scans.filter(visit__kind=VisitKind.SCREENING).first()
    latest = scans.filter(scanned_on__lte=on).order_by("-scanned_on", "-id").first()
    if baseline is None or latest is None or not baseline.sum_mm:
        return Decimal(1)
    return Decimal(latest.sum_mm) / Decimal(baseline.sum_mm)


def _enter(
    actor: Any,
    subject: Subject,
    code: str,
    visit: Visit,
    values: dict[str, Any],
    *,
    today: dt.date,
    facts: dict[str, Any] | None = None,
    complete: bool = True,
    groups: dict[str, Any] | None = None,
    batch: SubjectBatch | None = None,
) -> Any:
    if batch is not None:  # the same checks and audit, the schedule kept once (follow_course)
        return batch.save(
            spec=registry.get(code),
            visit=visit,
            values=values,
            groups=groups,
            complete=complete,
            facts=facts,
        )
    return save_form(
        actor=actor,
        spec=registry.get(code),
        subject=subject,
        visit=visit,
        values=values,
        groups=groups,
        complete=complete,
        facts=facts,
        today=today,
    )


def record_assessments(
    actor: Any,
    subject: Subject,
    visit: Visit,
    *,
    on: dt.date,
    today: dt.date,
    burden: Decimal = Decimal(1),
    toxicities: Sequence[Toxicity] = (),
    labs: bool = True,
    batch: SubjectBatch | None = None,
) -> dict[str, Any]:
    """VS, LB and CP of one visit (CP only where the visit has it), all on ``on``; returns
    the visit's facts.

    The facts the checks read are the visits app's own (``visit_facts``: the window, the
    previous weight and dose, this visit's labs), read once for the visit, as ``save_form``
    would read them; CP's are its LB as just saved (crf-spec CP: from the same visit's LB)."""
    p = patient_of(subject)
    facts = visit_facts(subject, visit)
    key = f"{visit.code}"
    _enter(
        actor,
        subject,
        "VS",
        visit,
        vital_values(p, on, key=key, day1=facts.get("DAY1"), toxicities=toxicities),
        today=today,
        facts=facts,
        batch=batch,
    )
    if not labs:
        return facts
    lab = _enter(
        actor,
        subject,
        "LB",
        visit,
        lab_values(p, on, key=key, burden=burden, toxicities=toxicities),
        today=today,
        facts=facts,
        batch=batch,
    )
    if visit.kind in registry.get("CP").visit_kinds:
        _enter(
            actor,
            subject,
            "CP",
            visit,
            {"ascites": p.ascites, "encephalopathy": "NONE"},
            today=today,
            facts={**facts, "LB_TBIL": lab.tbil, "LB_ALB": lab.alb, "LB_INR": lab.inr},
            batch=batch,
        )
    return facts


class Dosing:
    """Anlotinib cycle by cycle (protocol.md: 12 mg days 1-14 of 21; 12 → 10 → 8 mg): a dose
    reduced at the first cycle on or after an AE that asked for it, a cycle interrupted by an
    AE that began on one of its dosing days (AEACN INTERRUPTED)."""

    def __init__(self, toxicities: Sequence[Toxicity]) -> None:
        self.dose = protocol.STARTING_DOSE_MG
        self.reasons = sorted((t for t in toxicities if t.reduces_dose), key=lambda t: t.onset)
        self.interruptions = [t for t in toxicities if t.action == "INTERRUPTED"]

    def cycle(
        self, start: dt.date, *, today: dt.date, forgotten: bool = False
    ) -> tuple[dict[str, Any], bool]:
        """EX of the cycle starting on ``start``, and whether it is complete: the cycle's
        EX is complete once its last dosing day has passed (tablets counted back)."""
        previous = self.dose
        due = [t for t in self.reasons if t.onset <= start]
        if due and self.dose > protocol.MINIMUM_DOSE_MG:
            self.reasons.remove(due[0])
            self.dose = protocol.DOSE_LEVELS_MG[protocol.DOSE_LEVELS_MG.index(self.dose) + 1]
        reduced = self.dose < previous
        values: dict[str, Any] = {
            "first_dose_on": start,
            "dose_mg": str(self.dose),
            "reduced": "Y" if reduced else "N",
            "reduction_reason": "ADVERSE_EVENT" if reduced else "",
            "tablets_dispensed": protocol.DOSING_DAYS_PER_CYCLE,
        }
        last_day = start + dt.timedelta(days=protocol.DOSING_DAYS_PER_CYCLE - 1)
        if last_day >= today:
            return values, False
        stop = next((t for t in self.interruptions if start < t.onset <= last_day), None)
        if stop is not None:
            days = (stop.onset - start).days
            last = stop.onset - dt.timedelta(days=1)
        else:
            days = protocol.DOSING_DAYS_PER_CYCLE - (2 if forgotten else 0)
            last = last_day
        values |= {
            "last_dose_on": last,
            "days_dosed": days,
            "interrupted": "Y" if stop else "N",
            "interruption_reason": "ADVERSE_EVENT" if stop else "",
            "tablets_returned": protocol.DOSING_DAYS_PER_CYCLE - days,
        }
        return values, True


def _scan(
    actor: Any,
    subject: Subject,
    visit: Visit,
    *,
    course: str,
    k: int,
    scanned: dt.date,
    today: dt.date,
    batch: SubjectBatch | None = None,
) -> None:
    """The TA of ``visit``: baseline (k = 0) or TAk of ``course``, three targets and one
    non-target (peritoneum)."""
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
    facts = None  # the baseline's checks read the planned Day 1 too (registry.subject_facts)
    if k:
        values["investigator_response"] = course_response(course, k)
        facts = visit_facts(subject, visit)  # Day 1, the baseline and the earlier scans
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
    _enter(
        actor, subject, "TA", visit, values, groups=groups, today=today, facts=facts, batch=batch
    )


def record_screening(actor: Any, subject: Subject, *, on: dt.date, today: dt.date) -> None:
    """The screening visit's VS, LB and CP on ``on`` and the baseline scan the day after
    (three targets summing 60 mm, one non-target): what eligibility was confirmed on
    (IN05 measurable lesion, IN06 ECOG, IN07 Child-Pugh, IN08 labs)."""
    visit = subject.visits.get(code="SCR")
    record_assessments(actor, subject, visit, on=on, today=today)
    scanned = on + dt.timedelta(days=1)
    _scan(actor, subject, visit, course="SD", k=0, scanned=scanned, today=today)


def follow_course(
    actor: Any,
    subject: Subject,
    *,
    day1: dt.date,
    screened_on: dt.date,
    course: str,
    today: dt.date,
    toxicities: Sequence[Toxicity] = (),
    gaps: Gaps = Gaps(),
) -> None:
    """A subject followed from screening to ``today`` as a well-run site does.

    Screening: VS, LB and CP on ``screened_on``, the baseline scan three days before Day 1.
    Every cycle visit on its day: VS, LB, CP and EX (complete once the cycle's last dosing
    day has passed, in progress before). Every TA on its target day (study day 42·k) with the
    sums of ``course``, up to the scan that shows progression, after which the outcomes
    builder ends treatment. Nothing is dated after ``today``; the visits not yet due stay
    planned. ``toxicities`` shape the labs, blood pressure and dosing; ``gaps`` are the only
    holes.

    The subject's forms are saved as one unit of work (crf.services.SubjectBatch: the same
    checks and audit entries as save_form, the schedule and held dates kept once at the
    end rather than after every form)."""
    visits = {v.code: v for v in sync_schedule(subject)}
    batch = SubjectBatch(actor=actor, subject=subject, source=AuditSource.WEB, today=today)
    record_assessments(actor, subject, visits["SCR"], on=screened_on, today=today, batch=batch)
    _scan(
        actor,
        subject,
        visits["SCR"],
        course=course,
        k=0,
        scanned=day1 - dt.timedelta(days=3),
        today=today,
        batch=batch,
    )
    last_k = progression_assessment(course)
    ends = progression_on(course, day1, today) or today
    due = sorted(
        (
            v
            for v in visits.values()
            if v.kind in (VisitKind.CYCLE, VisitKind.TUMOUR_ASSESSMENT)
            and v.planned_date is not None
            and v.planned_date <= ends
            and not (v.kind == VisitKind.TUMOUR_ASSESSMENT and last_k and v.number > last_k)
        ),
        key=lambda v: (v.planned_date, v.kind != VisitKind.TUMOUR_ASSESSMENT),
    )
    last_cycle = max((v.number for v in due if v.kind == VisitKind.CYCLE), default=0)
    dosing = Dosing(toxicities)
    burden = Decimal(1)
    for visit in due:
        on = visit.planned_date
        assert on is not None
        if visit.kind == VisitKind.TUMOUR_ASSESSMENT:
            _scan(
                actor,
                subject,
                visit,
                course=course,
                k=visit.number,
                scanned=on,
                today=today,
                batch=batch,
            )
            baseline = course_sum(course, 0)
            burden = course_sum(course, visit.number) / baseline
            continue
        n = visit.number
        if n == gaps.missed_cycle and n != last_cycle:
            batch.flush()  # the trail in order: the forms before, then the missed visit
            declare_missed(actor=actor, visit=visit, reason=gaps.missed_reason)
            continue
        if n == last_cycle and gaps.overdue_last_cycle:
            continue
        facts = record_assessments(
            actor,
            subject,
            visit,
            on=on,
            today=today,
            burden=burden,
            toxicities=toxicities,
            labs=not (n == last_cycle and gaps.labs_missing_last_cycle),
            batch=batch,
        )
        values, complete = dosing.cycle(on, today=today, forgotten=n == gaps.doses_forgotten_cycle)
        _enter(
            actor,
            subject,
            "EX",
            visit,
            values,
            today=today,
            complete=complete,
            facts=facts,
            batch=batch,
        )
    batch.finish()
