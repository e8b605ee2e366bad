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


def test_demo_outcomes_page_with_its_figures(settings) -> None:  # type: ignore[no-untyped-def]
    """What a person waits for: the outcomes page and its five figures, as the browser asks
    for them (the page, then each <img> URL, one after the other), with no figure cached
    ("cold": the first reader after a change of the data) and then again ("warm")."""
    import re

    from outcomes import figure_cache, figures

    # the figures in this process's memory, as on make run (a shared Redis is not flushed)
    settings.CACHES = {
        **settings.CACHES,
        "figures": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "bench",
        },
    }
    call_command("seed_demo", stdout=io.StringIO())
    client = Client()
    client.force_login(_user("medmonitor"))

    def page_and_figures() -> dict[str, float]:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        html = client.get(reverse("outcomes:study")).content.decode()
        timings["page"] = time.perf_counter() - started
        for src, name in re.findall(r'<img[^>]*src="([^"]+)"[^>]*data-testid="figure-(\w+)"', html):
            begun = time.perf_counter()
            assert client.get(src.replace("&amp;", "&")).status_code == 200
            timings[name] = time.perf_counter() - begun
        return timings

    page_and_figures()  # a running server has imported matplotlib and lifelines
    print()
    for label in ("cold", "warm", "warm", "warm"):
        if label == "cold":
            figure_cache.cache().clear()
        drawn = figures.DRAWN["svg"]
        timings = page_and_figures()
        parts = ", ".join(f"{k} {v * 1000:.0f}" for k, v in timings.items())
        print(
            f"{'outcomes page + 5 figures, ' + label:<40} {sum(timings.values()) * 1000:8.1f} ms "
            f"({figures.DRAWN['svg'] - drawn} drawn; ms: {parts})"
        )


def _user(username: str):  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)
