"""The study coordinator's enrolment dashboard: its reads, in a fixed number of queries.

``enrolment_dashboard(user)`` runs six queries whatever the number of subjects (the
study parameters, one aggregate over sites, the enrolment dates, the failed criteria of
screen failures, subjects by status, the criteria texts) and hands the rows to the pure
``enrollment.charts``. Every subject count goes through ``Subject.objects.for_user``, so a
site-bound user would see only their own sites (protocol.md: no trace in counts).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from crf.codelists import YN
from enrollment import charts
from enrollment.models import EligibilityCriterion, ScreeningLog, criterion_text
from study import protocol
from study.models import StudyParameters, Subject, SubjectStatus
from study.scoping import sites_for_user

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

QUERIES = 6  # what enrolment_dashboard costs, whatever the amount of data
CSV_TABLES = ("sites", "accrual", "failures", "status")


@dataclass(frozen=True)
class SiteRow:
    number: str
    name: str
    screened: int
    screen_failed: int
    enrolled: int

    @property
    def failure_rate(self) -> Decimal | None:
        """Screen failures per 100 persons screened (one decimal); None with none screened."""
        return charts.percent(self.screen_failed, self.screened)


@dataclass(frozen=True)
class FailureRow:
    code: str
    text: str
    count: int


@dataclass(frozen=True)
class StatusRow:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class Dashboard:
    today: dt.date
    target: int
    accrual_start: dt.date
    accrual_months: int
    accrual_end: dt.date  # planned full enrolment
    planned_today: Decimal
    sites: tuple[SiteRow, ...]
    totals: SiteRow
    months: tuple[charts.MonthRow, ...]
    accrual_chart: charts.LineChart
    undated: int  # enrolled without a date of enrolment: counted, not in the chart
    screen_failures_with_reasons: int
    failures: tuple[FailureRow, ...]
    failure_chart: charts.BarChart
    statuses: tuple[StatusRow, ...]
    status_chart: charts.BarChart

    @property
    def enrolled(self) -> int:
        return self.totals.enrolled

    @property
    def enrolled_percent(self) -> Decimal | None:
        return charts.percent(self.enrolled, self.target)


def enrolment_dashboard(
    user: AbstractBaseUser | AnonymousUser, *, today: dt.date | None = None
) -> Dashboard:
    """Everything the enrolment dashboard shows, for the subjects the user may see."""
    today = today or timezone.localdate()
    parameters = StudyParameters.objects.current()
    subjects = Subject.objects.for_user(user)

    scoped = Q(subjects__in=subjects)
    site_rows = tuple(
        SiteRow(s.number, s.name, s.screened, s.screen_failed, s.enrolled)
        for s in sites_for_user(user)
        .annotate(
            screened=Count("subjects", filter=scoped, distinct=True),
            screen_failed=Count(
                "subjects",
                filter=scoped & Q(subjects__status=SubjectStatus.SCREEN_FAILED),
                distinct=True,
            ),
            enrolled=Count(
                "subjects", filter=scoped & Q(subjects__subject_id__isnull=False), distinct=True
            ),
        )
        .order_by("number")
    )
    totals = SiteRow(
        "",
        _("All sites"),
        sum(r.screened for r in site_rows),
        sum(r.screen_failed for r in site_rows),
        sum(r.enrolled for r in site_rows),
    )

    enrolled_on = list(
        subjects.filter(subject_id__isnull=False).values_list("enrolled_at", flat=True)
    )
    dates = sorted(d for d in enrolled_on if d is not None)

    failed_lists = list(
        ScreeningLog.objects.active()
        .filter(subject__in=subjects, screen_failure=YN.Y)
        .values_list("failed_criteria", flat=True)
    )
    by_status: dict[str, int] = dict(
        subjects.order_by().values("status").annotate(n=Count("id")).values_list("status", "n")
    )
    criteria = _criteria_texts()

    start, months, target = (
        parameters.accrual_start,
        parameters.accrual_months,
        parameters.target_enrolment,
    )
    end = charts.planned_end(start, months)
    first = min([start, *dates[:1]])
    last = max([today, *dates[-1:]])
    cumulative = charts.cumulative_series(dates, first, last)
    accrual_chart = charts.line_chart(
        [
            charts.Series(
                "planned",
                tuple(charts.planned_accrual(start, months, target, max(last, end))),
            ),
            charts.Series("enrolled", tuple(cumulative), step=True),
        ],
        first=first,
        last=max(last, end),
        y_max=max(target, len(enrolled_on)),
        marker=today,
    )

    failures = _failure_rows(failed_lists, criteria)
    statuses = tuple(
        StatusRow(status.value, str(status.label), by_status.get(status.value, 0))
        for status in SubjectStatus
    ) + tuple(
        StatusRow(s, s, n) for s, n in sorted(by_status.items()) if s not in SubjectStatus.values
    )

    return Dashboard(
        today=today,
        target=target,
        accrual_start=start,
        accrual_months=months,
        accrual_end=end,
        planned_today=charts.to_decimal(charts.planned_at(start, months, target, today)),
        sites=site_rows,
        totals=totals,
        months=tuple(
            charts.monthly_accrual(
                dates, start=start, months=months, target=target, first=first, last=last
            )
        ),
        accrual_chart=accrual_chart,
        undated=len(enrolled_on) - len(dates),
        screen_failures_with_reasons=sum(1 for f in failed_lists if f),
        failures=failures,
        failure_chart=charts.bar_chart(
            [charts.Bar(f.code, f.code, f.count, f"{f.code} {f.text}") for f in failures], width=480
        ),
        statuses=statuses,
        status_chart=charts.bar_chart(
            [charts.Bar(s.status, s.label, s.count) for s in statuses], width=480
        ),
    )


def _criteria_texts() -> dict[str, tuple[int, str]]:
    """Criterion code -> (order, text in the active language, else English); the protocol
    version in force wins over older ones.

    All versions are read (a small table), so a failure recorded against a criterion of an
    earlier version still has its text.
    """
    rows = EligibilityCriterion.objects.values_list(
        "protocol_version", "code", "order", "text", "text_zh_hans"
    )
    language = get_language()
    found: dict[str, tuple[int, str]] = {}
    for _version, code, order, text, text_zh_hans in sorted(
        rows, key=lambda r: r[0] == protocol.PROTOCOL_VERSION
    ):
        found[code] = (order, criterion_text(text, text_zh_hans, language))
    return found


def _failure_rows(
    failed_lists: list[Any], criteria: dict[str, tuple[int, str]]
) -> tuple[FailureRow, ...]:
    """Screen failures per criterion; a person counts once per criterion they failed."""
    counts: Counter[str] = Counter()
    for codes in failed_lists:
        if isinstance(codes, list):
            counts.update({str(c) for c in codes if c})
    unknown = (10**6, "")
    ordered = sorted(
        counts.items(), key=lambda item: (-item[1], criteria.get(item[0], unknown)[0], item[0])
    )
    return tuple(FailureRow(code, criteria.get(code, unknown)[1], n) for code, n in ordered)


def csv_table(dashboard: Dashboard, table: str) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of one of the dashboard's tables (``CSV_TABLES``) for export."""
    if table == "sites":
        return (
            [
                _("Site"),
                _("Name"),
                _("Screened"),
                _("Screen failed"),
                _("Failure rate %"),
                _("Enrolled"),
            ],
            [
                [r.number, r.name, r.screened, r.screen_failed, _blank(r.failure_rate), r.enrolled]
                for r in (*dashboard.sites, dashboard.totals)
            ],
        )
    if table == "accrual":
        return (
            [
                _("Month"),
                _("Enrolled in the month"),
                _("Cumulative enrolled"),
                _("Planned cumulative"),
            ],
            [[m.month, m.enrolled, m.cumulative, m.planned] for m in dashboard.months],
        )
    if table == "failures":
        return (
            [_("Criterion"), _("Text"), _("Screen failures")],
            [[f.code, f.text, f.count] for f in dashboard.failures],
        )
    if table == "status":
        return (
            [_("Status code"), _("Status"), _("Subjects")],
            [[s.status, s.label, s.count] for s in dashboard.statuses],
        )
    raise ValueError(f"unknown table {table!r}")


def _blank(value: Any) -> Any:
    return "" if value is None else value
