"""A real Celery worker on the configured broker runs our tasks.

Locally the broker is kombu's file-system transport in var/ (what make run uses);
in CI it is Redis.
"""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from study.tasks import ping
from tests.celery_results import results_in_memory
from trial_edc.celery import app

# One xdist group: only one test process at a time runs a worker on the shared broker.
pytestmark = pytest.mark.xdist_group("celery")


def _round_trip(value: str) -> str:
    with (
        results_in_memory(app),
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        return str(ping.delay(value).get(timeout=20))


def test_a_real_worker_on_the_configured_broker_runs_a_task() -> None:
    assert _round_trip("hello") == "hello"


@pytest.mark.redis
def test_the_broker_is_redis_when_redis_url_is_set() -> None:
    assert app.connection().transport_cls == "redis" or app.conf.broker_url == settings.REDIS_URL
    assert _round_trip("via redis") == "via redis"
