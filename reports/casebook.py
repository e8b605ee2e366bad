"""Reports: the subject casebook (issue 13), one PDF/A-3b per subject.

The cover names the subject's audit-chain head hash and length and the data-as-of time (the
last audit entry's), so a printed casebook can be matched to the trail (``verify_audit``
recomputes the same chain). Then a table of contents (PDF bookmarks from the headings), every
visit's forms in schedule order, the log forms (AE, CM, DV, survival contacts, death, end of
study), the endpoints with their reasons in words, the queries with their threads, the
signature manifest (21 CFR Part 11 §11.50: printed name, date and time, meaning) and the
audit trail appendix. The subject's part of the study data file (crf-spec format) is embedded
as an attachment: an archive copy that carries its own data.

Every form is written from the CRF registry (labels, units, code labels, repeating groups),
so a field added to a form appears here with no casebook code. Speed (issue 13, Speed): small
per-visit tables and the audit appendix as one line per entry rather than tables spanning pages,
and one parsed stylesheet per process (``reports.pdf``); ``bench`` renders the same casebook
naively as well and prints both times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crf import audit_labels, display, registry
from crf.audit import GENESIS, chain_key
from crf.models import AuditChain, AuditEntry, ChangeReason, FormStatus, Visit
from crf.registry import FormSpec, GroupSpec, Variable
from study import protocol
from study.models import Subject, SubjectStatus
from study.roles import VIEW
from study.scoping import subject_view
from study.timezones import site_zone

# Rows per table of the audit appendix: many small tables lay out faster than one that
# spans pages (WeasyPrint; issue 13, Speed).
AUDIT_ROWS = 40
DATAFILE_NAME = "{subject}-study-data.json"
TEMPLATE = "reports/casebook/casebook.html"


# --- What the casebook shows ---------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    label: str
    text: str
    unit: str = ""
    name: str = ""
    derived: bool = False
    queries: str = ""  # "Q3, Q7": the active queries raised on this value


@dataclass
class GroupTable:
    title: str
    columns: list[tuple[str, str, bool]]  # (label, unit, derived)
    rows: list[list[tuple[str, str]]]  # (text, queries) per column


@dataclass
class FormBlock:
    code: str
    title: str
    status_label: str
    fields: list[Field]
    groups: list[GroupTable] = field(default_factory=list)
    anchor: str = ""
    caption: str = ""  # a log record: what tells it from the others
    queries: str = ""  # active queries on the whole form


@dataclass
class VisitBlock:
    code: str
    title: str
    dates: str
    status_label: str
    forms: list[FormBlock]
    anchor: str


@dataclass
class LogBlock:
    code: str
    title: str
    records: list[FormBlock]
    anchor: str


@dataclass(frozen=True)
class ThreadStep:
    label: str
    author: str
    at: str
    text: str
    status_label: str


@dataclass(frozen=True)
class QueryBlock:
    number: str
    where: str
    status_label: str
    origin_label: str
    text: str
    raised: str
    steps: list[ThreadStep]


@dataclass(frozen=True)
class SignatureRow:
    printed_name: str
    what: str
    signed_utc: str
    signed_local: str
    meaning: str
    valid: bool
    invalidation: str


@dataclass(frozen=True)
class AuditRow:
    at: str
    user: str
    action: str
    where: str
    old: str
    new: str
    reason: str


def _zone(subject: Subject) -> zoneinfo.ZoneInfo:
    return site_zone(subject.site)


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _local(value: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


# --- Forms ---------------------------------------------------------------------------------


def _records(subject: Subject) -> dict[str, list[Any]]:
    """Every form record of the subject by form code, each with ``_casebook_rows`` (its
    repeating rows by group): one query per form and one per repeating group."""
    found: dict[str, list[Any]] = {}
    for spec in registry.all_forms():
        records = list(
            spec.model.objects.filter(subject=subject, is_deleted=False)
            .select_related("visit")
            .order_by("id")
        )
        for group in spec.groups:
            by_form: dict[int, list[Any]] = defaultdict(list)
            if records:
                parents = {"form_id__in": [r.pk for r in records]}  # every row has its "form"
                rows = group.model.objects.filter(**parents, is_deleted=False).order_by("id")
                for row in rows:
                    by_form[row.form_id].append(row)  # type: ignore[attr-defined]
            for record in records:
                record.__dict__.setdefault("_casebook_rows", {})[group.name] = by_form[record.pk]
        found[spec.code] = records
    return found


def _value_text(spec: FormSpec, variable: Variable, value: Any) -> str:
    """A stored value as people read it: a code's label (the model field's code list, else
    the form field's, e.g. a list of codes), dates as YYYY-MM-DD."""
    if variable.field.choices or value in (None, "", [], ()):
        return display.variable_text(variable, value)
    form_field = spec.form_class.base_fields.get(variable.field_name) if spec.form_class else None
    choices = getattr(form_field, "choices", None)
    if choices:
        return display.choice_text(choices, value)
    return display.variable_text(variable, value)


