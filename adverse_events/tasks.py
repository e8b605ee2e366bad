"""Safety mail tasks: thin, ids in, the work in adverse_events.sae (idempotent)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from adverse_events import sae

logger = logging.getLogger(__name__)


@shared_task(name="adverse_events.tasks.send_safety_mail")
def send_safety_mail(mail_id: int) -> None:
    """Send one SAE mail (queued on commit of the AE save); a duplicate delivery sends nothing.

    A mail that cannot be sent, whatever the error, has it recorded on its row by
    adverse_events.sae and stays unsent: the deadline scan tries it again.
    """
    try:
        mail = sae.send_safety_mail(mail_id=mail_id)
    except Exception:
        logger.exception("send_safety_mail(%s): not sent; the deadline scan tries again", mail_id)
        return
    if mail is None:
        logger.warning("send_safety_mail(%s): no such mail (stale task)", mail_id)
    else:
        logger.info("send_safety_mail(%s): %s sent at %s", mail_id, mail.key, mail.sent_at)


@shared_task(name="adverse_events.tasks.scan_sae_deadlines")
def scan_sae_deadlines() -> None:
    """Beat, every SAE_DEADLINE_SCAN_SECONDS: escalate overdue SAE reports, resend lost or
    failed mail, oldest first; one mail that fails never stops the others."""
    now = timezone.now()
    escalated = sae.escalate_overdue_reports(now=now)
    pending = sae.send_pending_mails(now=now)
    failed = [mail for mail in [*escalated, *pending] if mail.sent_at is None]
    logger.info(
        "SAE deadline scan: %d escalated, %d pending mail tried, %d not sent",
        len(escalated),
        len(pending),
        len(failed),
    )
