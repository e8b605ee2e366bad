"""The site worklist: due, overdue and missing forms; scoped; grouped by subject; filtered by
site, work, visit kind and age with counts; paged by subject; bounded queries."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any
from xml.etree.ElementTree import Element

import pytest
import tinyhtml5
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crf.models import Visit
from enrollment.demo import screen_and_enrol
from study.models import Role
from visits import views
from visits.worklist import Filters, WorkKind, age_band, build_worklist, group_by_subject

pytestmark = pytest.mark.django_db

NS = "{http://www.w3.org/1999/xhtml}"
URL = "/visits/worklist/"


# --------------------------------------------------------------------------- helpers


def _today(site: Any) -> dt.date:
    """Today where the site is: the worklist counts days in the site's time zone."""
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(site.time_zone))


def _enrol(actor: Any, site: Any, *, day1_days_ago: int) -> Any:
    """A subject whose Day 1 (C1D1) was ``day1_days_ago`` days before today.

    From Day 1: C1D1 on day 0 (no window), C2D1 target day 21 (window 18-24), TA1 target
    day 41 (34-48), C3D1 target day 42 (39-45), C4D1 target day 63 (60-66).
    """
    start = _today(site) - dt.timedelta(days=day1_days_ago + 5)
    return screen_and_enrol(actor, site, start=start)


def _hold(subject: Any, code: str) -> Visit:
    visit = Visit.objects.get(subject=subject, code=code)
    visit.held_on = visit.planned_date
    visit.save(update_fields=["held_on"])
    return visit


def _page(client: Any, query: str = "") -> Element:
    response = client.get(URL + query)
    assert response.status_code == 200
    return tinyhtml5.parse(response.content.decode())


