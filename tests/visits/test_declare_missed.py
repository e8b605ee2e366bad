"""Declaring a visit missed: the confirmation page (the worklist dialog's no-JavaScript path),
the reason's validation at the field, the audit trail, who may do it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import tinyhtml5
from django.urls import reverse

from crf.models import AuditEntry, Visit
from enrollment.demo import screen_and_enrol
from study.models import Role
from visits.worklist import build_worklist

pytestmark = pytest.mark.django_db

NS = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture
def subject(investigator, sites) -> Any:
    return screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))


def _url(subject: Any, code: str = "C2D1", query: str = "") -> str:
    kwargs = {"subject_pk": subject.pk, "visit_code": code}
    return reverse("visits:declare_missed", kwargs=kwargs) + query


def _text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


def test_the_confirmation_page_asks_for_the_reason_of_that_visit(
    client, investigator, subject
) -> None:
    client.force_login(investigator)

    response = client.get(_url(subject, query="?next=/visits/worklist/%3Fkind%3Doverdue"))

    assert response.status_code == 200
    page = tinyhtml5.parse(response.content.decode())
    assert _text(page.find(f".//{NS}h1")) == "Declare a visit missed"
    assert _text(page.find(f".//{NS}dd[@data-testid='visit']")) == "C2D1 · Cycle Day 1"
    label = page.find(f".//{NS}label[@for='id_reason']")
    assert _text(label) == "Reason the visit was missed"
    form = page.find(f".//{NS}form[@action='{_url(subject)}']")
    assert form.find(f".//{NS}textarea[@name='reason']").get("required") is not None
    assert form.find(f".//{NS}input[@name='next']").get("value") == "/visits/worklist/?kind=overdue"


def test_a_missed_visit_is_declared_with_a_reason_audited_and_leaves_the_worklist(
    client, investigator, subject
) -> None:
    client.force_login(investigator)

    response = client.post(
        _url(subject), {"reason": "patient in hospital", "next": "/visits/worklist/?kind=overdue"}
    )

    assert (response.status_code, response["Location"]) == (302, "/visits/worklist/?kind=overdue")
    c2 = Visit.objects.get(subject=subject, code="C2D1")
    assert (c2.missed, c2.missed_reason) == (True, "patient in hospital")
    entry = AuditEntry.objects.get(form_code="VISIT")
    assert (entry.visit_code, entry.variable, entry.new_value, entry.reason_text) == (
        "C2D1",
        "MISSED",
        "Y",
        "patient in hospital",
    )
    assert entry.actor_id == investigator.pk
    worklist = build_worklist(investigator, today=dt.date(2026, 5, 1))
    assert "C2D1" not in [i.visit.code for i in worklist.overdue]
    followed = client.get(response["Location"])
    assert f"{subject.subject_id} C2D1 declared missed." in followed.content.decode()


@pytest.mark.parametrize("reason", ["", "   \n  "])
def test_an_empty_reason_is_refused_at_the_field(client, investigator, subject, reason) -> None:
    client.force_login(investigator)

    response = client.post(_url(subject), {"reason": reason})

    assert response.status_code == 200
    page = tinyhtml5.parse(response.content.decode())
    box = page.find(f".//{NS}textarea[@id='id_reason']")
    assert (box.get("aria-invalid"), box.get("class")) == ("true", "form-control is-invalid")
    assert "id_reason-error" in box.get("aria-describedby")
    error = page.find(f".//{NS}div[@id='id_reason-error']")
    assert _text(error) == "Give the reason the visit was missed."
    assert not Visit.objects.get(subject=subject, code="C2D1").missed
    assert not AuditEntry.objects.filter(form_code="VISIT").exists()


def test_a_reason_longer_than_500_characters_is_refused_at_the_field(
    client, investigator, subject
) -> None:
    client.force_login(investigator)

    response = client.post(_url(subject), {"reason": "x" * 501})

    page = tinyhtml5.parse(response.content.decode())
    error = page.find(f".//{NS}div[@id='id_reason-error']")
    assert _text(error) == "Ensure this value has at most 500 characters (it has 501)."
    assert not Visit.objects.get(subject=subject, code="C2D1").missed


def test_a_held_visit_cannot_be_declared_missed(client, investigator, subject) -> None:
    c2 = Visit.objects.get(subject=subject, code="C2D1")
    c2.held_on = c2.planned_date
    c2.save(update_fields=["held_on"])
    client.force_login(investigator)

    shown = client.get(_url(subject))
    posted = client.post(_url(subject), {"reason": "no show"})

    message = f"C2D1 was held on {c2.planned_date.isoformat()}; it cannot be missed."
    for response in (shown, posted):
        assert response.status_code == 200
        page = tinyhtml5.parse(response.content.decode())
        assert _text(page.find(f".//{NS}div[@data-testid='cannot-be-missed']")) == message
        assert page.find(f".//{NS}textarea") is None
    assert not Visit.objects.get(subject=subject, code="C2D1").missed


def test_a_visit_declared_missed_twice_is_audited_once(client, investigator, subject) -> None:
    client.force_login(investigator)

    client.post(_url(subject), {"reason": "patient in hospital"})
    again = client.post(_url(subject), {"reason": "double click"})

    assert "C2D1 has already been declared missed." in again.content.decode()
    assert Visit.objects.get(subject=subject, code="C2D1").missed_reason == "patient in hospital"
    assert AuditEntry.objects.filter(form_code="VISIT").count() == 1


def test_next_to_another_host_returns_to_the_worklist(client, investigator, subject) -> None:
    client.force_login(investigator)

    response = client.post(
        _url(subject), {"reason": "patient in hospital", "next": "https://evil.example/"}
    )

    assert response["Location"] == "/visits/worklist/"


def test_an_unknown_visit_is_not_found(client, investigator, subject) -> None:
    client.force_login(investigator)

    assert client.get(_url(subject, code="C99D1")).status_code == 404
    assert client.post(_url(subject, code="C99D1"), {"reason": "x"}).status_code == 404


@pytest.mark.parametrize("role", [Role.MONITOR, Role.STUDY_COORDINATOR, Role.MEDICAL_MONITOR])
def test_people_who_do_not_enter_data_cannot_declare_a_visit_missed(
    client, people, subject, role
) -> None:
    client.force_login(people[role])

    assert client.get(_url(subject)).status_code == 403
    assert client.post(_url(subject), {"reason": "x"}).status_code == 403
    assert not Visit.objects.get(subject=subject, code="C2D1").missed


def test_a_subject_of_another_site_is_not_found(client, make_person, subject) -> None:
    client.force_login(make_person("inv02", Role.INVESTIGATOR, ("02",)))

    assert client.get(_url(subject)).status_code == 404
    assert client.post(_url(subject), {"reason": "x"}).status_code == 404


def test_the_service_refuses_a_visit_already_declared_missed(investigator, sites) -> None:
    import datetime as dt

    from django.core.exceptions import ValidationError

    from crf.models import AuditEntry
    from enrollment.demo import screen_and_enrol
    from visits.services import declare_missed

    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    visit = subject.visits.get(code="C1D1")
    declare_missed(actor=investigator, visit=visit, reason="Patient in hospital")

    with pytest.raises(ValidationError, match="already been declared missed"):
        declare_missed(actor=investigator, visit=visit, reason="again")

    assert AuditEntry.objects.filter(form_code="VISIT", variable="MISSED").count() == 1
