"""Reminder tasks: thin; the work is in notifications.services (idempotent)."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.db import OperationalError, transaction

from notifications import services

logger = logging.getLogger(__name__)

MAX_RETRIES = 8  # back-off 60 s, 120 s, ... capped at an hour: SMTP down for an hour loses nothing


class DigestNotSent(Exception):
    pass


@shared_task(
    bind=True,
    name="notifications.tasks.send_digest",
    autoretry_for=(OSError, smtplib.SMTPException, OperationalError),
    retry_backoff=60,
    retry_backoff_max=3600,
    retry_jitter=False,
    max_retries=MAX_RETRIES,
    acks_late=True,  # a worker killed mid-send: the broker delivers the task again
    reject_on_worker_lost=True,
)
def send_digest(self, digest_id: int) -> None:  # type: ignore[no-untyped-def]
    """Send one digest; a duplicate delivery sends nothing (services.send_digest locks it)."""
    try:
        services.send_digest(digest_id)
    except Exception as error:
        if self.request.retries >= MAX_RETRIES:
            services.record_failure(digest_id, error, final=True)
            logger.error("digest %s failed after %d retries", digest_id, MAX_RETRIES)
            return
        raise


def queue_pending(digest_ids: list[int]) -> None:
    """Queue the sends once the surrounding transaction commits (a rollback sends none)."""
    for digest_id in digest_ids:
        transaction.on_commit(lambda pk=digest_id: send_digest.delay(pk))  # type: ignore[misc]


@shared_task(name="notifications.tasks.collect_due_reminders")
def collect_due_reminders() -> None:
    """Beat, every 5 minutes: sites whose local 07:30 passed get their daily digests."""
    pending = services.collect_due()
    # Digests that failed once are Celery's to retry (with back-off), not the beat's.
    queue_pending([digest.pk for digest in pending if digest.attempts == 0])
    logger.info("reminders: %d digests pending", len(pending))