QueryMarks = dict[tuple[str, int, str, str, str], list[str]]


def _fields(
    spec: FormSpec, variables: Iterable[Variable], obj: Any, marks: QueryMarks, where: tuple
) -> list[Field]:
    shown = []
    for variable in variables:
        shown.append(
            Field(
                label=variable.label,
                text=_value_text(spec, variable, getattr(obj, variable.field_name)),
                unit=str(variable.unit or ""),
                name=variable.name,
                derived=variable.derived,
                queries=", ".join(marks.get((*where, variable.name), [])),
            )
        )
    return shown


def _group_table(
    spec: FormSpec, group: GroupSpec, record: Any, marks: QueryMarks
) -> GroupTable | None:
    rows = record.__dict__.get("_casebook_rows", {}).get(group.name, [])
    if not rows:
        return None
    columns = [(v.label, str(v.unit or ""), v.derived) for v in group.variables]
    key_variable = group.variable(group.key)
    table_rows = []
    for row in rows:
        row_key = str(getattr(row, key_variable.field_name) or "")
        where = (record._meta.label, record.pk, group.name, row_key)
        table_rows.append(
            [
                (
                    display.variable_text(v, getattr(row, v.field_name)),
                    ", ".join(marks.get((*where, v.name), [])),
                )
                for v in group.variables
            ]
        )
    return GroupTable(str(group.title or group.name), columns, table_rows)


def _form_block(spec: FormSpec, record: Any, marks: QueryMarks, anchor: str) -> FormBlock:
    where = (record._meta.label, record.pk, "", "")
    groups = [t for g in spec.groups if (t := _group_table(spec, g, record, marks)) is not None]
    return FormBlock(
        code=spec.code,
        title=str(spec.title),
        status_label=str(FormStatus(record.status).label),
        fields=_fields(spec, spec.variables, record, marks, where),
        groups=groups,
        anchor=anchor,
        queries=", ".join(marks.get((*where, ""), [])),
    )


def _log_caption(spec: FormSpec, record: Any) -> str:
    shown = []
    for variable in spec.input_variables:
        value = getattr(record, variable.field_name)
        if value in (None, "", []):
            continue
        shown.append(_value_text(spec, variable, value))
        if len(shown) == 2:
            break
    return " · ".join(shown)


def _visit_title(visit: Visit) -> str:
    return f"{visit.code} · {visit.get_kind_display()}"


def _visit_dates(visit: Visit) -> str:
    if visit.missed:
        return _("Missed: %(reason)s") % {"reason": visit.missed_reason or "—"}
    if visit.held_on:
        return _("Held %(date)s") % {"date": visit.held_on.isoformat()}
    if visit.planned_date:
        return _("Planned %(date)s") % {"date": visit.planned_date.isoformat()}
    return ""


