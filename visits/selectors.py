"""Reads of visit data: the facts the visit forms' checks need, Day 1, the course."""

from __future__ import annotations

import datetime as dt
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


def visit_facts(subject: Subject, visit: Visit | None) -> dict[str, Any]:
    """Facts of the visit forms' checks: window, previous weight and dose, this visit's labs."""
    facts: dict[str, Any] = {"DAY1": actual_day1(subject)}
    if visit is None:
        return facts
    facts["VISIT_WINDOW"] = (visit.window_start, visit.window_end) if visit.window_start else None
    earlier = (
        Visit.objects.filter(subject=subject, planned_date__lt=visit.planned_date)
        if visit.planned_date
        else Visit.objects.none()
    )
    previous_vs = (
        VitalSigns.objects.filter(subject=subject, is_deleted=False, visit__in=earlier)
        .exclude(weight_kg=None)
        .order_by("-assessed_on", "-id")
        .first()
    )
    facts["PREV_WEIGHT"] = previous_vs.weight_kg if previous_vs else None
    if visit.kind == VisitKind.CYCLE:
        previous_ex = (
            Exposure.objects.filter(
                subject=subject,
                is_deleted=False,
                visit__kind=VisitKind.CYCLE,
                visit__number__lt=visit.number,
            )
            .exclude(dose_mg="")
            .order_by("-visit__number")
            .first()
        )
        facts["PREV_DOSE"] = previous_ex.dose_mg if previous_ex else None
    if visit.kind in (VisitKind.SCREENING, VisitKind.TUMOUR_ASSESSMENT, VisitKind.UNSCHEDULED):
        facts.update(tumour_facts(subject, visit))
    if visit.kind == VisitKind.SCREENING:
        facts.update(baseline_facts(subject, visit))
    labs = Laboratory.objects.filter(subject=subject, visit=visit, is_deleted=False).first()
    facts.update(
        {
            "LB_TBIL": labs.tbil if labs else None,
            "LB_ALB": labs.alb if labs else None,
            "LB_INR": labs.inr if labs else None,
        }
    )
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


def ta_data(form: TumourAssessment) -> dict[str, Any]:
    """A saved TA as variables (TADAT … and the TL, NTL, NL groups)."""
    from crf import registry

    spec = registry.get("TA")
    data: dict[str, Any] = {v.name: getattr(form, v.field_name) for v in spec.variables}
    for group in spec.groups:
        rows = group.model.objects.filter(is_deleted=False, **{"form": form}).order_by("id")
        data[group.name] = [
            {v.name: getattr(row, v.field_name) for v in group.variables} for row in rows
        ]
    return data


def tumour_assessments(subject: Subject) -> list[tuple[TumourAssessment, dict[str, Any]]]:
    """Every TA of the subject with its data, by scan date (baseline first)."""
    forms = (
        TumourAssessment.objects.filter(subject=subject, is_deleted=False)
        .select_related("visit")
        .order_by("scanned_on", "id")
    )
    return [(form, ta_data(form)) for form in forms]


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
