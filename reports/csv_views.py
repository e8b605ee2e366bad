"""The CSV exports page and its downloads (perm EXPORT: monitors and data managers), each
scoped to the user's sites and recorded in the export log (reports.pdf.record_export)."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from crf import registry
from crf.models import VisitKind
from crf.registry import FormSpec, GroupSpec
from reports import csv_exports
from reports.models import ExportKind
from reports.pdf import record_export
from study import protocol
from study.roles import EXPORT
from study.scoping import membership_sites, require_perm, site_ids_for_user


def _spec(form_code: str) -> FormSpec:
    try:
        return registry.get(form_code)
    except KeyError:
        raise Http404 from None


def _group(spec: FormSpec, group_name: str) -> GroupSpec:
    try:
        return spec.group(group_name)
    except StopIteration:
        raise Http404 from None


def _scope(request: HttpRequest) -> str:
    """The sites an export covers, for the export log ("sites 01, 02" or "all sites")."""
    if site_ids_for_user(request.user) is None:
        return "all sites"
    return "sites " + ", ".join(site.number for site in membership_sites(request.user))


def _labels(request: HttpRequest) -> bool:
    return request.GET.get("labels") == "1"


def _stamp() -> str:
    return timezone.now().strftime("%Y%m%dT%H%M%SZ")


def _csv_response(content: bytes, filename: str) -> HttpResponse:
    return HttpResponse(
        content,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@require_perm(EXPORT)
@require_GET
def csv_index(request: HttpRequest) -> HttpResponse:
    """Every export: each form's and group's CSV (codes, labels), the dictionary, the ZIP and
    the study data file."""
    forms: list[dict[str, Any]] = []
    for spec in registry.all_forms():
        forms.append(
            {
                "spec": spec,
                "visits": ", ".join(str(VisitKind(kind).label) for kind in spec.visit_kinds),
                "groups": [
                    {"group": group, "title": group.title, "filename": f"{spec.code}_{group.name}"}
                    for group in spec.groups
                ],
            }
        )
    return render(request, "reports/csv/index.html", {"forms": forms})


@require_perm(EXPORT)
@require_GET
def form_csv(request: HttpRequest, form_code: str) -> HttpResponse:
    spec = _spec(form_code)
    labels = _labels(request)
    content = csv_exports.form_csv(spec, user=request.user, labels=labels)
    variant = "labels" if labels else "codes"
    record_export(
        actor=request.user,
        kind=ExportKind.CSV,
        form_code=spec.code,
        detail=f"{variant} · {_scope(request)}",
        content=content,
    )
    return _csv_response(content, f"{protocol.STUDY_CODE}-{spec.code}-{variant}-{_stamp()}.csv")


@require_perm(EXPORT)
@require_GET
def group_csv(request: HttpRequest, form_code: str, group_name: str) -> HttpResponse:
    spec = _spec(form_code)
    group = _group(spec, group_name)
    labels = _labels(request)
    content = csv_exports.group_csv(spec, group, user=request.user, labels=labels)
    variant = "labels" if labels else "codes"
    record_export(
        actor=request.user,
        kind=ExportKind.CSV,
        form_code=spec.code,
        detail=f"{group.name} {variant} · {_scope(request)}",
        content=content,
    )
    name = f"{protocol.STUDY_CODE}-{spec.code}_{group.name}-{variant}-{_stamp()}.csv"
    return _csv_response(content, name)


@require_perm(EXPORT)
@require_GET
def dictionary_csv(request: HttpRequest) -> HttpResponse:
    content = csv_exports.dictionary_csv()
    record_export(
        actor=request.user, kind=ExportKind.CSV, detail="data dictionary", content=content
    )
    return _csv_response(content, f"{protocol.STUDY_CODE}-data-dictionary.csv")


@require_perm(EXPORT)
@require_GET
def export_zip(request: HttpRequest) -> FileResponse:
    """Every CSV in both variants, the dictionary and the study data file, as one ZIP."""
    archive = csv_exports.zip_file(user=request.user)
    content = archive.read()  # hashed for the log (compressed: a fraction of the data)
    record_export(
        actor=request.user,
        kind=ExportKind.CSV_ZIP,
        detail=f"CSV ZIP · {_scope(request)}",
        content=content,
    )
    del content
    archive.seek(0)
    return FileResponse(
        archive,
        as_attachment=True,
        filename=f"{protocol.STUDY_CODE}-csv-export-{_stamp()}.zip",
        content_type="application/zip",
    )


@require_perm(EXPORT)
@require_GET
def study_data(request: HttpRequest) -> HttpResponse:
    """The study data file (crf.datafile) of the subjects this person may see."""
    content = csv_exports.study_data_bytes(user=request.user)
    record_export(
        actor=request.user,
        kind=ExportKind.STUDY_DATA,
        detail=f"JSON · {_scope(request)}",
        content=content,
    )
    response = HttpResponse(content, content_type="application/json; charset=utf-8")
    name = f"{protocol.STUDY_CODE}-study-data-{_stamp()}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