def _visits(subject: Subject, records: dict[str, list[Any]], marks: QueryMarks) -> list[VisitBlock]:
    """The held or started visits in schedule order (planned date), each with its forms in
    the registry's order; a visit with no form entered is named without forms."""
    visits = list(Visit.objects.filter(subject=subject).order_by("planned_date", "id"))
    by_visit: dict[tuple[str, int | None], list[Any]] = defaultdict(list)
    for code, found in records.items():
        for record in found:
            by_visit[(code, record.visit_id)].append(record)
    blocks = []
    for visit in visits:
        forms = []
        for spec in registry.forms_for_visit_kind(visit.kind):
            for record in by_visit.get((spec.code, visit.pk), []):
                forms.append(_form_block(spec, record, marks, f"form-{visit.code}-{spec.code}"))
        if not forms and not visit.held_on and not visit.missed:
            continue  # a planned visit not yet held: nothing to print
        statuses = [f.status_label for f in forms]
        done = statuses.count(str(FormStatus.COMPLETE.label))
        blocks.append(
            VisitBlock(
                code=visit.code,
                title=_visit_title(visit),
                dates=_visit_dates(visit),
                status_label=_("%(done)d of %(total)d forms complete")
                % {"done": done, "total": len(forms)},
                forms=forms,
                anchor=f"visit-{visit.code}",
            )
        )
    return blocks


def _logs(records: dict[str, list[Any]], marks: QueryMarks) -> list[LogBlock]:
    blocks = []
    for spec in registry.log_forms():
        entries = []
        for number, record in enumerate(records.get(spec.code, []), start=1):
            block = _form_block(spec, record, marks, f"log-{spec.code}-{number}")
            block.caption = f"{spec.code} {number} · {_log_caption(spec, record)}"
            entries.append(block)
        blocks.append(LogBlock(spec.code, str(spec.title), entries, f"log-{spec.code}"))
    return blocks


# --- Queries -------------------------------------------------------------------------------


def _queries(subject: Subject, zone: zoneinfo.ZoneInfo) -> tuple[list[QueryBlock], QueryMarks]:
    """Every query of the subject with its thread (oldest first), and the active ones by
    the value they are about (marked at that value in the forms)."""
    from data_management import query_selectors as qs
    from data_management.models import Query, QueryOrigin, QueryStatus, QueryStep

    queries = qs.with_thread(Query.objects.filter(subject=subject)).order_by("raised_at", "id")
    blocks = []
    marks: QueryMarks = defaultdict(list)
    for query in queries:
        number = f"Q{query.pk}"
        spec = qs.spec_or_none(query.form_code)
        where = qs.where_label(spec, query.group, query.row_key, query.variable)
        form = str(spec.title) if spec is not None else query.form_code
        place = " · ".join(p for p in (query.visit_code, form, where) if p)
        if query.status != QueryStatus.CLOSED:
            key = (query.object_model, query.object_id, query.group, query.row_key)
            marks[(*key, query.variable)].append(number)
        blocks.append(
            QueryBlock(
                number=number,
                where=place,
                status_label=str(QueryStatus(query.status).label),
                origin_label=str(QueryOrigin(query.origin).label),
                text=query.text,
                raised=_("%(who)s, %(when)s")
                % {"who": qs.person(query.raised_by), "when": _local(query.raised_at, zone)},
                steps=[
                    ThreadStep(
                        label=str(QueryStep(m.step).label),
                        author=qs.person(m.author),
                        at=_local(m.at, zone),
                        text=m.text,
                        status_label=str(QueryStatus(m.status_after).label),
                    )
                    for m in query.messages.all()
                ],
            )
        )
    return blocks, dict(marks)


# --- Signatures ----------------------------------------------------------------------------


def _in_zone(fn: Any, value: Any, zone: zoneinfo.ZoneInfo) -> str:
    """``fn(value)`` with the times it writes in ``zone`` (the signing site's)."""
    with timezone.override(zone):
        return str(fn(value))


