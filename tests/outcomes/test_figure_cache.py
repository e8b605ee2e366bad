"""The outcomes figures are drawn once per content (outcomes.figure_cache).

Draws are counted by outcomes.figures itself (``figures.DRAWN``), not by mocking: a
request that draws nothing leaves the counter where it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crf import registry
from crf.datafile import dumps, export_document, import_document
from crf.services import save_form
from enrollment.demo import screen_and_enrol
from outcomes import figures
from study.models import Role
from visits.demo import treat
from visits.models import TumourAssessment

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)
DAY1 = START + dt.timedelta(days=5)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _empty_figure_cache(settings, request) -> None:
    """Each test its own empty figure cache (in memory: a shared Redis is not flushed)."""
    settings.CACHES = {
        **settings.CACHES,
        "figures": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"figures-{request.node.nodeid}",
        },
    }


def treated(actor, site, course: str):
    subject = screen_and_enrol(actor, site, start=START)
    treat(actor, subject, day1=DAY1, cycles=2, course=course)
    return subject


@pytest.fixture
def two(investigator, sites):
    return [treated(investigator, sites["01"], "PD"), treated(investigator, sites["01"], "PR")]


def figure_urls(client) -> dict[str, str]:
    """The <img> URL of every figure on the outcomes page, as the browser would ask."""
    html = client.get(reverse("outcomes:study")).content.decode()
    return {
        name: src.replace("&amp;", "&")
        for src, name in re.findall(r'<img[^>]*src="([^"]+)"[^>]*data-testid="figure-(\w+)"', html)
    }


def description(svg: bytes) -> str:
    root = ET.fromstring(svg)
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    return desc.text or ""


def test_the_page_links_every_figure_with_its_fingerprint(client, people, two) -> None:
    client.force_login(people[Role.MEDICAL_MONITOR])

    urls = figure_urls(client)

    assert sorted(urls) == ["km_os", "km_pfs", "spider", "swimmer", "waterfall"]
    assert all(
        re.fullmatch(r"/outcomes/figures/\w+\.svg\?v=[0-9a-f]{64}", u) for u in urls.values()
    )


def test_a_second_request_of_each_figure_draws_nothing(client, people, two) -> None:
    client.force_login(people[Role.MEDICAL_MONITOR])
    urls = figure_urls(client)
    first = {name: client.get(url).content for name, url in urls.items()}
    drawn = dict(figures.DRAWN)

    again = {name: client.get(url).content for name, url in figure_urls(client).items()}

    assert dict(figures.DRAWN) == drawn
    assert again == first
    assert drawn["svg"] >= 5


def test_a_figure_url_without_version_draws_nothing_when_the_data_is_unchanged(
    client, people, two
) -> None:
    client.force_login(people[Role.MEDICAL_MONITOR])
    url = reverse("outcomes:figure", kwargs={"name": "swimmer", "fmt": "svg"})
    first = client.get(url).content
    drawn = dict(figures.DRAWN)

    assert client.get(url).content == first
    assert dict(figures.DRAWN) == drawn


def test_a_cached_figure_is_served_without_reading_the_study(client, people, two) -> None:
    from django.db import connection

    client.force_login(people[Role.MEDICAL_MONITOR])
    url = figure_urls(client)["spider"]
    client.get(url)

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200

    # the session, the user, the reader's membership and permissions: no clinical table
    clinical = r'"(study_subject|crf|visits|outcomes|enrollment|adverse_events)_?\w*"'
    assert [q["sql"] for q in queries.captured_queries if re.search(clinical, q["sql"])] == []


def test_png_and_language_are_cached_apart(client, people, two) -> None:
    from django.conf import settings

    client.force_login(people[Role.MEDICAL_MONITOR])
    svg_url = figure_urls(client)["km_os"]
    png_url = svg_url.replace(".svg?", ".png?")
    english_svg = client.get(svg_url).content
    png = client.get(png_url).content

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese_svg = client.get(figure_urls(client)["km_os"]).content

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"Overall survival" in english_svg
    assert b"Overall survival" not in chinese_svg
    assert "总生存" in chinese_svg.decode()


def test_a_figure_the_client_holds_is_not_sent_again(client, people, two) -> None:
    client.force_login(people[Role.MEDICAL_MONITOR])
    url = figure_urls(client)["waterfall"]
    first = client.get(url)

    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert first["ETag"].startswith('"')
    assert again.status_code == 304
    assert again["ETag"] == first["ETag"]
    assert again.content == b""


def _resave_ta1(actor, subject, total_mm: str) -> None:
    """The subject's first follow-up TA again, its three targets now summing to total_mm."""
    form = TumourAssessment.objects.get(subject=subject, visit__code="TA1", is_deleted=False)
    total = Decimal(total_mm)
    parts = [(total * s).quantize(Decimal("0.1")) for s in (Decimal("0.5"), Decimal("0.3"))]
    parts.append(total - sum(parts))
    save_form(
        actor=actor,
        spec=registry.get("TA"),
        subject=subject,
        visit=form.visit,
        instance=form,
        values={"scanned_on": form.scanned_on, "method": "CT", "investigator_response": "PD"},
        groups={
            "TL": [
                {
                    "lesion_id": f"T0{i + 1}",
                    "organ": organ,
                    "is_node": "N",
                    "status": "MEASURED",
                    "diameter_mm": d,
                }
                for i, (organ, d) in enumerate(zip(["LIVER", "LIVER", "LUNG"], parts, strict=True))
            ],
            "NTL": [{"lesion_id": "NT01", "organ": "PERITONEUM", "status": "PRESENT"}],
            "NL": [],
        },
        complete=True,
        reason=_reason(),
    )


