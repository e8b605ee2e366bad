"""The TEAE tables of the safety page (protocol.md: "Statistics the study dashboard shows").

Two layers:

* the **pure core** (``overview``, ``by_soc``, ``select_events``, ``sae_status``): frozen
  dataclasses in, dataclasses out, no database. Only treatment-emergent AEs
  (``treatment_emergent == 'Y'``) of subjects in the safety population count
  (protocol.md: analysis population = all subjects who received at least one dose);
  each subject counts once per row, in the column of their worst CTCAE grade;
  percentages are of N, the safety population, rounded half up to one decimal.
* the **selectors** (``load_facts``, ``load_sae_rows``): the rows behind the tables in a fixed
  number of queries, every one through ``Subject.objects.for_user`` so a person never sees
  another site's subjects, not even as a count (protocol.md: users and what they do).

``select_events`` answers "which AEs are behind this number": each number of the tables
carries a ``query`` (URL parameters) that ``parse_selection`` reads back, and the distinct
subjects of the AEs it selects are exactly that number.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from adverse_events import sae_clock
from adverse_events.models import AdverseEvent, SaeReport
from crf.codelists import RELATED_CODES, YN, AEAction, AEOutcome
from enrollment.charts import percent
from study.models import Site, Subject
from study.protocol import HIGH_GRADE_THRESHOLD
from visits.models import Exposure

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

GRADES = (1, 2, 3, 4, 5)  # CTCAE v5.0 grades
FATAL_GRADE = 5  # CTCAE v5.0: grade 5 is death related to the AE
MISSING = "missing"  # the grade parameter of AEs without a grade (an incomplete form)


# --- the pure core ------------------------------------------------------------------------


@dataclass(frozen=True)
class PopulationSubject:
    """A subject of the safety population (at least one dose of anlotinib)."""

    pk: int
    subject_id: str
    site: str  # site number


@dataclass(frozen=True)
class AeFact:
    """What the tables need of one AE log row."""

    pk: int
    subject_pk: int
    term: str  # the display term: "… - Other, specify" terms with their verbatim
    soc: str
    grade: int | None
    serious: bool
    related: bool
    action: str  # crf.codelists.AEAction
    outcome: str  # crf.codelists.AEOutcome
    teae: bool


def _any(ae: AeFact) -> bool:
    return True


def _high_grade(ae: AeFact) -> bool:
    return ae.grade is not None and ae.grade >= HIGH_GRADE_THRESHOLD


def _fatal(ae: AeFact) -> bool:
    return ae.outcome == AEOutcome.FATAL or ae.grade == FATAL_GRADE


# The overview rows of protocol.md's TEAE tables, in their order: key -> (label, rule).
OVERVIEW: dict[str, tuple[object, Callable[[AeFact], bool]]] = {
    "any": (_("Any TEAE"), _any),
    "grade3": (_("TEAE of grade ≥ 3"), _high_grade),
    "serious": (_("Serious TEAE"), lambda ae: ae.serious),
    "related": (_("Related TEAE (related, probably or possibly related)"), lambda ae: ae.related),
    "interrupted": (
        _("TEAE leading to interruption of anlotinib"),
        lambda ae: ae.action == AEAction.INTERRUPTED,
    ),
    "reduced": (
        _("TEAE leading to dose reduction"),
        lambda ae: ae.action == AEAction.REDUCED,
    ),
    "discontinued": (
        _("TEAE leading to discontinuation of anlotinib"),
        lambda ae: ae.action == AEAction.WITHDRAWN,
    ),
    "fatal": (_("Fatal TEAE (outcome fatal or grade 5)"), _fatal),
}


@dataclass(frozen=True)
class CountRow:
    """One overview row: n subjects (%) with at least one TEAE meeting the row's rule."""

    key: str
    label: object
    n: int
    percent: Decimal | None
    query: str


@dataclass(frozen=True)
class GradeCell:
    """Subjects whose worst grade in the row (SOC or term) is ``grade`` (None: no grade)."""

    grade: int | None
    n: int
    query: str


@dataclass(frozen=True)
class TermRow:
    soc: str
    term: str
    n: int
    percent: Decimal | None
    grades: tuple[GradeCell, ...]  # grades 1..5, then the subjects without a grade
    query: str

    @property
    def graded(self) -> tuple[GradeCell, ...]:
        return self.grades[: len(GRADES)]

    @property
    def missing(self) -> GradeCell:
        return self.grades[len(GRADES)]


