"""The subject list: every link says which subject it opens (issue 10, item 9: screen-failed
rows had a link whose text was "—")."""

from __future__ import annotations

import datetime as dt

import pytest
import tinyhtml5
from django.urls import reverse

from enrollment.demo import screen_and_enrol, screen_and_fail
from study.models import Role

pytestmark = pytest.mark.django_db

NS = "{http://www.w3.org/1999/xhtml}"
START = dt.date(2026, 3, 2)


def _link_texts(html: str) -> list[str]:
    page = tinyhtml5.parse(html)
    table = next(t for t in page.iter(f"{NS}table") if t.get("data-testid") == "subjects")
    body = table.find(f"{NS}tbody")
    assert body is not None
    return [" ".join("".join(a.itertext()).split()) for a in body.iter(f"{NS}a")]


def test_every_subject_link_reads_a_subject_id_or_screening_number(
    client, people, investigator, sites
) -> None:
    enrolled = screen_and_enrol(investigator, sites["01"], start=START)
    failed = screen_and_fail(investigator, sites["01"], start=START, failing=("IN01",))
    client.force_login(people[Role.DATA_MANAGER])

    texts = _link_texts(client.get(reverse("crf:subject_list")).content.decode())

    assert "—" not in texts
    assert sorted(texts) == sorted(
        [enrolled.subject_id, enrolled.screening_id, failed.screening_id]
    )


def test_screen_failed_row_says_it_has_no_subject_id(client, people, investigator, sites):
    failed = screen_and_fail(investigator, sites["01"], start=START, failing=("IN01",))
    client.force_login(people[Role.DATA_MANAGER])

    page = tinyhtml5.parse(client.get(reverse("crf:subject_list")).content.decode())

    row = next(
        tr
        for tr in page.iter(f"{NS}tr")
        if failed.screening_id in " ".join(tr.itertext()) and tr.find(f"{NS}td") is not None
    )
    first_cell = row.find(f"{NS}td")
    assert first_cell is not None
    assert first_cell.find(f".//{NS}a") is None
    assert "No subject ID" in " ".join(first_cell.itertext())


def test_missing_forms_of_a_held_visit_are_named_and_linked(client, investigator, sites):
    from crf.models import Visit
    from visits.demo import treat

    subject = screen_and_enrol(investigator, sites["01"], start=START)
    treat(investigator, subject, day1=START + dt.timedelta(days=5), cycles=1, course="PD")
    client.force_login(investigator)

    html = client.get(reverse("crf:subject_detail", kwargs={"subject_pk": subject.pk}))
    page = tinyhtml5.parse(html.content.decode())

    c1 = next(s for s in page.iter(f"{NS}section") if s.get("id") == "visit-C1D1")
    missing = next(p for p in c1.iter(f"{NS}p") if "Missing" in "".join(p.itertext()))
    text = " ".join("".join(missing.itertext()).split())
    assert "Laboratory, Liver function scores" in text
    assert "LB" not in text
    assert "CP" not in text
    links = [a.get("href") for a in missing.iter(f"{NS}a")]
    visit = Visit.objects.get(subject=subject, code="C1D1")
    for code in ("LB", "CP"):
        kwargs = {"subject_pk": subject.pk, "visit_code": visit.code, "form_code": code}
        assert reverse("crf:visit_form", kwargs=kwargs) in links
