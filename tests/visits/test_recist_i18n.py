"""RECIST messages in the user's language: the engine says them as catalogue messages
(study.text.Text), English stays the comparison text, and the TA form shows them through
gettext. The translator here marks what went through it ("X:"), so the tests do not
depend on the catalogue's wording."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crf.checks import CheckContext
from study.protocol import RECIST_MAX_TARGETS_PER_ORGAN, RECIST_SD_MIN_STUDY_DAY
from study.text import Text
from visits import recist, tumour
from visits.recist import (
    NonTargetLesion,
    NonTargetResponse,
    NTLStatus,
    Problem,
    Response,
    TargetLesion,
    TimepointResult,
    TLStatus,
    TumourAssessment,
)

BASE_DAY = dt.date(2026, 1, 5)


def mark(message: str) -> str:
    return "X:" + message


def target(lesion_id: str, organ: str = "LIVER", mm: str | None = "30") -> TargetLesion:
    return TargetLesion(
        lesion_id, organ, False, TLStatus.MEASURED, None if mm is None else Decimal(mm)
    )


def test_a_problem_renders_its_catalogue_message_with_the_values() -> None:
    baseline = TumourAssessment(
        BASE_DAY,
        (target("T01"), target("T02", mm=None), target("T03", "LUNG", mm="4")),
        (NonTargetLesion("N01", "BONE", NTLStatus.ABSENT),),
    )

    problems = recist.baseline_problems(baseline)

    assert len(problems) == 3
    for problem in problems:
        assert isinstance(problem.text, Text)
        assert problem.text.render() == problem.message  # English is the rendering
        assert problem.explain(lambda s: s) == problem.message
        translated = problem.explain(mark)
        assert translated.startswith("X:") and translated[2:] == problem.message
        assert "%(" in problem.text.message  # values are placeholders, not in the message
    assert problems[0].text is not None
    assert problems[0].text.message == (
        "A target lesion at baseline must be measured, with a diameter (RECIST 1.1 §4.2): "
        "%(lesion)s is without a diameter."
    )
    assert dict(problems[0].text.params) == {"lesion": "T02"}


def test_a_translated_message_keeps_its_values() -> None:
    follow_up = TumourAssessment(BASE_DAY + dt.timedelta(days=42), (target("T09"),))
    baseline = TumourAssessment(BASE_DAY, (target("T01"),))

    problems = recist.follow_up_problems(baseline, follow_up)
    catalogue = {p.text.message: "靶病灶 " + p.text.message for p in problems if p.text}

    shown = [p.explain(lambda s: catalogue.get(s, s)) for p in problems]

    assert [s.removeprefix("靶病灶 ") for s in shown] == [p.message for p in problems]
    assert all(s.startswith("靶病灶 ") for s in shown)
    assert any("T01 is missing" in s for s in shown) and any("T09 is not" in s for s in shown)


def test_the_text_does_not_change_equality_and_a_plain_problem_explains_itself() -> None:
    plain = Problem("T01", "TL", "A message.")
    rich = Problem("T01", "TL", "A message.", Text("A message."))

    assert plain == rich
    assert plain.explain(mark) == "A message."  # nothing to translate
    assert rich.explain(mark) == "X:A message."


def timepoint(day: int, response: Response) -> TimepointResult:
    on = BASE_DAY + dt.timedelta(days=day - 1)
    return TimepointResult(
        on, None, None, None, None, response, NonTargetResponse.NONE, False, response, None
    )


@pytest.mark.parametrize(
    ("responses", "bor"),
    [
        ([Response.CR, Response.CR], Response.CR),
        ([Response.PR, Response.CR], Response.PR),
        ([Response.SD], Response.SD),
        ([Response.PD], Response.PD),
        ([Response.NE], Response.NE),
    ],
)
def test_every_best_response_reason_is_a_catalogue_message(
    responses: list[Response], bor: Response
) -> None:
    days = [RECIST_SD_MIN_STUDY_DAY + 42 * k for k in range(len(responses))]
    best = recist.best_overall_response(
        [timepoint(d, r) for d, r in zip(days, responses, strict=True)], BASE_DAY
    )

    assert best.bor is bor
    assert best.reason_text is not None
    assert best.reason_text.render() == best.reason
    assert best.explain_reason(mark) == "X:" + best.reason
    assert best.explain_reason(lambda s: s) == best.reason


def test_the_ta_form_shows_the_rule_through_gettext(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tumour, "_", mark)
    data = {
        "TADAT": BASE_DAY,
        "TL": [
            {"TLID": f"T0{i}", "TLLOC": "LIVER", "TLNODE": "N", "TLSTAT": "MEASURED", "TLDIAM": 30}
            for i in range(1, RECIST_MAX_TARGETS_PER_ORGAN + 2)
        ],
    }

    findings = list(
        tumour.ta_rules(data, CheckContext(today=BASE_DAY, facts={"TA_IS_BASELINE": True}))
    )

    assert [(f.variable, f.message) for f in findings] == [
        (
            "TL",
            f"X:At most {RECIST_MAX_TARGETS_PER_ORGAN} target lesions per organ "
            f"(RECIST 1.1 §4.2): LIVER has {RECIST_MAX_TARGETS_PER_ORGAN + 1}.",
        )
    ]
