"""In a real browser: the worklist's declare-missed dialog, with the keyboard only, and its
no-JavaScript confirmation page; buttons and tables that fit a 1024-px tablet."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.utils import timezone

from crf.models import AuditEntry, Visit
from enrollment.demo import screen_and_enrol
from tests.browser.test_sign_in import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _overdue_subject(investigator: Any, site: Any) -> Any:
    """Day 1 was 30 days ago: C1D1 and C2D1 are overdue, TA1 and C3D1 due soon."""
    start = timezone.localdate(timezone=zoneinfo.ZoneInfo(site.time_zone)) - dt.timedelta(days=35)
    return screen_and_enrol(investigator, site, start=start)


def _focused(page: Any) -> dict[str, str]:
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return {id: e.id, text: e.innerText || '', href: e.getAttribute('href') || ''}; }"
    )


def _wait_for_focus(page: Any, check: Any) -> dict[str, str]:
    """Poll the focused element until ``check(focused)`` (the page's CSP forbids the
    string evaluation that ``wait_for_function`` uses)."""
    for _ in range(50):
        focused = _focused(page)
        if check(focused):
            return focused
        page.wait_for_timeout(100)
    raise AssertionError(f"focus is on {_focused(page)}")


def test_a_visit_is_declared_missed_in_the_dialog_with_the_keyboard(
    page, investigator, sites
) -> None:
    subject = _overdue_subject(investigator, sites["01"])
    sign_in(page, "inv01", PASSWORD)
    page.goto("/visits/worklist/?kind=overdue")

    for _ in range(80):  # Tab from the top of the page to the C2D1 row's button
        page.keyboard.press("Tab")
        if "/visits/C2D1/missed/" in _focused(page)["href"]:
            break
    trigger = _focused(page)
    assert " ".join(trigger["text"].split()) == f"Declare missed {subject.subject_id} C2D1"

    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Declare a visit missed")
    dialog.wait_for(state="visible")
    _wait_for_focus(page, lambda f: f["id"] == "declare-missed-reason")
    facts = page.locator("#declare-missed-what dd")
    assert facts.all_inner_texts() == [
        subject.subject_id,
        "C2D1",
        Visit.objects.get(subject=subject, code="C2D1").planned_date.isoformat(),
    ]

    page.keyboard.press("Escape")  # closes, and focus is back on the row's button
    dialog.wait_for(state="hidden")
    _wait_for_focus(page, lambda f: f["href"] == trigger["href"])

    page.keyboard.press("Enter")
    dialog.wait_for(state="visible")
    _wait_for_focus(page, lambda f: f["id"] == "declare-missed-reason")
    page.keyboard.type("Patient in hospital (pneumonia)")
    page.keyboard.press("Tab")  # Cancel
    page.keyboard.press("Tab")  # Declare missed
    assert _focused(page)["text"].split()[:2] == ["Declare", "missed"]
    page.keyboard.press("Enter")

    page.wait_for_selector(".alert-success")
    assert page.inner_text(".alert-success") == f"{subject.subject_id} C2D1 declared missed."
    assert page.url.endswith("/visits/worklist/?kind=overdue")
    rows = page.locator("[data-testid=item]")
    assert [rows.nth(i).get_attribute("data-visit") for i in range(rows.count())] == ["C1D1"]
    c2 = Visit.objects.get(subject=subject, code="C2D1")
    assert (c2.missed, c2.missed_reason) == (True, "Patient in hospital (pneumonia)")
    assert AuditEntry.objects.filter(form_code="VISIT", visit_code="C2D1").count() == 1


def test_without_javascript_the_button_opens_a_confirmation_page(
    browser, live_server, investigator, sites
) -> None:
    subject = _overdue_subject(investigator, sites["01"])
    context = browser.new_context(
        viewport={"width": 1024, "height": 768}, base_url=live_server.url, java_script_enabled=False
    )
    try:
        page = context.new_page()
        sign_in(page, "inv01", PASSWORD)
        page.goto("/visits/worklist/?kind=overdue")

        page.get_by_role("link", name=f"Declare missed {subject.subject_id} C1D1").click()
        assert page.get_by_role("heading", name="Declare a visit missed").is_visible()
        page.get_by_role("button", name="Declare missed").click()  # empty: the browser refuses
        assert "/visits/C1D1/missed/" in page.url
        page.get_by_label("Reason the visit was missed").fill("Withdrew consent for the visit")
        page.get_by_role("button", name="Declare missed").click()

        assert page.url.endswith("/visits/worklist/?kind=overdue")
        assert page.inner_text(".alert-success") == f"{subject.subject_id} C1D1 declared missed."
        assert Visit.objects.get(subject=subject, code="C1D1").missed
    finally:
        context.close()


def test_worklist_buttons_and_labels_stay_on_one_line_at_1024_px(page, investigator, sites) -> None:
    _overdue_subject(investigator, sites["01"])
    sign_in(page, "inv01", PASSWORD)
    page.goto("/visits/worklist/")

    heights = page.eval_on_selector_all(
        "a[data-worklist-missed]", "links => links.map(a => a.getBoundingClientRect().height)"
    )
    assert heights and max(heights) < 40  # btn-sm is 31 px high on one line
    overflow = page.evaluate(
        "() => [...document.querySelectorAll('table')].filter("
        "t => t.getBoundingClientRect().right > document.documentElement.clientWidth).length"
    )
    assert overflow == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
