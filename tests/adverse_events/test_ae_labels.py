"""AE pages show each code's label, never the raw code (issue 10, item 9; crf-spec "Code lists":
"The UI shows each code's label (translatable), never the raw code alone")."""

from __future__ import annotations

import pytest
import tinyhtml5
from django.urls import reverse

from study.models import Role

from .conftest import save_ae

pytestmark = pytest.mark.django_db

RAW = ("NOT_RECOVERED", "PROBABLY_RELATED", "DOSE_NOT_CHANGED", "in_progress", "not_started")


def visible_text(html: str) -> str:
    root = tinyhtml5.parse(html)
    body = root.find(".//{http://www.w3.org/1999/xhtml}body")
    assert body is not None
    return " ".join(" ".join(body.itertext()).split())


def test_subject_ae_log_shows_labels(client, investigator, treated) -> None:
    save_ae(investigator, treated)
    save_ae(investigator, treated, term="Diarrhea", complete=False)
    client.force_login(investigator)

    url = reverse("adverse_events:subject_log", kwargs={"subject_pk": treated.pk})
    text = visible_text(client.get(url).content.decode())

    assert "Not recovered / not resolved" in text
    assert "Probably related" in text
    assert "Dose not changed" in text
    assert "In progress" in text
    assert [code for code in RAW if code in text] == []


def test_subject_page_ae_panel_shows_no_codes(client, investigator, treated) -> None:
    save_ae(investigator, treated)
    client.force_login(investigator)

    url = reverse("crf:subject_detail", kwargs={"subject_pk": treated.pk})
    text = visible_text(client.get(url).content.decode())

    assert "Hypertension" in text
    assert [code for code in RAW if code in text] == []


def test_safety_event_list_shows_labels(client, people, investigator, treated) -> None:
    save_ae(investigator, treated)
    client.force_login(people[Role.MEDICAL_MONITOR])

    url = reverse("adverse_events:safety_events") + "?row=any"
    text = visible_text(client.get(url).content.decode())

    assert "Not recovered / not resolved" in text
    assert "Probably related" in text
    assert [code for code in RAW if code in text] == []
