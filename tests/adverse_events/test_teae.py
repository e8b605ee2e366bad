"""Treatment-emergent AEs, the edges of protocol.md's window (no database)."""

import datetime as dt

import pytest

from adverse_events.teae import TeaeWindow, is_treatment_emergent, teae_window
from study.protocol import SAFETY_FOLLOW_UP_DAYS

DAY1 = dt.date(2026, 3, 7)
LAST_DOSE = dt.date(2026, 9, 1)


@pytest.mark.parametrize(
    ("onset", "last_dose", "expected"),
    [
        (DAY1, LAST_DOSE, True),  # onset on Day 1
        (DAY1 - dt.timedelta(days=1), LAST_DOSE, False),  # the day before the first dose
        (LAST_DOSE + dt.timedelta(days=SAFETY_FOLLOW_UP_DAYS), LAST_DOSE, True),  # last dose + 30
        (LAST_DOSE + dt.timedelta(days=SAFETY_FOLLOW_UP_DAYS + 1), LAST_DOSE, False),  # + 31
        (dt.date(2027, 6, 1), None, True),  # no last dose yet: still on treatment
    ],
    ids=["day1", "before_day1", "last_dose_plus_30", "last_dose_plus_31", "no_last_dose_yet"],
)
def test_treatment_emergent_edges(onset, last_dose, expected) -> None:
    assert is_treatment_emergent(onset=onset, day1=DAY1, last_dose=last_dose) is expected


def test_before_any_dose_nothing_is_treatment_emergent() -> None:
    assert is_treatment_emergent(onset=dt.date(2026, 3, 1), day1=None, last_dose=None) is False


def test_a_worsening_recorded_as_a_new_row_counts_from_its_new_onset() -> None:
    began_before = dt.date(2026, 3, 1)
    worsened = dt.date(2026, 3, 20)
    assert is_treatment_emergent(onset=began_before, day1=DAY1, last_dose=None) is False
    assert is_treatment_emergent(onset=worsened, day1=DAY1, last_dose=None) is True


def test_the_window_runs_from_day1_to_last_dose_plus_30_or_stays_open() -> None:
    assert teae_window(day1=DAY1, last_dose=LAST_DOSE) == TeaeWindow(
        DAY1, LAST_DOSE + dt.timedelta(days=SAFETY_FOLLOW_UP_DAYS)
    )
    assert teae_window(day1=DAY1, last_dose=None) == TeaeWindow(DAY1, None)
