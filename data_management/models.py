"""Data management records: queries and their threads, source data verification,
signatures, locks, audit-trail anchors (protocol.md "Users and what they do"; 21 CFR Part 11
§11.10(e), §11.50, §11.70, §11.200; ICH E6(R3)).

None of these rows is ever deleted: a query closes, a verification is reset, a signature is
invalidated, a lock is lifted, each with who, when and why kept on the row (and an entry in
the subject's audit chain, crf.audit, with the actions of crf.models.AuditAction).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from study.models import Subject


class KeepForever(models.Model):
    """A row that is closed, reset or lifted, never deleted."""

    class Meta:
        abstract = True

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Data management records are never deleted.")


# --- Queries ------------------------------------------------------------------------------


class QueryStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class QueryOrigin(models.TextChoices):
    MANUAL = "manual", _("Raised by a person")
    AUTOMATIC = "automatic", _("Raised by an edit check")


class Query(KeepForever):
    """A question on a form, one of its values, or a repeating row (one lesion).

    Where: ``form_code`` + ``object_model``/``object_id`` (the form row), ``visit_code``;
    ``group`` and ``row_key`` for a row; ``variable`` (crf-spec name) for one value, blank
    for the whole form or row. An automatic query comes from a soft edit-check finding
    (``finding``), once, and closes itself when the data no longer trigger it.
    """

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="queries")
    form_code = models.CharField(_("form"), max_length=8)
    visit_code = models.CharField(_("visit"), max_length=16, blank=True)
    object_model = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    group = models.CharField(_("group"), max_length=8, blank=True)
    row_key = models.CharField(_("row"), max_length=32, blank=True)
    variable = models.CharField(_("variable"), max_length=16, blank=True)
    origin = models.CharField(
        _("origin"), max_length=10, choices=QueryOrigin.choices, default=QueryOrigin.MANUAL
    )
    check_code = models.CharField(_("check"), max_length=64, blank=True)
    finding = models.OneToOneField(
        "crf.CheckFinding",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="query",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN
    )
    text = models.TextField(_("query"))
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    raised_at = models.DateTimeField(_("raised"), db_index=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("query")
        verbose_name_plural = _("queries")
        indexes = [
            models.Index(fields=["subject", "status"], name="dm_query_subject_status"),
            models.Index(fields=["object_model", "object_id"], name="dm_query_object"),
            models.Index(fields=["status", "raised_at"], name="dm_query_status_raised"),
        ]

    def __str__(self) -> str:
        where = ".".join(p for p in (self.form_code, self.group, self.row_key, self.variable) if p)
        return f"{where}: {self.text[:40]}"


class QueryStep(models.TextChoices):
    RAISE = "raise", _("Raised")
    ANSWER = "answer", _("Answered")
    CLOSE = "close", _("Closed")
    REOPEN = "reopen", _("Re-opened")
    AUTO_CLOSE = "auto_close", _("Closed: the data no longer trigger the check")
    COMMENT = "comment", _("Comment")


class QueryMessage(KeepForever):
    """One step of a query's thread: who, when, what they wrote, the state it left."""

    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="messages")
    step = models.CharField(_("step"), max_length=12, choices=QueryStep.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )  # None: the system (an automatic query)
    at = models.DateTimeField(_("time"))
    text = models.TextField(_("text"), blank=True)
    status_after = models.CharField(_("status"), max_length=10, choices=QueryStatus.choices)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("query message")
        verbose_name_plural = _("query messages")

    def __str__(self) -> str:
        return f"{self.query_id} {self.step} {self.at:%Y-%m-%d %H:%M}"


# --- Source data verification -------------------------------------------------------------


