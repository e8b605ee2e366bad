"""The subject page's kept parts (crf.page_cache) follow the data: any save shows at once,
each role and language sees its own page, and nothing of the reader's own is kept."""

from __future__ import annotations

import pickle

import pytest
from django.core.cache import cache
from django.urls import reverse

from crf import page_cache
from study.models import Role
from tests.factories import save_xx

pytestmark = pytest.mark.django_db


def _page(client, subject) -> str:
    response = client.get(reverse("crf:subject_detail", kwargs={"subject_pk": subject.pk}))
    assert response.status_code == 200
    return response.content.decode()


def test_a_save_shows_on_the_subject_page_at_once(client, investigator, subject01) -> None:
    client.force_login(investigator)
    assert "In progress" not in _page(client, subject01)  # kept now

    save_xx(investigator, subject01)

    assert "In progress" in _page(client, subject01)


def test_each_role_and_language_sees_its_own_kept_page(
    client, people, investigator, subject01
) -> None:
    save_xx(investigator, subject01)
    client.force_login(investigator)
    entering = _page(client, subject01)
    client.force_login(people[Role.MONITOR])
    reading = _page(client, subject01)
    client.cookies["django_language"] = "zh-hans"
    chinese = _page(client, subject01)

    assert "Add: " in entering and "Add: " not in reading
    assert 'lang="zh-hans"' in chinese and "进行中" in chinese


def test_no_kept_part_holds_a_csrf_token(client, investigator, subject01) -> None:
    client.force_login(investigator)
    _page(client, subject01)

    stored = cache._cache.values()  # type: ignore[attr-defined]  # LocMemCache's own store
    kept = [pickle.loads(value) for value in stored]

    assert any("visit-SCR" in str(value) for value in kept)  # the page's visits are kept
    assert all("csrfmiddlewaretoken" not in str(value) for value in kept)


def test_a_fragment_with_a_csrf_token_is_refused() -> None:
    with pytest.raises(ValueError, match="CSRF"):
        page_cache.fragment("x", (1,), lambda: '<input name="csrfmiddlewaretoken">')