def _text(element: Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _groups(page: Element) -> dict[str, list[tuple[str, str]]]:
    """{subject ID: [(visit, kind), …]} in the order shown."""
    return {
        body.get("data-subject", ""): [
            (row.get("data-visit", ""), row.get("data-kind", ""))
            for row in body.iter(f"{NS}tr")
            if row.get("data-testid") == "item"
        ]
        for body in page.iter(f"{NS}tbody")
        if body.get("data-testid") == "subject"
    }


def _facet(page: Element, name: str) -> dict[str, tuple[int, bool]]:
    """{option value ("" for All): (count, selected)} of one filter."""
    for div in page.iter(f"{NS}div"):
        if div.get("data-facet") == name:
            return {
                link.get("data-option", ""): (
                    int(_text(next(s for s in link.iter(f"{NS}span")))),
                    link.get("aria-current") == "true",
                )
                for link in div.iter(f"{NS}a")
            }
    return {}


def _facet_links(page: Element, name: str) -> dict[str, str]:
    for div in page.iter(f"{NS}div"):
        if div.get("data-facet") == name:
            return {
                link.get("data-option", ""): link.get("href", "") for link in div.iter(f"{NS}a")
            }
    return {}


# --------------------------------------------------------------------------- build_worklist


def test_overdue_due_soon_and_held_visits_with_missing_forms(investigator, sites) -> None:
    today = dt.date(2026, 5, 1)
    subject = screen_and_enrol(
        investigator, sites["01"], start=dt.date(2026, 3, 2)
    )  # Day 1 2026-03-07
    c2 = Visit.objects.get(subject=subject, code="C2D1")
    c2.held_on = c2.planned_date
    c2.save(update_fields=["held_on"])

    worklist = build_worklist(investigator, today=today)

    overdue = {i.visit.code: i.days_overdue for i in worklist.overdue}
    assert "C1D1" in overdue and "C3D1" in overdue and "TA1" in overdue
    assert (
        overdue["C3D1"] == (today - Visit.objects.get(subject=subject, code="C3D1").window_end).days
    )
    assert [i.visit.code for i in worklist.due_soon] == ["C4D1"]  # 2026-05-09, within 14 days
    missing = {i.visit.code: i.missing_codes for i in worklist.missing_forms}
    assert list(missing) == ["C2D1"]
    assert {"VS", "LB", "CP", "EX"} <= set(missing["C2D1"])  # (+ the test-only form XX)


def test_another_sites_visits_are_not_on_the_worklist(investigator, people, sites) -> None:
    other = screen_and_enrol(investigator, sites["02"], start=dt.date(2026, 3, 2))

    worklist = build_worklist(people[Role.INVESTIGATOR], today=dt.date(2026, 5, 1))

    assert all(i.visit.subject_id != other.pk for i in worklist.items)


def test_missing_forms_carry_their_name_and_their_visit_form_page(investigator, sites) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    _hold(subject, "C2D1")

    (item,) = build_worklist(investigator, today=dt.date(2026, 5, 1)).missing_forms

    vs = next(form for form in item.missing if form.code == "VS")
    assert (str(vs.title), vs.url) == (
        "Vital signs",
        f"/crf/subjects/{subject.pk}/visits/C2D1/forms/VS/",
    )


@pytest.mark.parametrize(
    ("days", "band"), [(0, "0-7"), (7, "0-7"), (8, "8-30"), (30, "8-30"), (31, "31+"), (400, "31+")]
)
def test_age_bands_split_at_7_and_30_days(days: int, band: str) -> None:
    assert age_band(days) == band


def test_filters_ignore_values_that_are_not_choices() -> None:
    query = {"site": "02", "kind": "nonsense", "visit": "TA", "age": "99", "page": "x"}

    filters = Filters.from_query(query, site_numbers=["01"])

    assert filters == Filters(site=None, kind=None, visit="TA", age=None)
    assert filters.query(kind="overdue") == "kind=overdue&visit=TA"


def test_items_are_grouped_by_subject_id_in_visit_order(investigator, sites) -> None:
    later = _enrol(investigator, sites["01"], day1_days_ago=30)
    earlier = _enrol(investigator, sites["01"], day1_days_ago=60)

    groups = group_by_subject(build_worklist(investigator, today=_today(sites["01"])).items)

    assert [g.subject.subject_id for g in groups] == sorted([later.subject_id, earlier.subject_id])
    by_id = {g.subject.pk: [i.visit.code for i in g.items] for g in groups}
    assert by_id[later.pk] == ["C1D1", "C2D1", "TA1", "C3D1"]
    assert by_id[earlier.pk] == ["C1D1", "C2D1", "TA1", "C3D1", "C4D1"]


# --------------------------------------------------------------------------- the page


def test_the_page_groups_work_under_each_subject_linked_to_its_page(
    client, investigator, sites
) -> None:
    first = _enrol(investigator, sites["01"], day1_days_ago=30)
    second = _enrol(investigator, sites["01"], day1_days_ago=60)
    _hold(first, "C1D1")
    client.force_login(investigator)

    page = _page(client)

    assert _groups(page) == {
        first.subject_id: [
            ("C1D1", WorkKind.MISSING),
            ("C2D1", WorkKind.OVERDUE),
            ("TA1", WorkKind.DUE),
            ("C3D1", WorkKind.DUE),
        ],
        second.subject_id: [
            ("C1D1", WorkKind.OVERDUE),
            ("C2D1", WorkKind.OVERDUE),
            ("TA1", WorkKind.OVERDUE),
            ("C3D1", WorkKind.OVERDUE),
            ("C4D1", WorkKind.DUE),
        ],
    }
    heading_links = {
        _text(a): a.get("href")
        for a in page.iter(f"{NS}a")
        if a.get("class") == "worklist-subject-link"
    }
    assert heading_links == {
        first.subject_id: f"/crf/subjects/{first.pk}/",
        second.subject_id: f"/crf/subjects/{second.pk}/",
    }


def test_each_row_says_how_late_or_how_soon(client, investigator, sites) -> None:
    held = _enrol(investigator, sites["01"], day1_days_ago=30)
    c1 = _hold(held, "C1D1")
    in_window = _enrol(investigator, sites["01"], day1_days_ago=22)  # C2D1 target: yesterday
    client.force_login(investigator)

    page = _page(client)

    work = {
        (body.get("data-subject"), row.get("data-visit")): _text(row.findall(f"{NS}td")[0])
        for body in page.iter(f"{NS}tbody")
        if body.get("data-testid") == "subject"
        for row in body.iter(f"{NS}tr")
        if row.get("data-testid") == "item"
    }
    assert work == {
        (held.subject_id, "C1D1"): f"Forms missing held {c1.held_on.isoformat()}",
        (held.subject_id, "C2D1"): "Overdue 6 days late",
        (held.subject_id, "TA1"): "Due soon in 11 days",
        (held.subject_id, "C3D1"): "Due soon in 12 days",
        (in_window.subject_id, "C1D1"): "Overdue 22 days late",
        (in_window.subject_id, "C2D1"): "Due soon window closes in 2 days",
    }


def test_every_missing_form_is_a_named_link_to_its_form_page(client, investigator, sites) -> None:
    subject = _enrol(investigator, sites["01"], day1_days_ago=30)
    _hold(subject, "C1D1")
    client.force_login(investigator)

    page = _page(client, "?kind=missing")

    links = [(_text(a), a.get("href")) for a in page.iter(f"{NS}a") if a.get("data-form")]
    base = f"/crf/subjects/{subject.pk}/visits/C1D1/forms"
    assert links == [  # in the order of the subject page (the registry's)
        ("Test vitals", f"{base}/XX/"),
        ("Vital signs", f"{base}/VS/"),
        ("Laboratory", f"{base}/LB/"),
        ("Liver function scores", f"{base}/CP/"),
        ("Study drug exposure", f"{base}/EX/"),
    ]


def test_the_work_filter_shows_one_kind_and_counts_each(client, investigator, sites) -> None:
    subject = _enrol(investigator, sites["01"], day1_days_ago=30)
    _hold(subject, "C1D1")
    client.force_login(investigator)

    page = _page(client, "?kind=overdue")

    assert _groups(page) == {subject.subject_id: [("C2D1", "overdue")]}
    assert _facet(page, "kind") == {
        "": (4, False),
        "overdue": (1, True),
        "due": (2, False),
        "missing": (1, False),
    }


def test_the_age_filter_keeps_overdue_and_missing_work_of_that_age(
    client, investigator, sites
) -> None:
    subject = _enrol(investigator, sites["01"], day1_days_ago=60)
    # C1D1 60 days overdue, C2D1 36, TA1 12, C3D1 15; C4D1 due in 3 days
    client.force_login(investigator)

    page = _page(client, "?age=8-30")

    assert _groups(page) == {subject.subject_id: [("TA1", "overdue"), ("C3D1", "overdue")]}
    assert _facet(page, "age") == {
        "": (5, False),
        "0-7": (0, False),
        "8-30": (2, True),
        "31+": (2, False),
    }


def test_the_visit_filter_shows_tumour_assessments_only(client, investigator, sites) -> None:
    subject = _enrol(investigator, sites["01"], day1_days_ago=60)
    client.force_login(investigator)

    page = _page(client, "?visit=TA")

    assert _groups(page) == {subject.subject_id: [("TA1", "overdue")]}
    assert _facet(page, "visit")["TA"] == (1, True)
    assert _facet(page, "visit")["CYCLE"] == (4, False)


def test_the_site_filter_offers_and_counts_only_the_users_own_sites(
    client, investigator, make_person, sites
) -> None:
    ours = _enrol(investigator, sites["01"], day1_days_ago=30)
    theirs = _enrol(investigator, sites["02"], day1_days_ago=30)
    monitor = make_person("mon0102", Role.MONITOR, ("01", "02"))

    client.force_login(investigator)  # site 01 only: nothing to choose, no other site counted
    own = _page(client, "?site=02")
    client.force_login(monitor)
    both = _page(client)
    only_02 = _page(client, "?site=02")

    assert list(_groups(own)) == [ours.subject_id]
    assert _facet(own, "site") == {}
    assert _facet(own, "kind")[""] == (4, True)
    assert _facet(both, "site") == {"": (8, True), "01": (4, False), "02": (4, False)}
    assert list(_groups(only_02)) == [theirs.subject_id]


def test_the_worklist_pages_by_subject_and_keeps_the_filters(
    client, investigator, sites, monkeypatch
) -> None:
    monkeypatch.setattr(views, "SUBJECTS_PER_PAGE", 2)
    subjects = [_enrol(investigator, sites["01"], day1_days_ago=30 + i) for i in range(3)]
    ids = sorted(s.subject_id for s in subjects)
    client.force_login(investigator)

    first = _page(client, "?kind=overdue")
    links = [
        a.get("href")
        for nav in first.iter(f"{NS}nav")
        if nav.get("data-testid") == "worklist-pages"
        for a in nav.iter(f"{NS}a")
    ]
    second = _page(client, "?kind=overdue&page=2")

    assert list(_groups(first)) == ids[:2]
    assert links == ["?kind=overdue&page=2", "?kind=overdue&page=2"]  # "2" and "Next"
    assert list(_groups(second)) == ids[2:]
    assert _facet_links(second, "visit")["TA"] == "?kind=overdue&visit=TA"  # back to page 1


def test_malformed_filters_and_page_numbers_are_ignored(client, investigator, sites) -> None:
    subject = _enrol(investigator, sites["01"], day1_days_ago=30)
    client.force_login(investigator)

    page = _page(client, "?page=abc&site=%00&kind=1&age=-5&visit=<b>")

    assert list(_groups(page)) == [subject.subject_id]
    assert _text(page.find(f".//{NS}p[@data-testid='worklist-summary']")) == (
        "Subjects 1–1 of 1 · 4 items"
    )


def test_an_empty_worklist_says_there_is_nothing_to_do(client, investigator, sites) -> None:
    client.force_login(investigator)

    page = _page(client)

    empty = page.find(f".//{NS}div[@data-testid='worklist-empty']")
    assert _text(empty).startswith("Nothing to do.")


def test_filters_that_match_nothing_say_so_and_offer_to_clear_them(
    client, investigator, sites
) -> None:
    _enrol(investigator, sites["01"], day1_days_ago=30)
    client.force_login(investigator)

    page = _page(client, "?visit=SURV")

    empty = page.find(f".//{NS}div[@data-testid='worklist-empty']")
    assert _text(empty) == "No work matches these filters. Clear the filters"


def test_declare_missed_is_a_link_to_its_confirmation_page_only_for_data_entry(
    client, investigator, people, sites
) -> None:
    subject = _enrol(investigator, sites["01"], day1_days_ago=30)

    client.force_login(investigator)
    entry = _page(client, "?kind=overdue")
    client.force_login(people[Role.MONITOR])
    monitor = _page(client, "?kind=overdue")

    buttons = [a for a in entry.iter(f"{NS}a") if a.get("data-worklist-missed") is not None]
    # The visible "Declare missed" with the subject and visit for a screen reader (a
    # visually hidden tail, so the accessible name always contains the visible text).
    assert [(_text(a), a.get("href")) for a in buttons] == [
        (
            f"Declare missed {subject.subject_id} C1D1",
            f"/visits/subjects/{subject.pk}/visits/C1D1/missed/?next=/visits/worklist/%3Fkind%3Doverdue",
        ),
        (
            f"Declare missed {subject.subject_id} C2D1",
            f"/visits/subjects/{subject.pk}/visits/C2D1/missed/?next=/visits/worklist/%3Fkind%3Doverdue",
        ),
    ]
    assert entry.find(f".//{NS}div[@id='declare-missed-dialog']") is not None
    assert [a for a in monitor.iter(f"{NS}a") if a.get("data-worklist-missed") is not None] == []
    assert monitor.find(f".//{NS}div[@id='declare-missed-dialog']") is None


def test_no_reason_box_on_any_row(client, investigator, sites) -> None:
    _enrol(investigator, sites["01"], day1_days_ago=60)
    client.force_login(investigator)

    page = _page(client)

    reason_boxes = [e for e in page.iter() if e.get("name") == "reason"]
    assert [e.get("id") for e in reason_boxes] == ["declare-missed-reason"]  # the dialog's only


# --------------------------------------------------------------------------- queries


def _queries(client, url: str) -> int:
    cache.clear()  # the whole cost: nothing kept (crf.page_cache)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_worklist_costs_the_same_with_1_and_6_subjects(
    client, investigator, sites, django_assert_max_num_queries
) -> None:
    client.force_login(investigator)
    _enrol(investigator, sites["01"], day1_days_ago=30)
    _queries(client, URL)
    small = _queries(client, URL)

    for i in range(5):
        _hold(_enrol(investigator, sites["01"], day1_days_ago=40 + 7 * i), "C1D1")
    cache.clear()  # the whole cost: nothing kept (crf.page_cache)
    with django_assert_max_num_queries(small):
        assert client.get(URL + "?kind=overdue&age=31%2B").status_code == 200
    cache.clear()
    with django_assert_max_num_queries(small):
        assert client.get(URL).status_code == 200
    # Seen again with nothing changed, the list is kept: a signed-in page's own cost.
    with django_assert_max_num_queries(8):
        assert client.get(URL).status_code == 200
