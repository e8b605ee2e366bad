"""Reports: site casebook ZIPs built by Celery, one task per casebook, with their progress.

``start_site_export`` makes an ExportJob with one ExportJobItem per enrolled subject of the
scope (a site, or every site the person may read) and queues one ``build_casebook`` task per
item (a Celery group). Each item task renders its casebook, writes it under
``VAR_DIR/exports/<job>/`` and marks the item done or failed (with its error; a failure never
stops the others). The item that finishes last writes the ZIP: every item marks itself inside a
``select_for_update`` of its job and counts done + failed, so exactly one of them sees the total
and collects. That needs no chord (no result backend), so it works on every broker: the
file-system broker of ``make run`` and Redis. A failed item can be retried: its task is queued
again and the ZIP is written again when it finishes. ZIPs and casebook files older than
``KEEP_DAYS`` are removed by a periodic task (reports.tasks.expire_casebook_zips); the job's row
stays (status EXPIRED).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
import zipfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports.models import ExportJob, ExportJobItem, ExportKind, JobStatus
from study import protocol
from study.models import Role, Site, Subject
from study.navigation import NavItem, register
from study.roles import ENTER, EXPORT, perm
from study.scoping import membership_of, site_ids_for_user, sites_for_user

logger = logging.getLogger(__name__)

KEEP_DAYS = 7
FINISHED = (JobStatus.DONE, JobStatus.FAILED)


# --- Who may, and what ---------------------------------------------------------------------------


def may_export_casebooks(user: Any) -> bool:
    """Monitors and data managers (export permission) and site staff (who enter data: they
    print their own site's casebooks); scoping decides which sites."""
    return bool(user.has_perm(perm(EXPORT)) or user.has_perm(perm(ENTER)))


def export_sites(user: Any) -> list[Site]:
    """The sites whose casebooks ``user`` may export, by number."""
    if not may_export_casebooks(user):
        return []
    return list(sites_for_user(user).order_by("number"))


def subjects_in_scope(user: Any, site: Site | None) -> list[Subject]:
    """Enrolled subjects (those with a subject ID) of ``site`` or of every site of ``user``."""
    subjects = Subject.objects.for_user(user).filter(subject_id__isnull=False)
    if site is not None:
        subjects = subjects.filter(site=site)
    return list(subjects.select_related("site").order_by("site__number", "subject_id"))


def jobs_for(user: Any) -> Any:
    """The jobs ``user`` may open: their own; every job for a data manager (study-wide)."""
    jobs = ExportJob.objects.filter(kind=ExportKind.SITE_ZIP).select_related("site", "created_by")
    if sees_every_job(user):
        return jobs
    return jobs.filter(created_by=user)


def sees_every_job(user: Any) -> bool:
    membership = membership_of(user)
    return membership is not None and membership.role == Role.DATA_MANAGER


# --- Files ---------------------------------------------------------------------------------------


def exports_dir() -> Path:
    return Path(settings.VAR_DIR) / "exports"


def job_dir(job: ExportJob) -> Path:
    return exports_dir() / str(job.pk)


def zip_name(job: ExportJob) -> str:
    scope = f"site-{job.site.number}" if job.site is not None else "all-sites"
    return f"{protocol.STUDY_CODE}-casebooks-{scope}-job{job.pk}.zip"


def _member_name(subject: Subject, job: ExportJob) -> str:
    name = f"{_safe(subject.label)}.pdf"
    return name if job.site is not None else f"site-{_safe(subject.site.number)}/{name}"


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "_"


# --- Services ------------------------------------------------------------------------------------


def start_site_export(actor: Any, site: Site | None, language: str = "en") -> ExportJob:
    """A job for the casebooks of ``site`` (None: every site of ``actor``); its item tasks are
    queued when the transaction commits."""
    if not may_export_casebooks(actor):
        raise ValidationError(_("You may not export casebooks."))
    if site is not None:
        allowed = site_ids_for_user(actor)
        if allowed is not None and site.pk not in allowed:
            raise ValidationError(_("You may not export the casebooks of this site."))
    subjects = subjects_in_scope(actor, site)
    if not subjects:
        raise ValidationError(_("No enrolled subject: there is no casebook to export."))
    with transaction.atomic():
        job = ExportJob.objects.create(
            kind=ExportKind.SITE_ZIP,
            created_by=actor,
            created_at=timezone.now(),
            site=site,
            language=language or "en",
            status=JobStatus.RUNNING,
        )
        items = ExportJobItem.objects.bulk_create(
            ExportJobItem(job=job, subject=subject) for subject in subjects
        )
        item_ids = [item.pk for item in items]
        transaction.on_commit(lambda: _queue(item_ids))
    return job


def _queue(item_ids: list[int]) -> None:
    from celery import group

    from reports.tasks import build_casebook

    group(build_casebook.si(item_id) for item_id in item_ids).apply_async()


def retry_item(actor: Any, item: ExportJobItem) -> ExportJobItem:
    """Queue a failed casebook again; the ZIP is written again when it finishes."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=item.job_id)
        item = ExportJobItem.objects.get(pk=item.pk)
        if item.status != JobStatus.FAILED:
            raise ValidationError(_("Only a failed casebook can be retried."))
        if job.status == JobStatus.EXPIRED:
            raise ValidationError(_("This export has been removed; start a new one."))
        item.status = JobStatus.PENDING
        item.error = ""
        item.save(update_fields=["status", "error"])
        job.status = JobStatus.RUNNING
        job.error = ""
        job.save(update_fields=["status", "error"])
        item_id = item.pk
        transaction.on_commit(lambda: _queue([item_id]))
    logger.info("casebook %s of job %s retried by %s", item.subject_id, job.pk, actor)
    return item


def render_casebook_pdf(subject: Subject, *, actor: Any, language: str) -> bytes:
    """The subject casebook (reports.casebook), imported here so this module loads first."""
    from reports.casebook import render_casebook

    pdf: bytes = render_casebook(subject, actor=actor, language=language)
    return pdf


def _record_export(**kwargs: Any) -> None:
    from reports.pdf import record_export

    record_export(**kwargs)


def build_item(item_id: int) -> ExportJobItem | None:
    """The work of one item task: render, write, mark; the last item to finish collects."""
    item = (
        ExportJobItem.objects.select_related("job__created_by", "job__site", "subject__site")
        .filter(pk=item_id)
        .first()
    )
    if item is None or item.status == JobStatus.DONE or item.job.status == JobStatus.EXPIRED:
        return item  # stale or duplicate delivery
    job = item.job
    ExportJobItem.objects.filter(pk=item.pk).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), attempts=item.attempts + 1
    )
    status, error, path = JobStatus.DONE, "", ""
    try:
        with translation.override(job.language):
            pdf = render_casebook_pdf(item.subject, actor=job.created_by, language=job.language)
        target = job_dir(job) / "casebooks" / _member_name(item.subject, job)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(pdf)
        path = str(target)
    except Exception as exc:  # one casebook that fails never stops the others
        logger.exception("casebook of %s (job %s) failed", item.subject, job.pk)
        status, error = JobStatus.FAILED, _error_text(exc)
    with transaction.atomic():
        locked = ExportJob.objects.select_for_update().get(pk=job.pk)
        ExportJobItem.objects.filter(pk=item.pk).update(
            status=status, error=error, file_path=path, finished_at=timezone.now()
        )
        counts = _counts(locked)
        if counts["finished"] == counts["total"] and locked.status != JobStatus.EXPIRED:
            try:
                collect(locked)
            except OSError as exc:  # a full disk: the job says so, the items keep their files
                logger.exception("ZIP of job %s not written", job.pk)
                ExportJob.objects.filter(pk=job.pk).update(
                    status=JobStatus.FAILED,
                    error=_("The ZIP could not be written: %(error)s")
                    % {"error": _error_text(exc)},
                )
    item.refresh_from_db()
    return item


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _counts(job: ExportJob) -> dict[str, int]:
    rows = dict(
        ExportJobItem.objects.filter(job=job)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    done, failed = rows.get(JobStatus.DONE, 0), rows.get(JobStatus.FAILED, 0)
    return {
        "total": sum(rows.values()),
        "done": done,
        "failed": failed,
        "finished": done + failed,
    }


def collect(job: ExportJob) -> ExportJob:
    """Write the ZIP of the casebooks done (call with the job locked, every item finished)."""
    items = list(
        ExportJobItem.objects.filter(job=job, status=JobStatus.DONE)
        .select_related("subject__site")
        .order_by("subject__site__number", "subject__subject_id")
    )
    failed = ExportJobItem.objects.filter(job=job, status=JobStatus.FAILED).count()
    folder = job_dir(job)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / zip_name(job)
    partial = target.with_suffix(".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in items:
            archive.write(item.file_path, arcname=_member_name(item.subject, job))
    partial.replace(target)
    content = target.read_bytes()
    now = timezone.now()
    job.zip_path = str(target)
    job.zip_sha256 = hashlib.sha256(content).hexdigest()
    job.finished_at = now
    job.expires_at = now + dt.timedelta(days=KEEP_DAYS)
    job.status = JobStatus.FAILED if failed else JobStatus.DONE
    job.error = (
        _("%(failed)d of %(total)d casebooks failed; the ZIP holds the others.")
        % {"failed": failed, "total": failed + len(items)}
        if failed
        else ""
    )
    job.save(
        update_fields=["zip_path", "zip_sha256", "finished_at", "expires_at", "status", "error"]
    )
    _record_export(
        actor=job.created_by,
        kind=ExportKind.SITE_ZIP,
        site=job.site,
        detail=_zip_detail(job, items, failed),
        content=content,
        source="task",
    )
    return job


def _zip_detail(job: ExportJob, items: list[ExportJobItem], failed: int) -> str:
    scope = job.site.number if job.site is not None else "all sites"
    subjects = ", ".join(item.subject.label for item in items)
    return f"job {job.pk} ({scope}): {len(items)} casebooks ({subjects}); {failed} failed"


def record_download(actor: Any, job: ExportJob) -> None:
    """A download of the ZIP is an export too (who, when, the file's hash)."""
    _record_export(
        actor=actor,
        kind=ExportKind.SITE_ZIP,
        site=job.site,
        detail=f"job {job.pk}: ZIP downloaded",
        content=Path(job.zip_path).read_bytes(),
        source="web",
    )


def expire_old_exports(now: dt.datetime | None = None) -> list[int]:
    """Remove the ZIPs and casebook files kept past their time (also of jobs that never
    finished, KEEP_DAYS after they started); the rows stay, EXPIRED. Returns the job ids."""
    now = now or timezone.now()
    stale = ExportJob.objects.exclude(status=JobStatus.EXPIRED).filter(
        Q(expires_at__lte=now)
        | Q(expires_at__isnull=True, created_at__lte=now - dt.timedelta(days=KEEP_DAYS))
    )
    removed = []
    for job in stale:
        shutil.rmtree(job_dir(job), ignore_errors=True)
        ExportJobItem.objects.filter(job=job).update(file_path="")
        ExportJob.objects.filter(pk=job.pk).update(status=JobStatus.EXPIRED, zip_path="")
        removed.append(job.pk)
    return removed


# --- What the pages show -------------------------------------------------------------------------


def progress(job: ExportJob) -> dict[str, Any]:
    """Casebooks done / total, the failed ones with their error, and whether it is finished."""
    counts = _counts(job)
    total = counts["total"]
    percent = round(100 * counts["finished"] / total) if total else 100
    failed = list(
        ExportJobItem.objects.filter(job=job, status=JobStatus.FAILED)
        .select_related("subject")
        .order_by("subject__subject_id")
    )
    return {
        **counts,
        "percent": percent,
        "is_finished": job.status in (*FINISHED, JobStatus.EXPIRED),
        "has_zip": bool(job.zip_path) and job.status in FINISHED,
        "failed_items": failed,
    }


def home_panel(request: Any) -> str:
    """Site staff (no menu entry: the menu names monitors' and data managers' exports) reach
    their site's casebook ZIPs from their home page."""
    from django.template.loader import render_to_string

    user = request.user
    if user.has_perm(perm(EXPORT)) or not user.has_perm(perm(ENTER)):
        return ""
    return render_to_string("reports/bulk/_home_panel.html", request=request)


def connect() -> None:
    """Register this concern's navigation and home panel (called from ReportsConfig)."""
    from study import home_panels

    home_panels.register(home_panel, order=60)
    register(
        NavItem(
            label=gettext_lazy("Casebooks (ZIP)"),
            url_name="reports:casebooks",
            permission=EXPORT,
            order=60,
        )
    )
