"""What every case report form shares: visits, the abstract form, audit trail, findings."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crf import guard
from study.models import Subject

# crf-spec: dates marked *partial* may give only the year or the year and month.
PARTIAL_DATE_HELP = _("YYYY-MM-DD; YYYY-MM or YYYY when the day or month is not known.")


class VisitKind(models.TextChoices):
    """Visit families of crf-spec "Visits (events)"."""

    SCREENING = "SCR", _("Screening / baseline")
    CYCLE = "CYCLE", _("Cycle Day 1")
    TUMOUR_ASSESSMENT = "TA", _("Tumour assessment")
    END_OF_TREATMENT = "EOT", _("End of treatment")
    SAFETY_FOLLOW_UP = "SFU", _("30-day safety follow-up")
    SURVIVAL_FOLLOW_UP = "SURV", _("Survival follow-up")
    UNSCHEDULED = "UNS", _("Unscheduled")


class Visit(models.Model):
    """One visit (event) of a subject, e.g. SCR, C2D1, TA3, UNS1."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="visits")
    code = models.CharField(_("visit"), max_length=16)
    kind = models.CharField(_("kind"), max_length=8, choices=VisitKind.choices)
    number = models.PositiveSmallIntegerField(_("number"), default=0)
    planned_date = models.DateField(_("planned date"), null=True, blank=True)
    window_start = models.DateField(_("window opens"), null=True, blank=True)
    window_end = models.DateField(_("window closes"), null=True, blank=True)
    held_on = models.DateField(_("date held"), null=True, blank=True)
    missed = models.BooleanField(_("missed"), default=False)
    missed_reason = models.TextField(_("reason the visit was missed"), blank=True)
    not_applicable = models.BooleanField(_("not applicable"), default=False)

    class Meta:
        ordering = ["subject", "planned_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "code"], name="crf_visit_unique_code")
        ]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")

    def __str__(self) -> str:
        return self.code


class FormStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETE = "complete", _("Complete")


class ChangeReason(models.TextChoices):
    """The pick-list of reasons for changing data once a form has been complete."""

    TRANSCRIPTION_ERROR = "TRANSCRIPTION_ERROR", _("Transcription error")
    NEW_SOURCE_INFORMATION = "NEW_SOURCE_INFORMATION", _("New information in the source")
    QUERY_RESPONSE = "QUERY_RESPONSE", _("Correction in response to a query")
    ENTERED_IN_ERROR = "ENTERED_IN_ERROR", _("Entered in error")
    DATA_IMPORT = "DATA_IMPORT", _("Study data file import")
    DERIVATION = "DERIVATION", _("Derived value recomputed after its source data changed")
    OTHER = "OTHER", _("Other (explain)")


class AuditedQuerySet(models.QuerySet[Any]):
    """Bulk writes bypass the audit trail, so they are refused on clinical data."""

    def update(self, **kwargs: Any) -> int:
        raise guard.UnauditedWriteError("QuerySet.update() is refused on audited CRF data.")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise guard.UnauditedWriteError("bulk_update() is refused on audited CRF data.")

    def bulk_create(self, *args: Any, **kwargs: Any) -> list[Any]:
        """Only crf.services creates rows in bulk (audited in the same transaction)."""
        if not guard.writing():
            raise guard.UnauditedWriteError("bulk_create() is refused on audited CRF data.")
        return super().bulk_create(*args, **kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise guard.UnauditedWriteError("Clinical data is never hard-deleted.")

    def active(self) -> AuditedQuerySet:
        return self.filter(is_deleted=False)


class AuditedRow(models.Model):
    """Rows of clinical data: written only through crf.services, never hard-deleted."""

    is_deleted = models.BooleanField(_("deleted"), default=False)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        guard.check_write_allowed(self)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise guard.UnauditedWriteError("Clinical data is never hard-deleted.")


class CaseReportForm(AuditedRow):
    """The abstract base of every case report form (crf-spec "Forms").

    A concrete form declares ``VARIABLES`` (crf-spec variable name -> model field)
    and registers itself with ``crf.registry.register``.
    """

    VARIABLES: ClassVar[dict[str, str]] = {}
    subject_id: int
    visit_id: int | None

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=FormStatus.choices, default=FormStatus.NOT_STARTED
    )
    was_completed = models.BooleanField(
        _("has been complete"),
        default=False,
        help_text=_("Once complete, every change needs a reason."),
    )
    version = models.PositiveIntegerField(_("version"), default=0)
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    modified_at = models.DateTimeField(_("modified"))
    modified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    delete_reason = models.TextField(_("reason for deletion"), blank=True)

    class Meta:
        abstract = True


