"""A suggested deviation says which dates and how many days out of window (issue 10, item 9),
in words a person reads: no raw code (``DVCAT VISIT_WINDOW``) on the deviations page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import tinyhtml5
from django.urls import reverse
from django.utils import translation

from adverse_events import deviations as dv
from adverse_events.models import ProtocolDeviation
from crf import registry
from crf.models import AuditEntry, CheckFinding, Visit
from crf.services import Reason, save_form
from enrollment.demo import screen_and_enrol
from study.models import Role
from visits.demo import treat
from visits.models import VitalSigns

from .conftest import DAY1, START

pytestmark = pytest.mark.django_db


def visible_text(html: str) -> str:
    """The page's text as a person sees it (no tags, no attribute values, no hidden inputs)."""
    root = tinyhtml5.parse(html)
    body = root.find(".//{http://www.w3.org/1999/xhtml}body")
    assert body is not None
    return " ".join(" ".join(body.itertext()).split())


def vitals_on(actor, subject, visit_code: str, day: dt.date) -> CheckFinding:
    visit = Visit.objects.get(subject=subject, code=visit_code)
    save_form(
        actor=actor,
        spec=registry.get("VS"),
        subject=subject,
        visit=visit,
        values={
            "assessed_on": day,
            "systolic_bp": 120,
            "diastolic_bp": 80,
            "weight_kg": Decimal("60.0"),
            "ecog": 1,
        },
        complete=True,
    )
    return CheckFinding.objects.get(
        subject=subject, visit_code=visit_code, check_code="VSDAT_window_deviation"
    )


@pytest.fixture
def enrolled(investigator, sites):
    return screen_and_enrol(investigator, sites["01"], start=START)


@pytest.fixture
def c2(enrolled) -> Visit:
    return Visit.objects.get(subject=enrolled, code="C2D1")


def test_window_miss_counts_days_after_the_window_closed() -> None:
    miss = dv.window_miss(dt.date(2026, 4, 2), dt.date(2026, 3, 24), dt.date(2026, 3, 28))

    assert miss == dv.WindowMiss(days=5, late=True)


def test_window_miss_counts_days_before_the_window_opened() -> None:
    miss = dv.window_miss(dt.date(2026, 3, 22), dt.date(2026, 3, 24), dt.date(2026, 3, 28))

    assert miss == dv.WindowMiss(days=2, late=False)


def test_window_miss_is_none_inside_the_window_or_without_one() -> None:
    assert dv.window_miss(dt.date(2026, 3, 24), dt.date(2026, 3, 24), dt.date(2026, 3, 28)) is None
    assert dv.window_miss(dt.date(2026, 3, 24), None, None) is None


def test_sentence_names_the_visit_the_dates_and_the_days_late() -> None:
    with translation.override("en"):
        text = dv.window_sentence(
            "C3D1", dt.date(2026, 4, 2), dt.date(2026, 3, 24), dt.date(2026, 3, 28)
        )

    assert (
        text == "C3D1 held on 2026-04-02, 5 days after its window closed (2026-03-24 – 2026-03-28)."
    )


def test_sentence_says_one_day_early_in_the_singular() -> None:
    with translation.override("en"):
        text = dv.window_sentence(
            "C3D1", dt.date(2026, 3, 23), dt.date(2026, 3, 24), dt.date(2026, 3, 28)
        )

    assert text == (
        "C3D1 held on 2026-03-23, 1 day before its window opened (2026-03-24 – 2026-03-28)."
    )


def test_suggestion_on_the_page_says_the_dates_and_days_not_the_code(
    client, people, investigator, enrolled, c2
) -> None:
    held = c2.window_end + dt.timedelta(days=3)
    vitals_on(investigator, enrolled, "C2D1", held)
    client.force_login(people[Role.DATA_MANAGER])

    text = visible_text(client.get(reverse("adverse_events:deviations")).content.decode())

    assert (
        f"C2D1 held on {held:%Y-%m-%d}, 3 days after its window closed "
        f"({c2.window_start:%Y-%m-%d} – {c2.window_end:%Y-%m-%d})."
    ) in text
    assert "VISIT_WINDOW" not in text
    assert "DVCAT" not in text


def test_early_visit_suggestion_says_days_before_the_window_opened(
    client, people, investigator, enrolled, c2
) -> None:
    held = c2.window_start - dt.timedelta(days=1)
    vitals_on(investigator, enrolled, "C2D1", held)
    client.force_login(people[Role.DATA_MANAGER])

    text = visible_text(client.get(reverse("adverse_events:deviations")).content.decode())

    assert f"C2D1 held on {held:%Y-%m-%d}, 1 day before its window opened" in text


