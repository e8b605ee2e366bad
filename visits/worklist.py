"""The site worklist: visits due soon, overdue visits, forms missing after a visit was held.

A fixed number of queries whatever the number of subjects: one for the candidate
visits (with subject and site), one per registered visit-form model for the forms
of those visits.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from crf import registry
from crf.models import FormStatus, Visit, VisitKind
from study.models import Subject
from visits import schedule

DUE_SOON_DAYS = 14


@dataclass(frozen=True)
class WorkItem:
    visit: Visit
    status: schedule.VisitStatus
    days_overdue: int
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Worklist:
    due_soon: tuple[WorkItem, ...]
    overdue: tuple[WorkItem, ...]
    missing_forms: tuple[WorkItem, ...]


def _planned(visit: Visit) -> schedule.PlannedVisit:
    return schedule.PlannedVisit(
        code=visit.code,
        kind=schedule.VisitKind(visit.kind),
        number=visit.number,
        target_date=visit.planned_date,
        window_start=visit.window_start,
        window_end=visit.window_end,
    )


def build_worklist(user: Any, *, today: dt.date) -> Worklist:
    subjects = Subject.objects.for_user(user).filter(subject_id__isnull=False)
    horizon = today + dt.timedelta(days=DUE_SOON_DAYS)
    visits = list(
        Visit.objects.filter(subject__in=subjects, missed=False, not_applicable=False)
        .exclude(kind__in=[VisitKind.SCREENING, VisitKind.UNSCHEDULED])
        .filter(
            Q(held_on__isnull=False) | Q(window_start__lte=horizon) | Q(planned_date__lte=horizon)
        )
        .select_related("subject", "subject__site")
        .order_by("planned_date", "subject__subject_id")
    )
    by_visit: dict[int, dict[str, str]] = defaultdict(dict)
    for spec in registry.all_forms():
        if spec.is_log or spec.once_per_subject:
            continue
        rows = spec.model.objects.filter(visit__in=[v.pk for v in visits], is_deleted=False)
        for visit_id, status in rows.values_list("visit_id", "status"):
            by_visit[visit_id][spec.code] = status
    due, overdue, missing = [], [], []
    for visit in visits:
        expected = [
            s.code for s in registry.forms_for_visit_kind(visit.kind) if not s.once_per_subject
        ]
        statuses = by_visit.get(visit.pk, {})
        complete = sum(statuses.get(code) == FormStatus.COMPLETE for code in expected)
        started = len(statuses)
        status = schedule.visit_status(
            _planned(visit),
            today=today,
            held_on=visit.held_on,
            forms_required=len(expected),
            forms_complete=complete,
            forms_started=started,
            missed=visit.missed,
            not_applicable=visit.not_applicable,
        )
        item = WorkItem(
            visit=visit,
            status=status,
            days_overdue=schedule.days_overdue(_planned(visit), today),
            missing=tuple(c for c in expected if statuses.get(c) != FormStatus.COMPLETE),
        )
        if visit.held_on is not None:
            if item.missing:
                missing.append(item)
        elif status == schedule.VisitStatus.OVERDUE:
            overdue.append(item)
        elif (
            status
            in (
                schedule.VisitStatus.UPCOMING,
                schedule.VisitStatus.WINDOW_OPEN,
                schedule.VisitStatus.DUE_TODAY,
            )
            and visit.planned_date is not None
            and visit.planned_date <= horizon
        ):
            due.append(item)
    return Worklist(
        tuple(due), tuple(sorted(overdue, key=lambda i: -i.days_overdue)), tuple(missing)
    )
