"""The site worklist: visits due soon, overdue visits, forms missing after a visit was held.

``build_worklist`` reads the work of every subject the user may see (site scoping through
``Subject.objects.for_user``) in a fixed number of queries whatever the number of subjects:
one for the candidate visits (with subject and site), one per registered visit-form model
for the forms of those visits. The page then filters the items (site, kind of work, visit
kind, age), counts each filter's options, groups the items by subject and pages the
subjects; those steps are plain Python over the items and cost no query.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from crf import registry
from crf.models import FormStatus, Visit, VisitKind
from study.models import Site, Subject
from visits import schedule

DUE_SOON_DAYS = 14
SUBJECTS_PER_PAGE = 10


class WorkKind(StrEnum):
    """What is to be done about a visit."""

    OVERDUE = "overdue"  # not held, its window closed
    DUE = "due"  # not held, its target date within DUE_SOON_DAYS
    MISSING = "missing"  # held, and some of its forms are not complete


WORK_KIND_LABELS: dict[WorkKind, Promise] = {
    WorkKind.OVERDUE: _("Overdue"),
    WorkKind.DUE: _("Due soon"),
    WorkKind.MISSING: _("Forms missing"),
}


@dataclass(frozen=True)
class AgeBand:
    """How late a piece of work is: days overdue, or days since a visit with missing forms."""

    value: str
    first: int
    last: int | None
    label: Promise


AGE_BANDS: tuple[AgeBand, ...] = (
    AgeBand("0-7", 0, 7, _("7 days or less")),
    AgeBand("8-30", 8, 30, _("8 to 30 days")),
    AgeBand("31+", 31, None, _("More than 30 days")),
)

# The visit kinds that come on the worklist (screening and unscheduled visits never do).
WORKLIST_VISIT_KINDS: tuple[VisitKind, ...] = (
    VisitKind.CYCLE,
    VisitKind.TUMOUR_ASSESSMENT,
    VisitKind.END_OF_TREATMENT,
    VisitKind.SAFETY_FOLLOW_UP,
    VisitKind.SURVIVAL_FOLLOW_UP,
)


def age_band(days: int) -> str:
    """The value of the age band that ``days`` falls in."""
    for band in AGE_BANDS:
        if days >= band.first and (band.last is None or days <= band.last):
            return band.value
    return AGE_BANDS[0].value  # negative ages do not happen; count them as the most recent


@dataclass(frozen=True)
class MissingForm:
    """A form of a visit that is not complete yet: its name, code, status and page."""

    code: str
    title: str | Promise
    status: str
    subject_pk: int
    visit_code: str
    page: str | None = None  # the URL name of a dedicated page, when the form has one

    @property
    def in_progress(self) -> bool:
        return self.status == FormStatus.IN_PROGRESS

    @property
    def url(self) -> str:
        if self.page:
            return reverse(self.page, kwargs={"subject_pk": self.subject_pk})
        return reverse(
            "crf:visit_form",
            kwargs={
                "subject_pk": self.subject_pk,
                "visit_code": self.visit_code,
                "form_code": self.code,
            },
        )


@dataclass(frozen=True)
class WorkItem:
    visit: Visit
    kind: WorkKind
    status: schedule.VisitStatus
    days_overdue: int
    missing: tuple[MissingForm, ...]
    age: int | None = None  # days overdue, or days since the visit was held; None when due
    due_in: int | None = None  # days until the target date (negative: past it, in window)
    closes_in: int | None = None  # days until the window closes, for a visit due soon

    @property
    def kind_label(self) -> Promise:
        return WORK_KIND_LABELS[self.kind]

    @property
    def age_band(self) -> str | None:
        return None if self.age is None else age_band(self.age)

    @property
    def missing_codes(self) -> tuple[str, ...]:
        return tuple(form.code for form in self.missing)


@dataclass(frozen=True)
class Worklist:
    items: tuple[WorkItem, ...]

    def _of(self, kind: WorkKind) -> tuple[WorkItem, ...]:
        return tuple(item for item in self.items if item.kind == kind)

    @property
    def due_soon(self) -> tuple[WorkItem, ...]:
        return self._of(WorkKind.DUE)

    @property
    def overdue(self) -> tuple[WorkItem, ...]:
        return tuple(sorted(self._of(WorkKind.OVERDUE), key=lambda i: -i.days_overdue))

    @property
    def missing_forms(self) -> tuple[WorkItem, ...]:
        return self._of(WorkKind.MISSING)


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
    """Every piece of work on the subjects the user may see, in visit order per subject.

    A visit is on the worklist when it is not missed and not "not applicable", and either
    it was held and some of its forms are not complete (``MISSING``), or it was not held and
    its window closed before ``today`` (``OVERDUE``, schedule.visit_status), or its target
    date is within ``DUE_SOON_DAYS`` (``DUE``). Source: crf-spec "Visits" (windows).
    """
    subjects = Subject.objects.for_user(user).filter(subject_id__isnull=False)
    horizon = today + dt.timedelta(days=DUE_SOON_DAYS)
    visits = list(
        Visit.objects.filter(subject__in=subjects, missed=False, not_applicable=False)
        .exclude(kind__in=[VisitKind.SCREENING, VisitKind.UNSCHEDULED])
        .filter(
            Q(held_on__isnull=False) | Q(window_start__lte=horizon) | Q(planned_date__lte=horizon)
        )
        .select_related("subject", "subject__site")
        .order_by("subject__subject_id", "planned_date", "id")
    )
    visit_ids = [v.pk for v in visits]
    by_visit: dict[int, dict[str, str]] = defaultdict(dict)
    for spec in registry.all_forms():
        if spec.is_log or spec.once_per_subject:
            continue
        rows = spec.model.objects.filter(visit__in=visit_ids, is_deleted=False)
        for visit_id, status in rows.values_list("visit_id", "status"):
            by_visit[visit_id][spec.code] = status
    items = []
    for visit in visits:
        item = _work_item(visit, by_visit.get(visit.pk, {}), today=today, horizon=horizon)
        if item is not None:
            items.append(item)
    return Worklist(tuple(items))


def _work_item(
    visit: Visit, statuses: Mapping[str, str], *, today: dt.date, horizon: dt.date
) -> WorkItem | None:
    expected = [s for s in registry.forms_for_visit_kind(visit.kind) if not s.once_per_subject]
    complete = sum(statuses.get(spec.code) == FormStatus.COMPLETE for spec in expected)
    planned = _planned(visit)
    status = schedule.visit_status(
        planned,
        today=today,
        held_on=visit.held_on,
        forms_required=len(expected),
        forms_complete=complete,
        forms_started=len(statuses),
        missed=visit.missed,
        not_applicable=visit.not_applicable,
    )
    missing = tuple(
        MissingForm(
            code=spec.code,
            title=spec.title,
            status=statuses.get(spec.code, FormStatus.NOT_STARTED),
            subject_pk=visit.subject_id,
            visit_code=visit.code,
            page=spec.page,
        )
        for spec in expected
        if statuses.get(spec.code) != FormStatus.COMPLETE
    )
    days_overdue = schedule.days_overdue(planned, today)
    if visit.held_on is not None:
        if not missing:
            return None
        return WorkItem(
            visit, WorkKind.MISSING, status, days_overdue, missing, age=(today - visit.held_on).days
        )
    # Not held: a visit whose forms were started without the date that holds it is still
    # overdue once its window has closed (visit_status says PARTLY_DONE for it).
    if visit.window_end is not None and today > visit.window_end:
        return WorkItem(visit, WorkKind.OVERDUE, status, days_overdue, missing, age=days_overdue)
    if visit.planned_date is not None and visit.planned_date <= horizon:
        return WorkItem(
            visit,
            WorkKind.DUE,
            status,
            days_overdue,
            missing,
            due_in=(visit.planned_date - today).days,
            closes_in=None if visit.window_end is None else (visit.window_end - today).days,
        )
    return None


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    """The worklist's filters, read from the query string; ``None`` means every value."""

    site: str | None = None  # a site number, "01"
    kind: str | None = None  # a WorkKind value
    visit: str | None = None  # a VisitKind value
    age: str | None = None  # an AgeBand value

    NAMES = ("site", "kind", "visit", "age")

    @classmethod
    def from_query(cls, query: Mapping[str, str], *, site_numbers: Iterable[str]) -> Filters:
        """The filters of a query string; a value that is not one of the choices is ignored.

        Only the user's own sites are choices, so a site number of another site filters
        nothing in (nor out).
        """
        choices: dict[str, set[str]] = {
            "site": set(site_numbers),
            "kind": {k.value for k in WorkKind},
            "visit": {str(k) for k in WORKLIST_VISIT_KINDS},
            "age": {band.value for band in AGE_BANDS},
        }
        values = {
            name: query.get(name) if query.get(name) in allowed else None
            for name, allowed in choices.items()
        }
        return cls(**values)

    def query(self, **changes: str | None) -> str:
        """The query string of these filters with ``changes`` (``None`` drops a filter)."""
        values = {name: getattr(self, name) for name in self.NAMES} | changes
        return urlencode([(name, values[name]) for name in self.NAMES if values[name] is not None])

    @property
    def querystring(self) -> str:
        return self.query()

    @property
    def active(self) -> bool:
        return any(getattr(self, name) is not None for name in self.NAMES)

    def matches(self, item: WorkItem, *, ignore: str = "") -> bool:
        """Whether the item passes every filter but ``ignore`` (for that filter's counts)."""
        tests: dict[str, Callable[[], bool]] = {
            "site": lambda: item.visit.subject.site.number == self.site,
            "kind": lambda: item.kind == self.kind,
            "visit": lambda: item.visit.kind == self.visit,
            "age": lambda: item.age_band == self.age,
        }
        return all(test() for name, test in tests.items() if name != ignore and getattr(self, name))


