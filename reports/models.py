"""Exports: who exported what and when (every PDF and CSV export is recorded), and the bulk
casebook jobs built by Celery (one task per casebook) with their progress."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from study.models import Site, Subject


class ExportKind(models.TextChoices):
    CRF_FORM = "crf_form", _("Completed CRF: one form")
    CRF_VISIT = "crf_visit", _("Completed CRF: one visit")
    CASEBOOK = "casebook", _("Subject casebook")
    BLANK_CRF = "blank_crf", _("Blank annotated CRF")
    SITE_ZIP = "site_zip", _("Casebooks of a site (ZIP)")
    CSV_ZIP = "csv_zip", _("CSV exports (ZIP)")
    CSV = "csv", _("CSV export")
    STUDY_DATA = "study_data", _("Study data file")


class ExportRecord(models.Model):
    """One export, kept forever (append-only): who exported what, when, and the file's hash."""

    at = models.DateTimeField(_("exported"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_username = models.CharField(_("user"), max_length=150)
    kind = models.CharField(_("export"), max_length=16, choices=ExportKind.choices)
    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    form_code = models.CharField(_("form"), max_length=8, blank=True)
    visit_code = models.CharField(_("visit"), max_length=16, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, blank=True)
    source = models.CharField(_("source"), max_length=16, default="web")  # web, command, task

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("The export log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("The export log is append-only.")


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Removed (kept 7 days)")


class ExportJob(models.Model):
    """A bulk export (the casebooks of a site, or of every assigned site) built by Celery
    tasks in parallel; ``items`` are its casebooks. The ZIP is kept for a while, then removed
    by a periodic task (the row stays, status EXPIRED)."""

    kind = models.CharField(_("export"), max_length=16, choices=ExportKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("started"))
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )  # None: every site the user may read
    language = models.CharField(_("language"), max_length=16, default="en")
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING
    )
    zip_path = models.CharField(max_length=500, blank=True)
    zip_sha256 = models.CharField(max_length=64, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("kept until"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M} {self.status}"


class ExportJobItem(models.Model):
    """One casebook of a bulk job: its own task, state, error and file."""

    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="items")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING
    )
    error = models.TextField(_("error"), blank=True)
    file_path = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "subject"], name="reports_item_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.subject_id} {self.status}"
