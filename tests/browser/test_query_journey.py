"""In a real browser: a monitor raises a query on a lesion measurement (htmx), the
investigator follows the badge to the thread, corrects the value with the reason
"Correction in response to a query" and answers (htmx: the badge turns to answered), the
monitor closes it; the same answer without JavaScript; axe on the form with its threads
and on the queries page (issue 12, "Queries")."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from crf.models import Visit
from data_management.models import Query, QueryStatus
from data_management.queries import raise_query
from enrollment.demo import screen_and_enrol
from study.models import Role
from tests.browser.conftest import describe_violations, run_axe
from tests.browser.test_sign_in import sign_in
from tests.conftest import PASSWORD
from visits.demo import treat
from visits.models import TumourAssessment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ta1(people: dict[Role, Any], sites: dict[str, Any]) -> TumourAssessment:
    investigator = people[Role.INVESTIGATOR]
    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    day1 = Visit.objects.get(subject=subject, code="C1D1").planned_date
    assert day1 is not None
    treat(investigator, subject, day1=day1, cycles=2, course="PR")
    return TumourAssessment.objects.get(subject=subject, visit__code="TA1", is_deleted=False)


def form_path(ta: TumourAssessment) -> str:
    return f"/crf/subjects/{ta.subject_id}/visits/TA1/forms/TA/"


def no_axe_problems(page: Any) -> None:
    assert describe_violations(run_axe(page)) == []


def test_raise_answer_with_a_correction_and_close(page, new_page, people, ta1) -> None:
    sign_in(page, "mon01", PASSWORD)
    page.goto(form_path(ta1))
    page.select_option("#raise-variable", "TL.TLDIAM")
    page.select_option("#raise-row", "TL:T01")
    page.fill("#raise-text", "The report gives 34 mm for T01.")
    page.get_by_role("button", name="Raise the query").click()
    page.get_by_test_id("query-notice").wait_for()
    query = Query.objects.get(origin="manual")
    assert (query.group, query.row_key, query.variable) == ("TL", "T01", "TLDIAM")
    assert "The report gives 34 mm for T01." in page.inner_text(f"#query-{query.pk}")
    # the new badge is put in the lesion's row by queries.js, without a reload
    row_badge = page.locator(f'td.edc-row-marks a[href="#query-{query.pk}"]')
    assert row_badge.inner_text() == "Diameter: 1 open query"
    no_axe_problems(page)

    site = new_page()
    sign_in(site, "inv01", PASSWORD)
    site.goto(form_path(ta1))
    badge = site.locator(f'a[data-testid=query-badge][href="#query-{query.pk}"]')
    assert badge.inner_text() == "Diameter: 1 open query"
    badge.click()
    assert site.url.endswith(f"#query-{query.pk}")
    no_axe_problems(site)
    site.fill("[name=tl-0-diameter_mm]", "34")
    site.select_option("#id_reason_code", "QUERY_RESPONSE")
    site.get_by_role("button", name="Save").click()
    assert "saved." in site.inner_text("main")
    site.goto(form_path(ta1))
    site.fill(f"#answer-{query.pk}", "Corrected to 34 mm from the report.")
    site.locator(f"#query-{query.pk}").get_by_test_id("answer").click()
    site.get_by_test_id("query-notice").wait_for()
    assert badge.inner_text() == "Diameter: 1 answered query"  # put in place by queries.js
    assert site.evaluate("document.activeElement.dataset.testid") == "query-notice"
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
    assert site.console_errors == []

    page.reload()
    page.locator(f"#query-{query.pk}").get_by_test_id("close").click()
    page.get_by_test_id("query-notice").wait_for()
    assert page.inner_text(f"#query-{query.pk} [data-testid=query-status]") == "Closed"
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED


def test_answer_without_javascript(browser, live_server, people, ta1) -> None:
    query = raise_query(
        actor=people[Role.MONITOR],
        subject=ta1.subject,
        form_code="TA",
        instance=ta1,
        text="Was the same CT protocol used?",
    )
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, "inv01", PASSWORD)
    page.goto(form_path(ta1))

    page.fill(f"#answer-{query.pk}", "Yes, the same protocol.")
    page.locator(f"#query-{query.pk}").get_by_test_id("answer").click()

    assert page.url.endswith(f"{form_path(ta1)}#query-{query.pk}")
    assert "Answer sent." in page.inner_text("main")
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
    context.close()


def test_queries_page_passes_axe(page, people, ta1) -> None:
    raise_query(
        actor=people[Role.MONITOR],
        subject=ta1.subject,
        form_code="TA",
        instance=ta1,
        text="Was the same CT protocol used?",
    )
    sign_in(page, "mon01", PASSWORD)

    for path in ("/data-management/queries/", "/data-management/queries/metrics/"):
        page.goto(path)
        no_axe_problems(page)
