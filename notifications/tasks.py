"""Reminder tasks: thin; the work is in notifications.services (idempotent)."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.db import OperationalError

from notifications import outbox, services

logger = logging.getLogger(__name__)

MAX_RETRIES = 8  # back-off 60 s, 120 s, ... capped at an hour: SMTP down for an hour loses nothing


@shared_task(
    bind=True,
    name="notifications.tasks.send_mail",
    autoretry_for=(OSError, smtplib.SMTPException, OperationalError),
    retry_backoff=60,
    retry_backoff_max=3600,
    retry_jitter=False,
    max_retries=MAX_RETRIES,
    acks_late=True,  # a worker killed mid-send: the broker delivers the task again
    reject_on_worker_lost=True,
)
def send_mail(self, outbox_name: str, pk: int) -> None:  # type: ignore[no-untyped-def]
    """Send one row of an outbox (notifications.outbox: safety mail, digests); a
    duplicate delivery sends nothing. Transient errors retry with exponential back-off;
    after the last retry the row is marked failed (the administrator's page shows it)."""
    try:
        outbox.send(outbox_name, pk)
    except Exception as error:
        transient = isinstance(error, (OSError, smtplib.SMTPException, OperationalError))
        if transient and self.request.retries < MAX_RETRIES:
            raise
        outbox.give_up(outbox_name, pk)
        logger.error("%s %s failed after %d attempts", outbox_name, pk, self.request.retries + 1)


@shared_task(name="notifications.tasks.send_digest")
def send_digest(digest_id: int) -> None:
    """Kept for tasks queued before the one outbox: sends through it."""
    send_mail.delay(services.OUTBOX, digest_id)


def queue_pending(digest_ids: list[int]) -> None:
    """Queue the sends once the surrounding transaction commits (a rollback sends none)."""
    for digest_id in digest_ids:
        outbox.queue(services.OUTBOX, digest_id)


@shared_task(name="notifications.tasks.collect_due_reminders")
def collect_due_reminders() -> None:
    """Beat, every 5 minutes: sites whose local 07:30 passed get their daily digests."""
    pending = services.collect_due()
    # Digests that failed once are Celery's to retry (with back-off), not the beat's.
    queue_pending([digest.pk for digest in pending if digest.attempts == 0])
    logger.info("reminders: %d digests pending", len(pending))
