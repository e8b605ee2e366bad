"""Pages are built from a bounded number of queries whatever the amount of data."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crf import registry
from crf.services import Reason
from enrollment.services import register_screening
from tests.factories import save_xx

pytestmark = pytest.mark.django_db

# Session, user, membership, site time zone, permissions (2), scoping, session save:
# the fixed cost of a signed-in page is about 10 queries.
MAX_QUERIES = 16


def _queries(client, url: str, *, cold: bool = True) -> int:
    """The queries of one request; ``cold``: with nothing kept (crf.page_cache), the
    whole cost of drawing the page."""
    if cold:
        cache.clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _add_subjects(n: int, actor, site) -> None:
    for _ in range(n):
        save_xx(actor, register_screening(actor=actor, site=site))


@pytest.mark.parametrize("url_name", ["crf:subject_list", "study:home"])
def test_list_pages_cost_the_same_with_2_and_60_subjects(
    client, investigator, sites, url_name
) -> None:
    client.force_login(investigator)
    url = reverse(url_name)
    _add_subjects(2, investigator, sites["01"])
    _queries(client, url)  # warm the session
    small = _queries(client, url)

    _add_subjects(58, investigator, sites["01"])
    large = _queries(client, url)

    assert small == large
    assert large <= MAX_QUERIES


@pytest.mark.parametrize("url_name", ["crf:subject_detail", "crf:subject_audit"])
def test_subject_pages_cost_the_same_with_1_and_20_changes(
    client, investigator, subject01, url_name
) -> None:
    client.force_login(investigator)
    url = reverse(url_name, kwargs={"subject_pk": subject01.pk})
    form = save_xx(investigator, subject01, complete=True)
    _queries(client, url)
    small = _queries(client, url)

    for i in range(20):
        form = save_xx(
            investigator,
            subject01,
            instance=form,
            systolic=101 + i,
            complete=True,
            reason=Reason("QUERY_RESPONSE"),
        )
    large = _queries(client, url)

    assert small == large
    # The subject page reads each registered form model once.
    assert large <= MAX_QUERIES + len(registry.all_forms())
    if url_name == "crf:subject_detail":
        # Seen again with nothing changed: its panels and visits are kept, so the page
        # costs what any signed-in page costs.
        assert _queries(client, url, cold=False) <= MAX_QUERIES - 4
