"""The load driver: signed-in HTTP users on 127.0.0.1 (httpx, one client and one session
per user), a step run by N concurrent users for a fixed number of requests or seconds,
every latency recorded.

A step is written once against ``Http`` and runs on two transports: ``HttpxHttp`` (the
gunicorn server, from this second process) and, for the SQL query count, the Django test
client in-process (benchmarks.scenarios.DjangoHttp). httpx is imported here only, so the
tests of the rest need no bench requirements (benchmarks/requirements.txt).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol

from benchmarks.html import csrf_token
from benchmarks.stats import Round, Sample

LOGIN_PATH = "/accounts/login/"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    location: str = ""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Timer:
    """What a step measured: wall seconds and, in-process, the SQL queries run."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.queries: int | None = None

    def sample(self, status: int, ok: bool, note: str = "") -> Sample:
        return Sample(self.seconds, status, ok, note, self.queries)


class Http(Protocol):
    def get(self, path: str) -> Reply: ...

    def post(self, path: str, data: Mapping[str, str]) -> Reply: ...

    def timed(self) -> AbstractContextManager[Timer]:
        """Times the requests made inside it (and counts their SQL where it can)."""
        ...


class HttpxHttp:
    """One user of the server: its own connection and cookies (session, CSRF)."""

    def __init__(self, base_url: str, timeout: float = 120.0) -> None:
        import httpx

        self.client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=timeout)

    def get(self, path: str) -> Reply:
        r = self.client.get(path)
        return Reply(r.status_code, r.content, r.headers.get("location", ""))

    def post(self, path: str, data: Mapping[str, str]) -> Reply:
        r = self.client.post(path, data=dict(data))
        return Reply(r.status_code, r.content, r.headers.get("location", ""))

    @contextmanager
    def timed(self) -> Iterator[Timer]:
        timer = Timer()
        started = time.perf_counter()
        try:
            yield timer
        finally:
            timer.seconds = time.perf_counter() - started

    def close(self) -> None:
        self.client.close()


def sign_in(http: Http, username: str, password: str) -> None:
    """Sign in as a person does: the sign-in page (CSRF cookie and token), then the form."""
    page = http.get(LOGIN_PATH)
    if page.status != 200:
        raise RuntimeError(f"sign-in page answered {page.status}")
    reply = http.post(
        LOGIN_PATH,
        {"username": username, "password": password, "csrfmiddlewaretoken": csrf_token(page.text)},
    )
    if reply.status != 302:
        raise RuntimeError(f"signing in as {username} answered {reply.status}, not a redirect")


Step = Callable[[Http, int, int], Sample]


def run_round(users: Sequence[Http], step: Step, *, max_requests: int, max_seconds: float) -> Round:
    """``len(users)`` concurrent users (threads) each running ``step(http, user, i)`` in a
    loop until ``max_requests`` were started or ``max_seconds`` have passed; a request
    started in time is waited for. An exception in a step is a failed sample."""
    lock = threading.Lock()
    samples: list[Sample] = []
    started_count = 0
    started = time.perf_counter()
    deadline = started + max_seconds

    def user(index: int) -> None:
        nonlocal started_count
        i = 0
        while True:
            with lock:
                if started_count >= max_requests or time.perf_counter() >= deadline:
                    return
                started_count += 1
            try:
                sample = step(users[index], index, i)
            except Exception as error:  # a failed request, reported in the table
                last = traceback.extract_tb(error.__traceback__)[-1:]
                where = f" at {last[0].name}" if last else ""
                sample = Sample(0.0, 0, False, f"{type(error).__name__}: {error}{where}")
            with lock:
                samples.append(sample)
            i += 1

    threads = [threading.Thread(target=user, args=(u,), daemon=True) for u in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Round(tuple(samples), time.perf_counter() - started)
