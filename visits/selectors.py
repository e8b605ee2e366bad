"""Reads of visit data: the facts the visit forms' checks need, Day 1, the course."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from crf.models import Visit, VisitKind
from enrollment.models import Enrolment, ScreeningLog
from study.models import Subject
from visits.models import Exposure, Laboratory, TumourAssessment, VitalSigns


def actual_day1(subject: Subject) -> dt.date | None:
    """Day 1 = the first anlotinib dose (EX EXSTDAT at C1D1), once entered."""
    exposure = (
        Exposure.objects.filter(subject=subject, is_deleted=False, visit__code="C1D1")
        .exclude(first_dose_on=None)
        .first()
    )
    return exposure.first_dose_on if exposure else None


def day1(subject: Subject) -> dt.date | None:
    """The actual Day 1 when known, else the planned Day 1 (ENR PLDAY1)."""
    actual = actual_day1(subject)
    if actual is not None:
        return actual
    enrolment = Enrolment.objects.filter(subject=subject, is_deleted=False).first()
    return enrolment.planned_day1 if enrolment else None


def screening_date(subject: Subject) -> dt.date | None:
    log = ScreeningLog.objects.filter(subject=subject, is_deleted=False).first()
    return log.screening_date if log else None


def day1_facts(subject: Subject, visit: Visit | None = None) -> dict[str, Any]:
    return {"DAY1": actual_day1(subject)}


def window_facts(subject: Subject, visit: Visit | None = None) -> dict[str, Any]:
    if visit is None:
        return {}
    window = (visit.window_start, visit.window_end) if visit.window_start else None
    return {"VISIT_WINDOW": window}


def previous_weight_facts(subject: Subject, visit: Visit | None = None) -> dict[str, Any]:
    """The weight of the latest earlier visit (VS: a change over 10 % is queried)."""
    if visit is None:
        return {}
    if visit.planned_date is None:
        return {"PREV_WEIGHT": None}
    previous_vs = (
        VitalSigns.objects.filter(
            subject=subject, is_deleted=False, visit__planned_date__lt=visit.planned_date
        )
        .exclude(weight_kg=None)
        .order_by("-assessed_on", "-id")
        .values_list("weight_kg", flat=True)
        .first()
    )
    return {"PREV_WEIGHT": previous_vs}


def previous_dose_facts(subject: Subject, visit: Visit | None = None) -> dict[str, Any]:
    """The dose of the latest earlier cycle (EX: a dose never goes back up)."""
    if visit is None or visit.kind != VisitKind.CYCLE:
        return {}
    previous = (
        Exposure.objects.filter(
            subject=subject,
            is_deleted=False,
            visit__kind=VisitKind.CYCLE,
            visit__number__lt=visit.number,
        )
        .exclude(dose_mg="")
        .order_by("-visit__number")
        .values_list("dose_mg", flat=True)
        .first()
    )
    return {"PREV_DOSE": previous}


def tumour_visit_facts(subject: Subject, visit: Visit | None = None) -> dict[str, Any]:
    kinds = (VisitKind.SCREENING, VisitKind.TUMOUR_ASSESSMENT, VisitKind.UNSCHEDULED)
    if visit is None or visit.kind not in kinds:
        return {}
    return tumour_facts(subject, visit)


def baseline_visit_facts(subject: Subject, visit: Visit | None = None) -> dict[str, Any]:
    if visit is None or visit.kind != VisitKind.SCREENING:
        return {}
    return baseline_facts(subject, visit)


def visit_lab_facts(subject: Subject, visit: Visit | None = None) -> dict[str, Any]:
    """This visit's bilirubin, albumin and INR (CP: Child-Pugh and ALBI)."""
    if visit is None:
        return {}
    labs = Laboratory.objects.filter(subject=subject, visit=visit, is_deleted=False).first()
    return {
        "LB_TBIL": labs.tbil if labs else None,
        "LB_ALB": labs.alb if labs else None,
        "LB_INR": labs.inr if labs else None,
    }


# Each provider with the facts it gives: a save computes only those its checks read.
FACT_PROVIDERS: list[tuple[Any, tuple[str, ...]]] = [
    (day1_facts, ("DAY1",)),
    (window_facts, ("VISIT_WINDOW",)),
    (previous_weight_facts, ("PREV_WEIGHT",)),
    (previous_dose_facts, ("PREV_DOSE",)),
    (tumour_visit_facts, ("TA_IS_BASELINE", "TA_BASELINE", "TA_PREVIOUS")),
    (baseline_visit_facts, ("SCR_ECOG", "SCR_CPSCORE", "SCR_LABS", "SCR_TARGETS")),
    (visit_lab_facts, ("LB_TBIL", "LB_ALB", "LB_INR")),
]


def visit_facts(subject: Subject, visit: Visit | None) -> dict[str, Any]:
    """Every fact of the visit forms' checks at once: window, previous weight and dose,
    the tumour assessments, this visit's labs (the demo builders pass them along)."""
    facts: dict[str, Any] = {}
    for provider, _names in FACT_PROVIDERS:
        facts.update(provider(subject, visit))
    return facts


VISIT_STATUS_LABELS = {
    "upcoming": _("Upcoming"),
    "window_open": _("Window open"),
    "due_today": _("Due today"),
    "overdue": _("Overdue"),
    "done": _("Done"),
    "partly_done": _("Partly done"),
    "missed": _("Missed"),
    "not_applicable": _("Not applicable"),
}


