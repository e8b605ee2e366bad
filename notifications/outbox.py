"""One outbox, one sending path: every mail the EDC sends (safety mail, reminder digests).

A mail is first a row of an outbox model (a notifications.models.OutgoingMail: the
adverse events' SafetyMail, the reminders' Digest) written in the transaction that decides
it, so a rolled-back transaction leaves no mail. ``queue`` hands it to the task
``notifications.tasks.send_mail`` once that transaction commits; ``send`` is the only
place that sends: it locks the row, sends only a row not yet sent, one message per
recipient language (each person's profile; the study's language for an address with no
account), and records recipients, subject line and time in the same transaction. A row
sent already sends nothing, so a task delivered twice, a worker killed mid-send and
restarted, or two beat processes send each mail once. An error is recorded on the row
(attempts, last error) and raised: the task retries with back-off.

Each outbox registers how its rows become messages (``register``, from its app's ready()).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notifications.models import OutgoingMail

logger = logging.getLogger(__name__)

ERROR_TEXT_LIMIT = 2000

Builder = Callable[[Any], list[EmailMultiAlternatives]]


@dataclass(frozen=True)
class Outbox:
    model: type[OutgoingMail]
    build: Builder  # the row's messages now (recipients, language, text and HTML)
    label: str  # how the log names its rows ("Safety mail initial:12:1")


_OUTBOXES: dict[str, Outbox] = {}


def register(name: str, model: type[OutgoingMail], build: Builder, *, label: str) -> None:
    _OUTBOXES[name] = Outbox(model, build, label)


def outbox(name: str) -> Outbox:
    return _OUTBOXES[name]


def queue(name: str, pk: int) -> None:
    """Send the row by a task once the surrounding transaction commits (a rollback: none).

    ``robust``: a broker that is down at commit loses only the task; the row stays
    unsent and the outbox's periodic scan sends it."""
    transaction.on_commit(lambda: _enqueue(name, pk), robust=True)


def _enqueue(name: str, pk: int) -> None:
    from notifications.tasks import send_mail

    send_mail.delay(name, pk)


def send(name: str, pk: int) -> Any:
    """Send the row ``pk`` of outbox ``name`` unless it was sent; return it (None: no row).

    Raises whatever building or sending raised, after recording it on the row."""
    box = outbox(name)
    try:
        with transaction.atomic():
            row = box.model.objects.select_for_update(of=("self",)).filter(pk=pk).first()  # type: ignore[attr-defined]
            if row is None:
                logger.warning("%s %s does not exist: nothing sent", box.label, pk)
                return None
            if row.sent_at is not None:
                logger.info("%s %s was sent already", box.label, row)
                return row
            messages = box.build(row)
            for n, message in enumerate(messages):
                # The same Message-ID on every attempt: should a mail leave and the worker die
                # before the commit, the copy sent again is one mail to the reader's client.
                message.extra_headers.setdefault("Message-ID", message_id(name, row.pk, n))
            addressed = [message for message in messages if message.to]
            if addressed:
                # one connection (one SMTP session) for every language's message
                get_connection().send_messages(addressed)
            else:
                logger.warning("%s %s has no recipients: recorded, not sent", box.label, row)
            row.mark_sent(
                recipients=[address for message in addressed for address in message.to],
                subject_line=str(messages[0].subject) if messages else "",
                at=timezone.now(),
            )
    except Exception as error:
        record_failure(name, pk, error)
        raise
    logger.info("%s %s sent to %s", box.label, row, row.recipients or "nobody")
    return row


def message_id(name: str, pk: int, n: int) -> str:
    """A Message-ID fixed for the row's ``n``-th message, in the sender's domain."""
    from study import protocol

    domain = str(settings.DEFAULT_FROM_EMAIL).rsplit("@", 1)[-1].strip(" >") or "edc.invalid"
    return f"<{protocol.STUDY_CODE.lower()}.{name}-{pk}-{n}@{domain}>"


def record_failure(name: str, pk: int, error: Exception, *, final: bool = False) -> None:
    """Count a failed attempt on the row with its error (shown where the outbox is shown);
    ``final``: no retry follows (the administrator's page shows it as failed)."""
    box = outbox(name)
    model = box.model
    text = " ".join(f"{type(error).__name__}: {error}".split())[:ERROR_TEXT_LIMIT]
    try:
        model.objects.filter(pk=pk, sent_at__isnull=True).update(  # type: ignore[attr-defined]
            attempts=F("attempts") + 1,
            last_attempt_at=timezone.now(),
            last_error=text,
            **model.failed_changes(final=final),
        )
    except Exception:  # the database itself is failing: the log is all there is
        logger.exception("%s %s: its failure could not be recorded", box.label, pk)
    logger.warning("%s %s not sent: %s", box.label, pk, text)


def give_up(name: str, pk: int) -> None:
    """No retry follows the failure just recorded: mark the row failed where its outbox
    keeps that (a digest shows as failed on the administrator's page)."""
    model = outbox(name).model
    changes = model.failed_changes(final=True)
    if changes:
        model.objects.filter(pk=pk, sent_at__isnull=True).update(**changes)  # type: ignore[attr-defined]


def study_language() -> str:
    return str(settings.LANGUAGE_CODE)


def by_language(addresses: list[str]) -> list[tuple[str, list[str]]]:
    """``addresses`` grouped by their owners' mail language (their notification
    preference), in the order first seen; an address with no active account or no
    preference gets the study's language. Each address once (case-insensitive)."""
    from notifications.models import Preference

    languages: dict[str, str] = {}
    for email, language in (
        Preference.objects.filter(user__is_active=True, user__email__in=addresses)
        .order_by("user_id")
        .values_list("user__email", "language")
    ):
        languages.setdefault(email.lower(), language)
    groups: dict[str, list[str]] = {}
    seen: set[str] = set()
    for address in addresses:
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        groups.setdefault(languages.get(address.lower(), study_language()), []).append(address)
    return list(groups.items())
