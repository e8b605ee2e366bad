"""Completed CRF PDFs (one form, or one visit's forms) and the blank annotated CRF.

Built from the registry alone (labels, units, code lists, groups: reports.pdf_context), so a
field added to a form appears in these PDFs with no PDF code. The machinery (WeasyPrint, the
parsed stylesheet, the export log) is reports/pdf.py.

URLs (reports/urls_pdf.py):
- /reports/subjects/<subject_pk>/forms/<form_code>/<record_pk>.pdf — one form;
- /reports/subjects/<subject_pk>/visits/<visit_code>.pdf — every form of one visit;
- /reports/blank-crf.pdf — the blank annotated CRF (also ``manage.py blank_crf -o FILE``).
Who: anyone who reads clinical data (VIEW: site staff their own sites, monitors and data
managers their sites, study-wide roles every site); another site's subject is a 404. Every
download is recorded in the export log (reports.models.ExportRecord).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from crf import registry
from crf.models import Visit
from crf.registry import FormSpec
from data_management.models import Signature
from reports import pdf
from reports.models import ExportKind
from reports.pdf_context import PdfForm, form_sections
from study import protocol
from study.models import Subject
from study.roles import VIEW, perm
from study.scoping import require_perm, subject_view

FORM_TEMPLATE = "reports/pdf/crf.html"
BLANK_TEMPLATE = "reports/pdf/blank_crf.html"


# --- Completed CRF ---------------------------------------------------------------------------


def _spec_or_404(form_code: str) -> FormSpec:
    try:
        return registry.get(form_code)
    except KeyError as exc:
        raise Http404 from exc


def visit_forms(subject: Subject, visit: Visit) -> list[tuple[FormSpec, Any]]:
    """The saved forms of one visit in the schedule's order (one query per form kind)."""
    found = []
    for spec in sorted(registry.forms_for_visit_kind(visit.kind), key=lambda s: s.order):
        for instance in (
            spec.model.objects.filter(subject=subject, visit=visit, is_deleted=False)
            .select_related("visit", "subject__site")
            .order_by("id")
        ):
            found.append((spec, instance))
    return found


def crf_context(
    subject: Subject,
    forms: list[tuple[FormSpec, Any]],
    *,
    visit: Visit | None,
    user: Any = None,
) -> dict[str, Any]:
    """What templates/reports/pdf/crf.html needs: the identification and each form."""
    signatures = list(Signature.objects.filter(subject_id=subject.pk))
    shown: list[PdfForm] = [form_sections(s, i, signatures=signatures) for s, i in forms]
    changed = [f.modified_at for f in shown if f.modified_at is not None]
    site = subject.site
    for f in shown:
        f.header_right = _header_right(f)
    return {
        "study_code": protocol.STUDY_CODE,
        "study_title": protocol.STUDY_TITLE,
        "protocol_version": protocol.PROTOCOL_VERSION,
        "subject": subject,
        "site": site,
        "site_time_zone": site.time_zone,
        "visit": visit,
        "forms": shown,
        "data_changed_at": max(changed) if changed else None,
        "generated_by": pdf.user_name(user) if user is not None else "",
        "pdf_title": _crf_title(subject, visit, shown),
        "pdf_header_left": _(
            "%(study)s · protocol %(version)s · site %(site)s · subject %(subject)s"
        )
        % {
            "study": protocol.STUDY_CODE,
            "version": protocol.PROTOCOL_VERSION,
            "site": site.number,
            "subject": subject.label,
        },
        "pdf_header_right": _header_right(shown[0]) if shown else (visit.code if visit else ""),
    }


def _header_right(f: PdfForm) -> str:
    visit = f"{_('Visit')} {f.visit_code} · " if f.visit_code else ""
    return f"{visit}{f.code} {f.title} · v{f.version}"


def _crf_title(subject: Subject, visit: Visit | None, shown: list[PdfForm]) -> str:
    if visit is not None and len(shown) != 1:
        return _("CRF of visit %(visit)s, subject %(subject)s") % {
            "visit": visit.code,
            "subject": subject.label,
        }
    title = shown[0].title if shown else ""
    return _("CRF %(form)s, subject %(subject)s") % {"form": title, "subject": subject.label}


