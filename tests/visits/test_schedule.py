"""Visit schedule: study days, planned visits, windows and statuses (no database).

Expected dates are worked out by hand from the calendar (an independent oracle); counts and
structural limits use the named protocol parameters.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from study.protocol import (
    CYCLE_LENGTH_DAYS,
    MAX_TUMOUR_ASSESSMENTS,
    STUDY_DURATION_DAYS,
    SURVIVAL_FOLLOW_UP_INTERVAL_DAYS,
    TA_INTERVAL_DAYS,
)
from visits.schedule import (
    PlannedVisit,
    SubjectCourse,
    VisitKind,
    VisitStatus,
    build_schedule,
    date_of_study_day,
    days_overdue,
    in_window,
    last_protocol_date,
    study_day,
    visit_status,
)

# Day 1 on a Monday in a common year; its Day 730 happens to be 2028-02-29.
DAY1 = date(2026, 3, 2)


def _by_code(visits: list[PlannedVisit]) -> dict[str, PlannedVisit]:
    return {visit.code: visit for visit in visits}


def _codes(visits: list[PlannedVisit], kind: VisitKind) -> list[str]:
    return [visit.code for visit in visits if visit.kind is kind]


def _window(visit: PlannedVisit) -> tuple[date | None, date | None, date | None]:
    return (visit.window_start, visit.target_date, visit.window_end)


# --------------------------------------------------------------------------- study days


def test_study_day_day1_is_day_1() -> None:
    assert study_day(DAY1, DAY1) == 1


def test_study_day_across_day1_skips_day_0() -> None:
    days = [study_day(DAY1, DAY1 + timedelta(days=offset)) for offset in (-2, -1, 0, 1)]

    assert days == [-2, -1, 1, 2]


def test_date_of_study_day_minus_one_is_the_day_before_day1() -> None:
    assert date_of_study_day(DAY1, -1) == date(2026, 3, 1)
    assert date_of_study_day(DAY1, 1) == DAY1
    assert date_of_study_day(DAY1, 2) == date(2026, 3, 3)


def test_date_of_study_day_zero_is_refused() -> None:
    with pytest.raises(ValueError):
        date_of_study_day(DAY1, 0)


def test_date_of_study_day_inverts_study_day() -> None:
    days = [n for n in range(-60, 800) if n != 0]

    assert [study_day(DAY1, date_of_study_day(DAY1, n)) for n in days] == days


def test_study_day_leap_year_counts_february_29() -> None:
    day1 = date(2028, 2, 27)

    assert date_of_study_day(day1, 3) == date(2028, 2, 29)
    assert study_day(day1, date(2028, 3, 1)) == 4


def test_last_protocol_date_is_study_day_730() -> None:
    assert last_protocol_date(DAY1) == date(2028, 2, 29)
    assert study_day(DAY1, last_protocol_date(DAY1)) == STUDY_DURATION_DAYS


# --------------------------------------------------------------------------- screening


def test_screening_window_is_day_minus_28_to_minus_1() -> None:
    scr = _by_code(build_schedule(SubjectCourse(day1=DAY1)))["SCR"]

    assert _window(scr) == (date(2026, 2, 2), date(2026, 3, 1), date(2026, 3, 1))
    assert (scr.kind, scr.number) == (VisitKind.SCR, 0)


def test_screening_target_is_the_screening_date_when_given() -> None:
    course = SubjectCourse(day1=DAY1, screening_date=date(2026, 2, 10))

    scr = _by_code(build_schedule(course))["SCR"]

    assert scr.target_date == date(2026, 2, 10)


def test_screening_target_outside_the_window_stays_in_the_window() -> None:
    course = SubjectCourse(day1=DAY1, screening_date=date(2026, 1, 20))

    scr = _by_code(build_schedule(course))["SCR"]

    assert _window(scr) == (date(2026, 2, 2), date(2026, 2, 2), date(2026, 3, 1))


# --------------------------------------------------------------------------- cycle visits


def test_cycle_c1d1_has_no_window() -> None:
    c1 = _by_code(build_schedule(SubjectCourse(day1=DAY1)))["C1D1"]

    assert _window(c1) == (DAY1, DAY1, DAY1)
    assert (c1.kind, c1.number) == (VisitKind.CYCLE, 1)


def test_cycle_c2d1_is_day_22_plus_minus_3() -> None:
    c2 = _by_code(build_schedule(SubjectCourse(day1=DAY1)))["C2D1"]

    assert _window(c2) == (date(2026, 3, 20), date(2026, 3, 23), date(2026, 3, 26))
    assert study_day(DAY1, c2.target_date or DAY1) == 22


def test_cycles_without_eot_run_to_the_study_duration() -> None:
    cycles = [v for v in build_schedule(SubjectCourse(day1=DAY1)) if v.kind is VisitKind.CYCLE]

    last_day = study_day(DAY1, cycles[-1].target_date or DAY1)
    assert last_day <= STUDY_DURATION_DAYS < last_day + CYCLE_LENGTH_DAYS
    assert [v.number for v in cycles] == list(range(1, len(cycles) + 1))


def test_cycles_stop_at_eot_decision() -> None:
    course = SubjectCourse(day1=DAY1, treatment_end_decided_on=date(2026, 5, 1))  # Day 61

    assert _codes(build_schedule(course), VisitKind.CYCLE) == ["C1D1", "C2D1", "C3D1"]


def test_cycles_stop_at_eot_decided_on_the_cycle_target_day() -> None:
    course = SubjectCourse(day1=DAY1, treatment_end_decided_on=date(2026, 5, 4))  # C4D1 day

    assert _codes(build_schedule(course), VisitKind.CYCLE) == ["C1D1", "C2D1", "C3D1"]


def test_cycles_keep_c1d1_when_eot_decided_on_day1() -> None:
    course = SubjectCourse(day1=DAY1, treatment_end_decided_on=DAY1)

    assert _codes(build_schedule(course), VisitKind.CYCLE) == ["C1D1"]


# --------------------------------------------------------------------------- tumour assessments


def test_ta1_is_day_42_plus_minus_7() -> None:
    ta1 = _by_code(build_schedule(SubjectCourse(day1=DAY1)))["TA1"]

    assert _window(ta1) == (date(2026, 4, 5), date(2026, 4, 12), date(2026, 4, 19))
    assert (ta1.kind, ta1.number) == (VisitKind.TA, 1)


def test_ta17_is_the_last_assessment() -> None:
    visits = build_schedule(SubjectCourse(day1=DAY1))

    tas = _codes(visits, VisitKind.TA)
    assert tas == [f"TA{k}" for k in range(1, 18)]
    assert len(tas) == MAX_TUMOUR_ASSESSMENTS
    assert _by_code(visits)["TA17"].target_date == date(2028, 2, 13)  # Day 714
    assert TA_INTERVAL_DAYS * 17 <= STUDY_DURATION_DAYS < TA_INTERVAL_DAYS * 18


def test_ta_anchored_to_day1_not_to_previous_scan() -> None:
    tas = [v for v in build_schedule(SubjectCourse(day1=DAY1)) if v.kind is VisitKind.TA]

    assert [study_day(DAY1, v.target_date or DAY1) for v in tas] == [
        TA_INTERVAL_DAYS * k for k in range(1, MAX_TUMOUR_ASSESSMENTS + 1)
    ]


def test_ta_continues_after_eot_for_toxicity() -> None:
    course = SubjectCourse(
        day1=DAY1, treatment_end_decided_on=date(2026, 5, 1), last_dose=date(2026, 4, 26)
    )

    assert len(_codes(build_schedule(course), VisitKind.TA)) == MAX_TUMOUR_ASSESSMENTS


def test_ta_stops_after_progression() -> None:
    course = SubjectCourse(
        day1=DAY1,
        treatment_end_decided_on=date(2026, 5, 26),
        progression_on=date(2026, 5, 24),  # the TA2 scan (Day 84)
    )

    assert _codes(build_schedule(course), VisitKind.TA) == ["TA1", "TA2"]


def test_ta_kept_when_window_opens_on_the_progression_date() -> None:
    course = SubjectCourse(day1=DAY1, progression_on=date(2026, 6, 28))  # TA3 opens (Day 119)

    assert _codes(build_schedule(course), VisitKind.TA) == ["TA1", "TA2", "TA3"]


def test_ta_dropped_when_window_opens_the_day_after_progression() -> None:
    course = SubjectCourse(day1=DAY1, progression_on=date(2026, 6, 27))

    assert _codes(build_schedule(course), VisitKind.TA) == ["TA1", "TA2"]


def test_progression_does_not_stop_cycles_or_follow_up() -> None:
    course = SubjectCourse(day1=DAY1, progression_on=date(2026, 4, 12))

    assert "C4D1" in _by_code(build_schedule(course))


# --------------------------------------------------------------------------- EOT, SFU, SURV


def test_eot_window_is_the_decision_plus_7_days() -> None:
    course = SubjectCourse(day1=DAY1, treatment_end_decided_on=date(2026, 5, 1))

    eot = _by_code(build_schedule(course))["EOT"]

    assert _window(eot) == (date(2026, 5, 1), date(2026, 5, 1), date(2026, 5, 8))
    assert (eot.kind, eot.number) == (VisitKind.EOT, 0)


def test_eot_absent_without_decision() -> None:
    codes = _by_code(build_schedule(SubjectCourse(day1=DAY1)))

    assert ("EOT" in codes, "SFU" in codes, "SURV1" in codes) == (False, False, False)


def test_sfu_window_is_last_dose_plus_30_to_37() -> None:
    course = SubjectCourse(
        day1=DAY1, treatment_end_decided_on=date(2026, 5, 1), last_dose=date(2026, 4, 26)
    )

    sfu = _by_code(build_schedule(course))["SFU"]

    assert _window(sfu) == (date(2026, 5, 26), date(2026, 5, 26), date(2026, 6, 2))


def test_sfu_window_across_february_29() -> None:
    course = SubjectCourse(day1=date(2027, 12, 1), last_dose=date(2028, 1, 31))

    sfu = _by_code(build_schedule(course))["SFU"]

    assert _window(sfu) == (date(2028, 3, 1), date(2028, 3, 1), date(2028, 3, 8))


def test_surv_every_84_days_after_eot_plus_minus_14() -> None:
    course = SubjectCourse(day1=DAY1, treatment_end_decided_on=date(2026, 5, 1))  # Day 61

    visits = build_schedule(course)

    by_code = _by_code(visits)
    assert _window(by_code["SURV1"]) == (date(2026, 7, 10), date(2026, 7, 24), date(2026, 8, 7))
    assert _window(by_code["SURV2"]) == (date(2026, 10, 2), date(2026, 10, 16), date(2026, 10, 30))
    targets = [v.target_date for v in visits if v.kind is VisitKind.SURV and v.target_date]
    gaps = {(later - earlier).days for earlier, later in zip(targets, targets[1:], strict=False)}
    assert gaps == {SURVIVAL_FOLLOW_UP_INTERVAL_DAYS}
    assert _codes(visits, VisitKind.SURV) == [f"SURV{m}" for m in range(1, 8)]  # Day 649 last


def test_surv_on_day_730_is_kept() -> None:
    course = SubjectCourse(day1=DAY1, treatment_end_decided_on=date(2026, 4, 28))  # Day 58

    surv = [v for v in build_schedule(course) if v.kind is VisitKind.SURV]

    assert surv[-1].code == "SURV8"
    assert surv[-1].target_date == date(2028, 2, 29)  # Day 730 = 58 + 8 * 84


def test_surv_on_day_731_is_not_planned() -> None:
    course = SubjectCourse(day1=DAY1, treatment_end_decided_on=date(2026, 4, 29))  # Day 59

    surv = [v for v in build_schedule(course) if v.kind is VisitKind.SURV]

    assert surv[-1].code == "SURV7"


# --------------------------------------------------------------------------- closing events


def test_death_closes_every_visit_after_it() -> None:
    course = SubjectCourse(day1=DAY1, death_on=date(2026, 6, 9))  # Day 100

    visits = build_schedule(course)

    assert [v.code for v in visits] == [
        "SCR",
        "C1D1",
        "C2D1",
        "TA1",
        "C3D1",
        "C4D1",
        "TA2",
        "C5D1",
    ]


def test_death_closes_sfu_and_surv_but_not_eot() -> None:
    course = SubjectCourse(
        day1=DAY1,
        treatment_end_decided_on=date(2026, 5, 30),  # Day 90
        last_dose=date(2026, 5, 28),  # SFU opens Day 118
        death_on=date(2026, 6, 19),  # Day 110
    )

    codes = _by_code(build_schedule(course))

    assert ("EOT" in codes, "SFU" in codes, "SURV1" in codes) == (True, False, False)


def test_study_end_closes_every_visit_after_it() -> None:
    course = SubjectCourse(
        day1=DAY1,
        treatment_end_decided_on=date(2026, 5, 1),
        last_dose=date(2026, 4, 26),
        study_end_on=date(2026, 5, 10),  # consent withdrawn
    )

    assert [v.code for v in build_schedule(course)] == [
        "SCR",
        "C1D1",
        "C2D1",
        "TA1",
        "C3D1",
        "EOT",
    ]


# --------------------------------------------------------------------------- the whole list


def test_schedule_sorted_by_target_with_unscheduled_last() -> None:
    course = SubjectCourse(
        day1=DAY1,
        treatment_end_decided_on=date(2026, 5, 1),
        last_dose=date(2026, 4, 26),
        unscheduled=2,
    )

    visits = build_schedule(course)

    targets = [v.target_date for v in visits if v.target_date is not None]
    assert targets == sorted(targets)
    assert [v.code for v in visits[-2:]] == ["UNS1", "UNS2"]
    assert _window(visits[-1]) == (None, None, None)
    assert (visits[-1].kind, visits[-1].number) == (VisitKind.UNS, 2)


def test_schedule_moving_day1_shifts_every_visit() -> None:
    old = SubjectCourse(day1=DAY1, treatment_end_decided_on=date(2026, 5, 1))
    new = SubjectCourse(day1=DAY1 + timedelta(days=5), treatment_end_decided_on=date(2026, 5, 6))

    before = build_schedule(old)
    after = build_schedule(new)

    shift = timedelta(days=5)
    moved = [
        (v.code, v.window_start + shift, v.target_date + shift, v.window_end + shift)
        for v in before
        if v.target_date and v.window_start and v.window_end
    ]
    assert [(v.code, v.window_start, v.target_date, v.window_end) for v in after] == moved


def test_schedule_until_keeps_visits_open_by_then() -> None:
    course = SubjectCourse(day1=DAY1, unscheduled=1)

    visits = build_schedule(course, until=date(2026, 4, 5))  # TA1 opens that day

    assert [v.code for v in visits] == ["SCR", "C1D1", "C2D1", "TA1", "UNS1"]


def test_schedule_leap_year_window_spans_february_29() -> None:
    c2 = _by_code(build_schedule(SubjectCourse(day1=date(2028, 2, 8))))["C2D1"]

    assert _window(c2) == (date(2028, 2, 26), date(2028, 2, 29), date(2028, 3, 3))
    assert in_window(c2, date(2028, 2, 29)) is True


def test_subject_course_negative_unscheduled_is_refused() -> None:
    with pytest.raises(ValueError):
        SubjectCourse(day1=DAY1, unscheduled=-1)


def test_planned_visit_target_outside_window_is_refused() -> None:
    with pytest.raises(ValueError):
        PlannedVisit("TA1", VisitKind.TA, 1, date(2026, 5, 1), date(2026, 4, 1), date(2026, 4, 8))


def test_planned_visit_half_window_is_refused() -> None:
    with pytest.raises(ValueError):
        PlannedVisit("TA1", VisitKind.TA, 1, date(2026, 4, 1), date(2026, 4, 1), None)


# --------------------------------------------------------------------------- window helpers

C2 = PlannedVisit(
    "C2D1", VisitKind.CYCLE, 2, date(2026, 3, 23), date(2026, 3, 20), date(2026, 3, 26)
)
C1 = PlannedVisit("C1D1", VisitKind.CYCLE, 1, DAY1, DAY1, DAY1)
UNS = PlannedVisit("UNS1", VisitKind.UNS, 1, None, None, None)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 19), False),
        (date(2026, 3, 20), True),
        (date(2026, 3, 26), True),
        (date(2026, 3, 27), False),
    ],
)
def test_in_window_both_ends_included(day: date, expected: bool) -> None:
    assert in_window(C2, day) is expected


def test_in_window_unscheduled_any_day() -> None:
    assert in_window(UNS, date(2030, 1, 1)) is True


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 3, 20), 0),
        (date(2026, 3, 26), 0),
        (date(2026, 3, 27), 1),
        (date(2026, 4, 5), 10),
    ],
)
def test_days_overdue_counts_from_window_end(today: date, expected: int) -> None:
    assert days_overdue(C2, today) == expected


def test_days_overdue_unscheduled_never() -> None:
    assert days_overdue(UNS, date(2030, 1, 1)) == 0


# --------------------------------------------------------------------------- statuses


def _status(
    planned: PlannedVisit = C2,
    *,
    today: date = date(2026, 3, 23),
    held_on: date | None = None,
    forms_required: int = 4,
    forms_complete: int = 0,
    forms_started: int = 0,
    missed: bool = False,
    not_applicable: bool = False,
) -> VisitStatus:
    return visit_status(
        planned,
        today=today,
        held_on=held_on,
        forms_required=forms_required,
        forms_complete=forms_complete,
        forms_started=forms_started,
        missed=missed,
        not_applicable=not_applicable,
    )


def test_status_not_applicable_wins_over_everything() -> None:
    status = _status(held_on=date(2026, 3, 23), forms_complete=4, missed=True, not_applicable=True)

    assert status is VisitStatus.NOT_APPLICABLE


def test_status_missed_wins_over_held() -> None:
    assert _status(held_on=date(2026, 3, 23), forms_complete=4, missed=True) is VisitStatus.MISSED


def test_status_done_when_held_and_all_forms_complete() -> None:
    assert _status(held_on=date(2026, 3, 22), forms_complete=4) is VisitStatus.DONE


def test_status_done_when_held_and_no_form_required() -> None:
    assert _status(held_on=date(2026, 3, 22), forms_required=0) is VisitStatus.DONE


def test_status_partly_done_when_held_with_forms_missing() -> None:
    status = _status(held_on=date(2026, 3, 22), forms_complete=3, forms_started=1)

    assert status is VisitStatus.PARTLY_DONE


def test_status_partly_done_when_forms_started_but_not_held() -> None:
    assert _status(today=date(2026, 4, 30), forms_started=1) is VisitStatus.PARTLY_DONE


def test_status_partly_done_when_all_complete_but_not_held() -> None:
    assert _status(forms_complete=4) is VisitStatus.PARTLY_DONE


def test_status_due_today_on_the_target_date() -> None:
    assert _status(today=date(2026, 3, 23)) is VisitStatus.DUE_TODAY


@pytest.mark.parametrize("today", [date(2026, 3, 20), date(2026, 3, 22), date(2026, 3, 26)])
def test_status_window_open_inside_the_window(today: date) -> None:
    assert _status(today=today) is VisitStatus.WINDOW_OPEN


def test_status_overdue_the_day_after_the_window() -> None:
    assert _status(today=date(2026, 3, 27)) is VisitStatus.OVERDUE


def test_status_upcoming_the_day_before_the_window() -> None:
    assert _status(today=date(2026, 3, 19)) is VisitStatus.UPCOMING


def test_status_c1d1_overdue_the_day_after_day1() -> None:
    assert _status(C1, today=DAY1) is VisitStatus.DUE_TODAY
    assert _status(C1, today=DAY1 + timedelta(days=1)) is VisitStatus.OVERDUE


def test_status_unscheduled_is_window_open_until_held() -> None:
    assert _status(UNS, today=date(2030, 1, 1)) is VisitStatus.WINDOW_OPEN
    assert _status(UNS, held_on=date(2026, 5, 1), forms_complete=4) is VisitStatus.DONE


def test_status_negative_form_count_is_refused() -> None:
    with pytest.raises(ValueError):
        _status(forms_started=-1)


def test_status_values_are_the_names() -> None:
    assert [s.value for s in VisitStatus] == [s.name for s in VisitStatus]
    assert [k.value for k in VisitKind] == ["SCR", "CYCLE", "TA", "EOT", "SFU", "SURV", "UNS"]
