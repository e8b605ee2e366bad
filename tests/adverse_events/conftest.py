"""Shared fixtures of the adverse events tests: a treated subject and AE values."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from crf import registry
from crf.services import save_form
from enrollment.demo import screen_and_enrol
from visits.demo import treat

START = dt.date(2026, 3, 2)
DAY1 = START + dt.timedelta(days=5)  # planned Day 1 = actual first dose in the demo


def ae_values(**overrides: Any) -> dict[str, Any]:
    """A complete, non-serious grade 2 hypertension starting on Day 8 (model field names)."""
    values: dict[str, Any] = {
        "term": "Hypertension",
        "term_other": "",
        "onset_on": DAY1 + dt.timedelta(days=7),
        "resolved_on": None,
        "ongoing": "Y",
        "grade": 2,
        "serious": "N",
        "results_in_death": "",
        "life_threatening": "",
        "hospitalisation": "",
        "disability": "",
        "congenital_anomaly": "",
        "important_medical_event": "",
        "relationship": "PROBABLY_RELATED",
        "action": "DOSE_NOT_CHANGED",
        "outcome": "NOT_RECOVERED",
        "aware_on": None,
        "narrative": "",
    }
    values.update(overrides)
    return values


SERIOUS = {
    "grade": 3,
    "serious": "Y",
    "results_in_death": "N",
    "life_threatening": "N",
    "hospitalisation": "Y",
    "disability": "N",
    "congenital_anomaly": "N",
    "important_medical_event": "N",
}


def save_ae(
    actor: Any, subject: Any, *, instance: Any = None, complete: bool = True, **values: Any
) -> Any:
    """Save an AE through crf.services (the only writer of clinical data)."""
    return save_form(
        actor=actor,
        spec=registry.get("AE"),
        subject=subject,
        instance=instance,
        values=ae_values(**values) if instance is None else values,
        complete=complete,
        reason=kwargs_reason(instance),
    )


def kwargs_reason(instance: Any) -> Any:
    from crf.services import Reason

    if instance is not None and instance.was_completed:
        return Reason("NEW_SOURCE_INFORMATION")
    return None


@pytest.fixture
def treated(investigator: Any, sites: Any) -> Any:
    """An enrolled subject of site 01 with two cycles of anlotinib (Day 1 = DAY1)."""
    subject = screen_and_enrol(investigator, sites["01"], start=START)
    treat(investigator, subject, day1=DAY1, cycles=2, course="PD")  # fewest TAs: fast
    return subject