def render_form_pdf(
    subject: Subject,
    spec: FormSpec,
    instance: Any,
    *,
    user: Any = None,
    request: Any = None,
    language: str | None = None,
) -> bytes:
    visit = instance.visit if instance.visit_id else None
    lang = pdf.resolve_language(request=request, language=language)
    with translation.override(lang):  # code labels and titles in the PDF's language
        context = crf_context(subject, [(spec, instance)], visit=visit, user=user)
        return pdf.render_pdf(FORM_TEMPLATE, context, request=request, language=lang)


def render_visit_pdf(
    subject: Subject,
    visit: Visit,
    *,
    user: Any = None,
    request: Any = None,
    language: str | None = None,
) -> bytes:
    lang = pdf.resolve_language(request=request, language=language)
    with translation.override(lang):
        context = crf_context(subject, visit_forms(subject, visit), visit=visit, user=user)
        return pdf.render_pdf(FORM_TEMPLATE, context, request=request, language=lang)


@subject_view(VIEW)
def form_pdf(
    request: HttpRequest, subject: Subject, form_code: str, record_pk: int
) -> HttpResponse:
    spec = _spec_or_404(form_code)
    instance = get_object_or_404(
        spec.model.objects.select_related("visit", "subject__site"),
        pk=record_pk,
        subject=subject,
        is_deleted=False,
    )
    content = render_form_pdf(subject, spec, instance, user=request.user, request=request)
    visit_code = instance.visit.code if instance.visit is not None else ""
    pdf.record_export(
        actor=request.user,
        kind=ExportKind.CRF_FORM,
        subject=subject,
        form_code=spec.code,
        visit_code=visit_code,
        detail=f"{spec.code} #{instance.pk} v{instance.version}",
        content=content,
    )
    name = "_".join(p for p in (subject.label, visit_code, spec.code, str(instance.pk)) if p)
    return pdf.pdf_response(content, f"CRF_{name}.pdf")


@subject_view(VIEW)
def visit_pdf(request: HttpRequest, subject: Subject, visit_code: str) -> HttpResponse:
    visit = get_object_or_404(Visit, subject=subject, code=visit_code)
    content = render_visit_pdf(subject, visit, user=request.user, request=request)
    pdf.record_export(
        actor=request.user,
        kind=ExportKind.CRF_VISIT,
        subject=subject,
        visit_code=visit.code,
        content=content,
    )
    return pdf.pdf_response(content, f"CRF_{subject.label}_{visit.code}.pdf")


# --- Blank annotated CRF ---------------------------------------------------------------------


@dataclass
class BlankField:
    label: str
    name: str
    type: str
    unit: str
    codes: list[tuple[str, str]]
    derived: bool
    required: bool
    multiline: bool


@dataclass
class BlankGroup:
    name: str
    title: str
    key: str
    fields: list[BlankField]


@dataclass
class BlankForm:
    code: str
    title: str
    visits: str
    fields: list[BlankField]
    groups: list[BlankGroup]


def variable_type(variable: registry.Variable) -> str:
    """The crf-spec type of a variable as the aCRF names it."""
    from django.db import models

    field = variable.field
    if variable.is_partial_date:
        return "partial date"
    if isinstance(field, models.DateTimeField):
        return "datetime"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(field, models.BooleanField):
        return "boolean"
    if isinstance(field, models.DecimalField):
        return f"decimal({field.max_digits},{field.decimal_places})"
    if isinstance(field, (models.IntegerField, models.PositiveSmallIntegerField)):
        return "integer"
    if isinstance(field, models.FloatField):
        return "float"
    if field.choices:
        return "code"
    if isinstance(field, models.CharField):
        return f"text({field.max_length})"
    return "text"


def _blank_field(variable: registry.Variable) -> BlankField:
    codes = [(str(code), str(label)) for code, label in (variable.field.flatchoices or [])]
    return BlankField(
        label=variable.label,
        name=variable.name,
        type=variable_type(variable),
        unit=str(variable.unit or ""),
        codes=codes,
        derived=variable.derived,
        required=variable.required,
        multiline=variable.is_multiline,
    )


def visits_of(spec: FormSpec) -> str:
    """The visits a form belongs to, in words (from the registry's visit kinds)."""
    if spec.is_log:
        return str(_("Log form (any time, not tied to a visit)"))
    from crf.models import VisitKind

    labels = dict(VisitKind.choices)
    return ", ".join(str(labels.get(kind, kind)) for kind in spec.visit_kinds)


