"""The study outcomes page, its figures and CSVs, and the subject's endpoint panel."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from enrollment.demo import screen_and_enrol
from study.models import Role
from visits.demo import treat

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)
DAY1 = START + dt.timedelta(days=5)


def treated(actor, site, course: str):
    subject = screen_and_enrol(actor, site, start=START)
    treat(actor, subject, day1=DAY1, cycles=2, course=course)
    return subject


@pytest.fixture
def two(investigator, sites):
    return [treated(investigator, sites["01"], "PD"), treated(investigator, sites["01"], "PR")]


def test_outcomes_page_shows_the_summary_and_every_figure(client, people, two) -> None:
    client.force_login(people[Role.MEDICAL_MONITOR])

    response = client.get(reverse("outcomes:study"))

    html = response.content.decode()
    assert response.context["summary"].n == 2
    assert (response.context["summary"].orr.n, response.context["summary"].orr.total) == (1, 2)
    for name in ("km_pfs", "km_os", "waterfall", "swimmer", "spider"):
        assert f'data-testid="figure-{name}"' in html
    assert two[0].subject_id in html
    assert "PFS event at" in html or "progression" in html


@pytest.mark.parametrize("name", ["km_pfs", "km_os", "waterfall", "swimmer", "spider"])
def test_each_figure_is_an_svg_and_a_png(client, people, two, name) -> None:
    client.force_login(people[Role.DATA_MANAGER])

    svg = client.get(reverse("outcomes:figure", kwargs={"name": name, "fmt": "svg"}))
    png = client.get(reverse("outcomes:figure", kwargs={"name": name, "fmt": "png"}))

    assert svg["Content-Type"] == "image/svg+xml"
    ET.fromstring(svg.content)  # well-formed
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_waterfall_data_csv_has_each_subjects_best_change(client, people, two) -> None:
    client.force_login(people[Role.STUDY_COORDINATOR])

    text = client.get(reverse("outcomes:csv", kwargs={"name": "waterfall"})).content.decode(
        "utf-8-sig"
    )

    rows = dict(line.split(",", 1) for line in text.strip().splitlines()[1:])
    # PD course: 60 -> 80 mm (+33.3 %); PR course: best 60 -> 38 mm (-36.7 %).
    assert rows[two[0].subject_id].startswith("33.3")
    assert rows[two[1].subject_id].startswith("-36.7")


def test_subjects_csv_has_the_endpoints(client, people, two) -> None:
    client.force_login(people[Role.STUDY_COORDINATOR])

    text = client.get(reverse("outcomes:csv", kwargs={"name": "subjects"})).content.decode(
        "utf-8-sig"
    )

    lines = text.strip().splitlines()
    assert lines[0].startswith("SUBJID,SITE,DAY1,BOR,PFS_DAYS,PFS_EVENT")
    pd_row = next(line for line in lines if line.startswith(two[0].subject_id))
    assert ",PD,42,Y," in pd_row


def test_unknown_figure_is_not_found(client, people, two) -> None:
    client.force_login(people[Role.DATA_MANAGER])

    response = client.get(reverse("outcomes:figure", kwargs={"name": "pie", "fmt": "svg"}))

    assert response.status_code == 404


def test_subject_page_explains_the_endpoints_in_words(client, investigator, two) -> None:
    client.force_login(investigator)

    html = client.get(
        reverse("crf:subject_detail", kwargs={"subject_pk": two[0].pk})
    ).content.decode()

    assert 'data-testid="endpoint-panel"' in html
    progression_on = (DAY1 + dt.timedelta(days=41)).isoformat()
    assert progression_on in html
    assert "42 days" in html


@pytest.mark.parametrize(
    "url",
    [
        reverse("outcomes:study"),
        reverse("outcomes:figure", kwargs={"name": "swimmer", "fmt": "svg"}),
        reverse("outcomes:csv", kwargs={"name": "subjects"}),
    ],
)
def test_outcomes_pages_cost_the_same_with_1_and_4_subjects(
    client, people, investigator, sites, url, django_assert_max_num_queries
) -> None:
    treated(investigator, sites["01"], "PR_THEN_PD")
    client.force_login(people[Role.MEDICAL_MONITOR])
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200

    for _ in range(3):
        treated(investigator, sites["01"], "PR_THEN_PD")
    with django_assert_max_num_queries(len(small)):
        assert client.get(url).status_code == 200

    assert len(small) <= 36  # with the navigation bar's unread count (notifications)


def test_endpoint_explanations_are_in_the_users_language(client, investigator, two) -> None:
    from django.conf import settings

    client.force_login(investigator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    html = client.get(
        reverse("crf:subject_detail", kwargs={"subject_pk": two[0].pk})
    ).content.decode()

    progression_on = (DAY1 + dt.timedelta(days=41)).isoformat()
    assert f"PFS 事件发生于 {progression_on}：疾病进展" in html
    assert "PFS event on" not in html


def test_the_outcomes_page_is_kept_until_the_study_changes(client, people, investigator, sites):
    # The body is computed once (seconds at 2,000 subjects), then kept while no audit entry
    # is appended; a new subject's data show at once.
    treated(investigator, sites["01"], "PD")
    client.force_login(people[Role.MEDICAL_MONITOR])
    url = reverse("outcomes:study")
    first = client.get(url).content.decode()
    assert "N = 1 " in first

    with CaptureQueriesContext(connection) as kept:
        again = client.get(url).content.decode()
    main = 'data-testid="outcomes-title"'
    assert again.split(main)[1].split("</main>")[0] == first.split(main)[1].split("</main>")[0]
    assert len(kept.captured_queries) <= 8  # session, user, membership, version: no study read

    treated(investigator, sites["01"], "PR")
    assert "N = 2 " in client.get(url).content.decode()
