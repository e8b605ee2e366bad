"""In a real browser: the medical monitor opens the study outcomes page; every figure
loads as an image (CSP-safe SVG), and a figure's PNG downloads."""

from __future__ import annotations

import datetime as dt

import pytest

from enrollment.demo import screen_and_enrol
from study.models import Role
from tests.browser.test_sign_in import sign_in
from tests.conftest import PASSWORD, ROLE_USERS
from visits.demo import treat

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.date(2026, 3, 2)
DAY1 = START + dt.timedelta(days=5)


def test_medical_monitor_sees_every_outcome_figure(page, people, investigator, sites) -> None:
    for course in ("PD", "PR"):
        subject = screen_and_enrol(investigator, sites["01"], start=START)
        treat(investigator, subject, day1=DAY1, cycles=2, course=course)

    sign_in(page, ROLE_USERS[Role.MEDICAL_MONITOR], PASSWORD)
    page.get_by_role("link", name="Outcomes").first.click()

    assert page.get_by_test_id("outcomes-title").inner_text() == "Study outcomes"
    assert "1 / 2" in page.inner_text("[data-testid=orr]")
    for name in ("km_pfs", "km_os", "waterfall", "swimmer", "spider"):
        figure = page.get_by_test_id(f"figure-{name}")
        figure.scroll_into_view_if_needed()
        page.wait_for_function(
            "el => el.complete && el.naturalWidth > 0", arg=figure.element_handle()
        )
    with page.expect_download() as download:
        page.locator("a[href*='waterfall.png?'][href$='download=1']").click()
    assert download.value.suggested_filename == "ANLO-HCC-waterfall.png"
    assert page.console_errors == []