def _signatures(subject: Subject) -> tuple[list[SignatureRow], str]:
    """The signature manifest (§11.50), oldest first, invalidated ones kept and marked; and
    the signature state in words for the cover."""
    from data_management import signatures
    from data_management.models import SignatureScope

    found = list(reversed(signatures.subject_signatures(subject)))
    rows = []
    for signature in found:
        zone = zoneinfo.ZoneInfo(signature.site_time_zone or settings.EDC_DEFAULT_SITE_TIME_ZONE)
        if signature.scope == SignatureScope.CASEBOOK:
            what = _("Casebook")
        else:
            what = _("Visit %(visit)s") % {"visit": signature.visit.code if signature.visit else ""}
        rows.append(
            SignatureRow(
                printed_name=signature.printed_name,
                what=str(what),
                signed_utc=_utc(signature.signed_at),
                signed_local=_local(signature.signed_at, zone),
                meaning=signature.meaning,
                valid=signature.invalidated_at is None,
                invalidation=_in_zone(signatures.invalidation_text, signature, zone),
            )
        )
    valid = [s for s in found if s.invalidated_at is None]
    casebook = [s for s in valid if s.scope == SignatureScope.CASEBOOK]
    if casebook:
        last = casebook[-1]
        state = _("Casebook signed by %(name)s on %(when)s.") % {
            "name": last.printed_name,
            "when": _utc(last.signed_at),
        }
    elif valid:
        state = ngettext(
            "Casebook not signed; %(count)d visit signature valid.",
            "Casebook not signed; %(count)d visit signatures valid.",
            len(valid),
        ) % {"count": len(valid)}
    else:
        state = _("Not signed.")
    invalidated = len(found) - len(valid)
    if invalidated:
        state += " " + ngettext(
            "%(count)d signature invalidated by a later change.",
            "%(count)d signatures invalidated by later changes.",
            invalidated,
        ) % {"count": invalidated}
    return rows, str(state)


# --- Endpoints -----------------------------------------------------------------------------


def _endpoints(subject: Subject) -> dict[str, Any] | None:
    """BOR, PFS and OS with their reasons in words, as the subject page's endpoint panel
    (outcomes.views.endpoint_panel) tells them."""
    from outcomes import display as outcome_display
    from outcomes.study import study_outcomes
    from outcomes.views import _endpoint_sentence
    from visits.tumour import code_label

    if not subject.subject_id:
        return None
    outcome = study_outcomes([subject], today=timezone.localdate())[0]
    result = outcome.result
    return {
        "dosed": outcome.dosed,
        "day1": outcome.record.day1,
        "bor": outcome_display.response_label(result.bor),
        "bor_text": (
            result.best_response.explain_reason(_, code_label)
            if result.best_response is not None
            else ""
        ),
        "pfs_text": _endpoint_sentence(result.pfs),
        "os_text": _endpoint_sentence(result.os),
        "time_on_treatment": result.time_on_treatment_days,
    }


# --- Audit appendix ------------------------------------------------------------------------


def _values(entry: AuditEntry, value: str | None) -> str:
    shown = audit_labels.shown_values(
        entry.form_code, entry.group, entry.variable, entry.action, value
    )
    return "; ".join(v.text for v in shown) or "—"


def _audit_rows(entries: Sequence[AuditEntry], zone: zoneinfo.ZoneInfo) -> list[AuditRow]:
    reasons = dict(ChangeReason.choices)
    rows = []
    for entry in entries:
        form = audit_labels.form_name(entry.form_code) or entry.form_code
        variable = entry.variable
        if variable:
            label = audit_labels.variable_name(entry.form_code, entry.group, variable)
            variable = f"{variable} ({label})" if label else variable
        row = _("row %(row)s") % {"row": entry.row_key} if entry.row_key else ""
        where = " · ".join(p for p in (entry.visit_code, form, row, variable) if p)
        reason = str(reasons.get(entry.reason_code, entry.reason_code))
        if entry.reason_text:
            reason = f"{reason}: {entry.reason_text}" if reason else entry.reason_text
        rows.append(
            AuditRow(
                at=entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                user=entry.actor_username,
                action=entry.get_action_display(),
                where=where,
                old=_values(entry, entry.old_value),
                new=_values(entry, entry.new_value),
                reason=reason,
            )
        )
    return rows


def _chunks(rows: list[Any], size: int) -> list[list[Any]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)] or [[]]


# --- The subject's part of the study data file ---------------------------------------------


