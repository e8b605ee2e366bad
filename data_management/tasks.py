"""Periodic tasks of data management (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging

from celery import shared_task

from data_management import anchors

logger = logging.getLogger(__name__)


@shared_task(name="data_management.tasks.write_daily_anchor")
def write_daily_anchor() -> str:
    """Sign the audit trail's chain heads and write them outside the database (the anchor
    log, mailed to the data managers); a second run the same day only adds another anchor."""
    path = anchors.write_anchor(why="daily")
    logger.info("Audit anchor written to %s", path)
    return str(path)


@shared_task(name="data_management.tasks.check_audit_trail")
def check_audit_trail(actor_id: int | None = None) -> bool:
    """Run verify_audit's check (chains and the latest anchor) and keep its result, as the
    person who asked for it (a data manager's button, for a trail too long to check within
    the request)."""
    from django.contrib.auth import get_user_model

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    check = anchors.record_audit_check(actor=actor)
    logger.info("Audit trail check: %s", "intact" if check.intact else "PROBLEMS")
    return bool(check.intact)
