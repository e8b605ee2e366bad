"""Reminders end to end on real processes: two Celery beats (started twice by mistake) and a
worker on Redis, the worker killed while it sends and another started; each person gets
their digest once (issue 14).

The beats and the workers are separate processes (``python -m celery``) on their own
Redis database, reading the test's PostgreSQL database (the test commits:
``transaction=True``); mail goes to files in the test's directory. The first worker's
mail backend hangs inside the send (tests/notifications/slow_mail.py): it is killed
there (SIGKILL, no clean shutdown) and a second worker finishes the work.
"""

from __future__ import annotations

import datetime as dt
import email
import os
import signal
import subprocess
import sys
import time
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from enrollment.demo import screen_and_enrol
from notifications.models import Digest, DigestStatus
from study.models import Role

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery"),
    pytest.mark.postgres,
    pytest.mark.redis,
]

BASE_DIR = Path(settings.BASE_DIR)
WAIT_SECONDS = 90.0
REDIS_DB = 15  # beats and workers of this test only
ZONES = ("Asia/Shanghai", "Europe/Berlin", "America/New_York", "Pacific/Auckland", "UTC")


def a_zone_past_its_digest_time() -> str:
    """A zone where today's 07:30 has passed and the date will not change during the test."""
    now = dt.datetime.now(dt.UTC)
    for name in ZONES:
        local = now.astimezone(zoneinfo.ZoneInfo(name))
        if dt.time(8, 0) <= local.time() <= dt.time(23, 0):
            return name
    raise AssertionError("no zone between 08:00 and 23:00 now")  # pragma: no cover


def database_url() -> str:
    db = connection.settings_dict
    user = quote(db["USER"] or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


def redis_url() -> str:
    parts = urlsplit(settings.REDIS_URL)
    return urlunsplit(parts._replace(path=f"/{REDIS_DB}"))


class Processes:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.running: list[subprocess.Popen[bytes]] = []
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")},
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url(),
            "EDC_VAR_DIR": str(tmp_path / "var"),
            "EDC_BROKER_VISIBILITY_TIMEOUT": "5",  # a killed worker's task comes back soon
            "EDC_REMINDER_SCAN_SECONDS": "2",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EDC_SLOW_MAIL_MARKER": str(tmp_path / "sending"),
            "PYTHONPATH": str(BASE_DIR),
        }

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "trial_edc", *args, "--loglevel", "INFO"],
            cwd=BASE_DIR,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed with its pool children
        )
        self.running.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                self.kill(process)

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
            for log in sorted(self.tmp_path.glob("*.log"))
        )


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    import redis

    redis.Redis.from_url(redis_url()).flushdb()
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()
        redis.Redis.from_url(redis_url()).flushdb()


def wait_for(condition: Callable[[], bool], what: str, processes: Processes) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"{what} not within {WAIT_SECONDS} s\n{processes.logs()}")


def mailed_to(mail_dir: Path) -> Counter[str]:
    """Recipients of every mail written to ``mail_dir`` (the file backend: one file per
    connection, messages separated by a line of dashes)."""
    seen: Counter[str] = Counter()
    for path in mail_dir.glob("*.log"):
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                seen[email.message_from_string(chunk.strip())["To"]] += 1
    return seen


def test_two_beats_and_a_worker_killed_mid_send_mail_each_digest_once(
    processes: Processes, people: dict[Role, Any], sites: dict[str, Any]
) -> None:
    site = sites["01"]
    site.time_zone = a_zone_past_its_digest_time()
    site.save(update_fields=["time_zone"])
    for role in (Role.INVESTIGATOR, Role.SITE_COORDINATOR):
        people[role].email = f"{role.value}@example.org"
        people[role].save(update_fields=["email"])
    today = dt.datetime.now(zoneinfo.ZoneInfo(site.time_zone)).date()
    # Screened 40 days ago: the C2D1 visit is overdue today.
    screen_and_enrol(people[Role.INVESTIGATOR], site, start=today - dt.timedelta(days=40))
    expected = {"investigator@example.org", "site_coordinator@example.org"}

    slow = "tests.notifications.slow_mail.SlowFileBackend"
    first = processes.start(
        "worker-1", "worker", "--pool", "prefork", "--concurrency", "1", "-n", "first@%h",
        "--without-gossip", "--without-mingle", EMAIL_BACKEND=slow,
    )  # fmt: skip
    for n in (1, 2):  # two beat processes by mistake
        processes.start(f"beat-{n}", "beat", "--schedule", str(processes.tmp_path / f"beat-{n}"))

    marker = processes.tmp_path / "sending"
    wait_for(marker.exists, "the first worker inside a send", processes)
    processes.kill(first)
    mail_dir = processes.tmp_path / "var" / "mail"
    assert mailed_to(mail_dir) == Counter()  # killed before the mail left
    assert Digest.objects.filter(status=DigestStatus.SENT).count() == 0

    processes.start(
        "worker-2", "worker", "--pool", "prefork", "--concurrency", "2", "-n", "second@%h",
        "--without-gossip", "--without-mingle",
    )  # fmt: skip
    wait_for(
        lambda: Digest.objects.filter(status=DigestStatus.SENT, local_date=today).count() == 2,
        "both digests sent",
        processes,
    )
    time.sleep(6)  # the beats go on queueing; a late or returned task must send nothing more

    assert mailed_to(mail_dir) == Counter(dict.fromkeys(expected, 1)), processes.logs()
    digests = Digest.objects.filter(local_date=today)
    assert {d.recipient.email for d in digests} == expected
    assert all(d.status == DigestStatus.SENT for d in digests)