def subject_datafile(subject: Subject) -> str:
    """The study data file (crf-spec format, crf.datafile) holding this subject only: its
    site and every form of it, as ``export_stream`` writes them. Reads only."""
    from crf.datafile import dumps
    from crf.datafile.document import FORMAT, PARAMETERS, TARGET_ENROLMENT
    from crf.datafile.export import _entries
    from study.models import StudyParameters

    row = (subject.pk, subject.site.number, subject.subject_id, subject.screening_id)
    enrolled = bool(subject.subject_id)
    entries = list(_entries([row], enrolled=enrolled))
    document = {
        "format": FORMAT,
        "study": protocol.STUDY_CODE,
        "created": timezone.now().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        PARAMETERS: {TARGET_ENROLMENT: StudyParameters.objects.current().target_enrolment},
        "sites": [{"site": subject.site.number, "name": subject.site.name}],
        "subjects": entries if enrolled else [],
        "screening": [] if enrolled else entries,
    }
    return dumps(document)


# --- The whole casebook --------------------------------------------------------------------


def casebook_context(subject: Subject, *, audit_rows: int = AUDIT_ROWS) -> dict[str, Any]:
    """Everything the casebook shows, read in a bounded number of queries (one per form
    model and repeating group, one for the visits, queries, signatures and audit trail)."""
    subject = Subject.objects.select_related("site").get(pk=subject.pk)
    zone = _zone(subject)
    chain = AuditChain.objects.filter(key=chain_key(subject.pk)).first()
    entries = list(AuditEntry.objects.filter(subject=subject).order_by("id"))
    last_at = max((e.at for e in entries), default=None)
    queries, marks = _queries(subject, zone)
    records = _records(subject)
    visits = _visits(subject, records, marks)
    logs = _logs(records, marks)
    manifest, signature_state = _signatures(subject)
    endpoints = _endpoints(subject)
    now = timezone.now()
    audit = _audit_rows(entries, zone)
    return {
        "study_code": protocol.STUDY_CODE,
        "protocol_version": protocol.PROTOCOL_VERSION,
        "subject": subject,
        "subject_label": subject.label,
        "site": subject.site,
        "zone_name": str(zone),
        "status_label": str(SubjectStatus(subject.status).label),
        "day1": endpoints["day1"] if endpoints else None,
        "signature_state": signature_state,
        "chain_head": chain.head_hash if chain is not None else GENESIS,
        "chain_length": chain.length if chain is not None else 0,
        "data_as_of_utc": _utc(last_at) if last_at else "—",
        "data_as_of_local": _local(last_at, zone) if last_at else "—",
        "site_time_zone": str(zone),
        "data_changed_at": last_at,
        "generated_at": now,
        "generated_utc": _utc(now),
        "generated_local": _local(now, zone),
        "visits": visits,
        "logs": logs,
        "endpoints": endpoints,
        "queries": queries,
        "signatures": manifest,
        "audit_count": len(audit),
        "audit_tables": _chunks(audit, audit_rows),
    }


def _attachment(subject: Subject) -> tuple[Any, str]:
    from weasyprint import Attachment

    text = subject_datafile(subject)
    name = DATAFILE_NAME.format(subject=subject.label)
    attachment = Attachment(
        string=text.encode("utf-8"),
        name=name,
        description=str(_("Study data file of subject %(subject)s") % {"subject": subject.label}),
        relationship="Source",
    )
    return attachment, name


def render_casebook(subject: Subject, *, actor: Any, language: str | None = None) -> bytes:
    """The subject's casebook as PDF/A-3b bytes, its study data file embedded. Reads only;
    the caller records the export (``reports.pdf.record_export``). ``actor`` is named in
    the footer ("generated by")."""
    from reports.pdf import render_pdf, user_name

    language = language or translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        context = casebook_context(subject)
        context["generated_by"] = user_name(actor) if actor is not None else _("System")
        attachment, _name = _attachment(context["subject"])
        return render_pdf(
            TEMPLATE,
            {**context, "naive": False},
            language=language,
            attachments=[attachment],
            pdf_variant="pdf/a-3b",
        )


