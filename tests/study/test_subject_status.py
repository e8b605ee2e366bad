"""The subject status rule (pure, study/subject_status.py): one test per rule.

Source: issue 10 item 2 ("enrolled → on treatment; EOT → in follow-up; DS (any reason but
death) → off study; DD → died") and crf-spec SL, ENR, EOT, DS, DD.
"""

from __future__ import annotations

import pytest

from study.subject_status import (
    DIED,
    FOLLOW_UP,
    OFF_STUDY,
    ON_TREATMENT,
    SCREEN_FAILED,
    SCREENING,
    STATUSES,
    StatusFacts,
    subject_status,
)

ENROLLED = StatusFacts(enrolled=True)


def test_status_without_forms_is_screening() -> None:
    assert subject_status(StatusFacts()) == SCREENING


def test_status_with_sl_screen_failure_is_screen_failed() -> None:
    # crf-spec SL: SCRFAIL = Y
    assert subject_status(StatusFacts(screen_failed=True)) == SCREEN_FAILED


def test_status_when_enrolled_is_on_treatment() -> None:
    # crf-spec ENR: the subject ID is assigned at enrolment
    assert subject_status(ENROLLED) == ON_TREATMENT


def test_status_enrolled_wins_over_an_earlier_screen_failure_answer() -> None:
    assert subject_status(StatusFacts(screen_failed=True, enrolled=True)) == ON_TREATMENT


def test_status_with_eot_is_in_follow_up() -> None:
    # issue 10: EOT → in follow-up (protocol.md: safety and survival follow-up after EOT)
    assert subject_status(StatusFacts(enrolled=True, end_of_treatment=True)) == FOLLOW_UP


@pytest.mark.parametrize(
    "reason",
    ["COMPLETED", "CONSENT_WITHDRAWN", "LOST_TO_FOLLOWUP", "SPONSOR_TERMINATED", "OTHER", ""],
)
def test_status_with_ds_of_any_reason_but_death_is_off_study(reason: str) -> None:
    # issue 10: DS (any reason but death) → off study; crf-spec code list DSDECOD
    facts = StatusFacts(
        enrolled=True, end_of_treatment=True, study_end=True, study_end_reason=reason
    )

    assert subject_status(facts) == OFF_STUDY


def test_status_with_ds_death_but_no_dd_is_off_study() -> None:
    # crf-spec DS: "DSDECOD=DEATH requires a DD form": no death is told without its DD
    facts = StatusFacts(enrolled=True, study_end=True, study_end_reason="DEATH")

    assert subject_status(facts) == OFF_STUDY


def test_status_with_dd_is_died() -> None:
    # issue 10: DD → died
    assert subject_status(StatusFacts(enrolled=True, death=True)) == DIED


def test_status_with_dd_wins_over_every_other_form() -> None:
    facts = StatusFacts(
        screen_failed=True,
        enrolled=True,
        end_of_treatment=True,
        study_end=True,
        study_end_reason="CONSENT_WITHDRAWN",
        death=True,
    )

    assert subject_status(facts) == DIED


def test_status_codes_are_the_subject_status_choices() -> None:
    from study.models import SubjectStatus

    assert tuple(SubjectStatus.values) == STATUSES