def test_confirm_form_offers_the_sentence_as_the_description(
    client, people, investigator, enrolled, c2
) -> None:
    held = c2.window_end + dt.timedelta(days=2)
    finding = vitals_on(investigator, enrolled, "C2D1", held)
    client.force_login(people[Role.DATA_MANAGER])

    page = tinyhtml5.parse(client.get(reverse("adverse_events:deviations")).content.decode())

    ns = "{http://www.w3.org/1999/xhtml}"
    box = next(t for t in page.iter(f"{ns}textarea") if t.get("id") == f"desc-{finding.pk}")
    assert box.text == (
        f"C2D1 held on {held:%Y-%m-%d}, 2 days after its window closed "
        f"({c2.window_start:%Y-%m-%d} – {c2.window_end:%Y-%m-%d})."
    )


def test_confirmed_record_says_the_dates_when_no_description_is_typed(
    client, people, investigator, enrolled, c2
) -> None:
    held = c2.window_end + dt.timedelta(days=5)
    finding = vitals_on(investigator, enrolled, "C2D1", held)
    client.force_login(people[Role.DATA_MANAGER])

    client.post(
        reverse("adverse_events:decide_suggestion", kwargs={"finding_pk": finding.pk}),
        {"decision": "confirm", "severity": "MINOR", "description": ""},
    )

    deviation = ProtocolDeviation.objects.get(subject=enrolled)
    sentence = (
        f"C2D1 held on {held:%Y-%m-%d}, 5 days after its window closed "
        f"({c2.window_start:%Y-%m-%d} – {c2.window_end:%Y-%m-%d})."
    )
    assert (deviation.description, deviation.occurred_on) == (sentence, held)
    decision = AuditEntry.objects.get(form_code="DV", variable="DVDECISION")
    assert decision.reason_text == sentence


def test_confirmed_record_keeps_a_typed_description(
    client, people, investigator, enrolled, c2
) -> None:
    finding = vitals_on(investigator, enrolled, "C2D1", c2.window_end + dt.timedelta(days=1))
    client.force_login(people[Role.DATA_MANAGER])

    client.post(
        reverse("adverse_events:decide_suggestion", kwargs={"finding_pk": finding.pk}),
        {"decision": "confirm", "severity": "MINOR", "description": "Patient travelled."},
    )

    assert ProtocolDeviation.objects.get(subject=enrolled).description == "Patient travelled."


def test_suggestion_sentence_in_chinese_is_not_the_raw_code(
    client, people, investigator, enrolled, c2
) -> None:
    vitals_on(investigator, enrolled, "C2D1", c2.window_end + dt.timedelta(days=1))
    client.force_login(people[Role.DATA_MANAGER])

    response = client.get(reverse("adverse_events:deviations"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert "VISIT_WINDOW" not in visible_text(response.content.decode())


def test_vitals_out_of_a_visit_held_in_window_name_the_form(
    client, people, investigator, sites
) -> None:
    """The demo's case: C2D1 held in its window (first dose), its vital signs dated two days
    after the window closed (a corrected source)."""
    subject = screen_and_enrol(investigator, sites["01"], start=START)
    treat(investigator, subject, day1=DAY1, cycles=2, course="PD")
    c2 = Visit.objects.get(subject=subject, code="C2D1")
    late = c2.window_end + dt.timedelta(days=2)
    save_form(
        actor=investigator,
        spec=registry.get("VS"),
        subject=subject,
        visit=c2,
        instance=VitalSigns.objects.get(subject=subject, visit=c2),
        values={"assessed_on": late},
        complete=True,
        reason=Reason("NEW_SOURCE_INFORMATION", ""),
    )
    finding = CheckFinding.objects.get(subject=subject, check_code="VSDAT_window_deviation")
    client.force_login(people[Role.DATA_MANAGER])

    text = visible_text(client.get(reverse("adverse_events:deviations")).content.decode())
    client.post(
        reverse("adverse_events:decide_suggestion", kwargs={"finding_pk": finding.pk}),
        {"decision": "confirm", "severity": "MINOR", "description": ""},
    )

    sentence = (
        f"C2D1: Vital signs dated {late:%Y-%m-%d}, 2 days after the visit window closed "
        f"({c2.window_start:%Y-%m-%d} – {c2.window_end:%Y-%m-%d})."
    )
    assert sentence in text
    deviation = ProtocolDeviation.objects.get(subject=subject)
    assert (deviation.description, deviation.occurred_on) == (sentence, late)
