"""Periodic housekeeping of the CRF machinery (scheduled in CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging

from celery import shared_task

from crf.import_previews import remove_stale_previews

logger = logging.getLogger(__name__)


@shared_task(name="crf.tasks.remove_stale_import_previews")
def remove_stale_import_previews() -> int:
    """Remove study data file previews nobody confirmed within a day; idempotent."""
    removed = remove_stale_previews()
    logger.info("Import previews removed: %d", len(removed))
    return len(removed)
