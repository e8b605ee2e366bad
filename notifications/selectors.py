"""Read what notifications.due needs for one person into its plain dataclasses.

Reuses the worklist (visits.worklist.build_worklist, site-scoped), open queries
(data_management Query), the SAE clock (adverse_events SaeReport.due_at) and the PI's
signing queue (data_management.signatures.signing_queue).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.urls import reverse

from adverse_events.models import SaeReport
from data_management.models import Query, QueryStatus
from data_management.query_selectors import thread_url
from data_management.signatures import signing_queue
from data_management.workspace_selectors import awaiting_sdv_by_site
from notifications import due
from study.models import Membership, Role, Site, Subject, SubjectStatus
from study.scoping import sites_for_user
from visits.worklist import build_worklist

SITE_STAFF_ROLES = (Role.INVESTIGATOR, Role.SITE_COORDINATOR)
ENDED_STATUSES = (SubjectStatus.DIED, SubjectStatus.OFF_STUDY, SubjectStatus.SCREEN_FAILED)


def site_zone(site: Site) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(site.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("Asia/Shanghai")


def site_staff(site: Site) -> list[Membership]:
    """Investigators and site coordinators of ``site`` with an active account and a mail."""
    return list(
        Membership.objects.filter(sites=site, role__in=SITE_STAFF_ROLES, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )


def site_monitors(site: Site) -> list[Membership]:
    """Monitors of ``site`` with an active account."""
    return list(
        Membership.objects.filter(sites=site, role=Role.MONITOR, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )


def study_coordinators() -> list[Membership]:
    return list(
        Membership.objects.filter(role=Role.STUDY_COORDINATOR, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )


def compliance_summary(today: dt.date) -> dict[str, Any]:
    """Enrolled against plan, visits held in window (%), overdue visits by site number."""
    from django.db.models import Count, F

    from crf.models import Visit, VisitKind
    from study.models import StudyParameters

    enrolled = Subject.objects.filter(subject_id__isnull=False).count()
    held = Visit.objects.filter(
        held_on__isnull=False, window_start__isnull=False, window_end__isnull=False
    )
    in_window = held.filter(held_on__gte=F("window_start"), held_on__lte=F("window_end"))
    held_count = held.count()
    overdue = (
        Visit.objects.filter(
            held_on__isnull=True, missed=False, not_applicable=False, window_end__lt=today
        )
        .exclude(subject__status__in=ENDED_STATUSES)
        .exclude(kind__in=[VisitKind.SCREENING, VisitKind.UNSCHEDULED])  # as the worklist
        .filter(subject__subject_id__isnull=False)
        .values("subject__site_id", "subject__site__number")
        .annotate(n=Count("id"))
        .order_by("subject__site__number")
    )
    return {
        "enrolled": enrolled,
        "target": StudyParameters.objects.current().target_enrolment,
        "in_window_percent": round(100 * in_window.count() / held_count) if held_count else None,
        "overdue": [(row["subject__site__number"], row["n"]) for row in overdue],
    }


def subject_state(subject: Subject) -> str:
    if subject.status in ENDED_STATUSES:
        return due.ENDED
    if subject.status == SubjectStatus.FOLLOW_UP:
        from visits.selectors import progression_date

        return due.FOLLOW_UP_PROGRESSED if progression_date(subject) else due.FOLLOW_UP
    return due.ACTIVE


def facts_for(user: Any, *, today: dt.date, now: dt.datetime) -> dict[str, Any]:
    """Keyword arguments for due.due_for_person: the facts of the subjects ``user`` sees."""
    subjects_qs = Subject.objects.for_user(user).select_related("site")
    subjects = [
        due.SubjectFact(s.pk, s.label, s.site_id, subject_state(s))
        for s in subjects_qs.filter(subject_id__isnull=False)
    ]
    visits = [
        due.VisitFact(
            pk=item.visit.pk,
            subject_pk=item.visit.subject_id,
            code=item.visit.code,
            kind=str(item.visit.kind),
            planned_date=item.visit.planned_date,
            window_start=item.visit.window_start,
            window_end=item.visit.window_end,
            held_on=item.visit.held_on,
            missing_forms=len(item.missing) if item.visit.held_on else 0,
        )
        for item in build_worklist(user, today=today).items
    ]
    queries = [
        due.QueryFact(q.pk, q.subject_id, q.raised_at.date(), q.form_code, thread_url(q))
        for q in Query.objects.filter(subject__in=subjects_qs, status=QueryStatus.OPEN).only(
            "pk", "subject_id", "raised_at", "form_code", "visit_code", "object_id"
        )
    ]
    saes = [
        due.SaeFact(r.pk, r.subject_id, r.adverse_event_id, r.due_at)
        for r in SaeReport.objects.filter(
            subject__in=subjects_qs, completed_at__isnull=True, closed_at__isnull=True
        )
    ]
    signatures: list[due.SignatureFact] = []
    membership = getattr(user, "membership", None)
    if membership is not None and (
        membership.is_principal_investigator or membership.role == Role.MONITOR
    ):
        signatures = [
            due.SignatureFact(
                row.subject.pk,
                casebook=row.casebook in ("awaiting", "invalidated"),
                visits=tuple(v.code for v in row.visits),
            )
            for row in signing_queue(subjects_qs)
        ]
    sdv: list[due.SdvFact] = []
    if membership is not None and membership.role == Role.MONITOR:
        sites = list(sites_for_user(user).order_by("number"))
        counts = awaiting_sdv_by_site([site.pk for site in sites])
        sdv = [due.SdvFact(site.pk, site.number, counts.get(site.pk, 0)) for site in sites]
    return {
        "subjects": subjects,
        "sdv": sdv,
        "visits": visits,
        "queries": queries,
        "saes": saes,
        "signatures": signatures,
    }


def item_url(item: due.DueItem) -> str:
    """The exact page for an item (a path; services makes it absolute for mail): a query's
    thread on its form, an SAE's AE form, a visit's section of the subject page."""
    if item.url:
        return item.url
    if item.kind == "query_old":
        return reverse("data_management:queries") + f"?subject={item.subject_pk}"
    if item.kind == "sae_due" and item.subject_pk is not None and item.count:
        kwargs = {"subject_pk": item.subject_pk, "form_code": "AE", "record_pk": item.count}
        return reverse("crf:log_record", kwargs=kwargs)
    if item.kind.startswith("visit_") or item.kind == "forms_missing":
        page = reverse("crf:subject_detail", kwargs={"subject_pk": item.subject_pk})
        return f"{page}#visit-{item.code}"
    if item.kind == "sdv_waiting":
        return reverse("data_management:sdv_progress") + f"?site={item.subject_label}&state=pending"
    if item.kind == "signature_waiting":
        return reverse("data_management:signature_queue")
    if item.subject_pk is not None:
        return reverse("crf:subject_detail", kwargs={"subject_pk": item.subject_pk})
    return reverse("visits:worklist")
