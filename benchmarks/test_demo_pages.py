"""Speed measurements on the demo study (`make bench`), kept out of the test suite.

Prints how long the demo takes to build and to import from its study data file, and
how long the busiest pages take to render with it. Targets are read by people, not
asserted in timed tests; the only assertions are that the pages answer.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from functools import partial

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from study.models import Subject

pytestmark = pytest.mark.django_db


def _measure(label: str, action: Callable[[], object], repeat: int = 5) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    print(f"{label:<40} median {median * 1000:8.1f} ms over {repeat}")
    return median


def test_demo_pages() -> None:
    started = time.perf_counter()
    call_command("seed_demo", stdout=io.StringIO())
    print(f"\n{'seed_demo':<40} {time.perf_counter() - started:8.1f} s")
    subject = Subject.objects.filter(subject_id="01-001").get()
    pages = {
        "home (investigator)": ("investigator", reverse("study:home")),
        "subject page with AE timeline": (
            "investigator",
            reverse("crf:subject_detail", kwargs={"subject_pk": subject.pk}),
        ),
        "safety page (medical monitor)": ("medmonitor", reverse("adverse_events:safety")),
        "safety CSV": ("medmonitor", reverse("adverse_events:safety_csv")),
        "deviations (data manager)": ("datamanager", reverse("adverse_events:deviations")),
        "enrolment dashboard": ("studycoord", reverse("enrollment:dashboard")),
        "worklist (investigator)": ("investigator", reverse("visits:worklist")),
    }
    for label, (username, url) in pages.items():
        client = Client()
        client.force_login(_user(username))
        assert client.get(url).status_code == 200
        _measure(label, partial(client.get, url))


def _user(username: str):  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)
