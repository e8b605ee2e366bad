"""A real Celery worker sends the daily digests (notifications.tasks): each digest queued
twice (two beat runs by mistake, a duplicate delivery) is mailed once. Kombu's file-system
broker locally (what ``make run`` uses); Redis in CI (EDC_REQUIRE_SERVICES=1).

The worker runs in a thread of this process and reads the test database through its own
connection, which is why the test commits (``transaction=True``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.core import mail
from django.db import OperationalError

from enrollment.demo import screen_and_enrol
from notifications import services, tasks
from notifications.models import Digest, DigestStatus
from study.models import Role
from trial_edc.celery import app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("celery")]

WAIT_SECONDS = 120.0
ON = dt.date(2026, 3, 8)


@pytest.fixture
def worker(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.VAR_DIR = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield


def all_sent(count: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(1)
        try:  # SQLite in memory, shared with the worker's thread: a table may be locked
            if Digest.objects.filter(status=DigestStatus.SENT).count() == count:
                time.sleep(2)  # let a duplicate delivery run (it must send nothing)
                return
        except OperationalError:
            continue
    pytest.fail(f"the digests were not sent in {WAIT_SECONDS} s")


def send_through_the_worker(people: dict[Role, Any], sites: dict[str, Any]) -> None:
    for role in (Role.INVESTIGATOR, Role.SITE_COORDINATOR):
        people[role].email = f"{role.value}@example.org"
        people[role].save(update_fields=["email"])
    screen_and_enrol(people[Role.INVESTIGATOR], sites["01"], start=dt.date(2026, 2, 1))
    pending = services.collect_due(ON)
    assert len(pending) == 2
    tasks.queue_pending([d.pk for d in pending])
    tasks.queue_pending([d.pk for d in pending])
    all_sent(2)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "investigator@example.org",
        "site_coordinator@example.org",
    ]


def test_a_real_worker_sends_each_digest_once(worker, people, sites) -> None:
    send_through_the_worker(people, sites)


@pytest.mark.redis
def test_a_real_worker_on_redis_sends_each_digest_once(worker, people, sites) -> None:
    assert app.conf.broker_url == django_settings.REDIS_URL
    send_through_the_worker(people, sites)