def filter_items(items: Iterable[WorkItem], filters: Filters) -> list[WorkItem]:
    return [item for item in items if filters.matches(item)]


@dataclass(frozen=True)
class FacetOption:
    value: str | None  # None: every value ("All")
    label: str | Promise
    count: int
    selected: bool
    query: str  # the query string that chooses this option (and keeps the other filters)


@dataclass(frozen=True)
class Facet:
    name: str  # the query-string parameter
    label: str | Promise
    options: tuple[FacetOption, ...]


def facets(items: Sequence[WorkItem], filters: Filters, *, sites: Sequence[Site]) -> list[Facet]:
    """Each filter with its options and how many items each would show.

    An option's count applies every *other* filter, so it says how many items choosing it
    gives. The site filter is offered only to people who see more than one site, and only
    their own sites are offered and counted.
    """
    key_of: dict[str, Callable[[WorkItem], str | None]] = {
        "kind": lambda i: i.kind.value,
        "age": lambda i: i.age_band,
        "visit": lambda i: i.visit.kind,
        "site": lambda i: i.visit.subject.site.number,
    }
    choices: dict[str, list[tuple[str, str | Promise]]] = {
        "kind": [(k.value, WORK_KIND_LABELS[k]) for k in WorkKind],
        "age": [(band.value, band.label) for band in AGE_BANDS],
        "visit": [(str(k), k.label) for k in WORKLIST_VISIT_KINDS],
        "site": [(site.number, str(site)) for site in sites],
    }
    labels: dict[str, Promise] = {
        "kind": _("Work"),
        "age": _("Days late"),
        "visit": _("Visit"),
        "site": _("Site"),
    }
    result = []
    for name in ("kind", "age", "visit", "site"):
        if name == "site" and len(sites) < 2:
            continue
        passing = [item for item in items if filters.matches(item, ignore=name)]
        counts = Counter(key_of[name](item) for item in passing)
        current = getattr(filters, name)
        options = [
            FacetOption(
                None, _("All"), len(passing), current is None, filters.query(**{name: None})
            )
        ]
        options += [
            FacetOption(
                value, label, counts[value], current == value, filters.query(**{name: value})
            )
            for value, label in choices[name]
        ]
        result.append(Facet(name, labels[name], tuple(options)))
    return result