def tell_visit_status(
    visit: Visit, *, today: dt.date, required: int, complete: int, started: int
) -> tuple[str, str]:
    """The visit's status by the schedule's rules (visits.schedule.visit_status)."""
    from visits import schedule

    planned = schedule.PlannedVisit(
        code=visit.code,
        kind=schedule.VisitKind(visit.kind),
        number=visit.number,
        target_date=visit.planned_date,
        window_start=visit.window_start,
        window_end=visit.window_end,
    )
    status = schedule.visit_status(
        planned,
        today=today,
        held_on=visit.held_on,
        forms_required=required,
        forms_complete=complete,
        forms_started=started,
        missed=visit.missed,
        not_applicable=visit.not_applicable,
    )
    code = str(status.value).lower()
    return code, str(VISIT_STATUS_LABELS.get(code, code))


def ta_data(
    form: TumourAssessment, rows: Mapping[str, Sequence[Any]] | None = None
) -> dict[str, Any]:
    """A saved TA as variables (TADAT … and the TL, NTL, NL groups); ``rows``: its group
    rows when the caller has read them already (by group name)."""
    from crf import registry

    spec = registry.get("TA")
    data: dict[str, Any] = {v.name: getattr(form, v.field_name) for v in spec.variables}
    for group in spec.groups:
        group_rows: Sequence[Any]
        if rows is not None:
            group_rows = rows.get(group.name, ())
        else:
            group_rows = list(
                group.model.objects.filter(is_deleted=False, **{"form": form}).order_by("id")
            )
        data[group.name] = [
            {v.name: getattr(row, v.field_name) for v in group.variables} for row in group_rows
        ]
    return data


def tumour_assessments(subject: Subject) -> list[tuple[TumourAssessment, dict[str, Any]]]:
    """Every TA of the subject with its data, by scan date (baseline first).

    One query for the assessments and one per lesion group, whatever their number."""
    from crf import registry

    forms = list(
        TumourAssessment.objects.filter(subject=subject, is_deleted=False)
        .select_related("visit")
        .order_by("scanned_on", "id")
    )
    by_form: dict[int, dict[str, list[Any]]] = {form.pk: {} for form in forms}
    for group in registry.get("TA").groups:
        lesions = group.model.objects.filter(is_deleted=False, **{"form_id__in": list(by_form)})
        for row in lesions.order_by("id"):
            by_form[row.form_id].setdefault(group.name, []).append(row)  # type: ignore[attr-defined]
    return [(form, ta_data(form, by_form[form.pk])) for form in forms]


def split_assessments(
    subject: Subject, *, except_visit: Visit | None = None
) -> tuple[Any, list[tuple[TumourAssessment, Any]]]:
    """The baseline (SCR) assessment and the follow-ups, as the RECIST engine sees them;
    ``except_visit``'s own TA is left out (the one being checked)."""
    from visits.tumour import assessment_from_data

    baseline = None
    follow_ups = []
    for form, data in tumour_assessments(subject):
        assessment = assessment_from_data(data)
        if assessment is None:
            continue
        if form.visit is not None and form.visit.kind == VisitKind.SCREENING:
            baseline = assessment
        elif except_visit is None or form.visit_id != except_visit.pk:
            follow_ups.append((form, assessment))
    return baseline, follow_ups


def tumour_facts(subject: Subject, visit: Visit) -> dict[str, Any]:
    """The baseline and the other follow-up TAs, as the RECIST engine sees them."""
    baseline, previous = split_assessments(subject, except_visit=visit)
    return {
        "TA_IS_BASELINE": visit.kind == VisitKind.SCREENING,
        "TA_BASELINE": baseline,
        "TA_PREVIOUS": tuple(a for _form, a in previous),
    }


def baseline_facts(subject: Subject, visit: Visit) -> dict[str, Any]:
    """What the screening visit's data say about eligibility (IE contradictions):
    ECOG (VS), Child-Pugh (CP), labs (LB) and the baseline TA's measurable targets."""
    from visits.models import LiverScores

    vs = VitalSigns.objects.filter(subject=subject, visit=visit, is_deleted=False).first()
    cp = LiverScores.objects.filter(subject=subject, visit=visit, is_deleted=False).first()
    lb = Laboratory.objects.filter(subject=subject, visit=visit, is_deleted=False).first()
    ta = TumourAssessment.objects.filter(subject=subject, visit=visit, is_deleted=False).first()
    return {
        "SCR_ECOG": vs.ecog if vs else None,
        "SCR_CPSCORE": cp.child_pugh_score if cp else None,
        "SCR_LABS": {"HGB": lb.hgb, "ANC": lb.anc, "PLT": lb.plt, "ALB": lb.alb} if lb else {},
        "SCR_TARGETS": (
            ta.targets.filter(is_deleted=False, status="MEASURED").count()  # type: ignore[attr-defined]
            if ta
            else None
        ),
    }


def progression_date(subject: Subject) -> dt.date | None:
    """The date of the first progression by RECIST 1.1 (visits.recist), if any."""
    from visits import recist

    baseline, follow_ups = split_assessments(subject)
    if baseline is None or not follow_ups:
        return None
    for result in recist.evaluate(baseline, [a for _form, a in follow_ups]).timepoints:
        if result.overall == recist.Response.PD:
            return result.pd_date or result.assessed_on
    return None
