"""The visit schedule of one subject: study days, planned visits, windows and statuses.

Pure Python (no Django): frozen dataclasses in, dataclasses out. Selectors turn a subject's rows
into a ``SubjectCourse``; ``build_schedule`` gives the planned visits; ``visit_status`` says where
one visit stands today. Sources: protocol.md "Parameters" and crf-spec "Visits"; every number is
a named parameter of ``study.protocol``.

Interpretation choices (each also stated where it is applied):

* Study end by duration is **inclusive of Day 730**: the last protocol day is study day
  ``STUDY_DURATION_DAYS``, because the TA rule reads "for as long as 42·k ≤ 730" and PFS censoring
  keeps "the last adequate TA on or before day 730". A cycle visit, TA or survival follow-up is
  planned when its target study day is ≤ ``STUDY_DURATION_DAYS``; its window is not clipped.
  EOT and SFU are not limited by it: a subject treated to Day 730 still has both.
* A closing date (progression for TAs; death and the subject's study end for every visit) removes
  the visits whose window *starts after* it. A visit whose window had already opened stays, so that
  the site can record it as held, missed or not applicable.
* C1D1 has "no window": it is the single day Day 1 (``window_start == window_end == target``),
  so it is due on Day 1 and overdue from Day 2.
* An unscheduled visit (UNS) has no target and no window: it can be held any day, so until it is
  held (or started, missed, not applicable) its status is ``WINDOW_OPEN``, never due or overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from study.protocol import (
    CYCLE_LENGTH_DAYS,
    CYCLE_VISIT_WINDOW_DAYS,
    EOT_WITHIN_DAYS,
    SAFETY_FOLLOW_UP_DAYS,
    SAFETY_FOLLOW_UP_WINDOW_AFTER_DAYS,
    SCREENING_WINDOW_FIRST_DAY,
    SCREENING_WINDOW_LAST_DAY,
    STUDY_DURATION_DAYS,
    SURVIVAL_FOLLOW_UP_INTERVAL_DAYS,
    SURVIVAL_FOLLOW_UP_WINDOW_DAYS,
    TA_INTERVAL_DAYS,
    TA_WINDOW_DAYS,
)

# --------------------------------------------------------------------------- study days


def study_day(day1: date, d: date) -> int:
    """The study day of date ``d``.

    protocol.md: Parameters, Day 1: Day 1 is the first anlotinib dose and there is no Day 0, so
    the day before Day 1 is Day -1.
    """
    offset = (d - day1).days
    return offset + 1 if offset >= 0 else offset


def date_of_study_day(day1: date, n: int) -> date:
    """The date of study day ``n`` (the inverse of ``study_day``); ``n = 0`` is a ValueError.

    protocol.md: Parameters, Day 1 (no Day 0).
    """
    if n == 0:
        raise ValueError("there is no study Day 0 (the day before Day 1 is Day -1)")
    return day1 + timedelta(days=n - 1 if n > 0 else n)


def last_protocol_date(day1: date) -> date:
    """The last day of the protocol's duration for a subject: study day ``STUDY_DURATION_DAYS``.

    protocol.md: Parameters, study end for a subject ("24 months (730 days) after Day 1") read with
    the TA rule "42·k ≤ 730": Day 730 itself is inside the study (inclusive).
    """
    return date_of_study_day(day1, STUDY_DURATION_DAYS)


# --------------------------------------------------------------------------- planned visits


class VisitKind(StrEnum):
    """Kinds of visit (crf-spec: Visits). Declaration order breaks ties between equal dates."""

    SCR = "SCR"
    CYCLE = "CYCLE"
    TA = "TA"
    EOT = "EOT"
    SFU = "SFU"
    SURV = "SURV"
    UNS = "UNS"


_KIND_ORDER = {kind: index for index, kind in enumerate(VisitKind)}


@dataclass(frozen=True)
class PlannedVisit:
    """One visit of the schedule (crf-spec: Visits).

    ``number`` is the visit's ordinal within its kind (C3D1 → 3, TA5 → 5, SURV2 → 2, UNS1 → 1);
    the visits that occur once (SCR, EOT, SFU) have number 0. ``target_date`` and the window are
    None only for unscheduled visits, which can be held any day.
    """

    code: str
    kind: VisitKind
    number: int
    target_date: date | None
    window_start: date | None
    window_end: date | None

    def __post_init__(self) -> None:
        if (self.window_start is None) != (self.window_end is None):
            raise ValueError(f"{self.code}: a window needs both a start and an end")
        if self.window_start is not None and self.window_end is not None:
            if self.target_date is None:
                raise ValueError(f"{self.code}: a visit with a window needs a target date")
            if not self.window_start <= self.target_date <= self.window_end:
                raise ValueError(f"{self.code}: the target date must lie inside the window")


@dataclass(frozen=True)
class SubjectCourse:
    """What the schedule depends on: the subject's Day 1 and the dates that end its phases.

    ``treatment_end_decided_on`` is the decision to stop treatment (it opens EOT and ends the
    cycle visits); ``last_dose`` anchors SFU; ``progression_on`` ends the TAs; ``death_on`` and
    ``study_end_on`` (withdrawal, lost to follow-up, end of study) end every visit; ``unscheduled``
    is how many unscheduled visits the subject has.
    """

    day1: date
    screening_date: date | None = None
    treatment_end_decided_on: date | None = None
    last_dose: date | None = None
    progression_on: date | None = None
    death_on: date | None = None
    study_end_on: date | None = None
    unscheduled: int = 0

    def __post_init__(self) -> None:
        if self.unscheduled < 0:
            raise ValueError("the number of unscheduled visits cannot be negative")


def _windowed(
    code: str, kind: VisitKind, number: int, target: date, before: int, after: int
) -> PlannedVisit:
    return PlannedVisit(
        code=code,
        kind=kind,
        number=number,
        target_date=target,
        window_start=target - timedelta(days=before),
        window_end=target + timedelta(days=after),
    )


def _earliest(*dates: date | None) -> date | None:
    present = [d for d in dates if d is not None]
    return min(present) if present else None


def _open_before(visit: PlannedVisit, closing: date | None) -> bool:
    """The visit's window opens on or before the closing date (or nothing closes it).

    protocol.md: Parameters, tumour assessment ("until progression or death") and study end: no
    visit whose window starts after the closing date.
    """
    if closing is None or visit.window_start is None:
        return True
    return visit.window_start <= closing


def _screening(course: SubjectCourse) -> PlannedVisit:
    # protocol.md: Parameters, screening window (Day -28 .. Day -1).
    start = date_of_study_day(course.day1, SCREENING_WINDOW_FIRST_DAY)
    end = date_of_study_day(course.day1, SCREENING_WINDOW_LAST_DAY)
    target = course.screening_date if course.screening_date is not None else end
    if not start <= target <= end:
        # A screening date outside the window (e.g. after Day 1 moved) is a deviation the caller
        # sees from the actual date; the planned target stays inside the window.
        target = min(max(target, start), end)
    return PlannedVisit("SCR", VisitKind.SCR, 0, target, start, end)


def _cycle_visits(course: SubjectCourse) -> list[PlannedVisit]:
    """CnD1 at study day 1 + 21·(n−1) ± 3 (C1D1 exactly Day 1).

    protocol.md: Parameters, cycle visits; crf-spec: Visits. Generated while the target is within
    the study duration (≤ Day 730) and before the decision to stop treatment (cycles stop at EOT).
    C1D1 is always planned: Day 1 is by definition the first dose, given at C1D1.
    """
    visits: list[PlannedVisit] = []
    n = 1
    while (day := 1 + CYCLE_LENGTH_DAYS * (n - 1)) <= STUDY_DURATION_DAYS:
        target = date_of_study_day(course.day1, day)
        decided = course.treatment_end_decided_on
        if n > 1 and decided is not None and target >= decided:
            break
        window = 0 if n == 1 else CYCLE_VISIT_WINDOW_DAYS
        visits.append(_windowed(f"C{n}D1", VisitKind.CYCLE, n, target, window, window))
        n += 1
    return visits


def _tumour_assessments(course: SubjectCourse) -> list[PlannedVisit]:
    """TAk at study day 42·k ± 7 for k = 1, 2, … while 42·k ≤ 730.

    protocol.md: Parameters, tumour assessment: anchored to Day 1 (never to the previous scan),
    continuing after treatment stops for any reason other than progression; no TA whose window
    opens after progression, death or the subject's study end.
    """
    visits: list[PlannedVisit] = []
    k = 1
    while (day := TA_INTERVAL_DAYS * k) <= STUDY_DURATION_DAYS:
        target = date_of_study_day(course.day1, day)
        visits.append(_windowed(f"TA{k}", VisitKind.TA, k, target, TA_WINDOW_DAYS, TA_WINDOW_DAYS))
        k += 1
    closing = _earliest(course.progression_on, course.death_on, course.study_end_on)
    return [visit for visit in visits if _open_before(visit, closing)]


def _end_of_treatment(decided: date) -> PlannedVisit:
    # protocol.md: Parameters, end of treatment: within 7 days of the decision to stop.
    return _windowed("EOT", VisitKind.EOT, 0, decided, 0, EOT_WITHIN_DAYS)


def _safety_follow_up(last_dose: date) -> PlannedVisit:
    # protocol.md: Parameters, safety follow-up: 30 days after the last dose, window +7 days.
    target = last_dose + timedelta(days=SAFETY_FOLLOW_UP_DAYS)
    return _windowed("SFU", VisitKind.SFU, 0, target, 0, SAFETY_FOLLOW_UP_WINDOW_AFTER_DAYS)


def _survival_follow_ups(course: SubjectCourse, eot_target: date) -> list[PlannedVisit]:
    """SURVm at EOT + 84·m ± 14 while the target is within the study duration (≤ Day 730).

    protocol.md: Parameters, survival follow-up ("every 84 days after EOT … until death,
    withdrawal or study end"); crf-spec: Visits (SURV1, SURV2, …).
    """
    visits: list[PlannedVisit] = []
    m = 1
    while True:
        target = eot_target + timedelta(days=SURVIVAL_FOLLOW_UP_INTERVAL_DAYS * m)
        if study_day(course.day1, target) > STUDY_DURATION_DAYS:
            return visits
        window = SURVIVAL_FOLLOW_UP_WINDOW_DAYS
        visits.append(_windowed(f"SURV{m}", VisitKind.SURV, m, target, window, window))
        m += 1


def _sort_key(visit: PlannedVisit) -> tuple[bool, date, int, int]:
    return (
        visit.target_date is None,
        visit.target_date or date.min,
        _KIND_ORDER[visit.kind],
        visit.number,
    )


def build_schedule(course: SubjectCourse, *, until: date | None = None) -> list[PlannedVisit]:
    """Every planned visit of the subject, sorted by target date (unscheduled visits last).

    Sources: protocol.md "Parameters" (screening window, cycle visits, tumour assessment, end of
    treatment, safety follow-up, survival follow-up, study end, unscheduled visit); crf-spec
    "Visits" (the visit codes). No side effects.

    * Death and ``study_end_on`` close every visit; progression also closes the TAs: a visit whose
      window starts after its closing date is not planned.
    * ``until`` keeps only the visits whose window opens on or before that date (UNS are kept).
    * Moving Day 1 is a call with the new ``day1``: every planned date moves with it; the caller
      keeps the actual dates of the visits already held.
    """
    visits = [_screening(course), *_cycle_visits(course), *_tumour_assessments(course)]
    if course.treatment_end_decided_on is not None:
        visits.append(_end_of_treatment(course.treatment_end_decided_on))
        # The EOT target is the decision date: survival follow-up counts from it.
        visits.extend(_survival_follow_ups(course, course.treatment_end_decided_on))
    if course.last_dose is not None:
        visits.append(_safety_follow_up(course.last_dose))

    closing = _earliest(course.death_on, course.study_end_on)
    visits = [visit for visit in visits if _open_before(visit, closing)]
    if until is not None:
        visits = [v for v in visits if v.window_start is None or v.window_start <= until]

    # protocol.md: Parameters, unscheduled visit: any day, so no target and no window.
    visits.extend(
        PlannedVisit(f"UNS{i}", VisitKind.UNS, i, None, None, None)
        for i in range(1, course.unscheduled + 1)
    )
    return sorted(visits, key=_sort_key)


# --------------------------------------------------------------------------- status


class VisitStatus(StrEnum):
    UPCOMING = "UPCOMING"
    WINDOW_OPEN = "WINDOW_OPEN"
    DUE_TODAY = "DUE_TODAY"
    OVERDUE = "OVERDUE"
    DONE = "DONE"
    PARTLY_DONE = "PARTLY_DONE"
    MISSED = "MISSED"
    NOT_APPLICABLE = "NOT_APPLICABLE"


def in_window(planned: PlannedVisit, d: date) -> bool:
    """Date ``d`` lies in the visit's window, both ends included (crf-spec: Visits).

    A visit without a window (UNS) may be held any day, so every date is in it.
    """
    if planned.window_start is None or planned.window_end is None:
        return True
    return planned.window_start <= d <= planned.window_end


def days_overdue(planned: PlannedVisit, today: date) -> int:
    """Days since the window closed (1 on the day after ``window_end``), else 0.

    A visit without a window (UNS) is never overdue. The caller applies it to visits that are
    neither held nor missed (``visit_status`` is OVERDUE).
    """
    if planned.window_end is None:
        return 0
    return max(0, (today - planned.window_end).days)


def visit_status(
    planned: PlannedVisit,
    *,
    today: date,
    held_on: date | None,
    forms_required: int,
    forms_complete: int,
    forms_started: int,
    missed: bool,
    not_applicable: bool,
) -> VisitStatus:
    """Where one visit stands on ``today``. Precedence, first match wins:

    1. NOT_APPLICABLE, when the site marked it so;
    2. MISSED, when the site marked it so;
    3. DONE, when held and every required form is complete (a visit with no required form is
       done once held);
    4. PARTLY_DONE, when held, or any form started or complete, but not DONE;
    5. for a visit without a window (UNS, "any day"): WINDOW_OPEN;
    6. DUE_TODAY on the target date;
    7. WINDOW_OPEN inside the window;
    8. OVERDUE after ``window_end``;
    9. UPCOMING before ``window_start``.

    ``forms_started`` counts forms holding any data (whether it includes the complete ones makes
    no difference here). Source: crf-spec: Visits (windows). No side effects.
    """
    if min(forms_required, forms_complete, forms_started) < 0:
        raise ValueError("form counts cannot be negative")
    if forms_complete > forms_required:
        raise ValueError("more forms complete than required")
    if not_applicable:
        return VisitStatus.NOT_APPLICABLE
    if missed:
        return VisitStatus.MISSED
    if held_on is not None and forms_complete >= forms_required:
        return VisitStatus.DONE
    if held_on is not None or forms_started > 0 or forms_complete > 0:
        return VisitStatus.PARTLY_DONE
    if planned.window_start is None or planned.window_end is None:
        return VisitStatus.WINDOW_OPEN
    if today == planned.target_date:
        return VisitStatus.DUE_TODAY
    if today > planned.window_end:
        return VisitStatus.OVERDUE
    if today < planned.window_start:
        return VisitStatus.UPCOMING
    return VisitStatus.WINDOW_OPEN


# --------------------------------------------------------------------------- survival contacts


def survival_visits_held(
    visits: list[PlannedVisit], contacts: list[date]
) -> dict[str, date | None]:
    """Which survival follow-up visit each survival contact (SV, a log) holds.

    protocol.md: Parameters, survival follow-up ("every 84 days after EOT, ±14 days, by visit or
    phone"); crf-spec SV ("one row per contact"). The SURV visits have no form of their own: a
    contact holds them. SURVm is held on the first contact from its window's opening up to the
    opening of SURV(m+1)'s window — a late contact still holds it (its lateness is a deviation,
    not a missing visit); a contact before SURVm's window holds nothing. Returns each SURV
    visit's code with its held date, or None.
    """
    ordered = sorted((v for v in visits if v.kind == VisitKind.SURV), key=lambda v: v.number)
    held: dict[str, date | None] = {}
    for index, visit in enumerate(ordered):
        opens = visit.window_start or visit.target_date
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        closes = (following.window_start or following.target_date) if following else None
        found = [
            c
            for c in contacts
            if opens is not None and c >= opens and (closes is None or c < closes)
        ]
        held[visit.code] = min(found) if found else None
    return held
