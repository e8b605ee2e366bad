"""Reads of queries for the pages: the form's threads and marks, the subject's open queries,
the queries page, the metrics and the CSV (data_management.models.Query).

Every read is scoped to the reader's sites (study.scoping) and costs a constant number of
SQL queries whatever the number of queries: a list of queries with their people in one
query, their threads in one more (prefetch). The metrics are computed over plain tuples
(``compute_metrics``, no Django) so they are tested without a database.
"""

from __future__ import annotations

import datetime as dt
import statistics
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crf import registry
from crf.registry import FormSpec
from data_management.models import Query, QueryMessage, QueryOrigin, QueryStatus
from study.scoping import site_ids_for_user
from study.timezones import zone_named

TIME_FORMAT = "%Y-%m-%d %H:%M"

# Open queries by age (days since raised), as the issue asks: 0-7, 8-14, 15-30, > 30 days.
AGE_BUCKETS: tuple[tuple[str, int, int | None, Any], ...] = (
    ("0-7", 0, 7, gettext_lazy("0–7 days")),
    ("8-14", 8, 14, gettext_lazy("8–14 days")),
    ("15-30", 15, 30, gettext_lazy("15–30 days")),
    ("31-", 31, None, gettext_lazy("More than 30 days")),
)
ACTIVE = (QueryStatus.OPEN, QueryStatus.ANSWERED)
# A state's colour (Bootstrap): open waits for the site, answered for the monitor.
BADGE_CLASSES = {
    QueryStatus.OPEN: "text-bg-danger",
    QueryStatus.ANSWERED: "text-bg-info",
    QueryStatus.CLOSED: "text-bg-secondary",
}


# --- Pure: ages and metrics -----------------------------------------------------------------


def age_days(raised_at: dt.datetime, now: dt.datetime) -> int:
    """Whole days since the query was raised (0 on the day)."""
    return max(0, (now - raised_at).days)


def age_bucket(days: int) -> str:
    """The key of the AGE_BUCKETS bucket ``days`` falls in."""
    for key, low, high, _label in AGE_BUCKETS:
        if days >= low and (high is None or days <= high):
            return key
    return AGE_BUCKETS[-1][0]


@dataclass(frozen=True)
class QueryFacts:
    """What the metrics read of one query."""

    site: str
    form_code: str
    origin: str
    status: str
    raised_at: dt.datetime
    answered_at: dt.datetime | None
    closed_at: dt.datetime | None


@dataclass
class Tally:
    open: int = 0
    answered: int = 0
    closed: int = 0

    @property
    def total(self) -> int:
        return self.open + self.answered + self.closed

    def add(self, status: str) -> None:
        if status == QueryStatus.OPEN:
            self.open += 1
        elif status == QueryStatus.ANSWERED:
            self.answered += 1
        else:
            self.closed += 1


@dataclass(frozen=True)
class Timing:
    """Median days from raised to answered and to closed, over the queries that were."""

    origin: str  # "" for every query
    answered: int
    median_days_to_answer: float | None
    closed: int
    median_days_to_close: float | None


@dataclass
class Metrics:
    total: int = 0
    # bucket key -> (open, answered) queries raised that many days ago
    by_age: dict[str, Tally] = field(default_factory=dict)
    by_site: dict[str, Tally] = field(default_factory=dict)
    by_form: dict[str, Tally] = field(default_factory=dict)
    timings: list[Timing] = field(default_factory=list)


