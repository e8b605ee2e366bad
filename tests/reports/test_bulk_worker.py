"""A real Celery worker builds a site's casebook ZIP (reports.bulk): the tasks queued when the
job is started run on the configured broker (kombu's file system in var/ locally, what
``make run`` uses; Redis in CI, where EDC_REQUIRE_SERVICES=1 makes a missing Redis a failure).

The worker runs in a thread of this process and reads the test database through its own
connection, which is why the test commits (``transaction=True``).
"""

from __future__ import annotations

import datetime as dt
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.db import OperationalError

from enrollment.demo import screen_and_enrol
from reports import bulk
from reports.models import ExportJob, JobStatus
from study.models import Role
from trial_edc.celery import app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("celery")]

WAIT_SECONDS = 180.0  # two casebooks rendered by WeasyPrint on a shared CI machine


@pytest.fixture
def worker(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.VAR_DIR = tmp_path
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield


def finished(job: ExportJob) -> ExportJob:
    deadline = time.monotonic() + WAIT_SECONDS
    seen = []
    while time.monotonic() < deadline:
        time.sleep(1)
        try:  # SQLite in memory, shared with the worker's thread: a table may be locked
            job.refresh_from_db()
            seen.append(bulk.progress(job)["finished"])
        except OperationalError:
            continue
        if job.status in bulk.FINISHED:
            return job
    pytest.fail(f"the job did not finish in {WAIT_SECONDS} s (progress seen: {sorted(set(seen))})")


def build_a_site_zip(people: dict[Role, Any], sites: dict[str, Any]) -> None:
    investigator = people[Role.INVESTIGATOR]
    start = dt.date(2026, 3, 2)
    subjects = [
        screen_and_enrol(investigator, sites["01"], start=start + dt.timedelta(days=n))
        for n in range(2)
    ]
    screen_and_enrol(investigator, sites["02"], start=start)  # another site: not in the ZIP

    job = finished(bulk.start_site_export(people[Role.MONITOR], sites["01"], language="en"))

    assert (job.status, job.error) == (JobStatus.DONE, "")
    assert bulk.progress(job)["done"] == 2
    with zipfile.ZipFile(job.zip_path) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(f"{s.subject_id}.pdf" for s in subjects)
        assert all(archive.read(name).startswith(b"%PDF") for name in names)


def test_a_real_worker_builds_the_casebook_zip_of_a_site(worker, people, sites) -> None:
    build_a_site_zip(people, sites)


@pytest.mark.redis
def test_a_real_worker_on_redis_builds_the_casebook_zip_of_a_site(worker, people, sites) -> None:
    assert app.conf.broker_url == django_settings.REDIS_URL
    build_a_site_zip(people, sites)
