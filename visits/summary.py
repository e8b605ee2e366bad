"""A subject's treatment and response over time: exposure (compliance, dose intensity)
and tumour assessments (lesion table, sums, responses, best overall response)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext

from crf.models import VisitKind
from study.models import Subject
from visits import exposure, recist, selectors
from visits.models import Exposure


@dataclass(frozen=True)
class CycleRow:
    visit_code: str
    dose_mg: int
    days_dosed: int
    compliance_pct: Decimal
    cumulative_rdi_pct: Decimal


@dataclass(frozen=True)
class TumourColumn:
    visit_code: str
    scanned_on: dt.date
    sum_mm: Decimal | None
    change_from_baseline: str
    change_from_nadir: str
    computed: str
    investigator: str


@dataclass(frozen=True)
class SumPoint:
    x: float
    y: float
    label: str


def exposure_rows(subject: Subject) -> list[CycleRow]:
    forms = list(
        Exposure.objects.filter(subject=subject, is_deleted=False, visit__kind=VisitKind.CYCLE)
        .exclude(dose_mg="")
        .exclude(days_dosed=None)
        .select_related("visit")
        .order_by("visit__number")
    )
    cycles = [
        exposure.CycleExposure(
            cycle=f.visit.number, dose_mg=int(f.dose_mg), days_dosed=int(f.days_dosed or 0)
        )
        for f in forms
        if f.visit is not None
    ]
    running = dict(exposure.running_relative_dose_intensity(cycles))
    return [
        CycleRow(
            visit_code=f"C{c.cycle}D1",
            dose_mg=c.dose_mg,
            days_dosed=c.days_dosed,
            compliance_pct=exposure.as_percent(exposure.compliance(c)),
            cumulative_rdi_pct=exposure.as_percent(running[c.cycle]),
        )
        for c in cycles
    ]


def tumour_summary(subject: Subject) -> dict[str, Any]:
    """The lesion table over time, each TA's sums and responses, and the best overall response."""
    baseline, follow_ups = selectors.split_assessments(subject)
    if baseline is None:
        return {"has_baseline": False}
    evaluation = recist.evaluate(baseline, [a for _, a in follow_ups])
    lesion_ids = [t.lesion_id for t in baseline.targets]
    table = {
        lid: [_diameter(baseline, lid)] + [_diameter(a, lid) for _, a in follow_ups]
        for lid in lesion_ids
    }
    columns = [
        TumourColumn(
            visit_code=form.visit.code if form.visit else "",
            scanned_on=result.assessed_on,
            sum_mm=result.sum_mm,
            change_from_baseline=recist.display_pct(result.change_from_baseline_pct),
            change_from_nadir=recist.display_pct(result.change_from_nadir_pct),
            computed=str(result.overall.value),
            investigator=form.investigator_response,
        )
        for (form, _), result in zip(follow_ups, evaluation.timepoints, strict=True)
    ]
    day1 = selectors.day1(subject)
    best = (
        recist.best_overall_response(evaluation.timepoints, day1) if day1 and follow_ups else None
    )
    return {
        "has_baseline": True,
        "baseline_on": baseline.assessed_on,
        "baseline_sum": evaluation.baseline_sum,
        "lesion_rows": [(lid, table[lid]) for lid in lesion_ids],
        "columns": columns,
        "best": best,
        # the reason for the best overall response in the user's language
        "best_reason": best.explain_reason(gettext) if best is not None else "",
        "chart": _chart(evaluation.baseline_sum, columns, baseline.assessed_on),
    }


def _diameter(assessment: recist.TumourAssessment, lesion_id: str) -> str:
    lesion = next((t for t in assessment.targets if t.lesion_id == lesion_id), None)
    if lesion is None:
        return "—"
    value = recist.effective_diameter(lesion)
    return "NA" if value is None else f"{value:.1f}"


def _chart(
    baseline_sum: Decimal | None, columns: list[TumourColumn], start: dt.date
) -> dict[str, Any]:
    """Points of a small SVG line chart of the target sum (x by day, y by mm)."""
    points = [(start, baseline_sum)] + [(c.scanned_on, c.sum_mm) for c in columns]
    known = [(d, s) for d, s in points if s is not None]
    if len(known) < 2:
        return {"points": [], "width": 320, "height": 120}
    last_day = max((d - start).days for d, _ in known) or 1
    top = max(s for _, s in known) or Decimal(1)
    width, height, pad = 320, 120, 12
    coords = [
        SumPoint(
            x=round(pad + (width - 2 * pad) * (d - start).days / last_day, 1),
            y=round(height - pad - float(s) / float(top) * (height - 2 * pad), 1),
            label=f"{d.isoformat()}: {s} mm",
        )
        for d, s in known
    ]
    return {
        "points": coords,
        "polyline": " ".join(f"{p.x},{p.y}" for p in coords),
        "width": width,
        "height": height,
    }
