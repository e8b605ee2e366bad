"""Tasks of reports: thin, ids in, the work in reports.bulk."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from reports import bulk

logger = logging.getLogger(__name__)


@shared_task(
    name="reports.tasks.build_casebook",
    autoretry_for=(OperationalError,),  # the database busy or away for a moment
    retry_backoff=1,
    max_retries=5,
)
def build_casebook(item_id: int) -> None:
    """One casebook of a bulk job (the last item of its job to finish writes the ZIP); a
    casebook that fails to render is marked failed with its error by reports.bulk."""
    item = bulk.build_item(item_id)
    if item is None:
        logger.warning("build_casebook(%s): no such item (stale task)", item_id)
    else:
        logger.info("build_casebook(%s): %s %s", item_id, item.subject_id, item.status)


@shared_task(name="reports.tasks.expire_casebook_zips")
def expire_casebook_zips() -> None:
    """Beat, daily: remove casebook ZIPs and their files kept past 7 days."""
    removed = bulk.expire_old_exports()
    logger.info("casebook ZIPs removed: %d (jobs %s)", len(removed), removed)
