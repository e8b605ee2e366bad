"""The study coordinator's enrolment dashboard: its numbers, its CSV, its cost, who opens it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import time
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from enrollment.dashboard import QUERIES, enrolment_dashboard
from enrollment.demo import screen, screen_and_enrol, screen_and_fail
from study import protocol
from study.models import Role, Subject, SubjectStatus
from study.scoping import site_ids_for_user

pytestmark = pytest.mark.django_db

TARGET = protocol.TARGET_ENROLMENT
TODAY = dt.date(2026, 4, 20)
# Session, user, membership, permissions, time zone ... plus the dashboard's own QUERIES.
MAX_QUERIES = 16


@pytest.fixture
def small_study(people, sites, make_person) -> dict[str, Any]:
    """5 persons: 3 enrolled at site 01; at site 02 a screen failure (IN06) and one screening."""
    inv01 = people[Role.INVESTIGATOR]
    inv02 = make_person("inv02", Role.INVESTIGATOR, ("02",))
    enrolled = [
        screen_and_enrol(inv01, sites["01"], start=day)  # enrolled 3 days after screening
        for day in (dt.date(2026, 1, 12), dt.date(2026, 2, 2), dt.date(2026, 3, 9))
    ]
    failed = screen_and_fail(inv02, sites["02"], start=dt.date(2026, 2, 16), failing=("IN06",))
    waiting = screen(inv02, sites["02"], start=dt.date(2026, 4, 13))
    return {"enrolled": enrolled, "failed": failed, "waiting": waiting}


def _csv(client: Any, table: str) -> list[list[str]]:
    response = client.get(reverse("enrollment:dashboard_csv", kwargs={"table": table}))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_dashboard_shows_enrolled_of_target_and_the_site_table(client, people, small_study):
    client.force_login(people[Role.STUDY_COORDINATOR])

    response = client.get(reverse("enrollment:dashboard"))

    page = response.content.decode()
    assert response.status_code == 200
    assert f"<strong>3 / {TARGET}</strong>" in page
    assert f'<progress class="enrolment-progress" max="{TARGET}" value="3"' in page
    sites = response.context["dashboard"].sites
    assert [(r.number, r.screened, r.screen_failed, r.failure_rate, r.enrolled) for r in sites] == [
        ("01", 3, 0, Decimal("0.0"), 3),
        ("02", 2, 1, Decimal("50.0"), 0),
    ]
    assert "50.0%" in page  # site 02: 1 of 2 screened failed
    assert "20.0%" in page  # all sites: 1 of 5


def test_dashboard_lists_the_failed_criterion_and_subjects_by_status(client, people, small_study):
    client.force_login(people[Role.DATA_MANAGER])

    response = client.get(reverse("enrollment:dashboard"))

    page = response.content.decode()
    assert '<th scope="row">IN06</th>\n              <td>ECOG performance status 0-1.</td>' in page
    dashboard = response.context["dashboard"]
    assert [(f.code, f.count) for f in dashboard.failures] == [("IN06", 1)]
    assert {s.status: s.count for s in dashboard.statuses} == {
        SubjectStatus.SCREENING: 1,
        SubjectStatus.SCREEN_FAILED: 1,
        SubjectStatus.ON_TREATMENT: 3,
        SubjectStatus.FOLLOW_UP: 0,
        SubjectStatus.OFF_STUDY: 0,
        SubjectStatus.DIED: 0,
    }
    assert 'role="img" aria-labelledby="accrual-title accrual-desc"' in page
    assert 'class="series series-planned"' in page and 'class="series series-enrolled"' in page
    assert "style=" not in page  # CSP: no inline style attributes


def test_dashboard_status_labels_are_translated(client, people, small_study):
    client.force_login(people[Role.STUDY_COORDINATOR])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    page = client.get(reverse("enrollment:dashboard")).content.decode()

    assert "筛选失败" in page  # Screen failed
    assert "已入组/治疗中" in page  # Enrolled / on treatment


def test_dashboard_month_table_counts_enrolments_against_the_plan(people, small_study):
    dashboard = enrolment_dashboard(people[Role.STUDY_COORDINATOR], today=TODAY)

    # Enrolled 2026-01-15, 02-05, 03-12; planned from 2026-01-05 to 28 on 2027-07-05 (546 d).
    assert [(m.month, m.enrolled, m.cumulative, m.planned) for m in dashboard.months] == [
        ("2026-01", 1, 1, Decimal("1.3")),
        ("2026-02", 1, 2, Decimal("2.8")),
        ("2026-03", 1, 3, Decimal("4.4")),
        ("2026-04", 0, 3, Decimal("5.9")),  # 28 x 115 / 546
    ]
    assert dashboard.planned_today == Decimal("5.4")  # 28 x 105 / 546
    assert dashboard.accrual_end == dt.date(2027, 7, 5)


def test_dashboard_csv_gives_the_tables_numbers(client, people, small_study):
    client.force_login(people[Role.STUDY_COORDINATOR])

    assert _csv(client, "sites") == [
        ["Site", "Name", "Screened", "Screen failed", "Failure rate %", "Enrolled"],
        ["01", "Site 01", "3", "0", "0.0", "3"],
        ["02", "Site 02", "2", "1", "50.0", "0"],
        ["", "All sites", "5", "1", "20.0", "3"],
    ]
    assert _csv(client, "failures") == [
        ["Criterion", "Text", "Screen failures"],
        ["IN06", "ECOG performance status 0-1.", "1"],
    ]
    assert _csv(client, "status")[1:4] == [
        ["screening", "Screening", "1"],
        ["screen_failed", "Screen failed", "1"],
        ["on_treatment", "Enrolled / on treatment", "3"],
    ]
    assert _csv(client, "accrual")[:4] == [
        ["Month", "Enrolled in the month", "Cumulative enrolled", "Planned cumulative"],
        ["2026-01", "1", "1", "1.3"],
        ["2026-02", "1", "2", "2.8"],
        ["2026-03", "1", "3", "4.4"],
    ]


def test_dashboard_csv_of_an_unknown_table_is_not_found(client, people):
    client.force_login(people[Role.STUDY_COORDINATOR])

    response = client.get(reverse("enrollment:dashboard_csv", kwargs={"table": "subjects"}))

    assert response.status_code == 404


def test_dashboard_counts_only_the_users_sites(people, small_study):
    """Today only study-wide roles open the page; the selector still scopes by site."""
    investigator = people[Role.INVESTIGATOR]  # site 01

    dashboard = enrolment_dashboard(investigator, today=TODAY)

    assert [r.number for r in dashboard.sites] == ["01"]
    assert (dashboard.totals.screened, dashboard.totals.screen_failed) == (3, 0)
    assert dashboard.failures == ()
    assert sum(s.count for s in dashboard.statuses) == 3


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.STUDY_COORDINATOR, 200),
        (Role.DATA_MANAGER, 200),
        (Role.INVESTIGATOR, 403),
        (Role.MONITOR, 403),
    ],
)
def test_dashboard_opens_to_coordinator_and_data_manager_only(client, people, role, status):
    client.force_login(people[role])

    page = client.get(reverse("enrollment:dashboard"))
    export = client.get(reverse("enrollment:dashboard_csv", kwargs={"table": "sites"}))

    assert (page.status_code, export.status_code) == (status, status)


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _grow_to(total: int, sites: dict[str, Any], actor: Any) -> None:
    """More persons, cheaply: a few screen failures through the services (their SL rows are
    audited CRF data) and the rest as Subject rows, enrolled over 2026 in every status."""
    for i, failing in enumerate([("IN04",), ("IN07", "IN08"), ("EX05",), ("IN06",)]):
        screen_and_fail(actor, sites["01"], start=dt.date(2026, 5, 4 + i), failing=failing)
    rng = random.Random(500)
    statuses = [
        SubjectStatus.SCREENING,
        SubjectStatus.ON_TREATMENT,
        SubjectStatus.FOLLOW_UP,
        SubjectStatus.OFF_STUDY,
        SubjectStatus.DIED,
    ]
    rows = []
    for i in range(total - Subject.objects.count()):
        site = sites["01" if i % 3 else "02"]
        status = statuses[i % len(statuses)]
        enrolled = status != SubjectStatus.SCREENING
        rows.append(
            Subject(
                site=site,
                screening_id=f"S{site.number}-5{i:03d}",
                subject_id=f"{site.number}-5{i:03d}" if enrolled else None,
                status=status,
                enrolled_at=(
                    dt.date(2026, 1, 5) + dt.timedelta(days=rng.randrange(320))
                    if enrolled
                    else None
                ),
            )
        )
    Subject.objects.bulk_create(rows)


def test_dashboard_costs_the_same_queries_with_5_and_500_subjects(
    client, people, sites, small_study
):
    coordinator = people[Role.STUDY_COORDINATOR]
    client.force_login(coordinator)
    url = reverse("enrollment:dashboard")
    _queries(client, url)  # warm the session
    assert Subject.objects.count() == 5
    small = _queries(client, url)

    started = time.perf_counter()
    _grow_to(500, sites, people[Role.INVESTIGATOR])
    setup_seconds = time.perf_counter() - started
    large = _queries(client, url)

    assert Subject.objects.count() == 500
    assert small == large
    assert large <= MAX_QUERIES
    assert setup_seconds < 30  # about 1 s on SQLite; the bound only catches a runaway setup


def test_dashboard_selector_runs_a_fixed_number_of_queries(
    people, sites, small_study, django_assert_num_queries
):
    coordinator = people[Role.STUDY_COORDINATOR]
    site_ids_for_user(coordinator)  # the membership, cached on the user as in a request

    with django_assert_num_queries(QUERIES):
        small = enrolment_dashboard(coordinator, today=TODAY)
    _grow_to(500, sites, people[Role.INVESTIGATOR])
    with django_assert_num_queries(QUERIES):
        large = enrolment_dashboard(coordinator, today=TODAY)

    assert (small.totals.screened, large.totals.screened) == (5, 500)
    assert [(f.code, f.count) for f in large.failures][:1] == [("IN06", 2)]
