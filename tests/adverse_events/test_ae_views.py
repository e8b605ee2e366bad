"""The AE form page: CTCAE type-ahead, the term's grades with their texts, saving."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from adverse_events.models import AdverseEvent

from .conftest import DAY1

pytestmark = pytest.mark.django_db


def test_term_search_finds_terms_by_part_of_the_name_or_soc(client, investigator) -> None:
    client.force_login(investigator)

    html = client.get(reverse("adverse_events:term_search"), {"term": "hyperten"}).content.decode()

    assert 'data-term="Hypertension"' in html
    assert "Vascular disorders" in html
    assert 'data-term="Portal hypertension"' in html


def test_term_search_puts_names_starting_with_the_text_first(client, investigator) -> None:
    client.force_login(investigator)

    response = client.get(reverse("adverse_events:term_search"), {"term": "hyperten"})

    assert [t.term for t in response.context["terms"]][0] == "Hypertension"


def test_term_search_says_when_nothing_matches(client, investigator) -> None:
    client.force_login(investigator)

    html = client.get(reverse("adverse_events:term_search"), {"term": "zzzq"}).content.decode()

    assert "No CTCAE v5.0 term matches" in html


def test_grades_offers_only_the_grades_the_term_defines(client, investigator) -> None:
    client.force_login(investigator)

    html = client.get(reverse("adverse_events:grades"), {"term": "Alopecia"}).content.decode()

    assert 'value="1"' in html and 'value="2"' in html
    assert 'value="3"' not in html
    assert "Hair loss of &lt;50% of normal" in html or "Hair loss of <50% of normal" in html
    assert "Skin and subcutaneous tissue disorders" in html


def test_new_ae_page_has_the_type_ahead_and_saves(client, investigator, treated) -> None:
    client.force_login(investigator)
    url = reverse("crf:form", kwargs={"subject_pk": treated.pk, "form_code": "AE"})

    page = client.get(url).content.decode()
    assert 'hx-get="/adverse-events/terms/"' in page
    assert 'id="ae-grade-field"' in page

    response = client.post(
        url,
        {
            "term": "Hypertension",
            "onset_on": (DAY1 + dt.timedelta(days=9)).isoformat(),
            "ongoing": "Y",
            "grade": "3",
            "serious": "N",
            "relationship": "RELATED",
            "action": "DOSE_NOT_CHANGED",
            "outcome": "NOT_RECOVERED",
            "mark_complete": "on",
            "version": "0",
        },
    )

    assert response.status_code == 302
    ae = AdverseEvent.objects.get(subject=treated)
    assert (ae.term, ae.grade, ae.soc, ae.treatment_emergent, ae.status) == (
        "Hypertension",
        3,
        "Vascular disorders",
        "Y",
        "complete",
    )


def test_ae_page_shows_each_error_next_to_its_field(client, investigator, treated) -> None:
    client.force_login(investigator)
    url = reverse("crf:form", kwargs={"subject_pk": treated.pk, "form_code": "AE"})

    response = client.post(
        url,
        {
            "term": "Alopecia",
            "onset_on": (DAY1 + dt.timedelta(days=9)).isoformat(),
            "ongoing": "Y",
            "grade": "3",
            "serious": "Y",
            "hospitalisation": "Y",
            "version": "0",
        },
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "grade" in errors  # Alopecia has no grade 3: the radio is not offered
    assert AdverseEvent.objects.count() == 0