def _days(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() / 86400


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _timing(origin: str, facts: Sequence[QueryFacts]) -> Timing:
    to_answer = [_days(f.raised_at, f.answered_at) for f in facts if f.answered_at is not None]
    to_close = [_days(f.raised_at, f.closed_at) for f in facts if f.closed_at is not None]
    return Timing(origin, len(to_answer), _median(to_answer), len(to_close), _median(to_close))


def compute_metrics(facts: Iterable[QueryFacts], *, now: dt.datetime) -> Metrics:
    """Queries by age (open and answered ones, by days since raised), by site and by form
    (each status), and the median days to answer and to close, for every query and by
    origin (a person's queries are answered by people; an edit check's close themselves)."""
    rows = list(facts)
    metrics = Metrics(total=len(rows), by_age={key: Tally() for key, *_rest in AGE_BUCKETS})
    for f in rows:
        metrics.by_site.setdefault(f.site, Tally()).add(f.status)
        metrics.by_form.setdefault(f.form_code, Tally()).add(f.status)
        if f.status != QueryStatus.CLOSED:
            metrics.by_age[age_bucket(age_days(f.raised_at, now))].add(f.status)
    metrics.by_site = dict(sorted(metrics.by_site.items()))
    metrics.by_form = dict(sorted(metrics.by_form.items(), key=lambda item: -item[1].total))
    metrics.timings = [_timing("", rows)] + [
        _timing(origin, [f for f in rows if f.origin == origin]) for origin in QueryOrigin.values
    ]
    return metrics


# --- Scoping and labels ---------------------------------------------------------------------


def for_user(user: Any) -> QuerySet[Query]:
    """Every query of the subjects the user may see (none of another site)."""
    site_ids = site_ids_for_user(user)
    queries = Query.objects.all()
    return queries if site_ids is None else queries.filter(subject__site_id__in=site_ids)


def zone_of(time_zone: str) -> zoneinfo.ZoneInfo:
    return zone_named(time_zone)


def local_text(value: dt.datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    """YYYY-MM-DD HH:MM in the site's zone; "" for none."""
    return value.astimezone(zone).strftime(TIME_FORMAT) if value is not None else ""


def spec_or_none(form_code: str) -> FormSpec | None:
    try:
        return registry.get(form_code)
    except KeyError:
        return None


def form_title(form_code: str) -> str:
    spec = spec_or_none(form_code)
    return str(spec.title) if spec is not None else form_code


def variable_label(spec: FormSpec | None, group: str, variable: str) -> str:
    """A variable's label as people read it, with its crf-spec name."""
    if spec is None or not variable:
        return variable
    try:
        found = spec.group(group).variable(variable) if group else spec.variable(variable)
    except StopIteration:
        return variable
    return f"{found.label} ({variable})"


def group_title(spec: FormSpec | None, group: str) -> str:
    if spec is None or not group:
        return group
    try:
        return str(spec.group(group).title or group)
    except StopIteration:
        return group


def where_label(spec: FormSpec | None, group: str, row_key: str, variable: str) -> str:
    """Where a query stands: "Systolic BP (SYSBP)", "Target lesions T1 · Diameter (TLDIAM)",
    "Target lesions T1" or "Whole form"."""
    parts = []
    if group:
        parts.append(f"{group_title(spec, group)} {row_key}".strip())
    if variable:
        parts.append(variable_label(spec, group, variable))
    return " · ".join(parts) if parts else _("Whole form")


def form_url(query: Query) -> str:
    """The generic form page the query stands on (its thread is at #query-<id>)."""
    spec = spec_or_none(query.form_code)
    kwargs: dict[str, Any] = {"subject_pk": query.subject_id, "form_code": query.form_code}
    if spec is not None and spec.is_log and not spec.once_per_subject:
        return reverse("crf:log_record", kwargs={**kwargs, "record_pk": query.object_id})
    if query.visit_code:
        return reverse("crf:visit_form", kwargs={**kwargs, "visit_code": query.visit_code})
    return reverse("crf:form", kwargs=kwargs)


def thread_url(query: Query) -> str:
    return f"{form_url(query)}#query-{query.pk}"


def person(user: Any) -> str:
    if user is None:
        return _("System (edit check)")
    return str(user.get_full_name() or user.get_username())


# --- One form's queries ---------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    label: str
    author: str
    at: str
    text: str
    status: str
    status_label: str


@dataclass
class Thread:
    """A query as the form page shows it."""

    query: Query
    where: str
    status: str
    status_label: str
    origin_label: str
    raised_by: str
    raised_at: str
    steps: list[Step]
    key: tuple[str, str, str]
    field_anchor: str = ""  # the id of the field it is about on the edit form
    error: str = ""  # why the last step asked on it was refused
    typed: str = ""  # the text typed for that step, kept

    @property
    def pk(self) -> int:
        return int(self.query.pk)

    @property
    def is_active(self) -> bool:
        return self.status != QueryStatus.CLOSED

    @property
    def badge_class(self) -> str:
        return BADGE_CLASSES[QueryStatus(self.status)]


def with_thread(queries: QuerySet[Query]) -> QuerySet[Query]:
    return queries.select_related("raised_by", "closed_by").prefetch_related(
        Prefetch(
            "messages",
            queryset=QueryMessage.objects.select_related("author").order_by("at", "id"),
        )
    )


def form_queries(request: Any, instance: Any) -> list[Query]:
    """The queries of one form (its values and rows too), with their threads: two SQL
    queries, kept on the request so the marks and the panel read them once."""
    key = (instance._meta.label, instance.pk)
    kept: dict[tuple[str, int], list[Query]] = getattr(request, "_edc_form_queries", {})
    if key not in kept:
        queries = Query.objects.filter(
            subject_id=instance.subject_id, object_model=key[0], object_id=key[1]
        )
        kept[key] = list(with_thread(queries).order_by("raised_at", "id"))
        request._edc_form_queries = kept
    return kept[key]


def forget_form_queries(request: Any) -> None:
    """After a query's step: the next read of the form's queries is fresh."""
    if hasattr(request, "_edc_form_queries"):
        del request._edc_form_queries


def field_anchor(spec: FormSpec, group: str, variable: str) -> str:
    """The id of the field on the edit form (crispy: id_<field>; a group: its fieldset)."""
    if group:
        return f"group-{group.lower()}"
    if variable:
        try:
            return f"id_{spec.variable(variable).field_name}"
        except StopIteration:
            return ""
    return ""


def threads(spec: FormSpec, queries: Sequence[Query], time_zone: str) -> list[Thread]:
    zone = zone_of(time_zone)
    return [
        Thread(
            query=q,
            where=where_label(spec, q.group, q.row_key, q.variable),
            status=q.status,
            status_label=str(QueryStatus(q.status).label),
            origin_label=str(QueryOrigin(q.origin).label),
            raised_by=person(q.raised_by),
            raised_at=local_text(q.raised_at, zone),
            steps=[
                Step(
                    label=m.get_step_display(),
                    author=person(m.author),
                    at=local_text(m.at, zone),
                    text=m.text,
                    status=m.status_after,
                    status_label=m.get_status_after_display(),
                )
                for m in q.messages.all()
            ],
            key=(q.group, q.row_key, q.variable),
            field_anchor=field_anchor(spec, q.group, q.variable),
        )
        for q in queries
    ]


@dataclass(frozen=True)
class Badge:
    """One badge at a field, row or form: the queries of one state there."""

    status: str
    count: int
    target: int  # the query the badge links to (#query-<id>)
    prefix: str  # the variable's label when the badge stands in a row's cell


def badges(spec: FormSpec, queries: Sequence[Query]) -> dict[tuple[str, str, str], list[Badge]]:
    """Per (group, row_key, variable): a badge per state present (open, answered, closed),
    each linking to its most recent query of that state."""
    found: dict[tuple[str, str, str], dict[str, list[Query]]] = {}
    for q in queries:
        found.setdefault((q.group, q.row_key, q.variable), {}).setdefault(q.status, []).append(q)
    marks = {}
    for key, by_status in found.items():
        group, _row, variable = key
        prefix = variable_label(spec, group, variable).split(" (")[0] if group and variable else ""
        marks[key] = [
            Badge(status, len(by_status[status]), int(by_status[status][-1].pk), prefix)
            for status in QueryStatus.values
            if status in by_status
        ]
    return marks


# --- Raise: where a query may stand ---------------------------------------------------------


def variable_choices(
    spec: FormSpec, groups: Iterable[str] | None = None
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The raise form's variables by option group: the form's own ("SYSBP"), then those of
    each repeating group ("TL.TLDIAM") of ``groups`` (those with rows; default every one)."""
    shown = set(groups) if groups is not None else {g.name for g in spec.groups}
    choices = [(_("This form"), [(v.name, f"{v.label} ({v.name})") for v in spec.variables])]
    for group in (g for g in spec.groups if g.name in shown):
        choices.append(
            (
                group_title(spec, group.name),
                [(f"{group.name}.{v.name}", f"{v.label} ({v.name})") for v in group.variables],
            )
        )
    return choices


def row_choices(spec: FormSpec, instance: Any) -> list[tuple[str, str]]:
    """The raise form's rows: each stored row of each group ("TL:T1" -> "Target lesions T1"),
    one SQL query per group (every repeating row's parent field is ``form``)."""
    choices = []
    for group in spec.groups:
        keys = (
            group.model.objects.filter(is_deleted=False, **{"form": instance})
            .order_by("id")
            .values_list(group.variable(group.key).field_name, flat=True)
        )
        title = group_title(spec, group.name)
        choices += [(f"{group.name}:{key}", f"{title} {key}") for key in keys]
    return choices


# --- The subject's queries ------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A query as the lists show it (the subject panel, the queries page, the home panel)."""

    pk: int
    subject_pk: int
    subject: str
    site: str
    visit: str
    form: str
    where: str
    origin: str
    origin_label: str
    status: str
    status_label: str
    text: str
    raised_by: str
    raised_on: str
    age: int
    url: str

    @property
    def badge_class(self) -> str:
        return BADGE_CLASSES[QueryStatus(self.status)]


def rows(queries: Iterable[Query], *, now: dt.datetime) -> list[Row]:
    """Rows of queries read with ``subject__site`` and ``raised_by`` (no query more)."""
    found = []
    for q in queries:
        spec = spec_or_none(q.form_code)
        zone = zone_of(q.subject.site.time_zone)
        found.append(
            Row(
                pk=int(q.pk),
                subject_pk=int(q.subject_id),
                subject=q.subject.label,
                site=q.subject.site.number,
                visit=q.visit_code,
                form=str(spec.title) if spec is not None else q.form_code,
                where=where_label(spec, q.group, q.row_key, q.variable),
                origin=q.origin,
                origin_label=str(QueryOrigin(q.origin).label),
                status=q.status,
                status_label=str(QueryStatus(q.status).label),
                text=q.text,
                raised_by=person(q.raised_by),
                raised_on=q.raised_at.astimezone(zone).date().isoformat(),
                age=age_days(q.raised_at, now),
                url=thread_url(q),
            )
        )
    return found


def listed(queries: QuerySet[Query]) -> QuerySet[Query]:
    return queries.select_related("subject__site", "raised_by")


def subject_active(subject: Any) -> QuerySet[Query]:
    """The subject's open and answered queries, oldest first."""
    return listed(Query.objects.filter(subject=subject, status__in=ACTIVE)).order_by(
        "raised_at", "id"
    )


# --- The queries page -----------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    status: str = ""
    site: str = ""
    form: str = ""
    origin: str = ""
    age: str = ""
    subject: str = ""  # a subject's pk (the subject page's link); scoping still applies

    @classmethod
    def from_query(cls, data: Any, *, site_numbers: Sequence[str]) -> Filters:
        """The filters of the query string; an unknown value is no filter."""

        def pick(name: str, allowed: Iterable[str]) -> str:
            value = str(data.get(name, ""))
            return value if value in set(allowed) else ""

        return cls(
            status=pick("status", [*QueryStatus.values, "active"]),
            site=pick("site", site_numbers),
            form=pick("form", [spec.code for spec in registry.all_forms()]),
            origin=pick("origin", QueryOrigin.values),
            age=pick("age", [key for key, *_rest in AGE_BUCKETS]),
            subject=subject if (subject := str(data.get("subject", ""))).isdigit() else "",
        )

    def params(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}

    @property
    def active(self) -> bool:
        return bool(self.params())


def filtered(queries: QuerySet[Query], filters: Filters, *, now: dt.datetime) -> QuerySet[Query]:
    """The queries the filters keep. Age is days since raised (of any state)."""
    if filters.status == "active":
        queries = queries.filter(status__in=ACTIVE)
    elif filters.status:
        queries = queries.filter(status=filters.status)
    if filters.site:
        queries = queries.filter(subject__site__number=filters.site)
    if filters.form:
        queries = queries.filter(form_code=filters.form)
    if filters.subject:
        queries = queries.filter(subject_id=int(filters.subject))
    if filters.origin:
        queries = queries.filter(origin=filters.origin)
    if filters.age:
        low, high = next((lo, hi) for key, lo, hi, _l in AGE_BUCKETS if key == filters.age)
        # raised `low` or more whole days ago, and (when bounded) fewer than `high + 1`
        queries = queries.filter(raised_at__lte=now - dt.timedelta(days=low))
        if high is not None:
            queries = queries.filter(raised_at__gt=now - dt.timedelta(days=high + 1))
    return queries


def status_counts(queries: QuerySet[Query]) -> dict[str, int]:
    """Queries by state (one query)."""
    counted = dict(
        queries.order_by().values("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return {status: counted.get(status, 0) for status in QueryStatus.values}


def metric_facts(queries: QuerySet[Query]) -> list[QueryFacts]:
    """Every query's facts for the metrics, in one SQL query."""
    return [
        QueryFacts(*row)
        for row in queries.order_by().values_list(
            "subject__site__number",
            "form_code",
            "origin",
            "status",
            "raised_at",
            "answered_at",
            "closed_at",
        )
    ]
