"""The study outcomes page's figures and their data: study outcomes in, figure inputs and
CSV tables out (the drawing itself is outcomes.figures)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from outcomes import figures
from outcomes.study import StudySummary, SubjectOutcome
from study.protocol import DAYS_PER_MONTH
from visits import recist

AT_RISK_MONTHS = (0, 3, 6, 9, 12, 18, 24)
FIGURES = ("km_pfs", "km_os", "waterfall", "swimmer", "spider")
FIGURE_TITLES = {
    "km_pfs": lambda: _("Progression-free survival (Kaplan-Meier)"),
    "km_os": lambda: _("Overall survival (Kaplan-Meier)"),
    "waterfall": lambda: _("Waterfall: best change of the target sum"),
    "swimmer": lambda: _("Swimmer: time on treatment and follow-up"),
    "spider": lambda: _("Spider: change of the target sum over time"),
}


def _months(days: float | int | None) -> float:
    return float(Decimal(days or 0) / DAYS_PER_MONTH)


def bor_labels() -> dict[str, str]:
    return {
        "CR": _("Complete response"),
        "PR": _("Partial response"),
        "SD": _("Stable disease"),
        "PD": _("Progressive disease"),
        "NE": _("Not evaluable"),
    }


def _km_curve(label: str, km: Any) -> figures.KmCurve:
    return figures.KmCurve(
        label=label,
        times_months=[_months(t) for t in km.times],
        survival=list(km.survival),
        ci_low=[float("nan") if v is None else v for v in km.ci_low],
        ci_high=[float("nan") if v is None else v for v in km.ci_high],
        censor_times_months=[_months(t) for t in km.censor_times],
        at_risk=[r.n for r in km.numbers_at_risk],
        median_months=_months(km.median) if km.median is not None else None,
    )


@dataclass(frozen=True)
class FigureSpec:
    """Everything a figure is drawn from: the builder of ``outcomes.figures``, its data and
    its texts (already translated). Two equal specs draw byte-identical figures, so the
    figure cache keys on ``repr(spec)`` (outcomes.figure_cache)."""

    name: str
    builder: str  # the name of a function of outcomes.figures
    data: tuple[Any, ...]
    options: tuple[tuple[str, Any], ...]


_BUILDERS: dict[str, Callable[..., Any]] = {
    "km_figure": figures.km_figure,
    "waterfall_figure": figures.waterfall_figure,
    "swimmer_figure": figures.swimmer_figure,
    "spider_figure": figures.spider_figure,
}


def _spec(name: str, builder: str, data: Sequence[Any], **options: Any) -> FigureSpec:
    def frozen(value: Any) -> Any:
        if isinstance(value, Mapping):
            return tuple((k, frozen(v)) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return tuple(frozen(v) for v in value)
        return value

    return FigureSpec(
        name=name,
        builder=builder,
        data=tuple(data),
        options=tuple((k, frozen(v)) for k, v in options.items()),
    )


def draw(spec: FigureSpec) -> Any:
    """The matplotlib Figure of ``spec`` (the expensive part: 0.1-6 s)."""
    options = {
        key: dict(value) if key in ("legend_labels",) else value for key, value in spec.options
    }
    return _BUILDERS[spec.builder](list(spec.data), **options)


def figure(name: str, outcomes: Sequence[SubjectOutcome], summary: StudySummary) -> Any:
    """The matplotlib Figure ``name`` (one of FIGURES)."""
    return draw(figure_spec(name, outcomes, summary))


def figure_spec(name: str, outcomes: Sequence[SubjectOutcome], summary: StudySummary) -> FigureSpec:
    """What figure ``name`` (one of FIGURES) is drawn from, in the active language. Cheap
    (no drawing): the page computes it for every figure to know each one's fingerprint."""
    dosed = [o for o in outcomes if o.dosed]
    labels = bor_labels()
    # the figure's description (SVG <desc>, alt text) in the user's language, punctuation too
    wording = figures.Wording(
        description=_("%(title)s. %(summary)s."),
        separator=pgettext("between the items of a list", ", "),
        curve_separator=pgettext("between the clauses of a sentence", "; "),
        count=_("%(label)s %(n)d"),
    )
    if name in ("km_pfs", "km_os"):
        km = summary.pfs if name == "km_pfs" else summary.os
        title = _("Progression-free survival") if name == "km_pfs" else _("Overall survival")
        return _spec(
            name,
            "km_figure",
            [_km_curve(_("All subjects (N = %(n)d)") % {"n": summary.n}, km)] if dosed else [],
            title=title,
            x_label=_("Months since Day 1"),
            y_label=_("Probability"),
            at_risk_times=AT_RISK_MONTHS,
            at_risk_label=_("Number at risk"),
            empty_text=_("No subject has received a dose yet."),
            curve_summary=_("%(label)s: median %(median)s months"),
            not_reached=_("not reached"),
            wording=wording,
        )
    if name == "waterfall":
        bars = [
            figures.WaterfallBar(
                subject_id=o.subject_id,
                best_pct_change=float(o.best_change),
                bor=o.result.bor.value if o.result.bor else "NE",
            )
            for o in dosed
            if o.best_change is not None
        ]
        return _spec(
            name,
            "waterfall_figure",
            bars,
            title=_("Best change of the target sum from baseline"),
            y_label=_("Change from baseline (%)"),
            legend_labels=labels,
            empty_text=_("No tumour assessment after baseline yet."),
            summary=_("%(n)d subjects; best change from %(min)s to %(max)s; %(counts)s"),
            wording=wording,
        )
    if name == "swimmer":
        return _spec(
            name,
            "swimmer_figure",
            [swimmer_lane(o) for o in dosed],
            title=_("Time on treatment and in follow-up"),
            x_label=_("Months since Day 1"),
            legend_labels={
                **labels,
                "treatment": _("On treatment"),
                "follow_up": _("Follow-up"),
                "response": _("First response"),
                "progression": _("Progression"),
                "death": _("Death"),
                "ongoing": _("Ongoing"),
            },
            empty_text=_("No subject has received a dose yet."),
            truncated_text=_("%(shown)d of %(total)d subjects shown (longest follow-up)"),
            summary=_(
                "%(n)d subjects; median time on treatment %(median_treatment)s months; "
                "%(ongoing)d ongoing; %(responses)d responses; %(progressions)d progressions; "
                "%(deaths)d deaths"
            ),
            wording=wording,
        )
    if name == "spider":
        return _spec(
            name,
            "spider_figure",
            [
                figures.SpiderSeries(
                    subject_id=o.subject_id,
                    bor=o.result.bor.value if o.result.bor else "NE",
                    points=[(0.0, 0.0)] + [(_months(day), float(pct)) for day, pct in o.changes],
                )
                for o in dosed
                if o.changes
            ],
            title=_("Change of the target sum over time"),
            x_label=_("Months since Day 1"),
            y_label=_("Change from baseline (%)"),
            legend_labels=labels,
            empty_text=_("No tumour assessment after baseline yet."),
            summary=_("%(n)d subjects; %(counts)s"),
            wording=wording,
        )
    raise KeyError(name)


