"""Error pages (issue 10, item 5): the site's layout, what happened, where to go next.

403, 404, 500, CSRF failure and a refused upload (413) each use base.html with a
``<main>`` landmark. The 500 page is drawn without the database (it may be the
database that failed), and a subject of another site is the same 404 as any
missing page (study.scoping: 404, not 403).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.functional import SimpleLazyObject

from study import views
from study.models import Role


def main_of(html: str) -> str:
    """The page's ``<main>`` element (exactly one)."""
    found = re.findall(r"<main\b.*?</main>", html, flags=re.S)
    assert len(found) == 1, html
    return found[0]


def links_in(html: str) -> dict[str, str]:
    """Link text → href of every link in the HTML."""
    return {
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip(): href
        for href, text in re.findall(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', html, flags=re.S)
    }


# --- 404 ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_missing_page_is_a_404_in_the_layout_with_the_ways_out(client, investigator) -> None:
    client.force_login(investigator)

    response = client.get("/no-such-page/", HTTP_REFERER="http://testserver/crf/subjects/")

    html = response.content.decode()
    assert response.status_code == 404
    assert "<title>Page not found · Trial EDC</title>" in html
    assert "Sign out" in html  # the navigation of the shell
    main = main_of(html)
    assert '<h1 class="h3">Page not found</h1>' in main
    assert "There is no page at this address." in main
    assert links_in(main) == {
        "Back to the previous page": "/crf/subjects/",
        "Your home page": reverse("study:home"),
        "The subject list": reverse("crf:subject_list"),
    }


@pytest.mark.django_db
def test_a_subject_of_another_site_is_the_same_404_as_a_missing_page(
    client, investigator, subject02
) -> None:
    client.force_login(investigator)
    other_site = client.get(reverse("crf:subject_detail", kwargs={"subject_pk": subject02.pk}))
    missing = client.get(reverse("crf:subject_detail", kwargs={"subject_pk": subject02.pk + 999}))
    no_url = client.get("/no-such-page/")

    assert other_site.status_code == missing.status_code == no_url.status_code == 404
    assert main_of(other_site.content.decode()) == main_of(missing.content.decode())
    assert main_of(other_site.content.decode()) == main_of(no_url.content.decode())
    assert "Subject" not in main_of(other_site.content.decode())


@pytest.mark.django_db
def test_the_404_page_signed_out_offers_no_menu_and_no_subject_list(client) -> None:
    response = client.get("/no-such-page/")

    html = response.content.decode()
    assert response.status_code == 404
    assert "Sign out" not in html
    assert links_in(main_of(html)) == {"Sign in": reverse("study:login")}


@pytest.mark.django_db
def test_the_404_page_follows_the_language_of_the_person(client, investigator) -> None:
    client.force_login(investigator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    html = client.get("/no-such-page/").content.decode()

    assert '<html lang="zh-hans">' in html
    assert ">首页</a>" in html  # the menu, in Chinese


# --- 403 ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_page_the_role_may_not_open_is_a_403_in_the_layout(client, people) -> None:
    client.force_login(people[Role.ADMINISTRATOR])

    response = client.get(reverse("crf:subject_list"))

    html = response.content.decode()
    assert response.status_code == 403
    assert "<title>Not allowed · Trial EDC</title>" in html
    main = main_of(html)
    assert '<h1 class="h3">You may not open this page</h1>' in main
    assert "Your role does not allow this page or this action." in main
    # the administrator has no clinical access: no link to the subject list
    assert links_in(main) == {"Your home page": reverse("study:home")}


@pytest.mark.django_db
def test_the_403_page_follows_the_language_of_the_person(client, people) -> None:
    client.force_login(people[Role.ADMINISTRATOR])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    html = client.get(reverse("crf:subject_list")).content.decode()

    assert '<html lang="zh-hans">' in html
    assert ">首页</a>" in html


# --- CSRF -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_form_sent_without_a_valid_token_explains_and_offers_to_sign_in(investigator) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(investigator)
    form_page = "http://testserver" + reverse("enrollment:register")

    response = client.post(
        reverse("enrollment:register"), {"screening_date": "2026-03-02"}, HTTP_REFERER=form_page
    )

    html = response.content.decode()
    assert response.status_code == 403
    assert "<title>The form has expired · Trial EDC</title>" in html
    main = main_of(html)
    assert "Your change was not saved." in main
    assert "the page was open for too long, or your session ended" in main
    assert links_in(main) == {
        "Sign in again": reverse("study:login") + "?next=/enrolment/screening/new/",
        "Back to the page": "/enrolment/screening/new/",
        "Your home page": reverse("study:home"),
    }


# --- 500 ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.urls("tests.study.fault_urls")
def test_a_server_error_says_nothing_was_saved_in_the_layout(investigator) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(investigator)

    response = client.get("/test-fault/database-gone/")

    html = response.content.decode()
    assert response.status_code == 500
    assert "<title>Something went wrong · Trial EDC</title>" in html
    assert "ANLO-HCC <span" in html  # the shell's brand
    main = main_of(html)
    assert "Nothing was saved." in main
    assert "Please try again in a moment." in main
    assert links_in(main)["Your home page"] == reverse("study:home")


def _no_database() -> Any:
    return get_user_model().objects.get(pk=1)  # fails: this test has no database


def test_the_500_page_is_drawn_without_touching_the_database() -> None:
    # No django_db mark: any query raises. The user and the session would query.
    request = RequestFactory().post("/crf/subjects/1/forms/VS/")
    request.user = SimpleLazyObject(_no_database)
    request.session = SessionStore(session_key="x" * 32)

    with translation.override("zh-hans"):
        response = views.server_error(request)

    html = response.content.decode()
    assert response.status_code == 500
    assert '<html lang="zh-hans">' in html
    assert "<main " in html
    assert 'name="csrfmiddlewaretoken"' in html  # the language switch still works
