"""The subject × visit status matrix (REDCap's record status dashboard is the anchor).

One row per subject the reader may see (``Subject.objects.for_user``), one column per visit
code in schedule order (SCR, C1D1 …, TA1 …, EOT, SFU, SURV1 …, UNS1 …) and a column for the
log forms (AE, CM, DV, SV …). A cell tells where the visit stands (not started, in progress,
complete, overdue, missed, not applicable) and what data management says of it (open and
answered queries, source data verified, signed, locked).

The page is drawn from a constant number of SQL queries whatever the page size and the size
of the study: the page of subjects (a count and the page), the page's visits, every form's
status (one UNION over the registry's forms), queries, verifications, signatures and locks
(one aggregated query each). The status filter is applied in SQL (EXISTS) before paging, so
it costs no query more either.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import CharField, Count, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from crf import registry
from crf.models import FormStatus, Visit, VisitKind
from data_management.models import (
    Lock,
    LockLevel,
    Query,
    QueryStatus,
    Signature,
    SignatureScope,
    SourceVerification,
)
from study.models import Subject, SubjectStatus

SUBJECTS_PER_PAGE = 50

# Visits an overdue state applies to: those of the worklist (visits.worklist) — screening and
# unscheduled visits have no window that closes on anyone.
OVERDUE_KINDS: tuple[str, ...] = (
    VisitKind.CYCLE,
    VisitKind.TUMOUR_ASSESSMENT,
    VisitKind.END_OF_TREATMENT,
    VisitKind.SAFETY_FOLLOW_UP,
    VisitKind.SURVIVAL_FOLLOW_UP,
)

# Columns in schedule order: the visit families of crf-spec "Visits (events)".
KIND_ORDER: tuple[str, ...] = (
    VisitKind.SCREENING,
    VisitKind.CYCLE,
    VisitKind.TUMOUR_ASSESSMENT,
    VisitKind.END_OF_TREATMENT,
    VisitKind.SAFETY_FOLLOW_UP,
    VisitKind.SURVIVAL_FOLLOW_UP,
    VisitKind.UNSCHEDULED,
)
# The headings over the matrix's groups of visit columns ("Screening" the visit, not the
# subject's status of the same name).
KIND_LABELS: dict[str, Promise] = {
    VisitKind.SCREENING: pgettext_lazy("visit columns", "Screening"),
    VisitKind.CYCLE: pgettext_lazy("visit columns", "Cycles"),
    VisitKind.TUMOUR_ASSESSMENT: pgettext_lazy("visit columns", "Tumour assessments"),
    VisitKind.END_OF_TREATMENT: pgettext_lazy("visit columns", "End of treatment"),
    VisitKind.SAFETY_FOLLOW_UP: pgettext_lazy("visit columns", "Safety follow-up"),
    VisitKind.SURVIVAL_FOLLOW_UP: pgettext_lazy("visit columns", "Survival follow-up"),
    VisitKind.UNSCHEDULED: pgettext_lazy("visit columns", "Unscheduled"),
}
LOGS = "LOGS"  # the column of the log forms


class CellState(StrEnum):
    """Where a visit stands, from its forms and the schedule."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    OVERDUE = "overdue"
    MISSED = "missed"
    NOT_APPLICABLE = "not_applicable"


STATE_LABELS: dict[CellState, Promise] = {
    CellState.NOT_STARTED: _("Not started"),
    CellState.IN_PROGRESS: _("In progress"),
    CellState.COMPLETE: _("Complete"),
    CellState.OVERDUE: _("Overdue"),
    CellState.MISSED: _("Missed"),
    CellState.NOT_APPLICABLE: _("Not applicable"),
}


class StatusFilter(StrEnum):
    """The status filter: subjects with at least one such visit or record."""

    OPEN_QUERY = "open_query"
    ANSWERED_QUERY = "answered_query"
    IN_PROGRESS = "in_progress"
    OVERDUE = "overdue"
    AWAITING_SDV = "awaiting_sdv"
    AWAITING_SIGNATURE = "awaiting_signature"
    LOCKED = "locked"


