"""Shared fixtures: sites, people of every role, subjects, and the service guards."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from study.models import Role, Site

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _empty_caches() -> None:
    """Every test starts with empty caches (kept page fragments, figures): what one test
    cached is never served in another. Only this process's memory caches are cleared
    (tests/settings.py), never a shared Redis."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    for cache in caches.all(initialized_only=True):
        if isinstance(cache, LocMemCache):
            cache.clear()


@pytest.fixture(autouse=True)
def _site_language() -> Any:
    """Every test starts in the site's language (English): a request in Chinese leaves its
    language active on the thread, which must not reach the next test's messages."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _audit_anchor_log(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test writes audit anchors (data_management.anchors) to a log of its own, signed
    with a fixed key: an anchor one test wrote is never compared with another test's trail."""
    settings.EDC_AUDIT_ANCHOR_KEY = "test-audit-anchor-key"
    name = f"audit-anchors-{uuid.uuid4().hex}.jsonl"  # a file only if the test writes one
    settings.EDC_AUDIT_ANCHOR_LOG = str(tmp_path_factory.getbasetemp() / name)


@pytest.fixture(autouse=True)
def _require_services(request: pytest.FixtureRequest) -> None:
    """Tests marked postgres/redis fail (CI) or skip (laptop) without the service."""
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("PostgreSQL (set DATABASE_URL=postgres://...)")
    if request.node.get_closest_marker("redis"):
        if not settings.REDIS_URL:
            _missing("Redis (set REDIS_URL=redis://...)")
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL).ping()
        except redis.RedisError as error:
            _missing(f"Redis at {settings.REDIS_URL}: {error}")


def _missing(what: str) -> None:
    if settings.EDC_REQUIRE_SERVICES:
        pytest.fail(f"EDC_REQUIRE_SERVICES=1 but this test needs {what}")
    pytest.skip(f"needs {what}")


@pytest.fixture
def sites(db: Any) -> dict[str, Site]:
    from study.services import upsert_site

    return {n: upsert_site(number=n, name=f"Site {n}") for n in ("01", "02")}


@pytest.fixture
def make_person(db: Any, sites: dict[str, Site]) -> Callable[..., Any]:
    from study.services import upsert_person

    def make(username: str, role: Role, site_numbers: tuple[str, ...] = ("01",)) -> Any:
        return upsert_person(
            username=username,
            password=PASSWORD,
            role=role,
            sites=[sites[n] for n in site_numbers],
        )

    return make


# One person per role; site-bound roles belong to site 01 only.
ROLE_USERS = {
    Role.INVESTIGATOR: "inv01",
    Role.SITE_COORDINATOR: "sc01",
    Role.STUDY_COORDINATOR: "studycoord",
    Role.MONITOR: "mon01",
    Role.DATA_MANAGER: "dm",
    Role.MEDICAL_MONITOR: "medmon",
    Role.ADMINISTRATOR: "admin",
}


HOME_TITLES = {
    Role.INVESTIGATOR: "Site home",
    Role.SITE_COORDINATOR: "Site home",
    Role.STUDY_COORDINATOR: "Study coordinator home",
    Role.MONITOR: "Monitor home",
    Role.DATA_MANAGER: "Data manager home",
    Role.MEDICAL_MONITOR: "Medical monitor home",
    Role.ADMINISTRATOR: "Administrator home",
}


@pytest.fixture
def people(make_person: Callable[..., Any]) -> dict[Role, Any]:
    return {role: make_person(username, role) for role, username in ROLE_USERS.items()}


@pytest.fixture
def investigator(people: dict[Role, Any]) -> Any:
    return people[Role.INVESTIGATOR]


@pytest.fixture
def subject01(sites: dict[str, Site], people: dict[Role, Any]) -> Any:
    from enrollment.services import register_screening

    return register_screening(actor=people[Role.INVESTIGATOR], site=sites["01"])


@pytest.fixture
def subject02(sites: dict[str, Site], people: dict[Role, Any]) -> Any:
    from enrollment.services import register_screening

    return register_screening(actor=people[Role.INVESTIGATOR], site=sites["02"])