def blank_forms() -> list[BlankForm]:
    """Every registered form, blank: its fields with crf-spec name, type, unit and code list."""
    forms = []
    for spec in sorted(registry.all_forms(), key=lambda s: (s.order, s.code)):
        grouped = {v.field_name for g in spec.groups for v in g.variables}
        forms.append(
            BlankForm(
                code=spec.code,
                title=str(spec.title),
                visits=visits_of(spec),
                fields=[_blank_field(v) for v in spec.variables if v.field_name not in grouped],
                groups=[
                    BlankGroup(
                        g.name,
                        str(g.title or g.name),
                        g.key,
                        [_blank_field(v) for v in g.variables],
                    )
                    for g in spec.groups
                ],
            )
        )
    return forms


def render_blank_crf(
    *, user: Any = None, request: Any = None, language: str | None = None
) -> bytes:
    lang = pdf.resolve_language(request=request, language=language)
    with translation.override(lang):
        context = _blank_context(user)
        return pdf.render_pdf(BLANK_TEMPLATE, context, request=request, language=lang)


def _blank_context(user: Any) -> dict[str, Any]:
    return {
        "study_code": protocol.STUDY_CODE,
        "study_title": protocol.STUDY_TITLE,
        "protocol_version": protocol.PROTOCOL_VERSION,
        "forms": blank_forms(),
        "generated_by": pdf.user_name(user) if user is not None else "",
        "pdf_title": _("Blank annotated CRF"),
        "pdf_header_left": _("%(study)s · protocol %(version)s · blank annotated CRF")
        % {"study": protocol.STUDY_CODE, "version": protocol.PROTOCOL_VERSION},
        "pdf_header_right": "",
    }


@require_perm(VIEW)
def blank_crf_pdf(request: HttpRequest) -> HttpResponse:
    content = render_blank_crf(user=request.user, request=request)
    pdf.record_export(actor=request.user, kind=ExportKind.BLANK_CRF, content=content)
    return pdf.pdf_response(content, f"{protocol.STUDY_CODE}_blank_annotated_CRF.pdf")


# --- Links on the form page and the subject page ---------------------------------------------


def form_panel(request: Any, spec: FormSpec, subject: Any, visit: Any, instance: Any) -> str:
    """A small link above a saved form: its PDF (and the visit's)."""
    if instance is None or not getattr(instance, "pk", None):
        return ""
    if not request.user.has_perm(perm(VIEW)):
        return ""
    urls = {
        "form_url": reverse(
            "reports:crf_form_pdf",
            kwargs={"subject_pk": subject.pk, "form_code": spec.code, "record_pk": instance.pk},
        ),
        "visit_url": reverse(
            "reports:crf_visit_pdf", kwargs={"subject_pk": subject.pk, "visit_code": visit.code}
        )
        if visit is not None
        else "",
        "visit": visit,
    }
    return render_to_string("reports/pdf/_form_link.html", urls, request=request)


def visits_with_data(subject: Any) -> list[Visit]:
    """The subject's visits held or holding a saved form, in order (one UNION + one query)."""
    queries = [
        spec.model.objects.filter(subject=subject, is_deleted=False, visit__isnull=False)
        .order_by()
        .values_list("visit_id", flat=True)
        for spec in registry.all_forms()
        if not spec.is_log
    ]
    with_forms = set(queries[0].union(*queries[1:])) if queries else set()
    return list(
        Visit.objects.filter(subject=subject)
        .filter(Q(pk__in=with_forms) | Q(held_on__isnull=False))
        .order_by("planned_date", "held_on", "id")
    )


def subject_panel(request: Any, subject: Any) -> str:
    """The subject page: a PDF per visit with data (kept with the page: forms and visits
    change only with an audited write)."""
    if not request.user.has_perm(perm(VIEW)):
        return ""
    visits = [
        (
            v,
            reverse(
                "reports:crf_visit_pdf", kwargs={"subject_pk": subject.pk, "visit_code": v.code}
            ),
        )
        for v in visits_with_data(subject)
    ]
    if not visits:
        return ""
    return render_to_string(
        "reports/pdf/_subject_panel.html",
        {"visits": visits, "blank_url": reverse("reports:blank_crf_pdf")},
        request=request,
    )


def connect() -> None:
    """Register this concern's hooks and navigation (called from ReportsConfig)."""
    registry.register_form_panel(form_panel, order=15)
    registry.register_subject_panel(subject_panel, order=90)