STATUS_FILTER_LABELS: dict[StatusFilter, Promise] = {
    StatusFilter.OPEN_QUERY: _("Open queries"),
    StatusFilter.ANSWERED_QUERY: _("Answered queries (to review)"),
    StatusFilter.IN_PROGRESS: _("Forms in progress"),
    StatusFilter.OVERDUE: _("Overdue visits"),
    StatusFilter.AWAITING_SDV: _("Forms awaiting source data verification"),
    StatusFilter.AWAITING_SIGNATURE: _("Casebooks awaiting signature"),
    StatusFilter.LOCKED: _("Locked data"),
}


# --- the pure part: a visit's state from its counts ---------------------------------------


def cell_state(
    *,
    kind: str,
    required: int,
    complete: int,
    started: int,
    held: bool,
    missed: bool,
    not_applicable: bool,
    window_end: dt.date | None,
    today: dt.date,
) -> CellState:
    """A visit's state. First match wins: not applicable and missed as the site marked them;
    complete when its required forms are (a visit without forms, SURVm, when held); overdue
    when not held and its window closed (visits.worklist: also when some forms were started
    without the date that holds the visit); in progress when held or any form started; else
    not started. Source: crf-spec "Visits (events)" (windows), visits.schedule.visit_status.
    """
    if not_applicable:
        return CellState.NOT_APPLICABLE
    if missed:
        return CellState.MISSED
    if (required and complete >= required) or (not required and held):
        return CellState.COMPLETE
    if not held and kind in OVERDUE_KINDS and window_end is not None and today > window_end:
        return CellState.OVERDUE
    if held or started:
        return CellState.IN_PROGRESS
    return CellState.NOT_STARTED


# --- what the page shows ------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    code: str
    kind: str


@dataclass(frozen=True)
class ColumnGroup:
    label: str | Promise
    span: int
    kind: str


@dataclass
class Cell:
    """One visit of one subject (or the subject's log forms)."""

    code: str  # the visit code, or LOGS
    url: str
    state: CellState
    forms_entered: int = 0  # forms (records, in the logs cell) holding data
    forms_verified: int = 0  # of those, verified as a whole (an active form-level SDV)
    open_queries: int = 0
    answered_queries: int = 0
    signed: bool = False  # a visit signature, or the casebook's, not invalidated
    signature_invalidated: bool = False
    locked: bool = False  # the visit, its subject or the study
    forms_locked: int = 0  # single forms of the visit locked

    @property
    def state_label(self) -> Promise:
        return STATE_LABELS[self.state]

    @property
    def verified(self) -> bool:
        """Source data verification complete: every form holding data verified."""
        return self.forms_entered > 0 and self.forms_verified >= self.forms_entered

    @property
    def partly_verified(self) -> bool:
        return 0 < self.forms_verified < self.forms_entered

    @property
    def any_locked(self) -> bool:
        return self.locked or self.forms_locked > 0

    @property
    def summary(self) -> str:
        """Everything the cell's icons say, in words (its accessible text and tooltip)."""
        parts = [str(self.state_label)]
        if self.open_queries:
            parts.append(
                ngettext("%(n)d open query", "%(n)d open queries", self.open_queries)
                % {"n": self.open_queries}
            )
        if self.answered_queries:
            parts.append(
                ngettext("%(n)d answered query", "%(n)d answered queries", self.answered_queries)
                % {"n": self.answered_queries}
            )
        if self.verified:
            parts.append(gettext("source data verified"))
        elif self.partly_verified:
            parts.append(
                gettext("%(done)d of %(total)d forms verified")
                % {"done": self.forms_verified, "total": self.forms_entered}
            )
        if self.signed:
            parts.append(gettext("signed"))
        elif self.signature_invalidated:
            parts.append(gettext("signature invalidated"))
        if self.locked:
            parts.append(gettext("locked"))
        elif self.forms_locked:
            parts.append(
                ngettext("%(n)d form locked", "%(n)d forms locked", self.forms_locked)
                % {"n": self.forms_locked}
            )
        return "; ".join(parts)