def _reason():
    from crf.services import Reason

    return Reason(code="NEW_SOURCE_INFORMATION")


def test_a_clinical_save_through_save_form_changes_the_figure(
    client, people, investigator, two
) -> None:
    client.force_login(people[Role.MEDICAL_MONITOR])
    before_url = figure_urls(client)["waterfall"]
    before = client.get(before_url).content
    assert "best change from -37% to +33%" in description(before)

    _resave_ta1(investigator, two[0], "90")  # 60 -> 90 mm: +50 %
    after_url = figure_urls(client)["waterfall"]
    after = client.get(after_url).content

    assert after_url != before_url
    assert "best change from -37% to +50%" in description(after)


def test_no_stale_figure_after_an_import(client, people, two) -> None:
    data_manager = people[Role.DATA_MANAGER]
    client.force_login(data_manager)
    before = client.get(figure_urls(client)["waterfall"]).content
    document = export_document()
    ta1 = next(
        form
        for form in document["subjects"][0]["forms"]
        if form["form"] == "TA" and form.get("visit") == "TA1"
    )
    for row, diameter in zip(ta1["data"]["TL"], ("45.0", "27.0", "18.0"), strict=True):
        row["TLDIAM"] = Decimal(diameter)  # 60 -> 80 -> now 90 mm for the PD subject
    text = dumps(document)

    report = import_document(
        document=document,
        actor=data_manager,
        reason="Corrected from the source",
        file_sha256=hashlib.sha256(text.encode()).hexdigest(),
    )
    after = client.get(figure_urls(client)["waterfall"]).content

    assert report.errors == []
    assert "+33%" in description(before)
    assert "+50%" in description(after)


def test_a_version_from_another_scope_is_not_served(
    client, people, sites, investigator, make_person
) -> None:
    treated(investigator, sites["01"], "PD")
    client.force_login(people[Role.MEDICAL_MONITOR])  # every site
    all_sites_url = figure_urls(client)["waterfall"]
    client.get(all_sites_url)
    client.force_login(make_person("mon02", Role.MONITOR, ("02",)))

    svg = client.get(all_sites_url).content.decode()

    assert "01-" not in svg


@pytest.mark.redis
def test_figures_are_kept_in_redis_for_every_worker(client, people, two, settings) -> None:
    """With Redis (REDIS_URL) the figures live in Redis, shared by every worker and process."""
    import redis

    settings.CACHES = {
        **settings.CACHES,
        "figures": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": "test-outcomes",
        },
    }
    server = redis.Redis.from_url(settings.REDIS_URL)
    server.delete(*server.keys("test-outcomes:*outcomes-figure:*"), "none")
    client.force_login(people[Role.MEDICAL_MONITOR])
    url = figure_urls(client)["km_pfs"]
    first = client.get(url).content
    drawn = dict(figures.DRAWN)

    again = client.get(url).content

    assert again == first
    assert dict(figures.DRAWN) == drawn
    assert len(server.keys("test-outcomes:*outcomes-figure:*")) == 1