def swimmer_lane(o: SubjectOutcome) -> figures.SwimmerLane:
    record, result = o.record, o.result
    assert record.day1 is not None
    treatment_days = result.time_on_treatment_days or 0
    follow_days = max(result.os.days or 0, treatment_days)
    best = result.best_response
    response_on = best.first_response_on if best is not None else None
    progression = next(
        (
            t.pd_date or t.assessed_on
            for t in sorted(record.timepoints, key=lambda t: t.assessed_on)
            if t.overall is recist.Response.PD
        ),
        None,
    )

    def months_of(day: Any) -> float | None:
        if day is None:
            return None
        return _months((day - record.day1).days + 1)

    return figures.SwimmerLane(
        subject_id=o.subject_id,
        treatment_months=_months(treatment_days),
        follow_up_months=_months(follow_days - treatment_days),
        response_months=months_of(response_on),
        response=result.bor.value
        if result.bor in (recist.Response.CR, recist.Response.PR)
        else None,
        progression_months=months_of(progression),
        death_months=months_of(record.death_on),
        ongoing=record.death_on is None and record.last_dose_on is None,
    )


def csv_table(
    name: str, outcomes: Sequence[SubjectOutcome], summary: StudySummary
) -> tuple[list[str], list[list[Any]]]:
    """The data behind a figure (or the subject table) as a header and rows."""
    dosed = [o for o in outcomes if o.dosed]
    if name in ("km_pfs", "km_os"):
        km = summary.pfs if name == "km_pfs" else summary.os
        rows = [
            [t, round(_months(t), 2), s, lo, hi, n]
            for t, s, lo, hi, n in zip(
                km.times, km.survival, km.ci_low, km.ci_high, km.at_risk, strict=True
            )
        ]
        return ["days", "months", "survival", "ci_low", "ci_high", "at_risk"], rows
    if name == "waterfall":
        return ["SUBJID", "best_pct_change", "BOR"], [
            [o.subject_id, _pct(o.best_change), o.result.bor.value if o.result.bor else ""]
            for o in dosed
            if o.best_change is not None
        ]
    if name == "swimmer":
        lanes = [swimmer_lane(o) for o in dosed]
        return [
            "SUBJID",
            "treatment_months",
            "follow_up_months",
            "response",
            "response_months",
            "progression_months",
            "death_months",
            "ongoing",
        ], [
            [
                lane.subject_id,
                round(lane.treatment_months, 2),
                round(lane.follow_up_months, 2),
                lane.response or "",
                _round(lane.response_months),
                _round(lane.progression_months),
                _round(lane.death_months),
                "Y" if lane.ongoing else "N",
            ]
            for lane in lanes
        ]
    if name == "spider":
        return ["SUBJID", "BOR", "study_day", "pct_change"], [
            [o.subject_id, o.result.bor.value if o.result.bor else "", day, _pct(pct)]
            for o in dosed
            for day, pct in o.changes
        ]
    if name == "subjects":
        return [
            "SUBJID",
            "SITE",
            "DAY1",
            "BOR",
            "PFS_DAYS",
            "PFS_EVENT",
            "PFS_DATE",
            "PFS_REASON",
            "OS_DAYS",
            "OS_EVENT",
            "OS_DATE",
        ], [
            [
                o.subject_id,
                o.site,
                o.record.day1 or "",
                o.result.bor.value if o.result.bor else "",
                o.result.pfs.days if o.result.pfs.days is not None else "",
                "Y" if o.result.pfs.event else "N",
                o.result.pfs.date or "",
                o.result.pfs.reason,
                o.result.os.days if o.result.os.days is not None else "",
                "Y" if o.result.os.event else "N",
                o.result.os.date or "",
            ]
            for o in outcomes
        ]
    raise KeyError(name)


def _pct(value: Decimal | None) -> Any:
    return "" if value is None else value.quantize(Decimal("0.1"))


def _round(value: float | None) -> Any:
    return "" if value is None else round(value, 2)
