"""Periodic housekeeping tasks."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="study.tasks.heartbeat")
def heartbeat() -> str:
    """A periodic beat: proves the worker and beat are alive (logged)."""
    logger.info("EDC heartbeat")
    return "ok"


@shared_task(name="study.tasks.ping", ignore_result=False)
def ping(value: str) -> str:
    """Echo a value; used to check that a worker picks up tasks."""
    return value
