"""What is due for a person on a local date: pure functions over plain data (no Django).

notifications.selectors reads the database into these dataclasses; services turns the
returned ``DueItem`` values into Notification rows and digests. Any day can be tested by
building the facts by hand and choosing ``today``.

Rules (issue 14, protocol.md):
- a visit whose window opens within ``WINDOW_AHEAD_DAYS`` (tumour assessments first: they
  carry the primary endpoint), a visit due today, an overdue visit (window closed, not held)
  with its days overdue, a held visit whose forms are not all complete;
- an open query raised more than ``QUERY_AGE_DAYS`` ago;
- an SAE report due within 24 hours or overdue;
- a casebook or visits awaiting the PI's signature;
- nothing about a subject's visits after death, withdrawal or study end; after the end of
  treatment no more cycles, and tumour assessments only when treatment stopped for a reason
  other than progression.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

WINDOW_AHEAD_DAYS = 7
QUERY_AGE_DAYS = 7
SAE_AHEAD = dt.timedelta(hours=24)

# Subject states (selectors.subject_state)
ACTIVE = "active"  # screening or on treatment
FOLLOW_UP = "follow_up"  # treatment ended for a reason other than progression
FOLLOW_UP_PROGRESSED = "follow_up_progressed"  # treatment ended, disease progressed
ENDED = "ended"  # died, withdrew or the study ended for them

# Visit kinds (crf.models.VisitKind values)
TUMOUR_ASSESSMENT = "TA"
CYCLE = "CYCLE"

# Order of kinds inside a digest.
KIND_ORDER = (
    "sae_due",
    "visit_overdue",
    "visit_due",
    "visit_window",
    "forms_missing",
    "query_old",
    "sdv_waiting",
    "signature_waiting",
)


@dataclass(frozen=True)
class SubjectFact:
    pk: int
    label: str  # the subject ID, nothing else identifying
    site_id: int
    state: str


@dataclass(frozen=True)
class VisitFact:
    pk: int
    subject_pk: int
    code: str
    kind: str
    planned_date: dt.date | None
    window_start: dt.date | None
    window_end: dt.date | None
    held_on: dt.date | None = None
    missing_forms: int = 0  # forms of a held visit not complete


@dataclass(frozen=True)
class QueryFact:
    pk: int
    subject_pk: int
    raised_on: dt.date
    form_code: str
    url: str = ""  # its thread on the form's page


@dataclass(frozen=True)
class SaeFact:
    pk: int  # the SAE report
    subject_pk: int
    ae_pk: int
    due_at: dt.datetime  # aware


@dataclass(frozen=True)
class SignatureFact:
    subject_pk: int
    casebook: bool  # the casebook itself awaits a signature
    visits: tuple[str, ...] = ()  # codes of visits awaiting a signature


@dataclass(frozen=True)
class SdvFact:
    site_pk: int
    site_number: str
    forms: int  # complete forms not yet verified


@dataclass(frozen=True)
class DueItem:
    kind: str
    object_key: str
    subject_pk: int | None
    subject_label: str
    # What the text says: visit code, days overdue/until, form or query details.
    code: str = ""
    days: int = 0
    count: int = 0
    sort: tuple[object, ...] = ()
    url: str = ""  # the exact page, when the facts knew it (else selectors.item_url finds it)


def visit_is_due(subject: SubjectFact, visit: VisitFact) -> bool:
    """Whether reminders about ``visit`` still make sense given where the subject stands."""
    if subject.state == ENDED:
        return False
    if subject.state in (FOLLOW_UP, FOLLOW_UP_PROGRESSED) and visit.held_on is None:
        if visit.kind == CYCLE:
            return False
        if visit.kind == TUMOUR_ASSESSMENT and subject.state == FOLLOW_UP_PROGRESSED:
            return False
    return True


def visit_items(
    subject: SubjectFact, visits: Iterable[VisitFact], *, today: dt.date
) -> list[DueItem]:
    items: list[DueItem] = []
    for visit in visits:
        if not visit_is_due(subject, visit):
            continue
        key = f"visit:{visit.pk}"
        ta_first = 0 if visit.kind == TUMOUR_ASSESSMENT else 1
        common = {"subject_pk": subject.pk, "subject_label": subject.label, "code": visit.code}
        if visit.held_on is not None:
            if visit.missing_forms:
                items.append(
                    DueItem(
                        "forms_missing",
                        key,
                        days=(today - visit.held_on).days,
                        count=visit.missing_forms,
                        sort=(visit.held_on, subject.label),
                        **common,  # type: ignore[arg-type]
                    )
                )
            continue
        if visit.window_end is not None and today > visit.window_end:
            items.append(
                DueItem(
                    "visit_overdue",
                    key,
                    days=(today - visit.window_end).days,
                    sort=(-(today - visit.window_end).days, subject.label),
                    **common,  # type: ignore[arg-type]
                )
            )
        elif visit.planned_date == today:
            items.append(
                DueItem("visit_due", key, sort=(ta_first, subject.label), **common)  # type: ignore[arg-type]
            )
        elif visit.window_start is not None and today < visit.window_start <= today + dt.timedelta(
            days=WINDOW_AHEAD_DAYS
        ):
            items.append(
                DueItem(
                    "visit_window",
                    key,
                    days=(visit.window_start - today).days,
                    sort=(ta_first, visit.window_start, subject.label),
                    **common,  # type: ignore[arg-type]
                )
            )
    return items


def query_items(
    subject: SubjectFact, queries: Iterable[QueryFact], *, today: dt.date
) -> list[DueItem]:
    return [
        DueItem(
            "query_old",
            f"query:{q.pk}",
            subject.pk,
            subject.label,
            code=q.form_code,
            url=q.url,
            days=(today - q.raised_on).days,
            sort=(q.raised_on, subject.label),
        )
        for q in queries
        if (today - q.raised_on).days > QUERY_AGE_DAYS
    ]


def sae_items(
    subject: SubjectFact, reports: Iterable[SaeFact], *, now: dt.datetime
) -> list[DueItem]:
    """SAE reports due within 24 hours or overdue (whatever the subject's state: the report
    is about an event that already happened)."""
    items = []
    for report in reports:
        if report.due_at - now > SAE_AHEAD:
            continue
        hours = int((report.due_at - now).total_seconds() // 3600)
        items.append(
            DueItem(
                "sae_due",
                f"sae:{report.pk}",
                subject.pk,
                subject.label,
                days=hours,  # hours left (negative: overdue)
                count=report.ae_pk,
                sort=(report.due_at, subject.label),
            )
        )
    return items


def signature_items(subject: SubjectFact, fact: SignatureFact | None) -> list[DueItem]:
    if fact is None or not (fact.casebook or fact.visits):
        return []
    return [
        DueItem(
            "signature_waiting",
            f"signature:{subject.pk}",
            subject.pk,
            subject.label,
            code=", ".join(fact.visits),
            count=len(fact.visits),
            days=1 if fact.casebook else 0,
            sort=(subject.label,),
        )
    ]


def due_for_person(
    *,
    subjects: Sequence[SubjectFact],
    visits: Iterable[VisitFact] = (),
    queries: Iterable[QueryFact] = (),
    saes: Iterable[SaeFact] = (),
    signatures: Iterable[SignatureFact] = (),
    sdv: Iterable[SdvFact] = (),
    today: dt.date,
    now: dt.datetime,
    kinds: Iterable[str] = KIND_ORDER,
) -> list[DueItem]:
    """Everything due for a person who sees ``subjects`` (already scoped to them), in digest
    order. ``kinds`` limits the result to the kinds this person's role gets."""
    by_pk = {s.pk: s for s in subjects}
    wanted = set(kinds)
    items: list[DueItem] = []

    def of_subject(facts: Iterable[Any]) -> dict[int, list[Any]]:
        grouped: dict[int, list[Any]] = {}
        for fact in facts:
            pk = fact.subject_pk
            if pk in by_pk:
                grouped.setdefault(pk, []).append(fact)
        return grouped

    visits_by = of_subject(visits)
    queries_by = of_subject(queries)
    saes_by = of_subject(saes)
    sign_by = {f.subject_pk: f for f in signatures if f.subject_pk in by_pk}
    for subject in subjects:
        items += visit_items(subject, visits_by.get(subject.pk, []), today=today)  # type: ignore[arg-type]
        items += query_items(subject, queries_by.get(subject.pk, []), today=today)  # type: ignore[arg-type]
        items += sae_items(subject, saes_by.get(subject.pk, []), now=now)  # type: ignore[arg-type]
        items += signature_items(subject, sign_by.get(subject.pk))
    items += sdv_items(sdv)
    items = [item for item in items if item.kind in wanted]
    order = {kind: n for n, kind in enumerate(KIND_ORDER)}
    return sorted(items, key=lambda i: (order.get(i.kind, 99), i.sort))


def sdv_items(facts: Iterable[SdvFact]) -> list[DueItem]:
    """A monitor's sites with complete forms awaiting source data verification, one item
    per site (issue 14: the monitor's weekly digest)."""
    return [
        DueItem(
            "sdv_waiting",
            f"site:{fact.site_pk}",
            None,
            fact.site_number,
            count=fact.forms,
            sort=(fact.site_number,),
        )
        for fact in facts
        if fact.forms > 0
    ]
