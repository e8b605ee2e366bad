"""Without a mouse: an investigator records an adverse event with the keyboard alone (Tab
to each field, type, Space and arrow keys in radio groups, letters in selects, the CTCAE
type-ahead by arrow keys and Enter, Enter on Save). test_every_page checks that Tab
reaches every control of every form; this one completes and saves the hardest form."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from adverse_events.models import AdverseEvent
from enrollment.demo import screen_and_enrol
from tests.browser.test_sign_in import sign_in
from tests.conftest import PASSWORD
from visits.demo import treat

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.date(2026, 3, 2)
DAY1 = START + dt.timedelta(days=5)


def tab_to(page: Any, selector: str, limit: int = 150) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        if page.evaluate("s => !!document.activeElement?.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reaches {selector}")


def test_an_adverse_event_is_recorded_with_the_keyboard_only(page, investigator, sites) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=START)
    treat(investigator, subject, day1=DAY1, cycles=2, course="SD")
    sign_in(page, "inv01", PASSWORD)
    page.goto(f"/crf/subjects/{subject.pk}/forms/AE/")
    keys = page.keyboard

    tab_to(page, "#id_term")
    keys.type("diarr")
    page.wait_for_selector("#ae-term-options [data-term=Diarrhea]")
    assert page.get_attribute("#id_term", "aria-expanded") == "true"
    keys.press("ArrowDown")
    active = page.get_attribute("#id_term", "aria-activedescendant")
    assert page.get_attribute(f"#{active}", "data-term") == "Diarrhea"
    keys.press("Enter")  # picks the term; does not submit the form
    page.wait_for_selector("#ae-grade-field [name=grade][value='2']")
    assert page.get_attribute("#id_term", "aria-expanded") == "false"
    tab_to(page, "#id_onset_on")
    keys.type((DAY1 + dt.timedelta(days=10)).isoformat())
    tab_to(page, "[name=ongoing]")
    keys.press("Space")  # Yes, the first of the group
    tab_to(page, "[name=grade]")
    keys.press("ArrowDown")  # grade 1 -> grade 2 (arrow keys check as they move)
    tab_to(page, "[name=serious]")
    keys.press("ArrowDown")  # Yes -> No
    tab_to(page, "#id_relationship")
    keys.type("Possibly")
    tab_to(page, "#id_action")
    keys.type("Dose not")
    tab_to(page, "#id_outcome")
    keys.type("Not rec")
    tab_to(page, "#id_mark_complete")
    keys.press("Space")
    tab_to(page, "main form button[type=submit]")
    with page.expect_navigation():
        keys.press("Enter")

    assert "Adverse event saved." in page.inner_text("main")
    ae = AdverseEvent.objects.get(subject=subject, is_deleted=False)
    assert (ae.term, ae.grade, ae.ongoing, ae.serious) == ("Diarrhea", 2, "Y", "N")
    assert (ae.relationship, ae.action, ae.outcome) == (
        "POSSIBLY_RELATED",
        "DOSE_NOT_CHANGED",
        "NOT_RECOVERED",
    )


def test_a_table_wider_than_the_screen_scrolls_from_the_keyboard(page, investigator, sites) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=START)
    page.set_viewport_size({"width": 600, "height": 800})
    sign_in(page, "inv01", PASSWORD)
    page.goto(f"/crf/subjects/{subject.pk}/audit/")
    box = page.locator(".table-responsive").first

    assert box.evaluate("e => e.scrollWidth > e.clientWidth")
    tab_to(page, ".table-responsive")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("e => e.scrollLeft > 0", arg=box.element_handle())

    page.set_viewport_size({"width": 2400, "height": 800})
    page.wait_for_function("e => !e.hasAttribute('tabindex')", arg=box.element_handle())
