"""A subject's treatment and response over time: exposure (compliance, dose intensity)
and tumour assessments (lesion table, sums, responses, best overall response)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext

from crf.codelists import Response
from crf.models import VisitKind
from study.models import Subject
from visits import exposure, recist, selectors
from visits.models import Exposure
from visits.schedule import study_day
from visits.tumour import code_label


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
    """One assessment on the target-sum chart: where it is drawn and what it says."""

    x: float
    y: float
    label: str
    scanned_on: dt.date
    day: int
    sum_mm: Decimal


@dataclass(frozen=True)
class Tick:
    at: float
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
            computed=response_label(result.overall),
            investigator=response_label(form.investigator_response)
            if form.investigator_response
            else "",
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
        "best_label": response_label(best.bor) if best is not None else "",
        # the reason for the best overall response in the user's language
        "best_reason": best.explain_reason(gettext, code_label) if best is not None else "",
        "chart": _chart(evaluation.baseline_sum, columns, baseline.assessed_on, day1),
    }


def response_label(code: Any) -> str:
    """The label of a RECIST response code (crf-spec code list RESP), never the code."""
    value = str(getattr(code, "value", code) or "")
    try:
        return str(Response(value).label)
    except ValueError:
        return value


def _diameter(assessment: recist.TumourAssessment, lesion_id: str) -> str:
    lesion = next((t for t in assessment.targets if t.lesion_id == lesion_id), None)
    if lesion is None:
        return "—"
    value = recist.effective_diameter(lesion)
    return gettext("not assessed") if value is None else f"{value:.1f}"


# The target-sum chart (SVG drawn by the template): its size in its own units.
CHART_WIDTH, CHART_HEIGHT = 400, 230
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 14, 26, 40


def _step(span: float, steps: tuple[int, ...], most: int) -> int:
    return next((s for s in steps if span / s <= most), steps[-1])


def _chart(
    baseline_sum: Decimal | None,
    columns: list[TumourColumn],
    baseline_on: dt.date,
    day1: dt.date | None,
) -> dict[str, Any]:
    """The sum of target diameters at each TA (baseline included) against the study day
    (protocol.md: Day 1 is day 1, no day 0; before Day 1, days since the baseline scan),
    with axes, ticks and the partial-response threshold (-30 % of the baseline sum,
    RECIST 1.1 §4.3.1). Needs two assessments with a sum."""
    points = [(baseline_on, baseline_sum)] + [(c.scanned_on, c.sum_mm) for c in columns]
    known = [(d, s) for d, s in points if s is not None]
    if len(known) < 2:
        return {"points": []}

    def day_of(d: dt.date) -> int:
        return study_day(day1, d) if day1 is not None else (d - baseline_on).days

    days = [day_of(d) for d, _ in known]
    first, last = min(days), max(days)
    x_step = _step(last - first or 1, (7, 14, 21, 42, 84, 126, 168, 252, 364), 7)
    origin = 1 if day1 is not None else 0  # ticks on Day 1 and every step after it
    x_ticks = [
        t for t in range(origin - x_step * 50, last + 1, x_step) if first <= t <= last
    ] or sorted({first, last})
    low, high = first, last
    top_sum = float(max(s for _, s in known)) or 1.0
    y_step = _step(top_sum * 1.1, (5, 10, 20, 25, 50, 100, 200, 250, 500), 5)
    y_max = y_step * (int(top_sum * 1.1 // y_step) + 1)
    plot_w = CHART_WIDTH - _LEFT - _RIGHT
    plot_h = CHART_HEIGHT - _TOP - _BOTTOM

    def x_of(day: float) -> float:
        return round(_LEFT + plot_w * (day - low) / ((high - low) or 1), 1)

    def y_of(mm: float) -> float:
        return round(_TOP + plot_h * (1 - mm / y_max), 1)

    coords = [
        SumPoint(
            x=x_of(day_of(d)),
            y=y_of(float(s)),
            label=f"{d.isoformat()} · {day_of(d)} · {s} mm",
            scanned_on=d,
            day=day_of(d),
            sum_mm=s,
        )
        for d, s in known
    ]
    threshold = None
    if baseline_sum:
        limit = baseline_sum * Decimal("0.7")
        # the line across the plot; its key in the top margin, where it hides no point
        threshold = {
            "y": y_of(float(limit)),
            "mm": limit.quantize(Decimal("0.1")),
            "key_y": 12,
            "key_x1": CHART_WIDTH - _RIGHT - 22,
            "key_x2": CHART_WIDTH - _RIGHT,
            "key_text_x": CHART_WIDTH - _RIGHT - 26,
        }
    return {
        "points": coords,
        "polyline": " ".join(f"{p.x},{p.y}" for p in coords),
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": _LEFT,
        "right": CHART_WIDTH - _RIGHT,
        "top": _TOP,
        "bottom": CHART_HEIGHT - _BOTTOM,
        "x_ticks": [Tick(x_of(t), str(t)) for t in x_ticks],
        "y_ticks": [Tick(y_of(v), str(v)) for v in range(0, y_max + 1, y_step)],
        "x_label_x": _LEFT + plot_w / 2,
        "x_label_y": CHART_HEIGHT - 6,
        "y_label_x": 14,
        "y_label_y": _TOP + plot_h / 2,
        "tick_label_y": CHART_HEIGHT - _BOTTOM + 16,
        "tick_label_x": _LEFT - 6,
        "threshold": threshold,
        "by_study_day": day1 is not None,
    }