@dataclass(frozen=True)
class SocRow(TermRow):
    terms: tuple[TermRow, ...] = ()


@dataclass(frozen=True)
class SafetyTables:
    population: int  # N
    overview: tuple[CountRow, ...]
    socs: tuple[SocRow, ...]

    @property
    def has_missing_grades(self) -> bool:
        """A subject may lack a grade for one term yet be graded in its SOC: look at both."""
        return any(row.missing.n for soc in self.socs for row in (soc, *soc.terms))


@dataclass(frozen=True)
class Selection:
    """The AEs behind one number of the tables (all TEAEs when nothing is set)."""

    row: str | None = None  # an OVERVIEW key
    soc: str | None = None
    term: str | None = None  # only with soc
    grade: int | str | None = None  # 1..5 or MISSING; only with soc: worst grade in the row

    @property
    def query(self) -> str:
        params = {"row": self.row, "soc": self.soc, "term": self.term, "grade": self.grade}
        return urlencode({k: v for k, v in params.items() if v is not None})


def parse_selection(params: Mapping[str, str]) -> Selection:
    """The selection of the URL parameters ``row``, ``soc``, ``term``, ``grade``.

    Raises ValueError on an unknown row, a grade outside 1..5 / ``missing``, a term or
    grade without its SOC, or a row together with a SOC.
    """
    row = params.get("row") or None
    soc = params.get("soc")
    term = params.get("term")
    raw_grade = params.get("grade") or None
    if row is not None and row not in OVERVIEW:
        raise ValueError(f"unknown row {row!r}")
    grade: int | str | None = None
    if raw_grade == MISSING:
        grade = MISSING
    elif raw_grade is not None:
        if not raw_grade.isdigit() or int(raw_grade) not in GRADES:
            raise ValueError(f"unknown grade {raw_grade!r}")
        grade = int(raw_grade)
    if soc is None and (term is not None or grade is not None):
        raise ValueError("term and grade need a system organ class")
    if row is not None and soc is not None:
        raise ValueError("a row or a system organ class, not both")
    return Selection(row=row, soc=soc, term=term, grade=grade)


def counted(events: Iterable[AeFact], population: Iterable[PopulationSubject]) -> list[AeFact]:
    """The AEs the tables count: treatment-emergent, of a subject in the safety population."""
    members = {s.pk for s in population}
    return [ae for ae in events if ae.teae and ae.subject_pk in members]


def _subjects(events: Iterable[AeFact]) -> int:
    return len({ae.subject_pk for ae in events})


def _worst(grades: Iterable[int | None]) -> int | None:
    known = [g for g in grades if g is not None]
    return max(known) if known else None


def _worst_by_subject(events: Iterable[AeFact]) -> dict[int, int | None]:
    by_subject: dict[int, list[int | None]] = defaultdict(list)
    for ae in events:
        by_subject[ae.subject_pk].append(ae.grade)
    return {pk: _worst(grades) for pk, grades in by_subject.items()}


def _at_worst_grade(events: Sequence[AeFact], grade: int | None) -> list[AeFact]:
    """The AEs at ``grade`` of subjects whose worst grade among ``events`` is ``grade``."""
    worst = _worst_by_subject(events)
    return [ae for ae in events if ae.grade == grade and worst[ae.subject_pk] == grade]


def overview(
    events: Iterable[AeFact], population: Sequence[PopulationSubject]
) -> tuple[CountRow, ...]:
    """protocol.md TEAE tables: any TEAE, grade ≥ 3, serious, related, leading to
    interruption / dose reduction / discontinuation, fatal; n (%) of subjects, each once."""
    teaes = counted(events, population)
    rows = []
    for key, (label, rule) in OVERVIEW.items():
        n = _subjects(ae for ae in teaes if rule(ae))
        rows.append(CountRow(key, label, n, percent(n, len(population)), Selection(row=key).query))
    return tuple(rows)


def _grade_cells(events: Sequence[AeFact], selection: Selection) -> tuple[GradeCell, ...]:
    worst = list(_worst_by_subject(events).values())
    cells = [GradeCell(g, worst.count(g), _with_grade(selection, g).query) for g in (*GRADES, None)]
    return tuple(cells)


