"""outcomes/endpoints.py: BOR, PFS (the censoring table, row by row), OS, time on treatment.

Pure core: no database. Study days are written as numbers of the protocol's schedule
(multiples of TA_INTERVAL_DAYS); protocol limits come from study.protocol by name.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from outcomes.endpoints import (
    Endpoint,
    SubjectEndpoints,
    SubjectRecord,
    compute_endpoints,
    duration_months,
)
from study.protocol import (
    DAYS_PER_MONTH,
    PFS_MISSED_TA_GAP_DAYS,
    STUDY_DURATION_DAYS,
    TA_INTERVAL_DAYS,
    TA_WINDOW_DAYS,
)
from visits.recist import NonTargetResponse, Response, TimepointResult
from visits.schedule import date_of_study_day

DAY1 = date(2026, 1, 5)
K = TA_INTERVAL_DAYS  # study day of the k-th scheduled TA is K * k
LAST_TA = (STUDY_DURATION_DAYS // K) * K  # the last scheduled TA's study day


def on(day: int) -> date:
    """The date of a study day (Day 1 = DAY1)."""
    return date_of_study_day(DAY1, day)


def ta(day: int, overall: Response, *, pd_day: int | None = None) -> TimepointResult:
    """A follow-up time point: only the date, the overall response and the PD date matter."""
    pd_date = (on(pd_day) if pd_day is not None else on(day)) if overall is Response.PD else None
    return TimepointResult(
        assessed_on=on(day),
        sum_mm=None,
        change_from_baseline_pct=None,
        change_from_nadir_pct=None,
        nadir_mm=None,
        target=overall,
        non_target=NonTargetResponse.NONE,
        new_lesion=False,
        overall=overall,
        pd_date=pd_date,
    )


def subject(
    *tas: TimepointResult,
    death: date | None = None,
    therapy: date | None = None,
    alive: date | None = None,
    baseline: bool = True,
    last_dose: date | None = None,
    cutoff: date | None = None,
) -> SubjectRecord:
    return SubjectRecord(
        day1=DAY1,
        has_baseline_ta=baseline,
        timepoints=tas,
        death_on=death,
        new_therapy_on=therapy,
        last_known_alive=alive,
        last_dose_on=last_dose,
        data_cutoff=cutoff if cutoff is not None else on(STUDY_DURATION_DAYS),
    )


def pfs(record: SubjectRecord) -> tuple[int | None, bool, date | None, str]:
    endpoint = compute_endpoints(record).pfs
    return endpoint.days, endpoint.event, endpoint.date, endpoint.reason


# --- Durations ---------------------------------------------------------------------------


def test_duration_pd_on_first_dose_plus_41_is_42_days() -> None:
    record = subject(ta(K, Response.PD))  # assessed DAY1 + 41 days

    result = compute_endpoints(record).pfs

    assert record.timepoints[0].assessed_on == DAY1 + timedelta(days=41)
    assert result == Endpoint(
        days=42,
        months=Decimal("1.38"),
        event=True,
        date=DAY1 + timedelta(days=41),
        reason="progression",
        explanation="PFS event on 2026-02-15: progression first shown by the assessment of 2026-02-15.",
    )


def test_duration_months_is_days_over_days_per_month_quantized() -> None:
    assert duration_months(1) == Decimal("0.03")
    assert duration_months(365) == Decimal("11.99")
    assert duration_months(int(DAYS_PER_MONTH * 4)) == Decimal("3.98")


# --- PFS: the censoring table, row by row -----------------------------------------------


def test_pfs_row_no_baseline_ta_censored_at_day1() -> None:
    record = subject(ta(K, Response.PD), baseline=False, death=on(3 * K))

    result = compute_endpoints(record).pfs

    assert result == Endpoint(
        days=1,
        months=Decimal("0.03"),
        event=False,
        date=DAY1,
        reason="no_baseline",
        explanation=f"PFS censored at Day 1 ({DAY1}): no baseline tumour assessment.",
    )


def test_pfs_row_no_post_baseline_ta_and_alive_censored_at_day1() -> None:
    record = subject(alive=on(200), therapy=on(100))

    assert pfs(record) == (1, False, DAY1, "no_post_baseline_ta")


def test_pfs_row_progression_documented_event_at_first_pd_ta() -> None:
    record = subject(ta(K, Response.SD), ta(2 * K, Response.PD), ta(3 * K, Response.PD))

    assert pfs(record) == (2 * K, True, on(2 * K), "progression")


def test_pfs_row_death_before_progression_one_missed_ta_event_at_death() -> None:
    # TA at 2K missed; death before the window of the 3K TA closes.
    death = 3 * K + TA_WINDOW_DAYS
    record = subject(ta(K, Response.SD), death=on(death))

    result = compute_endpoints(record).pfs

    assert result == Endpoint(
        days=death,
        months=duration_months(death),
        event=True,
        date=on(death),
        reason="death",
        explanation=f"PFS event on {on(death)}: death before any progression, {PFS_MISSED_TA_GAP_DAYS} days after the last adequate assessment on {on(K)} (at most {PFS_MISSED_TA_GAP_DAYS}).",
    )


def test_pfs_row_no_progression_no_death_censored_at_last_adequate_ta() -> None:
    record = subject(ta(K, Response.SD), ta(2 * K, Response.PR), ta(3 * K, Response.NE))

    result = compute_endpoints(record).pfs

    assert result == Endpoint(
        days=2 * K,
        months=duration_months(2 * K),
        event=False,
        date=on(2 * K),
        reason="last_adequate_ta",
        explanation=f"PFS censored at {on(2 * K)}: last adequate assessment (Partial response); no progression or death observed up to study day {STUDY_DURATION_DAYS}.",
    )


def test_pfs_row_new_therapy_before_progression_censored_at_last_adequate_ta_before_it() -> None:
    record = subject(
        ta(K, Response.SD),
        ta(2 * K, Response.SD),
        ta(3 * K, Response.PD),
        therapy=on(2 * K + 14),
    )

    result = compute_endpoints(record).pfs

    assert result == Endpoint(
        days=2 * K,
        months=duration_months(2 * K),
        event=False,
        date=on(2 * K),
        reason="new_therapy",
        explanation=f"PFS censored at {on(2 * K)}: last adequate assessment (Stable disease); new anticancer therapy started {on(2 * K + 14)} before any progression or death.",
    )


def test_pfs_row_progression_after_two_missed_tas_censored_before_gap() -> None:
    # TAs at 2K and 3K missed, PD at the 4K TA.
    record = subject(ta(K, Response.SD), ta(4 * K, Response.PD))

    result = compute_endpoints(record).pfs

    assert result == Endpoint(
        days=K,
        months=duration_months(K),
        event=False,
        date=on(K),
        reason="missed_tas",
        explanation=f"PFS censored at {on(K)}: progression on {on(4 * K)} came {3 * K} days after the last adequate assessment on {on(K)}, more than {PFS_MISSED_TA_GAP_DAYS} (two or more missed assessments).",
    )


def test_pfs_row_event_after_day_730_censored_at_last_adequate_ta_on_or_before_it() -> None:
    late = STUDY_DURATION_DAYS + 15
    record = subject(ta(LAST_TA - K, Response.SD), ta(LAST_TA, Response.SD), ta(late, Response.PD))

    result = compute_endpoints(record).pfs

    assert result == Endpoint(
        days=LAST_TA,
        months=duration_months(LAST_TA),
        event=False,
        date=on(LAST_TA),
        reason="after_day_730",
        explanation=f"PFS censored at {on(LAST_TA)}: last adequate assessment (Stable disease); progression on {on(late)} (study day {late}) is after study day {STUDY_DURATION_DAYS}.",
    )


# --- PFS: death and the missed-TA gap ---------------------------------------------------


def test_pfs_death_gap_of_exactly_missed_ta_gap_days_is_event() -> None:
    death = on(K) + timedelta(days=PFS_MISSED_TA_GAP_DAYS)
    record = subject(ta(K, Response.SD), ta(2 * K, Response.NE), death=death)

    assert pfs(record) == (K + PFS_MISSED_TA_GAP_DAYS, True, death, "death")


def test_pfs_death_gap_one_day_more_than_missed_ta_gap_days_is_censored() -> None:
    death = on(K) + timedelta(days=PFS_MISSED_TA_GAP_DAYS + 1)
    record = subject(ta(K, Response.SD), ta(2 * K, Response.NE), death=death)

    assert pfs(record) == (K, False, on(K), "missed_tas")


def test_pfs_death_with_assessment_on_day_of_death_after_gap_is_event() -> None:
    record = subject(ta(K, Response.SD), ta(5 * K, Response.SD), death=on(5 * K))

    assert pfs(record) == (5 * K, True, on(5 * K), "death")


def test_pfs_death_after_progression_event_is_progression() -> None:
    record = subject(ta(K, Response.SD), ta(2 * K, Response.PD), death=on(2 * K + 10))

    assert pfs(record) == (2 * K, True, on(2 * K), "progression")


def test_pfs_no_post_baseline_ta_dead_within_gap_of_day1_is_event() -> None:
    death = DAY1 + timedelta(days=PFS_MISSED_TA_GAP_DAYS)
    record = subject(death=death)

    assert pfs(record) == (PFS_MISSED_TA_GAP_DAYS + 1, True, death, "death")


def test_pfs_no_post_baseline_ta_dead_after_gap_of_day1_censored_at_day1() -> None:
    death = DAY1 + timedelta(days=PFS_MISSED_TA_GAP_DAYS + 1)
    record = subject(death=death)

    result = compute_endpoints(record).pfs

    assert result == Endpoint(
        days=1,
        months=Decimal("0.03"),
        event=False,
        date=DAY1,
        reason="missed_tas",
        explanation=f"PFS censored at {DAY1}: death on {death} came {PFS_MISSED_TA_GAP_DAYS + 1} days after Day 1 ({DAY1}), with no adequate assessment before it, more than {PFS_MISSED_TA_GAP_DAYS} (two or more missed assessments).",
    )


def test_pfs_progression_with_only_ne_tas_before_and_gap_from_day1_censored_at_day1() -> None:
    record = subject(
        ta(K, Response.NE),
        ta(2 * K, Response.NE),
        ta(PFS_MISSED_TA_GAP_DAYS + 2, Response.PD),
    )

    assert pfs(record) == (1, False, DAY1, "missed_tas")


def test_pfs_no_event_with_only_ne_tas_censored_at_day1() -> None:
    record = subject(ta(K, Response.NE), ta(2 * K, Response.NE), alive=on(3 * K))

    assert pfs(record) == (1, False, DAY1, "last_adequate_ta")


# --- PFS: new anticancer therapy --------------------------------------------------------


def test_pfs_death_after_new_therapy_censored_at_last_adequate_ta_before_it() -> None:
    record = subject(ta(K, Response.SD), therapy=on(K + 20), death=on(K + 40))

    assert pfs(record) == (K, False, on(K), "new_therapy")


def test_pfs_progression_on_day_new_therapy_starts_is_not_before_it() -> None:
    record = subject(ta(K, Response.SD), ta(2 * K, Response.PD), therapy=on(2 * K))

    assert pfs(record) == (K, False, on(K), "new_therapy")


def test_pfs_new_therapy_before_any_adequate_ta_censored_at_day1() -> None:
    record = subject(ta(K, Response.PD), therapy=on(K - 10))

    assert pfs(record) == (1, False, DAY1, "new_therapy")


def test_pfs_progression_before_new_therapy_is_event() -> None:
    record = subject(ta(K, Response.SD), ta(2 * K, Response.PD), therapy=on(2 * K + 10))

    assert pfs(record) == (2 * K, True, on(2 * K), "progression")


# --- PFS: progression dates -------------------------------------------------------------


def test_pfs_progression_on_unscheduled_ta_between_scheduled_ones() -> None:
    unscheduled = K + K // 2
    record = subject(ta(K, Response.SD), ta(unscheduled, Response.PD), ta(2 * K, Response.PD))

    assert pfs(record) == (unscheduled, True, on(unscheduled), "progression")


def test_pfs_pd_dated_back_uses_pd_date() -> None:
    record = subject(
        ta(K, Response.SD), ta(2 * K, Response.SD), ta(3 * K, Response.PD, pd_day=2 * K)
    )

    result = compute_endpoints(record).pfs

    assert result == Endpoint(
        days=2 * K,
        months=duration_months(2 * K),
        event=True,
        date=on(2 * K),
        reason="progression",
        explanation=f"PFS event on {on(2 * K)}: progression first shown by the assessment of {on(3 * K)}, dated back to {on(2 * K)} where it was first seen.",
    )


def test_pfs_pd_dated_back_to_first_scan_after_gap_censored_before_gap() -> None:
    late = K + PFS_MISSED_TA_GAP_DAYS + 10
    record = subject(
        ta(K, Response.SD), ta(late, Response.SD), ta(late + K, Response.PD, pd_day=late)
    )

    assert pfs(record) == (K, False, on(K), "missed_tas")


def test_pfs_timepoints_in_any_order() -> None:
    record = subject(ta(3 * K, Response.PD), ta(K, Response.SD), ta(2 * K, Response.PD))

    assert pfs(record) == (2 * K, True, on(2 * K), "progression")


# --- PFS: day 730 -----------------------------------------------------------------------


def test_pfs_death_on_day_730_is_event() -> None:
    record = subject(ta(LAST_TA, Response.SD), death=on(STUDY_DURATION_DAYS))

    assert pfs(record) == (STUDY_DURATION_DAYS, True, on(STUDY_DURATION_DAYS), "death")


def test_pfs_death_after_day_730_censored_at_last_adequate_ta_on_or_before_it() -> None:
    record = subject(
        ta(LAST_TA, Response.SD),
        ta(STUDY_DURATION_DAYS + 10, Response.SD),
        death=on(STUDY_DURATION_DAYS + 120),
        therapy=on(STUDY_DURATION_DAYS + 20),
    )

    assert pfs(record) == (LAST_TA, False, on(LAST_TA), "after_day_730")


def test_pfs_no_event_ignores_tas_after_day_730() -> None:
    record = subject(ta(LAST_TA, Response.SD), ta(STUDY_DURATION_DAYS + 10, Response.SD))

    assert pfs(record) == (LAST_TA, False, on(LAST_TA), "last_adequate_ta")


# --- BOR --------------------------------------------------------------------------------


def test_bor_confirmed_pr() -> None:
    result = compute_endpoints(subject(ta(K, Response.PR), ta(2 * K, Response.PR)))

    assert (result.bor, result.best_response and result.best_response.confirmed_on) == (
        Response.PR,
        on(2 * K),
    )


def test_bor_ignores_tas_after_new_therapy() -> None:
    record = subject(ta(K, Response.PR), ta(2 * K, Response.PR), therapy=on(K + 10))

    assert compute_endpoints(record).bor == Response.SD


# --- OS ---------------------------------------------------------------------------------


def test_os_event_at_death() -> None:
    record = subject(ta(K, Response.PD), death=on(300), alive=on(280))

    result = compute_endpoints(record).os

    assert result == Endpoint(
        days=300,
        months=duration_months(300),
        event=True,
        date=on(300),
        reason="death",
        explanation=f"OS event on {on(300)}: death.",
    )


def test_os_alive_censored_at_last_known_alive() -> None:
    record = subject(ta(K, Response.SD), alive=on(200))

    result = compute_endpoints(record).os

    assert result == Endpoint(
        days=200,
        months=duration_months(200),
        event=False,
        date=on(200),
        reason="last_known_alive",
        explanation=f"OS censored at {on(200)}: last date the subject was known alive.",
    )


def test_os_alive_without_last_known_alive_censored_at_day1() -> None:
    result = compute_endpoints(subject()).os

    assert (result.days, result.event, result.date) == (1, False, DAY1)


# --- Time on treatment and not dosed ----------------------------------------------------


def test_time_on_treatment_to_last_dose() -> None:
    record = subject(last_dose=on(150), cutoff=on(400))

    assert compute_endpoints(record).time_on_treatment_days == 150


def test_time_on_treatment_to_data_cutoff_while_on_treatment() -> None:
    record = subject(cutoff=on(90))

    assert compute_endpoints(record).time_on_treatment_days == 90


def test_not_dosed_has_no_endpoints() -> None:
    record = replace(subject(ta(K, Response.PD), death=on(100)), day1=None)

    result = compute_endpoints(record)

    assert result == SubjectEndpoints(
        bor=None,
        best_response=None,
        pfs=Endpoint(
            days=None,
            months=None,
            event=False,
            date=None,
            reason="not_dosed",
            explanation="No PFS: the subject received no dose and is outside the analysis population.",
        ),
        os=Endpoint(
            days=None,
            months=None,
            event=False,
            date=None,
            reason="not_dosed",
            explanation="No OS: the subject received no dose and is outside the analysis population.",
        ),
        time_on_treatment_days=None,
    )