@dataclass
class Row:
    subject: Subject
    url: str
    cells: list[Cell | None]  # by column; None: no such visit for this subject
    logs: Cell
    casebook_signed: bool = False
    casebook_invalidated: bool = False  # a casebook signature invalidated, none in force
    locked: bool = False


@dataclass
class Matrix:
    page: Page[Any]
    columns: list[Column]
    groups: list[ColumnGroup]
    rows: list[Row]
    study_locked: bool = False
    log_codes: tuple[str, ...] = field(default_factory=tuple)


# --- reading ------------------------------------------------------------------------------


def column_key(code: str, kind: str, number: int) -> tuple[int, int, str]:
    """Schedule order: by visit family (KIND_ORDER), then number."""
    position = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return position, number, code


def _active_casebook_signature() -> Exists:
    return Exists(
        Signature.objects.filter(
            subject=OuterRef("pk"), scope=SignatureScope.CASEBOOK, invalidated_at__isnull=True
        )
    )


def awaiting_signature_q() -> Q:
    """Casebooks in the PI's signing queue: no casebook signature in force, and either the
    subject's study has ended (off study, died) or a casebook signature was invalidated by a
    later change."""
    invalidated = Exists(
        Signature.objects.filter(
            subject=OuterRef("pk"), scope=SignatureScope.CASEBOOK, invalidated_at__isnull=False
        )
    )
    ended = Q(status__in=[SubjectStatus.OFF_STUDY, SubjectStatus.DIED])
    return ~Q(_active_casebook_signature()) & (ended | Q(invalidated))


def _reset_not_redone() -> QuerySet[SourceVerification]:
    """Verifications reset by a later change whose value has not been verified again."""
    again = SourceVerification.objects.filter(
        object_model=OuterRef("object_model"),
        object_id=OuterRef("object_id"),
        group=OuterRef("group"),
        row_key=OuterRef("row_key"),
        variable=OuterRef("variable"),
        reset_at__isnull=True,
    )
    return SourceVerification.objects.filter(reset_at__isnull=False).filter(~Exists(again))


def _whole_form_verified() -> QuerySet[SourceVerification]:
    """Whole-form verifications in force: data_management.sdv writes one (group, row and
    variable blank) when every value of the form is verified, and resets it on any later
    change of an entered value, so it says exactly "verified in full"."""
    return SourceVerification.objects.filter(
        reset_at__isnull=True, group="", row_key="", variable=""
    )


def form_verified(model_label: str) -> Q:
    """A form row (of ``model_label``) is verified in full (``_whole_form_verified``).
    An uncorrelated subquery of form ids, which the database reads once and hashes."""
    return Q(pk__in=_whole_form_verified().filter(object_model=model_label).values("object_id"))


def awaiting_sdv_q() -> Q:
    """Subjects with a complete form not verified. Each form's subjects are one uncorrelated
    subquery (read once, hashed), not an EXISTS per subject: PostgreSQL prices nineteen
    correlated EXISTS per subject so high that it JIT-compiles the query, for seconds."""
    q = Q(pk__in=[])
    for spec in registry.all_forms():
        unverified = spec.model.objects.filter(
            ~form_verified(spec.model._meta.label),
            is_deleted=False,
            status=FormStatus.COMPLETE,
        ).values("subject_id")
        q |= Q(pk__in=unverified)
    return q


