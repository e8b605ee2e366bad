"""What a PDF shows of one form: its values as people read them, with their marks.

``form_sections(spec, instance)`` turns one saved form (any registered form: the template
``templates/reports/pdf/_form.html`` renders the result) into plain data:

- ``sections``: the form's sections (the web form's ``SECTIONS``, else one), each a list of
  ``PdfValue`` — label, crf-spec variable name, value text (code labels, not codes; dates
  YYYY-MM-DD; Yes/No), unit, ``derived`` (computed by the registry's derivation, marked in
  the PDF), ``queries`` (open or answered queries on that value) and ``verified`` (SDV of that
  value: True/False, None when the value is not subject to SDV);
- ``tables``: each repeating group (lesions, eligibility criteria) as a small table — headers
  with units, one ``PdfRow`` per active row with its cells (text, queries, SDV) and the queries
  on the row as a whole;
- the form's status, record version, last change (``modified_at``), the SDV tally
  (``sdv_verified`` / ``sdv_total``), the signature state of its visit (``signature``), and
  ``queries``: every open or answered query of the form, numbered as the marks refer to them.

Reads (per form): the queries of the form, its SDV state (data_management.sdv_selectors:
one query per group + one), and the signatures of its subject unless ``signatures`` is given
(pass ``subject_signatures(subject)`` once for a casebook). Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from crf.display import EMPTY, variable_text
from crf.forms import form_class_for
from crf.models import FormStatus
from crf.registry import FormSpec, GroupSpec, Variable
from data_management.models import Query, QueryStatus, Signature, SignatureScope
from data_management.sdv_selectors import form_state

Key = tuple[str, str, str]  # (group, row key, variable): as queries and SDV address values


@dataclass(frozen=True)
class QueryMark:
    number: int  # the query's id, "Q<id>" in the PDF
    status: str  # open / answered
    status_label: str
    text: str
    where: str  # the value or row it is about ("" for the whole form)
    raised_at: dt.datetime | None = None


@dataclass
class PdfValue:
    label: str
    name: str
    text: str
    unit: str = ""
    derived: bool = False
    multiline: bool = False
    queries: list[QueryMark] = field(default_factory=list)
    verified: bool | None = None

    @property
    def empty(self) -> bool:
        return self.text == EMPTY


@dataclass
class PdfSection:
    title: str
    values: list[PdfValue]


@dataclass
class PdfCell:
    text: str
    queries: list[QueryMark] = field(default_factory=list)
    verified: bool | None = None


@dataclass
class PdfRow:
    key: str
    cells: list[PdfCell]
    queries: list[QueryMark] = field(default_factory=list)  # on the row as a whole


@dataclass
class PdfTable:
    name: str
    title: str
    headers: list[tuple[str, str, str]]  # (label, unit, variable name)
    rows: list[PdfRow]


@dataclass
class PdfForm:
    spec: FormSpec
    instance: Any
    code: str
    title: str
    version: int
    status: str
    status_label: str
    modified_at: dt.datetime | None
    visit_code: str
    sections: list[PdfSection]
    tables: list[PdfTable]
    queries: list[QueryMark]  # open and answered, in the order raised
    form_queries: list[QueryMark]  # those on the form as a whole
    closed_queries: int
    sdv_verified: int
    sdv_total: int
    signature: str  # the signature state of the form's visit (or of the casebook), in words
    signed: bool
    header_right: str = ""  # the running header while this form is printed (set by the caller)

    @property
    def anchor(self) -> str:
        visit = f"-{self.visit_code}" if self.visit_code else ""
        return f"form-{self.code}{visit}-{self.instance.pk}"


# --- Values ---------------------------------------------------------------------------------


def value_text(variable: Variable, value: Any) -> str:
    """A stored value as people read it: code labels, YYYY-MM-DD, Yes/No for a boolean."""
    if isinstance(variable.field, models.BooleanField) and value is not None:
        return str(_("Yes") if value else _("No"))
    return variable_text(variable, value)


def _labels(spec: FormSpec) -> tuple[list[tuple[str, list[str]]], dict[str, str]]:
    """The web form's sections (title, field names) and its field labels (class-level, no
    form built)."""
    form_class = form_class_for(spec)
    base_fields = getattr(form_class, "base_fields", {})
    labels = {
        name: str(capfirst(str(f.label))) for name, f in base_fields.items() if f.label is not None
    }
    sections = [
        (str(title) if title else "", list(names))
        for title, names in (getattr(form_class, "SECTIONS", None) or [])
    ]
    return sections, labels


# --- Queries, SDV, signatures ----------------------------------------------------------------


def _where(spec: FormSpec, query: Query) -> str:
    label = ""
    try:
        if query.group:
            group = spec.group(query.group)
            label = str(group.title)
            if query.row_key:
                label = f"{label} {query.row_key}"
            if query.variable:
                label = f"{label}: {group.variable(query.variable).label}"
        elif query.variable:
            label = spec.variable(query.variable).label
    except StopIteration:
        label = " ".join(p for p in (query.group, query.row_key, query.variable) if p)
    return label


def form_queries(spec: FormSpec, instance: Any) -> tuple[list[Query], int]:
    """The open and answered queries of a form (its values and rows too), and how many are
    closed: one SQL query."""
    found = list(
        Query.objects.filter(
            subject_id=instance.subject_id,
            object_model=instance._meta.label,
            object_id=instance.pk,
        ).order_by("raised_at", "id")
    )
    live = [q for q in found if q.status != QueryStatus.CLOSED]
    return live, len(found) - len(live)


def _mark(spec: FormSpec, query: Query) -> QueryMark:
    return QueryMark(
        number=query.pk,
        status=query.status,
        status_label=str(query.get_status_display()),
        text=query.text,
        where=_where(spec, query),
        raised_at=query.raised_at,
    )


def signature_state(
    subject: Any, visit: Any, signatures: Sequence[Signature] | None = None
) -> tuple[str, bool]:
    """The signature state of a visit (or, for a log form, of the casebook) in words, and
    whether a valid signature attests it. A valid casebook signature attests every visit."""
    if signatures is None:
        signatures = list(
            Signature.objects.filter(subject_id=subject.pk).order_by("-signed_at", "-id")
        )
    ordered = sorted(signatures, key=lambda s: (s.signed_at, s.pk), reverse=True)
    casebook = [s for s in ordered if s.scope == SignatureScope.CASEBOOK]
    own = (
        [s for s in ordered if s.scope == SignatureScope.VISIT and s.visit_id == visit.pk]
        if visit is not None
        else []
    )
    zone = getattr(getattr(subject, "site", None), "time_zone", "") or "UTC"
    for candidates, what in ((own, _("visit")), (casebook, _("casebook"))):
        valid = next((s for s in candidates if s.invalidated_at is None), None)
        if valid is not None:
            return (
                _("Signed (%(what)s) by %(name)s on %(at)s")
                % {
                    "what": what,
                    "name": valid.printed_name,
                    "at": _site_time(valid.signed_at, zone),
                },
                True,
            )
    latest = own[0] if own else casebook[0] if casebook else None
    if latest is not None:
        return (
            _("Signature invalidated on %(at)s (data changed after signing)")
            % {"at": _site_time(latest.invalidated_at, zone)},
            False,
        )
    return str(_("Not signed")), False


def _site_time(at: dt.datetime | None, zone_name: str) -> str:
    if at is None:
        return ""
    from data_management.sdv import site_time

    return f"{site_time(at, zone_name)} ({zone_name})"


# --- One form -------------------------------------------------------------------------------


def form_sections(
    spec: FormSpec,
    instance: Any,
    *,
    signatures: Sequence[Signature] | None = None,
) -> PdfForm:
    """One saved form as the PDFs show it (see the module's docstring)."""
    live, closed = form_queries(spec, instance)
    marks_at: dict[Key, list[QueryMark]] = defaultdict(list)
    for query in live:
        marks_at[(query.group, query.row_key, query.variable)].append(_mark(spec, query))
    sdv = form_state(spec, instance)
    verified_at: dict[Key, bool] = {v.item.key: v.verified for v in sdv.values}

    section_fields, labels = _labels(spec)
    by_field = {v.field_name: v for v in spec.variables}
    placed: set[str] = set()
    sections: list[PdfSection] = []

    def shown(variable: Variable) -> PdfValue:
        key: Key = ("", "", variable.name)
        return PdfValue(
            label=labels.get(variable.field_name, variable.label),
            name=variable.name,
            text=value_text(variable, getattr(instance, variable.field_name)),
            unit=str(variable.unit or ""),
            derived=variable.derived,
            multiline=variable.is_multiline,
            queries=marks_at.get(key, []),
            verified=verified_at.get(key),
        )

    for title, names in section_fields:
        values = []
        for name in names:
            variable = by_field.get(name)
            if variable is None or name in placed:
                continue
            placed.add(name)
            values.append(shown(variable))
        if values:
            sections.append(PdfSection(title, values))
    rest = [v for v in spec.variables if v.field_name not in placed and not v.derived]
    derived = [v for v in spec.variables if v.field_name not in placed and v.derived]
    if rest:
        sections.append(
            PdfSection("" if not sections else str(_("Other")), [shown(v) for v in rest])
        )
    if derived:
        sections.append(PdfSection(str(_("Derived values")), [shown(v) for v in derived]))

    tables = [_table(group, instance, marks_at, verified_at) for group in spec.groups]

    visit = instance.visit if instance.visit_id else None
    signature, signed = signature_state(instance.subject, visit, signatures)
    return PdfForm(
        spec=spec,
        instance=instance,
        code=spec.code,
        title=str(spec.title),
        version=int(instance.version),
        status=instance.status,
        status_label=str(FormStatus(instance.status).label)
        if instance.status in FormStatus.values
        else instance.status,
        modified_at=instance.modified_at,
        visit_code=visit.code if visit is not None else "",
        sections=sections,
        tables=tables,
        queries=[_mark(spec, q) for q in live],
        form_queries=marks_at.get(("", "", ""), []),
        closed_queries=closed,
        sdv_verified=sdv.verified,
        sdv_total=len(sdv.values),
        signature=signature,
        signed=signed,
    )


def _table(
    group: GroupSpec,
    instance: Any,
    marks_at: dict[Key, list[QueryMark]],
    verified_at: dict[Key, bool],
) -> PdfTable:
    key_field = group.variable(group.key).field_name
    headers = [(v.label, str(v.unit or ""), v.name) for v in group.variables]
    rows = []
    for row in group.model.objects.filter(is_deleted=False, **{"form": instance}).order_by("id"):
        row_key = str(getattr(row, key_field))
        cells = [
            PdfCell(
                text=value_text(v, getattr(row, v.field_name)),
                queries=marks_at.get((group.name, row_key, v.name), []),
                verified=verified_at.get((group.name, row_key, v.name)),
            )
            for v in group.variables
        ]
        rows.append(PdfRow(row_key, cells, marks_at.get((group.name, row_key, ""), [])))
    return PdfTable(group.name, str(group.title or group.name), headers, rows)
