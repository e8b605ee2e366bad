"""CTCAE v5.0 has no Chinese edition: the AE page says so in Chinese (issue 10)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

pytestmark = pytest.mark.django_db

NOTE = "CTCAE v5.0 terms and grade definitions are shown in English (NCI publishes no Chinese edition)."
HINT = "CTCAE terms are in English: type the English name of the event."


def _in(language: str, text: str) -> str:
    with translation.override(language):
        return escape(gettext(text))


def test_the_ae_page_in_chinese_says_ctcae_is_in_english(client, investigator, treated) -> None:
    client.force_login(investigator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    page = client.get(
        reverse("crf:form", kwargs={"subject_pk": treated.pk, "form_code": "AE"})
    ).content.decode()

    assert (
        f'<p class="form-text mt-0 mb-2" id="ae-ctcae-language" data-testid="ctcae-language-note">'
        f"{_in('zh-hans', NOTE)}</p>"
    ) in page


def test_the_ae_page_in_english_has_no_language_note(client, investigator, treated) -> None:
    client.force_login(investigator)

    page = client.get(
        reverse("crf:form", kwargs={"subject_pk": treated.pk, "form_code": "AE"})
    ).content.decode()

    assert 'data-testid="ctcae-language-note"' not in page


def test_a_term_search_in_chinese_without_match_says_to_type_english(client, investigator) -> None:
    client.force_login(investigator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    html = client.get(reverse("adverse_events:term_search"), {"term": "高血压"}).content.decode()

    assert _in("zh-hans", HINT) in html


def test_the_generic_grades_follow_the_language_of_the_request() -> None:
    from adverse_events.forms import grade_choices

    with translation.override("zh-hans"):
        labels = [str(label) for _n, label in grade_choices(None)]
        expected = [gettext("Grade %(n)d") % {"n": n} for n in range(1, 6)]

    assert labels == expected and expected[0] != "Grade 1"
