"""Builders of screened and enrolled persons through the services (demo data and tests)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from crf import registry
from crf.codelists import YN
from crf.services import save_form
from enrollment.models import CriterionKind
from enrollment.selectors import criteria_in_force
from enrollment.services import enroll_subject, record_screen_failure, register_screening
from study.models import Site, Subject


def _save(actor: Any, subject: Subject, code: str, values: dict[str, Any], **kwargs: Any) -> Any:
    return save_form(
        actor=actor,
        spec=registry.get(code),
        subject=subject,
        visit=subject.visits.get(code="SCR"),
        values=values,
        complete=True,
        **kwargs,
    )


def screen(
    actor: Any,
    site: Site,
    *,
    start: dt.date,
    failing: tuple[str, ...] = (),
    birth_date: str = "1962-04",
    sex: str = "M",
) -> Subject:
    """A screened person with SL, IC, DM, HX and IE entered from ``start`` (the screening day).

    ``failing`` lists criteria answered against the requirement.
    """
    subject = register_screening(actor=actor, site=site, screening_date=start)
    _save(actor, subject, "IC", {"consent_date": start, "consent_version": "2.0"})
    _save(
        actor,
        subject,
        "DM",
        {
            "birth_date": birth_date,
            "sex": sex,
            "ethnic_group": "HAN",
            "height_cm": Decimal("168.0"),
        },
    )
    _save(
        actor,
        subject,
        "HX",
        {
            "diagnosis_date": f"{start.year - 2}",
            "diagnosis_method": "CLINICAL",
            "aetiology": ["HBV"],
            "bclc_stage": "C",
            "macrovascular_invasion": YN.N,
            "portal_vein_grade": "",
            "extrahepatic_spread": YN.Y,
            "prior_therapy": ["TACE"],
            "lenvatinib_start": (start - dt.timedelta(days=300)).isoformat()[:7],
            "lenvatinib_last_dose": (start - dt.timedelta(days=20)).isoformat(),
            "lenvatinib_dose": "8",
            "lenvatinib_best_response": "PR",
            "lenvatinib_stop_reason": "PROGRESSION",
        },
    )
    answers = [
        {
            "criterion_code": c.code,
            "answer": (
                (YN.N if c.kind == CriterionKind.INCLUSION else YN.Y)
                if c.code in failing
                else (YN.Y if c.kind == CriterionKind.INCLUSION else YN.N)
            ),
        }
        for c in criteria_in_force()
    ]
    save_form(
        actor=actor,
        spec=registry.get("IE"),
        subject=subject,
        visit=subject.visits.get(code="SCR"),
        values={"confirmed_on": start + dt.timedelta(days=2)},
        groups={"IE": answers},
        complete=True,
    )
    return subject


def screen_and_enrol(actor: Any, site: Site, *, start: dt.date, day1_after: int = 5) -> Subject:
    """Screened on ``start``, enrolled three days later, Day 1 planned ``day1_after`` days
    after screening (crf-spec ENR: PLDAY1 at most 7 days after ENRDAT)."""
    subject = screen(actor, site, start=start)
    return enroll_subject(
        actor=actor,
        subject=subject,
        enrolled_on=start + dt.timedelta(days=3),
        planned_day1=start + dt.timedelta(days=day1_after),
    )


def screen_and_fail(actor: Any, site: Site, *, start: dt.date, failing: tuple[str, ...]) -> Subject:
    subject = screen(actor, site, start=start, failing=failing)
    return record_screen_failure(actor=actor, subject=subject, criteria=list(failing))
