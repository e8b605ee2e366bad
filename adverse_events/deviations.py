"""Protocol deviations: the study list, and deviations the schedule suggests.

An out-of-window visit raises a soft edit-check finding whose check code ends in
``_window_deviation`` (visits.checks.within_visit_window). A data manager confirms
it, which records a DV form (DVCAT VISIT_WINDOW) through crf.services, or
dismisses it with a note; either decision is kept and audited.

The page and the DV record say which dates and how many days out of window
(``window_sentence``), drawn from the visit as it stands, in the reader's language;
the finding's stored message (in the language of whoever saved the form) is not shown.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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


@dataclass(frozen=True)
class WindowMiss:
    """How far a date fell outside a visit window: ``days`` before it opened or after it closed."""

    days: int
    late: bool


def window_miss(day: dt.date, start: dt.date | None, end: dt.date | None) -> WindowMiss | None:
    """Days outside the window [start, end] (both days inside), or None when inside or no window.

    protocol.md "Visit schedule": a cycle visit is due on its day +/- the window;
    crf-spec VS VSDAT: a date outside the window is a suggested deviation.
    """
    if start is None or end is None:
        return None
    if day > end:
        return WindowMiss((day - end).days, late=True)
    if day < start:
        return WindowMiss((start - day).days, late=False)
    return None


def window_sentence(
    visit_code: str,
    day: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    *,
    form: str = "",
) -> str:
    """One sentence a person reads: which visit, which date, how many days out of which window.

    ``form`` empty: the visit itself was held on ``day`` ("C3D1 held on 2026-04-02, 5 days
    after its window closed (2026-03-24 – 2026-03-28)."); else the form whose date it is
    ("C2D1: Vital signs dated 2026-03-08, 2 days after the visit window closed (…)."), for a
    visit held in its window whose assessment was not. Without a date or window (changed
    since), a plain sentence.
    """
    miss = window_miss(day, start, end) if day is not None else None
    if day is None or miss is None or start is None or end is None:
        return _("%(visit)s held out of its window.") % {"visit": visit_code or "—"}
    values = {
        "visit": visit_code,
        "form": form,
        "date": day.isoformat(),
        "days": miss.days,
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    if not form and miss.late:
        text = ngettext(
            "%(visit)s held on %(date)s, %(days)d day after its window closed "
            "(%(start)s – %(end)s).",
            "%(visit)s held on %(date)s, %(days)d days after its window closed "
            "(%(start)s – %(end)s).",
            miss.days,
        )
    elif not form:
        text = ngettext(
            "%(visit)s held on %(date)s, %(days)d day before its window opened "
            "(%(start)s – %(end)s).",
            "%(visit)s held on %(date)s, %(days)d days before its window opened "
            "(%(start)s – %(end)s).",
            miss.days,
        )
    elif miss.late:
        text = ngettext(
            "%(visit)s: %(form)s dated %(date)s, %(days)d day after the visit window closed "
            "(%(start)s – %(end)s).",
            "%(visit)s: %(form)s dated %(date)s, %(days)d days after the visit window closed "
            "(%(start)s – %(end)s).",
            miss.days,
        )
    else:
        text = ngettext(
            "%(visit)s: %(form)s dated %(date)s, %(days)d day before the visit window opened "
            "(%(start)s – %(end)s).",
            "%(visit)s: %(form)s dated %(date)s, %(days)d days before the visit window opened "
            "(%(start)s – %(end)s).",
            miss.days,
        )
    return text % values


@dataclass(frozen=True)
class Suggestion:
    """A suggested deviation as the page shows it: the date found out of window, the sentence."""

    finding: CheckFinding
    day: dt.date | None
    sentence: str


def _checked_dates(findings: list[CheckFinding]) -> dict[int, dt.date]:
    """The date each finding checked (its form's variable, e.g. VS VSDAT), by finding id:
    one query per form and variable (the findings keep the record, not the date)."""
    groups: dict[tuple[str, str], list[CheckFinding]] = defaultdict(list)
    for finding in findings:
        groups[(finding.form_code, finding.variable)].append(finding)
    dates: dict[int, dt.date] = {}
    for (form_code, variable), group in groups.items():
        try:
            spec = registry.get(form_code)
            field = spec.variable(variable).field_name
        except (KeyError, StopIteration):
            continue
        values = dict(
            spec.model.objects.filter(pk__in=[f.object_id for f in group]).values_list("pk", field)
        )
        for finding in group:
            value = values.get(finding.object_id)
            if isinstance(value, dt.date):
                dates[finding.pk] = value
    return dates


# A visit's (held_on, window_start, window_end).
Window = tuple[dt.date | None, dt.date | None, dt.date | None]


def _describe(findings: list[CheckFinding], windows: dict[int, Window]) -> list[Suggestion]:
    """``windows``: by finding id, the visit's (held_on, window_start, window_end)."""
    dates = _checked_dates(findings)
    described = []
    for finding in findings:
        held_on, start, end = windows.get(finding.pk, (None, None, None))
        day = dates.get(finding.pk, held_on)
        try:
            title = str(registry.get(finding.form_code).title)
        except KeyError:
            title = finding.form_code
        form = "" if day == held_on else title
        sentence = window_sentence(finding.visit_code, day, start, end, form=form)
        described.append(Suggestion(finding, day, sentence))
    return described


def describe_suggestions(findings: list[CheckFinding]) -> list[Suggestion]:
    """Each finding of ``suggestions_for`` with its date and sentence, in the active language."""
    windows: dict[int, Window] = {
        f.pk: (
            getattr(f, "visit_held_on", None),
            getattr(f, "visit_window_start", None),
            getattr(f, "visit_window_end", None),
        )
        for f in findings
    }
    return _describe(findings, windows)


def _describe_one(finding: CheckFinding) -> Suggestion:
    visit = Visit.objects.filter(subject_id=finding.subject_id, code=finding.visit_code).first()
    window: Window = (
        (visit.held_on, visit.window_start, visit.window_end) if visit else (None, None, None)
    )
    return _describe([finding], {finding.pk: window})[0]


def suggestions_for(user: Any) -> QuerySet[CheckFinding]:
    """Suggested deviations of the user's sites still waiting for a decision, each with its
    visit's held date and window (``visit_held_on``, ``visit_window_start``/``_end``)."""
    visit = Visit.objects.filter(subject_id=OuterRef("subject_id"), code=OuterRef("visit_code"))
    return (
        CheckFinding.objects.annotate(
            visit_held_on=Subquery(visit.values("held_on")[:1]),
            visit_window_start=Subquery(visit.values("window_start")[:1]),
            visit_window_end=Subquery(visit.values("window_end")[:1]),
        )
        .filter(
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

    A blank description becomes the sentence of ``window_sentence`` (which dates, how many
    days out of window); the decision's audit entry carries that sentence too.
    Side effects: a DV form saved (complete) through crf.services, audited; a
    SuggestedDeviation row; an audit entry of the decision in the subject's chain.
    Raises CheckFinding.DoesNotExist for a finding outside the actor's sites.
    """
    errors = {}
    if severity not in DeviationSeverity.values:
        errors["severity"] = _("Choose major or minor.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        finding = _lock_open(finding_pk, actor)
        # The deviation happened on the date found out of window (else the finding's day).
        described = _describe_one(finding)
        sentence = described.sentence
        deviation = save_form(
            actor=actor,
            spec=registry.get("DV"),
            subject=finding.subject,
            values={
                "occurred_on": described.day or timezone.localdate(finding.created_at),
                "category": DeviationCategory.VISIT_WINDOW,
                "severity": severity,
                "description": description.strip() or sentence,
                "action": action.strip(),
            },
            complete=True,
        )
        assert isinstance(deviation, ProtocolDeviation)
        _decide(actor, finding, DeviationDecision.CONFIRMED, "", deviation, sentence)
        return deviation


def dismiss_suggested_deviation(*, actor: AbstractBaseUser, finding_pk: int, note: str) -> None:
    """Dismiss a suggested deviation with a note (kept and audited)."""
    if not note.strip():
        raise ValidationError({"note": _("Say why the suggestion is dismissed.")})
    with transaction.atomic():
        finding = _lock_open(finding_pk, actor)
        _decide(actor, finding, DeviationDecision.DISMISSED, note.strip(), None, "")


def _decide(
    actor: AbstractBaseUser,
    finding: CheckFinding,
    decision: str,
    note: str,
    deviation: ProtocolDeviation | None,
    sentence: str,
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
        reason_text=note or sentence or finding.message,
        visit_code=finding.visit_code,
        source="web",
    )