class SourceVerification(KeepForever):
    """A monitor verified a form (``variable`` blank, ``group`` blank) or one value (a form
    variable, or ``group``/``row_key``/``variable`` of a repeating row) against the source.

    ``value`` is the audit text of the value verified. A later change of that value resets
    this verification only (``reset_at``, ``reset_by``, ``reset_note`` say when, by whom and
    why); the row is kept.
    """

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="verifications")
    form_code = models.CharField(_("form"), max_length=8)
    visit_code = models.CharField(_("visit"), max_length=16, blank=True)
    object_model = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    group = models.CharField(_("group"), max_length=8, blank=True)
    row_key = models.CharField(_("row"), max_length=32, blank=True)
    variable = models.CharField(_("variable"), max_length=16, blank=True)
    value = models.TextField(_("value verified"), null=True, blank=True)
    form_version = models.PositiveIntegerField(_("form version"), default=0)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(_("verified"))
    reset_at = models.DateTimeField(_("reset"), null=True, blank=True)
    reset_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reset_note = models.TextField(_("why reset"), blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("source data verification")
        verbose_name_plural = _("source data verifications")
        indexes = [
            models.Index(fields=["object_model", "object_id"], name="dm_sdv_object"),
            models.Index(fields=["subject", "reset_at"], name="dm_sdv_subject"),
        ]

    def __str__(self) -> str:
        where = ".".join(p for p in (self.form_code, self.group, self.row_key, self.variable) if p)
        return f"{where} verified {self.verified_at:%Y-%m-%d}"


# --- Signatures ---------------------------------------------------------------------------


class SignatureScope(models.TextChoices):
    VISIT = "visit", _("Visit")
    CASEBOOK = "casebook", _("Casebook")


class Signature(KeepForever):
    """A PI's electronic signature of a visit or a subject's casebook (21 CFR Part 11
    §11.50: printed name, date and time, meaning; §11.70: bound to the data signed by
    ``data_sha256``; §11.200: password re-entered). Invalidated, never deleted, when the
    signed data change."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="signatures")
    scope = models.CharField(_("what was signed"), max_length=10, choices=SignatureScope.choices)
    visit = models.ForeignKey(
        "crf.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(_("printed name"), max_length=300)
    signed_at = models.DateTimeField(_("signed (UTC)"))
    site_time_zone = models.CharField(_("site time zone"), max_length=64)
    meaning = models.TextField(_("meaning"))
    data_sha256 = models.CharField(_("SHA-256 of the data signed"), max_length=64)
    invalidated_at = models.DateTimeField(_("invalidated"), null=True, blank=True)
    invalidated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    invalidation_note = models.TextField(_("why invalidated"), blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        indexes = [models.Index(fields=["subject", "invalidated_at"], name="dm_sig_subject")]

    def __str__(self) -> str:
        return f"{self.printed_name} {self.scope} {self.signed_at:%Y-%m-%d %H:%M}"


# --- Locks --------------------------------------------------------------------------------


class LockLevel(models.TextChoices):
    FORM = "form", _("Form")
    VISIT = "visit", _("Visit")
    SUBJECT = "subject", _("Subject")
    STUDY = "study", _("Study")


class Lock(KeepForever):
    """A data manager's lock: while ``unlocked_at`` is empty nothing it covers can change,
    by any path. Form: ``object_model``/``object_id``; visit: ``visit``; subject:
    ``subject``; study: none of them."""

    level = models.CharField(_("level"), max_length=8, choices=LockLevel.choices)
    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, null=True, blank=True, related_name="locks"
    )
    visit = models.ForeignKey(
        "crf.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    form_code = models.CharField(_("form"), max_length=8, blank=True)
    object_model = models.CharField(max_length=64, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(_("reason for locking"))
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    locked_at = models.DateTimeField(_("locked"))
    unlocked_at = models.DateTimeField(_("unlocked"), null=True, blank=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    unlock_reason = models.TextField(_("reason for unlocking"), blank=True)

    class Meta:
        ordering = ["-locked_at", "-id"]
        verbose_name = _("lock")
        verbose_name_plural = _("locks")
        indexes = [models.Index(fields=["unlocked_at", "level"], name="dm_lock_active")]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.locked_at:%Y-%m-%d}"


# --- The audit trail's anchors and checks -------------------------------------------------


class AuditCheck(KeepForever):
    """One run of verify_audit: when, by whom, what it found (shown to data managers)."""

    at = models.DateTimeField(_("checked"))
    actor_username = models.CharField(_("run by"), max_length=150, blank=True)
    intact = models.BooleanField(_("intact"))
    chains = models.PositiveIntegerField(_("chains"), default=0)
    entries = models.PositiveBigIntegerField(_("entries"), default=0)
    anchor_at = models.DateTimeField(_("latest anchor"), null=True, blank=True)
    problems = models.TextField(_("problems found"), blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit trail check")
        verbose_name_plural = _("audit trail checks")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {'intact' if self.intact else 'broken'}"
