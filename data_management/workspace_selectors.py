"""The monitor's day, per assigned site: open queries by age, forms awaiting source data
verification, casebooks awaiting signature, overdue visits and overdue SAE reports.

Six queries whatever the number of sites, subjects and records (one per kind of work,
grouped by site), read straight from the data management records (data_management.models),
the visits (the worklist's overdue rule) and the SAE clocks (adverse_events).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, Count, Q, QuerySet, Value
from django.utils.functional import Promise

from adverse_events.models import SaeReport
from crf import registry
from crf.models import FormStatus
from data_management.matrix_selectors import (
    awaiting_signature_q,
    form_verified,
    overdue_visits,
    run_compiled,
)
from data_management.models import Query, QueryStatus
from data_management.query_selectors import AGE_BUCKETS
from study.models import Site, Subject
from study.scoping import sites_for_user


@dataclass(frozen=True)
class AgeBand:
    value: str
    first: int  # days since the query was raised, inclusive
    last: int | None
    label: str | Promise


# Issue 12: open queries by age, 0-7, 8-14, 15-30 and more than 30 days (the queries page's
# buckets, so a count links to the same queries there).
QUERY_AGE_BANDS: tuple[AgeBand, ...] = tuple(
    AgeBand(key, low, high, label) for key, low, high, label in AGE_BUCKETS
)


@dataclass
class SiteWork:
    site: Site
    open_by_age: dict[str, int] = field(default_factory=dict)  # AgeBand.value -> queries
    answered: int = 0  # answered by the site, for the monitor to close or re-open
    awaiting_sdv: int = 0  # complete forms not verified as a whole
    awaiting_signature: int = 0  # casebooks in the PI's signing queue
    overdue_visits: int = 0
    overdue_saes: int = 0

    @property
    def open_queries(self) -> int:
        return sum(self.open_by_age.values())

    @property
    def anything(self) -> bool:
        return bool(
            self.open_queries
            or self.answered
            or self.awaiting_sdv
            or self.awaiting_signature
            or self.overdue_visits
            or self.overdue_saes
        )


def _age_q(band: AgeBand, now: dt.datetime) -> Q:
    """Raised ``band.first``..``band.last`` whole days before ``now``."""
    q = Q(raised_at__lte=now - dt.timedelta(days=band.first))
    if band.last is not None:
        q &= Q(raised_at__gt=now - dt.timedelta(days=band.last + 1))
    return q


def site_work(user: Any, *, now: dt.datetime, today: dt.date) -> list[SiteWork]:
    """The work of each of the user's sites (every site for a study-wide role)."""
    sites = list(sites_for_user(user).order_by("number"))
    work = {site.pk: SiteWork(site, {band.value: 0 for band in QUERY_AGE_BANDS}) for site in sites}
    ids = list(work)
    if not ids:
        return []

    aggregates: dict[str, Any] = {
        f"band_{n}": Count("id", filter=Q(status=QueryStatus.OPEN) & _age_q(band, now))
        for n, band in enumerate(QUERY_AGE_BANDS)
    }
    aggregates["answered"] = Count("id", filter=Q(status=QueryStatus.ANSWERED))
    for row in (
        Query.objects.filter(
            subject__site_id__in=ids, status__in=[QueryStatus.OPEN, QueryStatus.ANSWERED]
        )
        .order_by()
        .values("subject__site_id")
        .annotate(**aggregates)
    ):
        counts: dict[str, Any] = dict(row)
        site = work[counts["subject__site_id"]]
        for n, band in enumerate(QUERY_AGE_BANDS):
            site.open_by_age[band.value] = counts[f"band_{n}"]
        site.answered = counts["answered"]

    for site_id, n in awaiting_sdv_by_site(ids).items():
        work[site_id].awaiting_sdv = n
    for site_id, n in (
        Subject.objects.filter(site_id__in=ids)
        .filter(awaiting_signature_q())
        .order_by()
        .values("site_id")
        .annotate(n=Count("pk"))
        .values_list("site_id", "n")
    ):
        work[site_id].awaiting_signature = n
    for site_id, n in (
        overdue_visits(today=today)
        .filter(subject__site_id__in=ids)
        .order_by()
        .values("subject__site_id")
        .annotate(n=Count("pk"))
        .values_list("subject__site_id", "n")
    ):
        work[site_id].overdue_visits = n
    for site_id, n in (
        SaeReport.objects.overdue(now)
        .filter(subject__site_id__in=ids)
        .order_by()
        .values("subject__site_id")
        .annotate(n=Count("pk"))
        .values_list("subject__site_id", "n")
    ):
        work[site_id].overdue_saes = n
    return [work[site.pk] for site in sites]


def awaiting_sdv_by_site(site_ids: list[int]) -> dict[int, int]:
    """Complete forms not verified, by site: one UNION of a count per form (compiled once,
    data_management.matrix_selectors.run_compiled)."""
    specs = registry.all_forms()
    counts: dict[int, int] = defaultdict(int)
    if not specs:
        return counts

    def union(ids: list[int]) -> QuerySet[Any]:
        parts = [
            spec.model.objects.filter(
                ~form_verified(spec.model._meta.label),
                subject__site_id__in=ids,
                is_deleted=False,
                status=FormStatus.COMPLETE,
            )
            .order_by()
            .annotate(form_code=Value(spec.code, output_field=CharField()))
            .values("form_code", "subject__site_id")
            .annotate(n=Count("pk"))
            .values_list("form_code", "subject__site_id", "n")
            for spec in specs
        ]
        return parts[0].union(*parts[1:], all=True)

    key = ("sdv by site", tuple(spec.code for spec in specs))
    for _code, site_id, n in run_compiled(key, union, site_ids):
        counts[site_id] += n
    return counts