def status_filter_q(status: StatusFilter, *, today: dt.date) -> Q:
    """The subjects with at least one visit or record of that status, in SQL (EXISTS)."""
    if status in (StatusFilter.OPEN_QUERY, StatusFilter.ANSWERED_QUERY):
        wanted = QueryStatus.OPEN if status == StatusFilter.OPEN_QUERY else QueryStatus.ANSWERED
        return Q(Exists(Query.objects.filter(subject=OuterRef("pk"), status=wanted)))
    if status == StatusFilter.IN_PROGRESS:
        q = Q(pk__in=[])
        for spec in registry.all_forms():
            started = spec.model.objects.filter(is_deleted=False, status=FormStatus.IN_PROGRESS)
            q |= Q(pk__in=started.values("subject_id"))
        return q
    if status == StatusFilter.OVERDUE:
        return Q(Exists(overdue_visits(today=today).filter(subject=OuterRef("pk"))))
    if status == StatusFilter.AWAITING_SDV:
        return awaiting_sdv_q()
    if status == StatusFilter.AWAITING_SIGNATURE:
        return awaiting_signature_q()
    study_lock = Lock.objects.filter(level=LockLevel.STUDY, unlocked_at__isnull=True)
    own_lock = Lock.objects.filter(subject=OuterRef("pk"), unlocked_at__isnull=True)
    return Q(Exists(study_lock)) | Q(Exists(own_lock))


def overdue_visits(*, today: dt.date) -> QuerySet[Visit]:
    """Visits not held whose window closed before ``today`` (the worklist's overdue)."""
    return Visit.objects.filter(
        held_on__isnull=True,
        missed=False,
        not_applicable=False,
        kind__in=OVERDUE_KINDS,
        window_end__lt=today,
    )


def subjects_for(
    user: Any, *, site_number: str | None, status: StatusFilter | None, today: dt.date
) -> QuerySet[Subject]:
    subjects = Subject.objects.for_user(user).select_related("site")
    if site_number:
        subjects = subjects.filter(site__number=site_number)
    if status is not None:
        subjects = subjects.filter(pk__in=filter_sql(status, today=today))
    # enrolled subjects by subject ID, then those still screening (on every database)
    return subjects.order_by(
        "site__number", F("subject_id").asc(nulls_last=True), "screening_id", "pk"
    )


# --- compiled once ---------------------------------------------------------------------------
# A UNION over the registry's forms, or a filter of nested EXISTS over them, takes the ORM far
# longer to compile (tens to hundreds of milliseconds) than the database to run. Their SQL is
# the same for every request but for a list of ids and the day, so it is compiled once per
# process and shape (ids stand in as sentinels, then are put in their places).

_SQL: dict[tuple[Any, ...], tuple[str, list[tuple[bool, Any]]]] = {}
_SENTINEL = -(10**12)


def run_compiled(
    key: tuple[Any, ...], make: Callable[[list[int]], QuerySet[Any]], ids: Sequence[int]
) -> list[tuple[Any, ...]]:
    """The rows of ``make(ids)``, its SQL compiled once per ``key`` and number of ids. The
    rows come as the database gives them: for columns of ints and text only."""
    shape = (connection.vendor, *key, len(ids))
    compiled = _SQL.get(shape)
    if compiled is None:
        sentinels = [_SENTINEL - n for n in range(len(ids))]
        position = {value: n for n, value in enumerate(sentinels)}
        sql, params = make(sentinels).query.sql_with_params()
        template = [
            (True, position[p]) if type(p) is int and p in position else (False, p) for p in params
        ]
        compiled = _SQL[shape] = (sql, template)
    sql, template = compiled
    values = [ids[p] if is_id else p for is_id, p in template]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return [tuple(row) for row in cursor.fetchall()]


def filter_sql(status: StatusFilter, *, today: dt.date) -> RawSQL:
    """``status_filter_q`` as a subquery of subject ids, compiled once per status and day."""
    shape = (connection.vendor, "filter", status.value, today)
    compiled = _SQL.get(shape)
    if compiled is None:
        sql, params = (
            Subject.objects.filter(status_filter_q(status, today=today))
            .order_by()
            .values("pk")
            .query.sql_with_params()
        )
        compiled = _SQL[shape] = (sql, [(False, p) for p in params])
    return RawSQL(compiled[0], [p for _is_id, p in compiled[1]])