def _with_grade(selection: Selection, grade: int | None) -> Selection:
    return Selection(
        soc=selection.soc, term=selection.term, grade=MISSING if grade is None else grade
    )


def _frequency_order(item: tuple[str, int]) -> tuple[int, str]:
    name, n = item
    return (-n, name.casefold())


def by_soc(events: Iterable[AeFact], population: Sequence[PopulationSubject]) -> tuple[SocRow, ...]:
    """TEAEs by system organ class and term: n (%) of subjects with the SOC / term, and
    the number of those subjects at each worst grade (protocol.md: counted once at their
    worst grade), both levels sorted by frequency (descending), then name."""
    teaes = counted(events, population)
    size = len(population)
    socs: dict[str, list[AeFact]] = defaultdict(list)
    for ae in teaes:
        socs[ae.soc].append(ae)
    rows = []
    soc_counts = {soc: _subjects(aes) for soc, aes in socs.items()}
    for soc, n in sorted(soc_counts.items(), key=_frequency_order):
        terms: dict[str, list[AeFact]] = defaultdict(list)
        for ae in socs[soc]:
            terms[ae.term].append(ae)
        term_counts = {term: _subjects(aes) for term, aes in terms.items()}
        term_rows = tuple(
            TermRow(
                soc=soc,
                term=term,
                n=tn,
                percent=percent(tn, size),
                grades=_grade_cells(terms[term], Selection(soc=soc, term=term)),
                query=Selection(soc=soc, term=term).query,
            )
            for term, tn in sorted(term_counts.items(), key=_frequency_order)
        )
        rows.append(
            SocRow(
                soc=soc,
                term="",
                n=n,
                percent=percent(n, size),
                grades=_grade_cells(socs[soc], Selection(soc=soc)),
                query=Selection(soc=soc).query,
                terms=term_rows,
            )
        )
    return tuple(rows)


def tables(events: Sequence[AeFact], population: Sequence[PopulationSubject]) -> SafetyTables:
    """Both TEAE tables over the safety population ``population`` (N = its size)."""
    return SafetyTables(
        population=len(population),
        overview=overview(events, population),
        socs=by_soc(events, population),
    )


def select_events(
    events: Iterable[AeFact], population: Sequence[PopulationSubject], selection: Selection
) -> list[AeFact]:
    """The AEs behind the number ``selection`` names; their distinct subjects are that n.

    A grade cell selects, of the subjects whose worst grade in the SOC (or term) is that
    grade, their AEs of that grade: the AEs that put them in the column.
    """
    chosen = counted(events, population)
    if selection.row is not None:
        rule = OVERVIEW[selection.row][1]
        return [ae for ae in chosen if rule(ae)]
    if selection.soc is not None:
        chosen = [ae for ae in chosen if ae.soc == selection.soc]
    if selection.term is not None:
        chosen = [ae for ae in chosen if ae.term == selection.term]
    if selection.grade is not None:
        grade = None if selection.grade == MISSING else int(selection.grade)
        chosen = _at_worst_grade(chosen, grade)
    return chosen


def csv_rows(data: SafetyTables) -> tuple[list[str], list[list[object]]]:
    """Both tables in one CSV: a ``section`` column says which (overview, soc_term); a
    by-SOC row without a term is the SOC's total."""
    header = [
        str(_("Section")),
        str(_("Row")),
        str(_("System organ class")),
        str(_("Term")),
        "N",
        "n",
        "%",
        *[str(_("Worst grade %(grade)s") % {"grade": g}) for g in GRADES],
        str(_("Grade missing")),
    ]
    rows: list[list[object]] = [
        ["overview", str(r.label), "", "", data.population, r.n, _blank(r.percent)]
        + [""] * (len(GRADES) + 1)
        for r in data.overview
    ]
    for soc in data.socs:
        for row in (soc, *soc.terms):
            rows.append(
                [
                    "soc_term",
                    str(_("System organ class")) if row is soc else str(_("Term")),
                    row.soc,
                    row.term,
                    data.population,
                    row.n,
                    _blank(row.percent),
                    *[cell.n for cell in row.grades],
                ]
            )
    return header, rows


def _blank(value: Decimal | None) -> object:
    return "" if value is None else value


