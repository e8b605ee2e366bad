"""A real Celery worker sends the SAE mail once after commit, and nothing after a rollback.

The worker runs in a thread of this process on the configured broker (kombu's file
system in var/ locally, Redis in CI), so it sends to this test's mail outbox and
reads the test database through its own connection, which is why the tests commit
(``transaction=True``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.core import mail as django_mail
from django.db import transaction

from adverse_events import tasks
from adverse_events.models import SafetyMail
from study.tasks import ping
from tests.celery_results import results_in_memory
from trial_edc.celery import app

from .conftest import DAY1, SERIOUS, save_ae

# One xdist group: only one test process at a time runs a worker on the shared broker.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("celery")]

WAIT_SECONDS = 20.0
AWARE = DAY1 + dt.timedelta(days=8)


@pytest.fixture
def worker(settings) -> Iterator[None]:
    settings.EDC_SAFETY_CONTACTS = ["pv@example.org"]
    # results for the ping that proves the queue drained
    with (
        results_in_memory(app),
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        yield


def wait_for(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def drained() -> None:
    """Everything queued before this has been handled (the solo worker runs tasks in turn)."""
    assert ping.delay("drained").get(timeout=WAIT_SECONDS) == "drained"


def save_serious_ae(actor, subject):
    return save_ae(actor, subject, complete=False, **SERIOUS, aware_on=AWARE)


def sent_once_after_commit(investigator, subject) -> None:
    with transaction.atomic():
        ae = save_serious_ae(investigator, subject)
    mail = SafetyMail.objects.get(adverse_event=ae)

    assert wait_for(lambda: SafetyMail.objects.filter(pk=mail.pk, sent_at__isnull=False).exists())
    tasks.send_safety_mail.delay(mail.pk)  # a duplicate delivery
    drained()

    assert [m.extra_headers["X-EDC-Safety-Mail"] for m in django_mail.outbox] == [
        f"initial:{ae.pk}:1"
    ]
    assert django_mail.outbox[0].to == ["pv@example.org"]


def test_worker_sends_the_sae_mail_once_after_commit(worker, investigator, treated) -> None:
    sent_once_after_commit(investigator, treated)


@pytest.mark.redis
def test_worker_on_redis_sends_the_sae_mail_once_after_commit(
    worker, investigator, treated
) -> None:
    assert app.conf.broker_url == django_settings.REDIS_URL
    sent_once_after_commit(investigator, treated)


def test_worker_sends_nothing_when_the_save_rolls_back(worker, investigator, treated) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        save_serious_ae(investigator, treated)
        raise RuntimeError("the request failed after the save")
    time.sleep(2)
    drained()

    assert (SafetyMail.objects.count(), django_mail.outbox) == (0, [])
