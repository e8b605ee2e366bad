"""Demo visit data through the services: cycles with exposure and vitals, and tumour
assessments whose measurements give a chosen RECIST course."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from crf import registry
from crf.models import Visit
from crf.services import save_form
from study.models import Subject
from visits.services import sync_schedule

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


def _split(total: Decimal) -> list[Decimal]:
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
                for i, d in enumerate(_split(sums[0]))
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
        parts = _split(total)
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


def _expected_response(course: str, k: int) -> str:
    table = {
        "CR": ["PR", "CR", "CR", "CR"],
        "PR": ["PR", "PR", "PR", "PR"],
        "PR_THEN_PD": ["PR", "PR", "PR", "PD"],
        "SD": ["SD", "SD", "SD", "SD"],
        "PD": ["PD"],
        "UNCONFIRMED_PR_PD": ["PR", "PD"],
        "NE_THEN_SD": ["NE", "SD", "SD"],
    }
    return table[course][k - 1]