# --------------------------------------------------------------------------- by subject


@dataclass(frozen=True)
class SubjectWork:
    """One subject's items, in visit order, with how many there are of each kind."""

    subject: Subject
    items: tuple[WorkItem, ...]

    def _count(self, kind: WorkKind) -> int:
        return sum(item.kind == kind for item in self.items)

    @property
    def overdue(self) -> int:
        return self._count(WorkKind.OVERDUE)

    @property
    def due(self) -> int:
        return self._count(WorkKind.DUE)

    @property
    def missing(self) -> int:
        return self._count(WorkKind.MISSING)

    @property
    def most_overdue(self) -> int:
        return max((i.days_overdue for i in self.items if i.kind == WorkKind.OVERDUE), default=0)


def group_by_subject(items: Iterable[WorkItem]) -> list[SubjectWork]:
    """The items under their subjects, subjects by subject ID, items by target date."""
    grouped: dict[int, list[WorkItem]] = defaultdict(list)
    subjects: dict[int, Subject] = {}
    for item in items:
        grouped[item.visit.subject_id].append(item)
        subjects[item.visit.subject_id] = item.visit.subject
    ordered = sorted(subjects.values(), key=lambda s: (s.subject_id or "", s.pk))
    return [
        SubjectWork(
            subject,
            tuple(
                sorted(
                    grouped[subject.pk],
                    key=lambda i: (i.visit.planned_date or dt.date.max, i.visit.pk),
                )
            ),
        )
        for subject in ordered
    ]


__all__ = [
    "AGE_BANDS",
    "DUE_SOON_DAYS",
    "SUBJECTS_PER_PAGE",
    "Facet",
    "FacetOption",
    "Filters",
    "MissingForm",
    "SubjectWork",
    "WorkItem",
    "WorkKind",
    "Worklist",
    "age_band",
    "build_worklist",
    "facets",
    "filter_items",
    "group_by_subject",
]