def _form_rows(subject_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """(form code, pk, subject id, visit id, status) of every form of the subjects: one
    UNION over the registry's forms, whatever their number (crf.selectors._visit_form_rows)."""
    specs = registry.all_forms()
    if not specs or not subject_ids:
        return []

    def union(ids: list[int]) -> QuerySet[Any]:
        parts = [
            spec.model.objects.filter(subject_id__in=ids, is_deleted=False)
            .order_by()
            .annotate(form_code=Value(spec.code, output_field=CharField()))
            .values_list("form_code", "pk", "subject_id", "visit_id", "status")
            for spec in specs
        ]
        return parts[0].union(*parts[1:], all=True)

    return run_compiled(("forms", tuple(spec.code for spec in specs)), union, subject_ids)


def build_matrix(
    user: Any,
    *,
    today: dt.date,
    site_number: str | None = None,
    status: StatusFilter | None = None,
    page_number: Any = 1,
    per_page: int | None = None,
) -> Matrix:
    """The page of the matrix the user asked for. Eight queries, whatever the data."""
    paginator = Paginator(
        subjects_for(user, site_number=site_number, status=status, today=today),
        per_page or SUBJECTS_PER_PAGE,
    )
    page = paginator.get_page(page_number)
    subjects: list[Subject] = list(page.object_list)
    ids = [s.pk for s in subjects]
    specs = registry.all_forms()
    by_code = {spec.code: spec for spec in specs}
    label_to_code = {spec.model._meta.label: spec.code for spec in specs}

    visits: list[tuple[Any, ...]] = (
        list(
            Visit.objects.filter(subject_id__in=ids)
            .order_by()
            .values_list(
                "pk",
                "subject_id",
                "code",
                "kind",
                "number",
                "held_on",
                "missed",
                "not_applicable",
                "window_end",
            )
        )
        if ids
        else []
    )
    forms = _form_rows(ids)
    queries = _query_counts(ids)
    verified = _verified_counts(ids)
    signatures = _signatures(ids)
    locks = _locks(ids)

    # forms: once-per-subject visit forms by subject; other visit forms by visit; logs
    once: dict[tuple[int, str], str] = {}
    by_visit: dict[int, dict[str, str]] = defaultdict(dict)
    logs: dict[int, list[str]] = defaultdict(list)
    form_visit: dict[tuple[str, int], int | None] = {}
    for code, pk, subject_id, visit_id, form_status in forms:
        spec = by_code[code]
        form_visit[(code, pk)] = visit_id
        if spec.is_log:
            logs[subject_id].append(form_status)
        elif spec.once_per_subject:
            once[(subject_id, code)] = form_status
        elif visit_id is not None:
            by_visit[visit_id][code] = form_status

    seen: dict[str, tuple[int, int, str]] = {}
    for _pk, _s, code, kind, number, *_rest in visits:
        seen.setdefault(code, column_key(code, kind, number))
    ordered = sorted(seen, key=lambda c: seen[c])
    kind_of = {code: kind for _pk, _s, code, kind, *_rest in visits}
    columns = [Column(code, kind_of[code]) for code in ordered]
    position = {column.code: n for n, column in enumerate(columns)}
    # URL-quoted once a column: a cell's link holds no character HTML must escape
    fragment = {code: quote(code, safe="") for code in ordered}

    study_locked = any(level == LockLevel.STUDY for level, *_r in locks)
    locked_subjects = {s for level, s, *_r in locks if level == LockLevel.SUBJECT}
    locked_visits = {v for level, _s, v, *_r in locks if level == LockLevel.VISIT}
    forms_locked: dict[tuple[int, str], int] = defaultdict(int)  # (subject, visit code or LOGS)
    visit_code_of_pk = {pk: code for pk, _s, code, *_rest in visits}
    for level, locked_subject, locked_visit, model_label, object_id, locked_code in locks:
        if level != LockLevel.FORM or locked_subject is None:
            continue
        lock_code = locked_code or label_to_code.get(model_label, "")
        if locked_visit is None and lock_code and object_id is not None:
            locked_visit = form_visit.get((lock_code, object_id))
        lock_spec = by_code.get(lock_code)
        if locked_visit is not None and locked_visit in visit_code_of_pk:
            forms_locked[(locked_subject, visit_code_of_pk[locked_visit])] += 1
        elif lock_spec is not None and lock_spec.is_log:
            forms_locked[(locked_subject, LOGS)] += 1
        elif lock_spec is not None:
            forms_locked[(locked_subject, "SCR")] += 1

    casebook_signed = {s for s, scope, _v, active in signatures if active and scope == "casebook"}
    casebook_invalid = {
        s for s, scope, _v, active in signatures if not active and scope == "casebook"
    }
    signed_visits = {v for _s, scope, v, active in signatures if active and scope == "visit"}
    invalid_visits = {v for _s, scope, v, active in signatures if not active and scope == "visit"}

    rows: list[Row] = []
    cells_by_subject: dict[int, list[Cell | None]] = {pk: [None] * len(columns) for pk in ids}
    subject_url = {
        s.pk: reverse("crf:subject_detail", kwargs={"subject_pk": s.pk}) for s in subjects
    }
    expected = {
        kind: [(spec.code, spec.once_per_subject) for spec in registry.forms_for_visit_kind(kind)]
        for kind in KIND_ORDER
    }
    not_started, done = FormStatus.NOT_STARTED.value, FormStatus.COMPLETE.value
    no_forms: dict[str, str] = {}
    for pk, subject_id, code, kind, _number, held_on, missed, na, window_end in visits:
        visit_forms = by_visit.get(pk, no_forms)
        required = entered = complete = 0
        for form_code, once_only in expected.get(kind, ()):
            required += 1
            form_status = (
                once.get((subject_id, form_code)) if once_only else visit_forms.get(form_code)
            )
            if form_status is not None and form_status != not_started:
                entered += 1
                complete += form_status == done
        state = cell_state(
            kind=kind,
            required=required,
            complete=complete,
            started=entered,
            held=held_on is not None,
            missed=missed,
            not_applicable=na,
            window_end=window_end,
            today=today,
        )
        counts = queries.get((subject_id, code), {})
        cells_by_subject[subject_id][position[code]] = Cell(
            code=code,
            url=f"{subject_url[subject_id]}#visit-{fragment[code]}",
            state=state,
            forms_entered=entered,
            forms_verified=min(verified.get((subject_id, code), 0), entered),
            open_queries=counts.get(QueryStatus.OPEN, 0),
            answered_queries=counts.get(QueryStatus.ANSWERED, 0),
            signed=pk in signed_visits or subject_id in casebook_signed,
            signature_invalidated=(pk in invalid_visits and pk not in signed_visits),
            locked=study_locked or subject_id in locked_subjects or pk in locked_visits,
            forms_locked=forms_locked.get((subject_id, code), 0),
        )

    log_specs = registry.log_forms()
    log_anchor = f"#form-{log_specs[0].code}" if log_specs else ""
    for subject in subjects:
        statuses = logs.get(subject.pk, [])
        entered = sum(s != FormStatus.NOT_STARTED for s in statuses)
        complete = sum(s == FormStatus.COMPLETE for s in statuses)
        counts = queries.get((subject.pk, LOGS), {})
        log_cell = Cell(
            code=LOGS,
            url=subject_url[subject.pk] + log_anchor,
            state=(
                CellState.NOT_STARTED
                if not statuses
                else CellState.COMPLETE
                if complete == len(statuses)
                else CellState.IN_PROGRESS
            ),
            forms_entered=entered,
            forms_verified=min(verified.get((subject.pk, LOGS), 0), entered),
            open_queries=counts.get(QueryStatus.OPEN, 0),
            answered_queries=counts.get(QueryStatus.ANSWERED, 0),
            signed=subject.pk in casebook_signed,
            locked=study_locked or subject.pk in locked_subjects,
            forms_locked=forms_locked.get((subject.pk, LOGS), 0),
        )
        rows.append(
            Row(
                subject=subject,
                url=subject_url[subject.pk],
                cells=cells_by_subject[subject.pk],
                logs=log_cell,
                casebook_signed=subject.pk in casebook_signed,
                casebook_invalidated=(
                    subject.pk in casebook_invalid and subject.pk not in casebook_signed
                ),
                locked=study_locked or subject.pk in locked_subjects,
            )
        )
    return Matrix(
        page=page,
        columns=columns,
        groups=_groups(columns),
        rows=rows,
        study_locked=study_locked,
        log_codes=tuple(spec.code for spec in log_specs),
    )


def _groups(columns: Iterable[Column]) -> list[ColumnGroup]:
    groups: list[ColumnGroup] = []
    for column in columns:
        if groups and groups[-1].kind == column.kind:
            last = groups[-1]
            groups[-1] = ColumnGroup(last.label, last.span + 1, last.kind)
        else:
            groups.append(ColumnGroup(KIND_LABELS.get(column.kind, column.kind), 1, column.kind))
    return groups


def _place(visit_code: str, form_code: str) -> str:
    """The column of a query or verification: its visit, else the logs column for a log
    form, else SCR (a once-per-subject screening form recorded without its visit)."""
    if visit_code:
        return visit_code
    try:
        spec = registry.get(form_code)
    except KeyError:
        return LOGS
    return LOGS if spec.is_log else "SCR"


def _query_counts(ids: Sequence[int]) -> dict[tuple[int, str], dict[str, int]]:
    """Queries not closed, by subject, column and status: one aggregated query."""
    counts: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if not ids:
        return counts
    rows = (
        Query.objects.filter(
            subject_id__in=ids, status__in=[QueryStatus.OPEN, QueryStatus.ANSWERED]
        )
        .order_by()
        .values_list("subject_id", "visit_code", "form_code", "status")
        .annotate(n=Count("id"))
    )
    for subject_id, visit_code, form_code, status, n in rows:
        counts[(subject_id, _place(visit_code, form_code))][status] += n
    return counts


def _verified_counts(ids: Sequence[int]) -> dict[tuple[int, str], int]:
    """Forms (log records) verified in full (``_whole_form_verified``), by subject and
    column: one aggregated query."""
    counts: dict[tuple[int, str], int] = defaultdict(int)
    if not ids:
        return counts
    rows = (
        _whole_form_verified()
        .filter(subject_id__in=ids)
        .order_by()
        .values_list("subject_id", "visit_code", "form_code")
        .annotate(n=Count("object_id", distinct=True))
    )
    for subject_id, visit_code, form_code, n in rows:
        counts[(subject_id, _place(visit_code, form_code))] += n
    return counts


def _signatures(ids: Sequence[int]) -> list[tuple[int, str, int | None, bool]]:
    """(subject, scope, visit, in force) of the subjects' signatures: one query."""
    if not ids:
        return []
    return [
        (subject_id, scope, visit_id, invalidated_at is None)
        for subject_id, scope, visit_id, invalidated_at in Signature.objects.filter(
            subject_id__in=ids
        )
        .order_by()
        .values_list("subject_id", "scope", "visit_id", "invalidated_at")
    ]


def _locks(ids: Sequence[int]) -> list[tuple[str, int | None, int | None, str, int | None, str]]:
    """The locks in force on the subjects, and a study lock: one query."""
    return list(
        Lock.objects.filter(unlocked_at__isnull=True)
        .filter(Q(level=LockLevel.STUDY) | Q(subject_id__in=ids))
        .order_by()
        .values_list("level", "subject_id", "visit_id", "object_model", "object_id", "form_code")
    )


def site_options(sites: Iterable[Any]) -> list[tuple[str, str]]:
    return [(site.number, str(site)) for site in sites]


def status_options() -> list[tuple[str, Promise]]:
    return [(s.value, STATUS_FILTER_LABELS[s]) for s in StatusFilter]


def parse_status(value: str | None) -> StatusFilter | None:
    try:
        return StatusFilter(value) if value else None
    except ValueError:
        return None
