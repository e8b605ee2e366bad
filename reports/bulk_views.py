"""Pages of site casebook ZIPs: start a job, watch its progress bar (htmx polling a fragment),
retry a failed casebook, download the ZIP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from data_management.query_selectors import local_text, zone_of
from reports import bulk
from reports.models import ExportJob, ExportJobItem
from study.roles import VIEW
from study.scoping import membership_sites, require_perm

RECENT_JOBS = 20


def _exporter(request: HttpRequest) -> None:
    if not bulk.may_export_casebooks(request.user):
        raise PermissionDenied


def _zone(request: HttpRequest, job: ExportJob | None = None) -> Any:
    if job is not None and job.site is not None:
        return zone_of(job.site.time_zone)
    sites = membership_sites(request.user)
    return zone_of(sites[0].time_zone if sites else settings.EDC_DEFAULT_SITE_TIME_ZONE)


def _job(request: HttpRequest, job_pk: int) -> ExportJob:
    """The job, or 404 when it is not the user's (data managers see every job)."""
    _exporter(request)
    job: ExportJob = get_object_or_404(bulk.jobs_for(request.user), pk=job_pk)
    return job


def _job_row(job: ExportJob, zone: Any) -> dict[str, Any]:
    return {
        "job": job,
        "scope": job.site.number if job.site is not None else "",
        "started": local_text(job.created_at, zone),
        "finished": local_text(job.finished_at, zone),
        "kept_until": local_text(job.expires_at, zone),
    }


@require_perm(VIEW)
def start_page(request: HttpRequest) -> HttpResponse:
    """Pick a site (or every assigned site) and start; the recent jobs below."""
    _exporter(request)
    sites = bulk.export_sites(request.user)
    if request.method == "POST":
        choice = request.POST.get("site", "")
        site = next((s for s in sites if str(s.pk) == choice), None)
        if choice != "all" and site is None:
            messages.error(request, _("Pick a site, or all your sites."))
        else:
            try:
                job = bulk.start_site_export(request.user, site, language=get_language() or "en")
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                return redirect("reports:casebooks_job", job_pk=job.pk)
    zone = _zone(request)
    jobs = [_job_row(job, zone) for job in bulk.jobs_for(request.user)[:RECENT_JOBS]]
    return render(
        request,
        "reports/bulk/start.html",
        {"sites": sites, "jobs": jobs, "keep_days": bulk.KEEP_DAYS},
    )


def _progress_context(request: HttpRequest, job: ExportJob) -> dict[str, Any]:
    return {
        "job": job,
        "row": _job_row(job, _zone(request, job)),
        "p": bulk.progress(job),
        "may_retry": job.created_by_id == request.user.pk or bulk.sees_every_job(request.user),
    }


@require_perm(VIEW)
def job_page(request: HttpRequest, job_pk: int) -> HttpResponse:
    job = _job(request, job_pk)
    return render(request, "reports/bulk/job.html", _progress_context(request, job))


@require_perm(VIEW)
def job_progress(request: HttpRequest, job_pk: int) -> HttpResponse:
    """The fragment the job page polls: it carries the poll trigger until the job finishes."""
    job = _job(request, job_pk)
    return render(request, "reports/bulk/_progress.html", _progress_context(request, job))


@require_perm(VIEW)
def job_download(request: HttpRequest, job_pk: int) -> FileResponse:
    job = _job(request, job_pk)
    if job.status not in bulk.FINISHED or not job.zip_path or not Path(job.zip_path).exists():
        raise Http404
    bulk.record_download(request.user, job)
    return FileResponse(
        Path(job.zip_path).open("rb"),
        as_attachment=True,
        filename=bulk.zip_name(job),
        content_type="application/zip",
    )


@require_POST
@require_perm(VIEW)
def retry(request: HttpRequest, job_pk: int, item_pk: int) -> HttpResponse:
    job = _job(request, job_pk)
    item = get_object_or_404(ExportJobItem.objects.select_related("subject"), pk=item_pk, job=job)
    try:
        bulk.retry_item(request.user, item)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("The casebook of %(subject)s is queued again.") % {"subject": item.subject}
        )
    return redirect("reports:casebooks_job", job_pk=job.pk)
