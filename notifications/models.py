"""Notifications (one per recipient, kind, object and local date), digests and preferences."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    VISIT_WINDOW = "visit_window", _("Visit window opens soon")
    VISIT_DUE = "visit_due", _("Visit due today")
    VISIT_OVERDUE = "visit_overdue", _("Visit overdue")
    FORMS_MISSING = "forms_missing", _("Forms missing after a visit")
    QUERY_OLD = "query_old", _("Query open for more than 7 days")
    SAE_DUE = "sae_due", _("SAE report due")
    SDV_WAITING = "sdv_waiting", _("Forms awaiting source data verification")
    SIGNATURE_WAITING = "signature_waiting", _("Awaiting the PI's signature")
    MONITOR_DIGEST = "monitor_digest", _("Monitor weekly digest")
    COORDINATOR_DIGEST = "coordinator_digest", _("Coordinator weekly digest")


# Kinds whose mail a person may not switch off.
ALWAYS_MAILED = frozenset({Kind.SAE_DUE.value})


class Notification(models.Model):
    """One reminder item; its natural key makes every collection run idempotent."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    subject = models.ForeignKey(
        "study.Subject",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("subject"),
    )
    object_key = models.CharField(_("object"), max_length=100, help_text="e.g. visit:123")
    local_date = models.DateField(_("date"))
    # What the text says (subject ID, codes, days, counts): rendered in the reader's
    # language by notifications.texts; ``title`` keeps the text as first written.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("details"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-local_date", "kind", "id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "object_key", "local_date"],
                name="notification_natural_key",
            )
        ]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return f"{self.local_date} {self.kind} {self.object_key}"

    @property
    def text(self) -> str:
        """The line in the active language (the title as written, for a row with no
        parameters)."""
        if not self.params:
            return self.title
        from notifications import texts

        return texts.text(self.kind, self.params)


class OutgoingMail(models.Model):
    """A row of the one outbox (notifications.outbox): what every mail the EDC sends keeps.

    Concrete outboxes (adverse_events.SafetyMail, Digest) add what decides the mail;
    notifications.outbox.send is the one sending path for all of them.
    """

    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    recipients = models.TextField(_("recipients"), blank=True)
    subject_line = models.CharField(_("mail subject"), max_length=255, blank=True)
    attempts = models.PositiveIntegerField(_("attempts to send"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.TextField(
        _("last error"), blank=True, help_text=_("Why the last attempt failed; empty once sent.")
    )

    class Meta:
        abstract = True

    def mark_sent(self, *, recipients: list[str], subject_line: str, at: Any) -> None:
        """Record the mail as sent (inside the sending transaction, the row locked)."""
        self.recipients = ", ".join(recipients)
        self.subject_line = subject_line[:255]
        self.sent_at = self.last_attempt_at = at
        self.attempts += 1
        self.last_error = ""
        self.save(update_fields=self.sent_fields())

    def sent_fields(self) -> list[str]:
        return [
            "recipients",
            "subject_line",
            "sent_at",
            "attempts",
            "last_attempt_at",
            "last_error",
        ]

    @classmethod
    def failed_changes(cls, *, final: bool) -> dict[str, Any]:
        """Extra columns to set when an attempt fails (``final``: no retry follows)."""
        return {}


class DigestKind(models.TextChoices):
    DAILY = "daily", _("Daily digest")
    MONITOR_WEEKLY = "monitor_weekly", _("Monitor weekly digest")
    COORDINATOR_WEEKLY = "coordinator_weekly", _("Coordinator weekly digest")


class DigestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Digest(OutgoingMail):
    """One mail per recipient, kind and local date; sent once (notifications.outbox)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="digests",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=DigestKind.choices)
    local_date = models.DateField(_("date"))
    site = models.ForeignKey(
        "study.Site",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DigestStatus.choices, default=DigestStatus.PENDING
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-local_date", "recipient_id"]
        verbose_name = _("digest")
        verbose_name_plural = _("digests")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "local_date"], name="digest_natural_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_date} {self.kind} → {self.recipient_id}"

    def mark_sent(self, *, recipients: list[str], subject_line: str, at: Any) -> None:
        self.status = DigestStatus.SENT
        super().mark_sent(recipients=recipients, subject_line=subject_line, at=at)

    def sent_fields(self) -> list[str]:
        return [*super().sent_fields(), "status"]

    @classmethod
    def failed_changes(cls, *, final: bool) -> dict[str, Any]:
        return {"status": DigestStatus.FAILED} if final else {}


class Language(models.TextChoices):
    EN = "en", "English"
    ZH_HANS = "zh-hans", "简体中文"


def default_mail_kinds() -> list[str]:
    """Every kind is mailed until the person switches it off."""
    return [kind.value for kind in Kind]


class Preference(models.Model):
    """A person's mail language and which reminder kinds reach them by mail."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preference",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.EN
    )
    # The kinds mailed (a list of Kind values); SAE kinds are mailed whatever the list says.
    mail_kinds = models.JSONField(_("kinds mailed"), default=default_mail_kinds, blank=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}"

    def mails(self, kind: str) -> bool:
        """Whether items of ``kind`` go into this person's mail."""
        return kind in ALWAYS_MAILED or kind in (self.mail_kinds or [])