def casebook_filename(subject: Subject) -> str:
    return f"casebook-{subject.label}.pdf"


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- Speed: naive and optimised renders of the same casebook -------------------------------


def bench(subject: Subject, *, language: str = "en", rounds: int = 1) -> dict[str, float]:
    """Render the same casebook naively and as ``render_casebook`` does, in this process;
    return the seconds of each (the best of ``rounds``) and their pages. Issue 13, Speed: at
    least 2x faster.

    Naive, as a first ``HTML(string=...).write_pdf()`` would: every visit's values in one
    table spanning pages and the whole audit trail in another (pdf.css's automatic table
    layout), the stylesheet read and parsed and a new font configuration for the render,
    fonts embedded whole. Optimised (``render_casebook``): small per-form tables of two
    cells a row, the audit trail one line per entry, the stylesheet and fonts of the
    process (reports.pdf), fonts subset."""
    import io

    import pypdf
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from reports import pdf

    with translation.override(language):
        context = {**casebook_context(subject), "generated_by": "bench"}
        naive_context = {
            **casebook_context(subject, audit_rows=10**9),
            "generated_by": "bench",
            "naive": True,
        }
        pdf.warm_up()
        naive_times, fast_times = [], []
        pages = fast_pages = 0
        for _round in range(rounds):
            attachment, _name = _attachment(context["subject"])
            started = time.perf_counter()
            html = pdf.render_html(TEMPLATE, naive_context, language=language)
            path = pdf.static_root() / pdf.STYLESHEET
            sheet = CSS(
                string=path.read_text(encoding="utf-8"), base_url=pdf.static_root().as_uri() + "/"
            )
            document = HTML(string=html, base_url=pdf.static_root().as_uri() + "/").render(
                stylesheets=[sheet], font_config=FontConfiguration()
            )
            document.write_pdf(attachments=[attachment], pdf_variant="pdf/a-3b", full_fonts=True)
            naive_times.append(time.perf_counter() - started)
            pages = len(document.pages)
            attachment, _name = _attachment(context["subject"])  # an Attachment is read once
            started = time.perf_counter()
            content = pdf.render_pdf(
                TEMPLATE,
                {**context, "naive": False},
                language=language,
                attachments=[attachment],
                pdf_variant="pdf/a-3b",
            )
            fast_times.append(time.perf_counter() - started)
            fast_pages = len(pypdf.PdfReader(io.BytesIO(content)).pages)
    return {
        "naive": min(naive_times),
        "optimised": min(fast_times),
        "naive_pages": pages,
        "pages": fast_pages,
    }


# --- Registration --------------------------------------------------------------------------


def subject_actions(subject: Subject, user: Any) -> list[tuple[str, str]]:
    """The "Casebook (PDF)" link on the subject page, for whoever may read the subject."""
    from study.roles import perm

    if not getattr(user, "has_perm", None) or not user.has_perm(perm(VIEW)):
        return []
    url = reverse("reports:casebook", kwargs={"subject_pk": subject.pk})
    return [(str(CASEBOOK_LINK), url)]


CASEBOOK_LINK = gettext_lazy("Casebook (PDF)")


def connect() -> None:
    """Register this concern's hooks and navigation (called from ReportsConfig)."""
    registry.register_subject_actions(subject_actions)


# --- Web -----------------------------------------------------------------------------------


@subject_view(VIEW)
def casebook_pdf(request: HttpRequest, subject: Subject) -> HttpResponse:
    """The subject's casebook as a download: anyone who reads the subject's clinical data
    (site staff their own site, monitors and data managers their sites; another site's
    subject is a 404 by ``subject_view``). Every download is recorded in the export log."""
    from reports import pdf
    from reports.models import ExportKind

    language = getattr(request, "LANGUAGE_CODE", None)
    content = render_casebook(subject, actor=request.user, language=language)
    pdf.record_export(
        actor=request.user,
        kind=ExportKind.CASEBOOK,
        subject=subject,
        detail=f"language={language or settings.LANGUAGE_CODE}",
        content=content,
        source="web",
    )
    return pdf.pdf_response(content, casebook_filename(subject))
