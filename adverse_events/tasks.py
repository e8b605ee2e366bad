"""Safety mail tasks: thin, ids in, the work in adverse_events.sae (idempotent)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from adverse_events import sae

logger = logging.getLogger(__name__)


@shared_task(name="adverse_events.tasks.send_safety_mail")
def send_safety_mail(mail_id: int) -> None:
    """Send one SAE mail (queued on commit of the AE save); a duplicate delivery sends nothing."""
    mail = sae.send_safety_mail(mail_id=mail_id)
    if mail is None:
        logger.warning("send_safety_mail(%s): no such mail (stale task)", mail_id)
    else:
        logger.info("send_safety_mail(%s): %s sent at %s", mail_id, mail.key, mail.sent_at)


@shared_task(name="adverse_events.tasks.scan_sae_deadlines")
def scan_sae_deadlines() -> None:
    """Beat, every SAE_DEADLINE_SCAN_SECONDS: escalate overdue SAE reports, resend lost mail."""
    now = timezone.now()
    escalated = sae.escalate_overdue_reports(now=now)
    resent = sae.send_pending_mails(now=now)
    logger.info(
        "SAE deadline scan: %d escalated, %d pending mail sent", len(escalated), len(resent)
    )
