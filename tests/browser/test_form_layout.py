"""What a person sees on a CRF page in a real browser: the lesion tables of a tumour
assessment are there to type into, fields sit beside their labels with their units, and a
save brings the user back to the visit they came from."""

from __future__ import annotations

import datetime as dt

import pytest

from crf.models import Visit
from enrollment.demo import screen_and_enrol
from tests.browser.test_sign_in import sign_in
from tests.conftest import PASSWORD
from visits.models import TumourAssessment

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (1280, 1024)


def box(page, selector: str) -> dict[str, float]:
    element = page.locator(selector)
    element.wait_for(state="visible", timeout=5_000)
    found = element.bounding_box()
    assert found is not None, f"{selector} has no box"
    return found


@pytest.mark.parametrize("width", WIDTHS)
def test_the_lesion_tables_are_visible_and_take_typing(page, investigator, sites, width) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    day1 = Visit.objects.get(subject=subject, code="C1D1").planned_date
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "inv01", PASSWORD)

    page.goto(f"/crf/subjects/{subject.pk}/visits/SCR/forms/TA/")

    for heading in ("Target lesions", "Non-target lesions", "New lesions"):
        assert page.get_by_role("group", name=heading, exact=True).is_visible()
    table = box(page, "#group-tl table")
    assert table["width"] > 400
    for name in ("lesion_id", "organ", "is_node", "status", "diameter_mm"):
        field = box(page, f"[name=tl-0-{name}]")
        assert field["width"] > 40 and field["height"] > 20, name
    # Each lesion input has an accessible name a screen reader can say.
    assert page.get_by_label("Lesion ID", exact=False).first.is_visible()

    # Typed as a person types: click into the field, then the keyboard.
    page.click("#id_scanned_on")
    page.keyboard.type(day1.isoformat())
    page.select_option("#id_method", "CT")
    page.click("[name=tl-0-lesion_id]")
    page.keyboard.type("T01")
    page.select_option("[name=tl-0-organ]", "LIVER")
    page.select_option("[name=tl-0-is_node]", "N")
    page.select_option("[name=tl-0-status]", "MEASURED")
    page.click("[name=tl-0-diameter_mm]")
    page.keyboard.type("42")
    page.click("[name=ntl-0-lesion_id]")
    page.keyboard.type("NT01")
    page.select_option("[name=ntl-0-organ]", "LUNG")
    page.select_option("[name=ntl-0-status]", "PRESENT")
    page.check("#id_mark_complete")
    page.get_by_role("button", name="Save", exact=True).click()

    assert "saved" in page.inner_text("main")
    baseline = TumourAssessment.objects.get(subject=subject, visit__code="SCR")
    assert baseline.sum_mm == 42
    assert page.console_errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_a_vitals_form_is_compact_with_units_beside_the_inputs(
    page, investigator, sites, width
) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "inv01", PASSWORD)

    page.goto(f"/crf/subjects/{subject.pk}/visits/C1D1/forms/VS/")

    label = box(page, "label[for=id_systolic_bp]")
    field = box(page, "#id_systolic_bp")
    assert 60 < field["width"] < 200  # sized to three digits, not the page
    assert abs(label["y"] - field["y"]) < 20  # label and input on one line
    unit = box(page, "#id_systolic_bp + .input-group-text")
    assert page.inner_text("#id_systolic_bp + .input-group-text") == "mmHg"
    assert unit["x"] > field["x"] and abs(unit["y"] - field["y"]) < 5


def test_after_a_save_the_user_is_back_at_the_visit(new_page, investigator, sites) -> None:
    # A page that takes no screenshot on load: a full-page screenshot scrolls the page.
    page = new_page()
    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    day1 = Visit.objects.get(subject=subject, code="C1D1").planned_date
    sign_in(page, "inv01", PASSWORD)
    page.goto(f"/crf/subjects/{subject.pk}/visits/C1D1/forms/VS/")

    page.fill("#id_assessed_on", day1.isoformat())
    page.fill("#id_systolic_bp", "128")
    page.fill("#id_diastolic_bp", "82")
    page.fill("#id_weight_kg", "61.5")
    page.select_option("#id_ecog", "1")
    page.get_by_role("button", name="Save", exact=True).click()

    page.wait_for_url("**/#visit-C1D1")
    # The visit comes into view (Bootstrap scrolls smoothly), not the top of the page.
    top = "document.getElementById('visit-C1D1').getBoundingClientRect().top"
    for _ in range(40):
        if 0 <= page.evaluate(top) < 300:
            break
        page.wait_for_timeout(50)
    assert 0 <= page.evaluate(top) < 300
    assert page.evaluate("window.scrollY") > 300
    assert page.console_errors == []


def test_a_form_can_be_filled_and_saved_with_the_keyboard_alone(page, investigator, sites) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    day1 = Visit.objects.get(subject=subject, code="C1D1").planned_date
    sign_in(page, "inv01", PASSWORD)
    page.goto(f"/crf/subjects/{subject.pk}/visits/C1D1/forms/VS/")

    page.focus("#id_assessed_on")
    page.keyboard.type(day1.isoformat())
    for value in ("128", "82", "70", "36.6", "61.5"):
        page.keyboard.press("Tab")
        page.keyboard.type(value)
    page.keyboard.press("Tab")  # ECOG
    assert page.evaluate("document.activeElement.id") == "id_ecog"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_mark_complete"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Save"
    page.keyboard.press("Enter")

    page.wait_for_url("**/#visit-C1D1")
    assert "Vital signs saved." in page.inner_text("main")