class RepeatingRow(AuditedRow):
    """The abstract base of a repeating group's row (IE answers, TL, NTL, NL).

    A concrete row declares ``VARIABLES`` and a foreign key named ``form`` to its
    parent form.
    """

    VARIABLES: ClassVar[dict[str, str]] = {}

    class Meta:
        abstract = True


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    DELETE = "delete", _("Deleted")
    STATUS = "status", _("Status changed")
    # Data management (data_management app): recorded in the subject's chain too.
    QUERY = "query", _("Query")
    VERIFY = "verify", _("Source data verification")
    SIGN = "sign", _("Signature")
    LOCK = "lock", _("Locked")
    UNLOCK = "unlock", _("Unlocked")


class AuditSource(models.TextChoices):
    WEB = "web", _("Data entry")
    IMPORT = "import", _("Study data file import")
    SERVICE = "service", _("System")


class AuditEntry(models.Model):
    """One field's change: append-only, hash-chained per subject.

    Rows are never updated or deleted: the model refuses it, and on PostgreSQL a
    trigger refuses UPDATE and DELETE (migration crf 0002). ``entry_hash`` covers
    the row and the previous row's hash of the same chain, so ``manage.py
    verify_audit`` finds any edit made behind the application's back.
    """

    chain = models.CharField(_("chain"), max_length=32, db_index=True)
    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    actor_username = models.CharField(_("user"), max_length=150)
    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries"
    )
    action = models.CharField(_("action"), max_length=8, choices=AuditAction.choices)
    form_code = models.CharField(_("form"), max_length=8)
    visit_code = models.CharField(_("visit"), max_length=16, blank=True)
    object_model = models.CharField(_("record type"), max_length=64)
    object_id = models.BigIntegerField(_("record"))
    group = models.CharField(_("group"), max_length=8, blank=True)
    row_key = models.CharField(_("row"), max_length=32, blank=True)
    variable = models.CharField(_("variable"), max_length=16, blank=True)
    old_value = models.TextField(_("old value"), null=True, blank=True)
    new_value = models.TextField(_("new value"), null=True, blank=True)
    reason_code = models.CharField(
        _("reason"), max_length=32, choices=ChangeReason.choices, blank=True
    )
    reason_text = models.TextField(_("reason, details"), blank=True)
    source = models.CharField(_("source"), max_length=8, choices=AuditSource.choices)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [models.Index(fields=["subject", "id"], name="crf_audit_subject_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.form_code}.{self.variable}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise guard.UnauditedWriteError("The audit trail is append-only.")
        guard.check_write_allowed(self)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise guard.UnauditedWriteError("The audit trail is append-only.")


class AuditChain(models.Model):
    """The head of each hash chain, locked while appending so chains never fork.

    A convenience, not evidence: verify_audit recomputes every chain from the
    entries themselves.
    """

    key = models.CharField(max_length=32, unique=True)
    head_hash = models.CharField(max_length=64)
    length = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key} ({self.length})"


class FindingStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved by a data change")


class CheckFinding(models.Model):
    """A soft edit check that fired on saved data (later raised as a query)."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="findings")
    form_code = models.CharField(_("form"), max_length=8)
    visit_code = models.CharField(_("visit"), max_length=16, blank=True)
    object_model = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    variable = models.CharField(_("variable"), max_length=16)
    check_code = models.CharField(_("check"), max_length=64)
    message = models.TextField(_("message"))
    status = models.CharField(
        _("status"), max_length=10, choices=FindingStatus.choices, default=FindingStatus.OPEN
    )
    created_at = models.DateTimeField(_("raised"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("edit-check finding")
        verbose_name_plural = _("edit-check findings")

    def __str__(self) -> str:
        return f"{self.form_code}.{self.variable}: {self.message}"


def visit_kind_for_code(code: str) -> tuple[str, int]:
    """The kind and number of a visit code (crf-spec "Visits"): C3D1 -> (CYCLE, 3).

    ValueError for a code that is none of SCR, CnD1, TAk, EOT, SFU, SURVm, UNSn.
    """
    import re

    fixed = {
        "SCR": VisitKind.SCREENING,
        "EOT": VisitKind.END_OF_TREATMENT,
        "SFU": VisitKind.SAFETY_FOLLOW_UP,
    }
    if code in fixed:
        return fixed[code].value, 0
    for pattern, kind in (
        (r"C([1-9]\d*)D1", VisitKind.CYCLE),
        (r"TA([1-9]\d*)", VisitKind.TUMOUR_ASSESSMENT),
        (r"SURV([1-9]\d*)", VisitKind.SURVIVAL_FOLLOW_UP),
        (r"UNS([1-9]\d*)", VisitKind.UNSCHEDULED),
    ):
        match = re.fullmatch(pattern, code)
        if match:
            return kind.value, int(match.group(1))
    raise ValueError(f"{code!r} is not a visit code")
