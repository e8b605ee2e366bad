"""Treatment-emergent adverse events (pure; protocol.md: TEAE incidence; crf-spec AE TEAE).

An AE is treatment-emergent when it starts on or after Day 1 (the first anlotinib dose)
and no later than 30 days after the last dose — or at any time from Day 1 while the
subject is still on treatment (no last dose yet). An AE that began before Day 1 and
worsened in grade after it is recorded as a new AE row with the new grade, whose onset is
the date it worsened, so the same rule makes it treatment-emergent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from study.protocol import SAFETY_FOLLOW_UP_DAYS


@dataclass(frozen=True)
class TeaeWindow:
    first_day: date | None
    last_day: date | None  # None: still on treatment, the window is open


def teae_window(*, day1: date | None, last_dose: date | None) -> TeaeWindow:
    """The TEAE window: Day 1 to last dose + SAFETY_FOLLOW_UP_DAYS (open while on treatment)."""
    if day1 is None:
        return TeaeWindow(None, None)
    last = last_dose + timedelta(days=SAFETY_FOLLOW_UP_DAYS) if last_dose is not None else None
    return TeaeWindow(day1, last)


def is_treatment_emergent(*, onset: date, day1: date | None, last_dose: date | None) -> bool:
    """crf-spec AE TEAE: Day 1 ≤ AESTDAT ≤ last dose + 30; before any dose, never."""
    window = teae_window(day1=day1, last_dose=last_dose)
    if window.first_day is None or onset < window.first_day:
        return False
    return window.last_day is None or onset <= window.last_day
