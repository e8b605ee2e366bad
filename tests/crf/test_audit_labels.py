"""The subject's audit trail shows each code with its label (issue 10, item 9: raw codes such as
``NOT_RECOVERED``, ``in_progress``, ``screen_failed`` shown alone)."""

from __future__ import annotations

import datetime as dt

import pytest
import tinyhtml5
from django.urls import reverse

from enrollment.demo import screen_and_enrol, screen_and_fail
from study.models import Role
from tests.adverse_events.conftest import DAY1, START, save_ae
from visits.demo import treat

pytestmark = pytest.mark.django_db


def visible_text(html: str) -> str:
    root = tinyhtml5.parse(html)
    body = root.find(".//{http://www.w3.org/1999/xhtml}body")
    assert body is not None
    return " ".join(" ".join(body.itertext()).split())


def audit_text(client, subject) -> str:
    url = reverse("crf:subject_audit", kwargs={"subject_pk": subject.pk})
    return visible_text(client.get(url).content.decode())


@pytest.fixture
def treated(investigator, sites):
    subject = screen_and_enrol(investigator, sites["01"], start=START)
    treat(investigator, subject, day1=DAY1, cycles=1, course="PD")
    return subject


def test_ae_codes_show_their_label_with_the_code(client, people, investigator, treated) -> None:
    save_ae(investigator, treated)  # outcome NOT_RECOVERED, relationship PROBABLY_RELATED
    client.force_login(people[Role.DATA_MANAGER])

    text = audit_text(client, treated)

    shown = "Not recovered / not resolved (NOT_RECOVERED)"
    assert shown in text
    assert "NOT_RECOVERED" not in text.replace(shown, "")
    assert "Probably related (PROBABLY_RELATED)" in text
    assert "Dose not changed (DOSE_NOT_CHANGED)" in text


def test_form_status_changes_show_labels_not_codes(client, people, investigator, sites) -> None:
    failed = screen_and_fail(investigator, sites["01"], start=START, failing=("IN01",))
    client.force_login(people[Role.MONITOR])

    text = audit_text(client, failed)

    assert "In progress" in text
    assert "Complete" in text
    assert "in_progress" not in text
    assert "Screen failed" in text
    assert "screen_failed" not in text


def test_multiple_choice_codes_show_each_label(client, people, investigator, sites) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=START)
    client.force_login(people[Role.DATA_MANAGER])

    text = audit_text(client, subject)

    # The demo's HCC history: aetiology HBV (crf-spec HX ETIOL, a list of codes).
    assert "Hepatitis B (HBV)" in text


def test_variables_and_forms_are_named_beside_their_codes(
    client, people, investigator, treated
) -> None:
    save_ae(investigator, treated)
    client.force_login(people[Role.DATA_MANAGER])

    text = audit_text(client, treated)

    assert "AEOUT Outcome" in text
    assert "AE Adverse event" in text


def test_dates_and_free_text_are_shown_as_entered(client, people, investigator, treated) -> None:
    save_ae(investigator, treated, term="Hypertension")
    client.force_login(people[Role.DATA_MANAGER])

    text = audit_text(client, treated)

    assert f"{DAY1 + dt.timedelta(days=7):%Y-%m-%d}" in text
    assert "Hypertension" in text


@pytest.mark.parametrize("events", [1, 4])
def test_audit_page_queries_do_not_grow_with_labels(
    client, people, investigator, treated, events, django_assert_max_num_queries
) -> None:
    for _ in range(events):
        save_ae(investigator, treated)
    client.force_login(people[Role.DATA_MANAGER])
    url = reverse("crf:subject_audit", kwargs={"subject_pk": treated.pk})

    with django_assert_max_num_queries(12):
        response = client.get(url)

    assert response.status_code == 200
