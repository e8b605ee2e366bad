"""What the load driver posts for a form (benchmarks/html.py), and how its saves change a
form and share the forms out (benchmarks/scenarios.py): no server."""

from __future__ import annotations

import pytest

from benchmarks.html import csrf_token, page_form
from benchmarks.scenarios import ENTERERS, Study, Target, deal, edit_vs, toggle_choice, toggle_tenth

PAGE = """
<form method="post" action="/accounts/logout/"><input type="hidden" name="csrfmiddlewaretoken" value="tok&amp;1"></form>
<form method="post" novalidate class="edc-crf">
  <input type="hidden" name="csrfmiddlewaretoken" value="tok&amp;1">
  <input type="number" name="systolic_bp" value="119">
  <input type="text" name="empty">
  <input type="checkbox" name="mark_complete" checked>
  <input type="checkbox" name="tl-0-DELETE">
  <input type="radio" name="ongoing" value="Y"><input type="radio" name="ongoing" value="N" checked>
  <input type="text" name="locked" value="x" disabled>
  <select name="ecog"><option value="">---------</option><option value="0" selected>0</option><option value="1">1</option></select>
  <select name="reason_code" required><option value="">---------</option><option value="TRANSCRIPTION_ERROR">Transcription error</option></select>
  <textarea name="reason_text" rows="2">
line &lt;one&gt;</textarea>
  <button type="submit" name="add_row" value="TL">Add</button>
  <input type="submit" value="Save">
</form>
<form action="/i18n/setlang/" method="post"><select name="language"><option value="en">English</option></select></form>
"""


def test_page_form_is_the_form_posting_to_the_page_as_a_browser_sends_it() -> None:
    form = page_form(PAGE)

    assert form.fields == [
        ("csrfmiddlewaretoken", "tok&1"),
        ("systolic_bp", "119"),
        ("empty", ""),
        ("mark_complete", "on"),
        ("ongoing", "N"),
        ("ecog", "0"),
        ("reason_code", ""),
        ("reason_text", "line <one>"),
    ]
    assert form.options["reason_code"] == ["", "TRANSCRIPTION_ERROR"]


def test_csrf_token_is_read_from_the_first_form_that_has_one() -> None:
    assert csrf_token(PAGE) == "tok&1"


def test_a_page_without_a_form_to_itself_is_an_error() -> None:
    with pytest.raises(LookupError):
        page_form('<form method="post" action="/accounts/logout/"></form>')


def test_a_vital_signs_save_changes_one_value_between_two_and_gives_a_reason() -> None:
    form = page_form(PAGE)

    first = edit_vs(form)
    second = edit_vs(form)

    assert (first, second) == (("SYSBP", "118"), ("SYSBP", "119"))
    assert (form.value("reason_code"), form.value("reason_text")) == (
        "TRANSCRIPTION_ERROR",
        "make bench",
    )


def test_toggles_stay_between_two_values() -> None:
    form = page_form(
        '<form method="post"><input name="d" value="23.4">'
        '<select name="r"><option value=""></option><option value="A" selected></option>'
        '<option value="B"></option></select></form>'
    )

    assert [toggle_tenth(form, "d") for _ in range(3)] == ["23.5", "23.4", "23.5"]
    assert [toggle_choice(form, "r") for _ in range(3)] == ["B", "A", "B"]


def test_deal_gives_concurrent_users_no_form_in_common() -> None:
    targets = {s: [Target(f"/s{s}/f{k}/", edit_vs, "VS") for k in range(3)] for s in range(1, 6)}
    study = Study({ENTERERS[0]: [1, 2, 3], ENTERERS[1]: [4, 5]}, targets, {}, {})

    dealt = deal(study, targets, 6)

    paths = [t.path for forms in dealt.values() for t in forms]
    assert len(paths) == len(set(paths)) == 15
    assert [t.path for t in dealt[0]] == ["/s1/f0/", "/s1/f1/", "/s1/f2/"]
    assert [t.path for t in dealt[1]] == ["/s4/f0/", "/s5/f1/"]
