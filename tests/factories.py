"""Builders of test data through the services (no surprises, no direct row writes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from crf import registry
from crf.models import CaseReportForm, Visit
from crf.services import save_form


def save_xx(
    actor: Any,
    subject: Any,
    *,
    instance: CaseReportForm | None = None,
    complete: bool = False,
    lesions: list[dict[str, Any]] | None = None,
    reason: Any = None,
    **values: Any,
) -> CaseReportForm:
    """Save the test vitals form XX at the subject's SCR visit."""
    defaults = {"assessed_on": dt.date(2026, 1, 5), "systolic": 120, "diastolic": 80}
    if instance is None:
        values = {**defaults, **values}
    return save_form(
        actor=actor,
        spec=registry.get("XX"),
        subject=subject,
        visit=Visit.objects.get(subject=subject, code="SCR"),
        instance=instance,
        values=values,
        groups={"LS": lesions} if lesions is not None else None,
        complete=complete,
        reason=reason,
        today=dt.date(2026, 11, 23),
    )