# SAE report status (adverse_events.models.SaeReport: overdue = past due, neither
# complete nor closed). Order of the list on the safety page.
SAE_STATUS_ORDER = ("overdue", "due", "no_clock", "complete_late", "complete", "closed")
SAE_STATUS_LABELS = {
    "overdue": _("Overdue"),
    "due": _("Due soon"),
    "no_clock": _("No report clock"),
    "complete_late": _("Completed late"),
    "complete": _("Complete"),
    "closed": _("Closed"),
}


def sae_status(
    *,
    due_at: dt.datetime | None,
    completed_at: dt.datetime | None,
    closed_at: dt.datetime | None,
    now: dt.datetime,
) -> str:
    """The report status of a serious AE; ``due_at`` None: no SaeReport row (yet).

    Overdue and completed late are adverse_events.sae_clock's rules (past due, neither
    complete nor closed; completed after the deadline).
    """
    if due_at is None:
        return "no_clock"
    if sae_clock.is_overdue(due_at=due_at, now=now, completed_at=completed_at, closed_at=closed_at):
        return "overdue"
    if closed_at is not None:
        return "closed"
    if completed_at is None:
        return "due"
    late = sae_clock.completed_late(due_at=due_at, completed_at=completed_at)
    return "complete_late" if late is not None else "complete"


# --- selectors ----------------------------------------------------------------------------


def scoped_subjects(
    user: AbstractBaseUser | AnonymousUser, site: Site | None = None
) -> QuerySet[Subject]:
    """The user's subjects (site scoping), of ``site`` only when one is chosen."""
    subjects = Subject.objects.for_user(user)
    return subjects.filter(site=site) if site is not None else subjects


def load_population(subjects: QuerySet[Subject]) -> list[PopulationSubject]:
    """The safety population among ``subjects``: at least one dose (EX EXSTDAT entered).

    One query.
    """
    dosed = Exposure.objects.filter(
        subject=OuterRef("pk"), is_deleted=False, first_dose_on__isnull=False
    )
    rows = (
        subjects.filter(Exists(dosed))
        .order_by("subject_id")
        .values_list("pk", "subject_id", "site__number")
    )
    return [PopulationSubject(pk, subject_id or "", site) for pk, subject_id, site in rows]


def load_events(subjects: QuerySet[Subject]) -> list[AeFact]:
    """Every active AE of ``subjects`` as an AeFact. One query."""
    rows = (
        AdverseEvent.objects.filter(subject__in=subjects, is_deleted=False)
        .only(
            "subject_id",
            "term",
            "term_other",
            "soc",
            "grade",
            "serious",
            "relationship",
            "action",
            "outcome",
            "treatment_emergent",
        )
        .order_by("pk")
    )
    return [
        AeFact(
            pk=ae.pk,
            subject_pk=ae.subject_id,
            term=ae.display_term,
            soc=ae.soc,
            grade=ae.grade,
            serious=ae.serious == YN.Y,
            related=ae.relationship in RELATED_CODES,
            action=ae.action,
            outcome=ae.outcome,
            teae=ae.treatment_emergent == YN.Y,
        )
        for ae in rows
    ]


@dataclass(frozen=True)
class SaeRow:
    event: AdverseEvent  # with its subject
    report: SaeReport | None
    status: str

    @property
    def status_label(self) -> object:
        return SAE_STATUS_LABELS[self.status]

    @property
    def late_by(self) -> str:
        """How long after its deadline the report was completed; "" when not late."""
        return self.report.late_by if self.report is not None else ""


def load_sae_rows(subjects: QuerySet[Subject], *, now: dt.datetime) -> list[SaeRow]:
    """Serious AEs of ``subjects`` with their report clock: overdue first. One query."""
    events = (
        AdverseEvent.objects.filter(subject__in=subjects, is_deleted=False, serious=YN.Y)
        .select_related("subject", "sae_report")
        .order_by("onset_on", "pk")
    )
    rows = []
    for ae in events:
        report: SaeReport | None = getattr(ae, "sae_report", None)
        status = sae_status(
            due_at=report.due_at if report else None,
            completed_at=report.completed_at if report else None,
            closed_at=report.closed_at if report else None,
            now=now,
        )
        rows.append(SaeRow(ae, report, status))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    rows.sort(
        key=lambda r: (
            SAE_STATUS_ORDER.index(r.status),
            r.report.due_at if r.report else far,
        )
    )
    return rows
