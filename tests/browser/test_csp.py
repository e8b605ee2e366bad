"""In a real browser under the site's CSP (style-src 'self'): htmx writes no inline style.

htmx's settle step copies the ``style`` attribute of an element it replaces onto the
element with the same id that replaces it (``htmx.config.attributesToSettle``). Any style
set through the CSSOM (by Bootstrap's JavaScript, by the browser, by a script of ours) is
such an attribute, and writing it back with setAttribute is an inline style the CSP
refuses: "Applying inline style violates the following Content Security Policy directive
'style-src 'self''", logged once per element (five on the AE form's grade radios).
"""

from __future__ import annotations

import datetime as dt

import pytest

from enrollment.demo import screen_and_enrol
from tests.browser.test_sign_in import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_picking_a_ctcae_term_swaps_the_grades_without_an_inline_style(
    page, investigator, sites
) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    sign_in(page, "inv01", PASSWORD)
    page.goto(f"/crf/subjects/{subject.pk}/forms/AE/")
    # Styles set through the CSSOM, as scripts and the browser do (allowed by the CSP).
    page.evaluate(
        "document.querySelectorAll('#ae-grade-field, #ae-grade-field [id]')"
        ".forEach(element => { element.style.minHeight = '1px'; })"
    )

    term = page.get_by_role("combobox", name="CTCAE v5.0 term")
    term.press_sequentially("hyperten")
    page.wait_for_selector("#ae-term-options [data-term=Hypertension]")
    term.press("ArrowDown")
    term.press("Enter")
    page.wait_for_selector("#ae-grade-field >> text=Systolic BP >=160 mm Hg")
    page.wait_for_timeout(100)  # htmx settles 20 ms after the swap

    assert page.console_errors == []
    assert term.input_value() == "Hypertension"


def test_htmx_adds_no_style_element(page, people) -> None:
    sign_in(page, "inv01", PASSWORD)

    assert page.evaluate("document.querySelectorAll('style').length") == 0
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    assert page.console_errors == []
