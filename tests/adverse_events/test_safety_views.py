"""The safety page: TEAE numbers, the AEs behind each, site scoping, CSV, SAE reports, cost."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from adverse_events.models import SaeReport
from adverse_events.safety import load_events, load_population, scoped_subjects, tables
from enrollment.demo import screen_and_enrol
from study.models import Role
from visits.demo import treat

from .conftest import DAY1, SERIOUS, START, save_ae

pytestmark = pytest.mark.django_db

VASCULAR = "Vascular disorders"
GI = "Gastrointestinal disorders"
EVENTS_URL = reverse("adverse_events:safety_events")
# Session, user, membership, permissions, time zone ... plus the page's own queries.
MAX_QUERIES = 16


def _treated(actor: Any, site: Any) -> Any:
    subject = screen_and_enrol(actor, site, start=START)
    treat(actor, subject, day1=DAY1, cycles=2, course="PD")
    return subject


@pytest.fixture
def study(people, sites, make_person, investigator, treated) -> dict[str, Any]:
    """Site 01: s1, s2 treated, s4 enrolled without a dose; site 02: s3 treated (N = 3).

    s1: hypertension grade 2 and grade 3 (serious), diarrhoea grade 1 (interrupted);
    s2: hypertension grade 1 (not related), fatigue before Day 1 (not a TEAE);
    s3: diarrhoea grade 3 (unlikely related, dose reduced).
    """
    inv02 = make_person("inv02", Role.INVESTIGATOR, ("02",))
    s1 = treated
    s2 = _treated(investigator, sites["01"])
    s3 = _treated(inv02, sites["02"])
    s4 = screen_and_enrol(investigator, sites["01"], start=START)
    ae = {
        "htn2": save_ae(investigator, s1),
        "htn3": save_ae(
            investigator,
            s1,
            **SERIOUS,
            onset_on=DAY1 + dt.timedelta(days=9),
            aware_on=DAY1 + dt.timedelta(days=9),
            narrative="Admitted for blood pressure control.",
        ),
        "dia1": save_ae(
            investigator,
            s1,
            term="Diarrhea",
            grade=1,
            relationship="POSSIBLY_RELATED",
            action="INTERRUPTED",
        ),
        "htn1": save_ae(investigator, s2, grade=1, relationship="NOT_RELATED"),
        "fatigue": save_ae(
            investigator,
            s2,
            term="Fatigue",
            onset_on=DAY1 - dt.timedelta(days=1),
            relationship="NOT_RELATED",
        ),
        "dia3": save_ae(
            inv02,
            s3,
            term="Diarrhea",
            grade=3,
            relationship="UNLIKELY_RELATED",
            action="REDUCED",
        ),
    }
    return {"s1": s1, "s2": s2, "s3": s3, "s4": s4, "ae": ae, "inv02": inv02}


def _page(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _overview(page: str) -> dict[str, tuple[int, str]]:
    rows = re.findall(
        r'<tr data-testid="overview-(\w+)">.*?data-testid="count">(\d+)<.*?<td class="text-end">([^<]*)</td>',
        page,
        flags=re.S,
    )
    return {key: (int(n), pct) for key, n, pct in rows}


def _links(page: str) -> list[tuple[str, int]]:
    found = re.findall(r'<a href="(' + re.escape(EVENTS_URL) + r'\?[^"]*)"[^>]*>(\d+)</a>', page)
    return [(html.unescape(href), int(n)) for href, n in found]


def _event_pks(page: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-testid="event-(\d+)"', page)}


def test_safety_page_shows_the_overview_numbers(client, people, study) -> None:
    client.force_login(people[Role.MEDICAL_MONITOR])

    page = _page(client, reverse("adverse_events:safety"))

    assert "N = 3 subjects" in page
    assert _overview(page) == {
        "any": (3, "100.0"),
        "grade3": (2, "66.7"),
        "serious": (1, "33.3"),
        "related": (1, "33.3"),
        "interrupted": (1, "33.3"),
        "reduced": (1, "33.3"),
        "discontinued": (0, "0.0"),
        "fatal": (0, "0.0"),
    }


def test_safety_page_shows_soc_and_term_rows_by_frequency_then_name(client, people, study) -> None:
    client.force_login(people[Role.STUDY_COORDINATOR])

    page = _page(client, reverse("adverse_events:safety"))

    rows = re.findall(r'data-testid="(soc|term)-row">\s*<th scope="row"[^>]*>([^<]+)</th>', page)
    assert rows == [
        ("soc", GI),
        ("term", "Diarrhea"),
        ("soc", VASCULAR),
        ("term", "Hypertension"),
    ]
    assert "Fatigue" not in page  # before Day 1: not a TEAE


def test_every_number_links_to_exactly_the_aes_behind_it(client, people, study) -> None:
    client.force_login(people[Role.DATA_MANAGER])
    page = _page(client, reverse("adverse_events:safety"))
    links = _links(page)
    assert len(links) == 18  # 6 overview rows > 0; 4 SOC / term rows: n and 2 grade cells

    for href, n in links:
        events_page = _page(client, href)
        assert re.search(rf"\b{n} subjects?\b", events_page), href


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"row": "any"}, {"htn2", "htn3", "dia1", "htn1", "dia3"}),
        ({"row": "grade3"}, {"htn3", "dia3"}),
        ({"row": "serious"}, {"htn3"}),
        ({"row": "related"}, {"htn2", "htn3", "dia1"}),
        ({"row": "interrupted"}, {"dia1"}),
        ({"row": "reduced"}, {"dia3"}),
        ({"soc": VASCULAR}, {"htn2", "htn3", "htn1"}),
        ({"soc": VASCULAR, "term": "Hypertension", "grade": "3"}, {"htn3"}),
        ({"soc": VASCULAR, "term": "Hypertension", "grade": "1"}, {"htn1"}),
        ({"soc": VASCULAR, "term": "Hypertension", "grade": "2"}, set()),
        ({"soc": GI, "grade": "1"}, {"dia1"}),
    ],
)
def test_events_page_lists_exactly_the_aes_of_a_number(
    client, people, study, query, expected
) -> None:
    client.force_login(people[Role.MEDICAL_MONITOR])

    page = _page(client, reverse("adverse_events:safety_events") + "?" + urlencode(query))

    assert _event_pks(page) == {study["ae"][name].pk for name in expected}


def test_events_page_links_the_subject_and_the_ae_form(client, people, study) -> None:
    client.force_login(people[Role.MEDICAL_MONITOR])
    ae = study["ae"]["htn3"]

    page = _page(client, EVENTS_URL + "?row=serious")

    subject_url = reverse("crf:subject_detail", kwargs={"subject_pk": study["s1"].pk})
    form_url = reverse(
        "crf:log_record",
        kwargs={"subject_pk": study["s1"].pk, "form_code": "AE", "record_pk": ae.pk},
    )
    assert f'<a href="{subject_url}">{study["s1"].subject_id}</a>' in page
    assert f'<a href="{form_url}">' in page


def test_events_page_with_no_query_lists_every_teae(client, people, study) -> None:
    client.force_login(people[Role.STUDY_COORDINATOR])

    page = _page(client, EVENTS_URL)

    assert len(_event_pks(page)) == 5


def test_events_page_refuses_an_unknown_cell(client, people, study) -> None:
    client.force_login(people[Role.STUDY_COORDINATOR])

    assert client.get(EVENTS_URL + "?row=nonsense").status_code == 404
    assert client.get(EVENTS_URL + "?soc=x&grade=7").status_code == 404


def test_site_filter_shows_only_that_sites_subjects(client, people, study) -> None:
    client.force_login(people[Role.STUDY_COORDINATOR])

    page = _page(client, reverse("adverse_events:safety") + "?site=01")
    events = _page(client, EVENTS_URL + "?row=any&site=01")

    assert "N = 2 subjects" in page
    assert _overview(page)["grade3"] == (1, "50.0")
    assert _overview(page)["reduced"] == (0, "0.0")
    assert all("site=01" in href for href, _n in _links(page))
    assert study["ae"]["dia3"].pk not in _event_pks(events)
    assert len(_event_pks(events)) == 4


def test_site_filter_refuses_an_unknown_site(client, people, study) -> None:
    client.force_login(people[Role.STUDY_COORDINATOR])

    assert client.get(reverse("adverse_events:safety") + "?site=99").status_code == 404


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.MONITOR, Role.SITE_COORDINATOR])
def test_site_bound_roles_see_neither_the_pages_nor_another_sites_counts(
    client, people, study, role
) -> None:
    user = people[role]  # of site 01 only
    client.force_login(user)
    subjects = scoped_subjects(user)

    population = load_population(subjects)
    events = load_events(subjects)
    result = tables(events, population)

    for name in ("safety", "safety_events", "safety_csv"):
        assert client.get(reverse(f"adverse_events:{name}")).status_code == 403
    assert {s.pk for s in population} == {study["s1"].pk, study["s2"].pk}
    assert study["s3"].pk not in {e.subject_pk for e in events}
    assert (result.population, result.overview[1].n) == (2, 1)  # site 02's grade 3 unseen


def test_study_coordinator_sees_every_site(people, study) -> None:
    result = tables(*_facts(people[Role.STUDY_COORDINATOR]))

    assert (result.population, result.overview[1].n) == (3, 2)


def _facts(user: Any) -> tuple[Any, Any]:
    subjects = scoped_subjects(user)
    return load_events(subjects), load_population(subjects)


def _csv(client: Any, query: str = "") -> list[list[str]]:
    response = client.get(reverse("adverse_events:safety_csv") + query)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="ANLO-HCC-teae-')
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_holds_both_tables(client, people, study) -> None:
    client.force_login(people[Role.DATA_MANAGER])

    rows = _csv(client)

    assert rows[0] == [
        "Section",
        "Row",
        "System organ class",
        "Term",
        "N",
        "n",
        "%",
        "Worst grade 1",
        "Worst grade 2",
        "Worst grade 3",
        "Worst grade 4",
        "Worst grade 5",
        "Grade missing",
    ]
    assert rows[1] == ["overview", "Any TEAE", "", "", "3", "3", "100.0"] + [""] * 6
    assert rows[2][:7] == ["overview", "TEAE of grade ≥ 3", "", "", "3", "2", "66.7"]
    assert rows[9:] == [
        ["soc_term", "System organ class", GI, "", "3", "2", "66.7", "1", "0", "1", "0", "0", "0"],
        ["soc_term", "Term", GI, "Diarrhea", "3", "2", "66.7", "1", "0", "1", "0", "0", "0"],
        [
            "soc_term",
            "System organ class",
            VASCULAR,
            "",
            "3",
            "2",
            "66.7",
            "1",
            "0",
            "1",
            "0",
            "0",
            "0",
        ],
        [
            "soc_term",
            "Term",
            VASCULAR,
            "Hypertension",
            "3",
            "2",
            "66.7",
            "1",
            "0",
            "1",
            "0",
            "0",
            "0",
        ],
    ]


def test_csv_follows_the_site_filter(client, people, study) -> None:
    client.force_login(people[Role.DATA_MANAGER])

    rows = _csv(client, "?site=02")

    assert rows[1] == ["overview", "Any TEAE", "", "", "1", "1", "100.0"] + [""] * 6
    assert [r[3] for r in rows[9:]] == ["", "Diarrhea"]


def _report(ae: Any, *, due_at: dt.datetime, completed_at: dt.datetime | None = None) -> None:
    SaeReport.objects.update_or_create(
        adverse_event=ae,
        defaults={
            "subject": ae.subject,
            "serious_since": due_at - dt.timedelta(hours=24),
            "clock_started_at": due_at - dt.timedelta(hours=24),
            "due_at": due_at,
            "completed_at": completed_at,
            "closed_at": None,
        },
    )


def test_an_overdue_sae_report_shows_red(client, people, study) -> None:
    ae = study["ae"]["htn3"]
    _report(ae, due_at=timezone.now() - dt.timedelta(hours=2))
    client.force_login(people[Role.MEDICAL_MONITOR])

    page = _page(client, reverse("adverse_events:safety"))

    row = re.search(rf'<tr class="([^"]*)" data-testid="sae-{ae.pk}">(.*?)</tr>', page, re.S)
    assert row is not None
    assert row.group(1) == "table-danger"
    assert re.search(r'data-testid="sae-status">Overdue<', row.group(2))


def test_a_complete_sae_report_is_not_red(client, people, study) -> None:
    ae = study["ae"]["htn3"]
    now = timezone.now()
    _report(ae, due_at=now - dt.timedelta(hours=2), completed_at=now - dt.timedelta(hours=3))
    client.force_login(people[Role.MEDICAL_MONITOR])

    page = _page(client, reverse("adverse_events:safety"))

    row = re.search(rf'<tr class="([^"]*)" data-testid="sae-{ae.pk}">(.*?)</tr>', page, re.S)
    assert row is not None
    assert row.group(1) == ""
    assert "Complete" in row.group(2)


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _add_subjects(actor: Any, site: Any, n: int) -> None:
    for _ in range(n):
        subject = screen_and_enrol(actor, site, start=START)
        treat(actor, subject, day1=DAY1, cycles=1, course="PD")
        save_ae(actor, subject, grade=3)
        save_ae(actor, subject, term="Diarrhea", grade=1, action="INTERRUPTED")
        save_ae(
            actor,
            subject,
            **SERIOUS,
            aware_on=DAY1 + dt.timedelta(days=7),
            narrative="Admitted for blood pressure control.",
        )


@pytest.mark.parametrize(
    "url",
    [
        reverse("adverse_events:safety"),
        reverse("adverse_events:safety") + "?site=01",
        EVENTS_URL + "?row=any",
        EVENTS_URL + "?soc=Vascular+disorders&term=Hypertension&grade=3",
        reverse("adverse_events:safety_csv"),
    ],
)
def test_safety_pages_cost_the_same_with_2_and_8_subjects(
    client, people, sites, investigator, django_assert_max_num_queries, url
) -> None:
    client.force_login(people[Role.MEDICAL_MONITOR])
    _add_subjects(investigator, sites["01"], 2)
    _queries(client, url)  # warm the session
    small = _queries(client, url)

    _add_subjects(investigator, sites["01"], 6)
    with django_assert_max_num_queries(small):
        assert client.get(url).status_code == 200

    assert small <= MAX_QUERIES


def test_percent_values_are_decimal_with_one_place(people, study) -> None:
    result = tables(*_facts(people[Role.DATA_MANAGER]))

    assert [r.percent for r in result.overview] == [
        Decimal("100.0"),
        Decimal("66.7"),
        Decimal("33.3"),
        Decimal("33.3"),
        Decimal("33.3"),
        Decimal("33.3"),
        Decimal("0.0"),
        Decimal("0.0"),
    ]
