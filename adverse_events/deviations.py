"""Protocol deviations: the study list, and deviations the schedule suggests.

An out-of-window visit raises a soft edit-check finding whose check code ends in
``_window_deviation`` (visits.checks.within_visit_window). A data manager confirms
it, which records a DV form (DVCAT VISIT_WINDOW) through crf.services, or
dismisses it with a note; either decision is kept and audited.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from adverse_events.models import DeviationDecision, ProtocolDeviation, SuggestedDeviation
from crf import audit, registry
from crf.codelists import DeviationCategory, DeviationSeverity
from crf.models import AuditAction, CheckFinding, FindingStatus, Visit
from crf.services import save_form
from study.models import Subject

SUGGESTION_SUFFIX = "_window_deviation"


def deviations_for(user: Any) -> QuerySet[ProtocolDeviation]:
    """Active DV records of the user's sites, newest first."""
    return (
        ProtocolDeviation.objects.filter(
            is_deleted=False, subject__in=Subject.objects.for_user(user)
        )
        .select_related("subject__site")
        .order_by("-occurred_on", "-id")
    )


def suggestions_for(user: Any) -> QuerySet[CheckFinding]:
    """Suggested deviations of the user's sites still waiting for a decision."""
    return (
        CheckFinding.objects.filter(
            check_code__endswith=SUGGESTION_SUFFIX,
            status=FindingStatus.OPEN,
            deviation_decision__isnull=True,
            subject__in=Subject.objects.for_user(user),
        )
        .select_related("subject__site")
        .order_by("subject__site__number", "subject__subject_id", "id")
    )


@dataclass(frozen=True)
class CategoryCounts:
    """Deviations by category (rows) and site (columns), with majors counted apart."""

    sites: list[str]
    rows: list[tuple[str, str, list[int], int, int]]  # code, label, per site, total, major
    site_totals: list[int]
    total: int


def count_by_category(deviations: list[ProtocolDeviation], sites: list[str]) -> CategoryCounts:
    per_cell = Counter((d.category, d.subject.site.number) for d in deviations)
    majors = Counter(d.category for d in deviations if d.severity == DeviationSeverity.MAJOR)
    rows = []
    for code, label in DeviationCategory.choices:
        cells = [per_cell[(code, site)] for site in sites]
        rows.append((code, str(label), cells, sum(cells), majors[code]))
    site_totals = [sum(row[2][i] for row in rows) for i in range(len(sites))]
    return CategoryCounts(sites, rows, site_totals, sum(site_totals))


def _deviation_date(finding: CheckFinding) -> dt.date | None:
    """The date the suggested deviation happened: the visit as held (else the finding's day)."""
    visit = Visit.objects.filter(subject_id=finding.subject_id, code=finding.visit_code).first()
    if visit is not None and visit.held_on is not None:
        return visit.held_on
    return timezone.localdate(finding.created_at)


def _lock_open(finding_pk: int, user: Any) -> CheckFinding:
    finding = (
        CheckFinding.objects.select_for_update()
        .filter(
            pk=finding_pk,
            check_code__endswith=SUGGESTION_SUFFIX,
            subject__in=Subject.objects.for_user(user),
        )
        .select_related("subject")
        .first()
    )
    if finding is None:
        raise CheckFinding.DoesNotExist
    if SuggestedDeviation.objects.filter(finding=finding).exists():
        raise ValidationError(_("This suggested deviation has already been decided."))
    return finding


def confirm_suggested_deviation(
    *,
    actor: AbstractBaseUser,
    finding_pk: int,
    severity: str,
    description: str,
    action: str = "",
) -> ProtocolDeviation:
    """Record the suggested deviation as a DV (DVCAT VISIT_WINDOW) and keep the decision.

    Side effects: a DV form saved (complete) through crf.services, audited; a
    SuggestedDeviation row; an audit entry of the decision in the subject's chain.
    Raises CheckFinding.DoesNotExist for a finding outside the actor's sites.
    """
    errors = {}
    if severity not in DeviationSeverity.values:
        errors["severity"] = _("Choose major or minor.")
    if not description.strip():
        errors["description"] = _("Describe the deviation.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        finding = _lock_open(finding_pk, actor)
        deviation = save_form(
            actor=actor,
            spec=registry.get("DV"),
            subject=finding.subject,
            values={
                "occurred_on": _deviation_date(finding),
                "category": DeviationCategory.VISIT_WINDOW,
                "severity": severity,
                "description": description.strip(),
                "action": action.strip(),
            },
            complete=True,
        )
        assert isinstance(deviation, ProtocolDeviation)
        _decide(actor, finding, DeviationDecision.CONFIRMED, "", deviation)
        return deviation


def dismiss_suggested_deviation(*, actor: AbstractBaseUser, finding_pk: int, note: str) -> None:
    """Dismiss a suggested deviation with a note (kept and audited)."""
    if not note.strip():
        raise ValidationError({"note": _("Say why the suggestion is dismissed.")})
    with transaction.atomic():
        finding = _lock_open(finding_pk, actor)
        _decide(actor, finding, DeviationDecision.DISMISSED, note.strip(), None)


def _decide(
    actor: AbstractBaseUser,
    finding: CheckFinding,
    decision: str,
    note: str,
    deviation: ProtocolDeviation | None,
) -> None:
    row = SuggestedDeviation.objects.create(
        finding=finding,
        decision=decision,
        note=note,
        deviation=deviation,
        decided_by=actor,  # type: ignore[misc]
        decided_at=timezone.now(),
    )
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        form_code="DV",
        obj=row,
        changes=[("DVDECISION", None, decision)],
        subject_id=finding.subject_id,
        reason_text=note or finding.message,
        visit_code=finding.visit_code,
        source="web",
    )
