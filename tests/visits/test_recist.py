"""RECIST 1.1 engine (visits.recist): pure functions, no database.

Every threshold is read from study.protocol; the dates are study days counted from DAY1.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from study.protocol import (
    RECIST_CONFIRMATION_MIN_DAYS,
    RECIST_MAX_TARGETS,
    RECIST_MAX_TARGETS_PER_ORGAN,
    RECIST_MIN_MEASURABLE_MM,
    RECIST_MIN_MEASURABLE_NODE_MM,
    RECIST_NORMAL_NODE_MM,
    RECIST_PD_MIN_ABSOLUTE_MM,
    RECIST_SD_MIN_STUDY_DAY,
    RECIST_TOO_SMALL_DEFAULT_MM,
)
from visits.recist import (
    BestResponse,
    Evaluation,
    NewLesion,
    NonTargetLesion,
    NonTargetResponse,
    NTLStatus,
    Problem,
    Response,
    TargetLesion,
    TimepointResult,
    TLStatus,
    TumourAssessment,
    baseline_problems,
    best_overall_response,
    display_pct,
    effective_diameter,
    evaluate,
    follow_up_problems,
    study_day,
)

D = Decimal
DAY1 = dt.date(2026, 3, 9)
BASELINE_DAY = -3


def on_day(day: int) -> dt.date:
    """The date of a study day (Day 1 = DAY1, no Day 0)."""
    return DAY1 + dt.timedelta(days=day - 1 if day > 0 else day)


def tl(
    lesion_id: str,
    mm: str | None,
    *,
    organ: str = "LIVER",
    node: bool = False,
    status: TLStatus = TLStatus.MEASURED,
) -> TargetLesion:
    return TargetLesion(lesion_id, organ, node, status, None if mm is None else D(mm))


def ntl(lesion_id: str, status: NTLStatus = NTLStatus.PRESENT) -> NonTargetLesion:
    return NonTargetLesion(lesion_id, "PERITONEUM", status)


def ta(
    day: int,
    *targets: TargetLesion,
    non_targets: tuple[NonTargetLesion, ...] = (),
    new: tuple[NewLesion, ...] = (),
) -> TumourAssessment:
    return TumourAssessment(on_day(day), targets, non_targets, new)


def only(baseline: TumourAssessment, follow_up: TumourAssessment) -> TimepointResult:
    return evaluate(baseline, [follow_up]).timepoints[0]


def tp(day: int, overall: Response, *, pd_day: int | None = None) -> TimepointResult:
    """A time-point result for the BOR tests; only the date and the overall count."""
    on = on_day(day)
    pd_date = (on_day(pd_day) if pd_day is not None else on) if overall is Response.PD else None
    return TimepointResult(
        assessed_on=on,
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


def bor(*results: TimepointResult, new_therapy_on: dt.date | None = None) -> BestResponse:
    return best_overall_response(results, DAY1, new_therapy_on=new_therapy_on)


# --- study_day, display_pct, effective_diameter -------------------------------------------


@pytest.mark.parametrize(("offset", "expected"), [(0, 1), (1, 2), (41, 42), (-1, -1), (-28, -28)])
def test_study_day_counts_from_day1_without_day0(offset: int, expected: int) -> None:
    assert study_day(DAY1, DAY1 + dt.timedelta(days=offset)) == expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (D("-30"), "-30.0"),
        (D(-125) / D(3), "-41.7"),
        (D("20"), "20.0"),
        (D("0.05"), "0.1"),
        (D("-0.04"), "0.0"),
        (None, ""),
    ],
)
def test_display_pct_one_decimal(value: Decimal | None, shown: str) -> None:
    assert display_pct(value) == shown


@pytest.mark.parametrize(
    ("lesion", "expected"),
    [
        (tl("T01", "12.3"), D("12.3")),
        (tl("T01", None, status=TLStatus.DISAPPEARED), D(0)),
        (tl("T01", None, status=TLStatus.TOO_SMALL), RECIST_TOO_SMALL_DEFAULT_MM),
        (tl("T01", "3", status=TLStatus.TOO_SMALL), D("3")),
        (tl("T01", "12", status=TLStatus.NOT_ASSESSED), None),
        (tl("T01", None), None),
    ],
)
def test_effective_diameter_by_status(lesion: TargetLesion, expected: Decimal | None) -> None:
    assert effective_diameter(lesion) == expected


# --- Baseline rules -------------------------------------------------------------------------


def test_baseline_problems_none_for_a_valid_baseline() -> None:
    baseline = ta(
        BASELINE_DAY,
        tl("T01", "30"),
        tl("T02", "10"),
        tl("T03", "15", organ="LYMPH_NODE", node=True),
        non_targets=(ntl("NT01"),),
    )

    assert baseline_problems(baseline) == []


def test_baseline_problems_too_many_targets() -> None:
    organs = ["LIVER", "LUNG", "BONE", "ADRENAL", "PERITONEUM", "OTHER"]
    targets = [tl(f"T{i:02d}", "20", organ=organ) for i, organ in enumerate(organs, start=1)]
    assert len(targets) == RECIST_MAX_TARGETS + 1

    problems = baseline_problems(ta(BASELINE_DAY, *targets))

    assert problems == [
        Problem(
            "",
            "TL",
            f"1 to {RECIST_MAX_TARGETS} target lesions are recorded at baseline (RECIST 1.1 §4.2): 6 given.",
        )
    ]


def test_baseline_problems_no_target() -> None:
    problems = baseline_problems(ta(BASELINE_DAY))

    assert [p.message for p in problems] == [
        f"1 to {RECIST_MAX_TARGETS} target lesions are recorded at baseline (RECIST 1.1 §4.2): 0 given."
    ]


def test_baseline_problems_three_targets_in_one_organ() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "30"), tl("T02", "20"), tl("T03", "15"))

    problems = baseline_problems(baseline)

    assert problems == [
        Problem(
            "T03",
            "TL",
            f"At most {RECIST_MAX_TARGETS_PER_ORGAN} target lesions per organ (RECIST 1.1 §4.2): LIVER has 3.",
        )
    ]


def test_baseline_problems_lymph_nodes_count_as_one_organ() -> None:
    baseline = ta(
        BASELINE_DAY,
        tl("T01", "20", organ="LYMPH_NODE", node=True),
        tl("T02", "20", organ="OTHER", node=True),
        tl("T03", "20", organ="PORTAL_VEIN", node=True),
    )

    problems = baseline_problems(baseline)

    assert [(p.lesion_id, p.message) for p in problems] == [
        ("T03", "At most 2 target lesions per organ (RECIST 1.1 §4.2): LYMPH_NODE has 3.")
    ]


def test_baseline_problems_non_nodal_target_of_9_mm() -> None:
    assert D(9) < RECIST_MIN_MEASURABLE_MM

    problems = baseline_problems(ta(BASELINE_DAY, tl("T01", "9")))

    assert problems == [
        Problem(
            "T01",
            "TL",
            "A target lesion needs a longest diameter of at least 10 mm (RECIST 1.1 §3.1): T01 is 9 mm.",
        )
    ]


def test_baseline_problems_node_of_14_mm() -> None:
    assert D(14) < RECIST_MIN_MEASURABLE_NODE_MM

    problems = baseline_problems(ta(BASELINE_DAY, tl("T01", "14.0", organ="LYMPH_NODE", node=True)))

    assert problems == [
        Problem(
            "T01",
            "TL",
            "A target lymph node needs a short axis of at least 15 mm (RECIST 1.1 §3.1): T01 is 14 mm.",
        )
    ]


@pytest.mark.parametrize(
    ("lesion", "state"),
    [
        (tl("T01", None, status=TLStatus.TOO_SMALL), "TOO_SMALL"),
        (tl("T01", None, status=TLStatus.NOT_ASSESSED), "NOT_ASSESSED"),
        (tl("T01", None), "without a diameter"),
    ],
)
def test_baseline_problems_target_not_measured(lesion: TargetLesion, state: str) -> None:
    problems = baseline_problems(ta(BASELINE_DAY, lesion))

    assert [p.message for p in problems] == [
        f"A target lesion at baseline must be measured, with a diameter (RECIST 1.1 §4.2): T01 is {state}."
    ]


def test_baseline_problems_duplicate_lesion_ids() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "30"), tl("T01", "20", organ="LUNG"))

    problems = baseline_problems(baseline)

    assert problems == [
        Problem(
            "T01",
            "TL",
            "Lesion ID T01 is used more than once; each lesion needs its own ID.",
        )
    ]


def test_baseline_problems_non_target_not_present() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "30"), non_targets=(ntl("NT01", NTLStatus.ABSENT),))

    problems = baseline_problems(baseline)

    assert [(p.lesion_id, p.variable) for p in problems] == [("NT01", "NTL")]


# --- Follow-up rules ------------------------------------------------------------------------


BASELINE = ta(
    BASELINE_DAY, tl("T01", "30"), tl("T02", "20", organ="LUNG"), non_targets=(ntl("NT01"),)
)


def test_follow_up_problems_none_for_the_same_lesions() -> None:
    follow_up = ta(
        42,
        tl("T01", "25"),
        tl("T02", None, status=TLStatus.DISAPPEARED),
        non_targets=(ntl("NT01"),),
    )

    assert follow_up_problems(BASELINE, follow_up) == []


def test_follow_up_problems_missing_and_extra_targets() -> None:
    follow_up = ta(42, tl("T01", "25"), tl("T03", "12", organ="BONE"), non_targets=(ntl("NT01"),))

    problems = follow_up_problems(BASELINE, follow_up)

    assert [(p.lesion_id, p.variable) for p in problems] == [("T02", "TL"), ("T03", "TL")]
    assert "T02 is missing" in problems[0].message
    assert "T03 is not a baseline target" in problems[1].message


def test_follow_up_problems_new_lesion_seen_after_the_scan() -> None:
    late = NewLesion("N01", "LUNG", True, on_day(43))
    follow_up = ta(42, tl("T01", "25"), tl("T02", "20"), non_targets=(ntl("NT01"),), new=(late,))

    problems = follow_up_problems(BASELINE, follow_up)

    assert problems == [
        Problem(
            "N01",
            "NL",
            f"A new lesion is first seen on or before the date of this scan (NLDAT): N01 was first seen on {on_day(43).isoformat()}.",
        )
    ]


def test_follow_up_problems_measured_without_diameter_and_scan_before_baseline() -> None:
    follow_up = ta(BASELINE_DAY - 1, tl("T01", None), tl("T02", "20"), non_targets=(ntl("NT01"),))

    problems = follow_up_problems(BASELINE, follow_up)

    assert [(p.lesion_id, p.variable) for p in problems] == [("", "TADAT"), ("T01", "TL")]


def test_follow_up_problems_missing_non_target() -> None:
    follow_up = ta(42, tl("T01", "25"), tl("T02", "20"))

    problems = follow_up_problems(BASELINE, follow_up)

    assert [(p.lesion_id, p.variable) for p in problems] == [("NT01", "NTL")]


# --- Time-point response: RECIST 1.1 table 1, every row ---------------------------------------

TARGET_AT_FOLLOW_UP = {
    Response.CR: tl("T01", None, status=TLStatus.DISAPPEARED),
    Response.PR: tl("T01", "20"),
    Response.SD: tl("T01", "30"),
    Response.PD: tl("T01", "40"),
    Response.NE: tl("T01", None, status=TLStatus.NOT_ASSESSED),
}
NON_TARGET_AT_FOLLOW_UP = {
    NonTargetResponse.CR: NTLStatus.ABSENT,
    NonTargetResponse.NON_CR_NON_PD: NTLStatus.PRESENT,
    NonTargetResponse.PD: NTLStatus.UNEQUIVOCAL_PD,
    NonTargetResponse.NE: NTLStatus.NOT_ASSESSED,
    NonTargetResponse.NONE: None,
}
NT = NonTargetResponse
NON_PD = [NT.CR, NT.NON_CR_NON_PD, NT.NONE]
ALL_NT = list(NT)
ALL_T = list(Response)

TABLE_1 = [
    # protocol.md: Time-point overall response (RECIST 1.1 table 1), row by row;
    # NONE (no non-target lesions) is non-PD, and CR in the target-CR row.
    *[(Response.CR, nt, False, Response.CR) for nt in (NT.CR, NT.NONE)],
    (Response.CR, NT.NON_CR_NON_PD, False, Response.PR),
    (Response.CR, NT.NE, False, Response.PR),
    *[(Response.PR, nt, False, Response.PR) for nt in [*NON_PD, NT.NE]],
    *[(Response.SD, nt, False, Response.SD) for nt in [*NON_PD, NT.NE]],
    *[(Response.NE, nt, False, Response.NE) for nt in [*NON_PD, NT.NE]],
    *[(Response.PD, nt, new, Response.PD) for nt in ALL_NT for new in (False, True)],
    *[(t, NT.PD, new, Response.PD) for t in ALL_T for new in (False, True)],
    *[(t, nt, True, Response.PD) for t in ALL_T for nt in ALL_NT],
]


@pytest.mark.parametrize(
    ("target", "non_target", "new_lesion", "overall"),
    TABLE_1,
    ids=[f"{t}-{nt}-{'new' if n else 'nonew'}" for t, nt, n, _ in TABLE_1],
)
def test_overall_response_table_1(
    target: Response, non_target: NonTargetResponse, new_lesion: bool, overall: Response
) -> None:
    status = NON_TARGET_AT_FOLLOW_UP[non_target]
    baseline_ntl = () if status is None else (ntl("NT01"),)
    follow_ntl = () if status is None else (ntl("NT01", status),)
    new = (NewLesion("N01", "LUNG", True, on_day(42)),) if new_lesion else ()
    baseline = ta(BASELINE_DAY, tl("T01", "30"), non_targets=baseline_ntl)

    result = only(baseline, ta(42, TARGET_AT_FOLLOW_UP[target], non_targets=follow_ntl, new=new))

    assert (result.target, result.non_target, result.new_lesion, result.overall) == (
        target,
        non_target,
        new_lesion,
        overall,
    )


# --- Target response: sums, nadir, boundaries -------------------------------------------------


def test_evaluate_baseline_sum_counts_node_short_axis() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "30.5"), tl("T02", "15.2", organ="LYMPH_NODE", node=True))

    assert evaluate(baseline, ()) == Evaluation(baseline_sum=D("45.7"), timepoints=())


def test_evaluate_pd_measured_against_the_nadir_not_baseline() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "50"))

    first, second = evaluate(
        baseline, [ta(42, tl("T01", "30")), ta(84, tl("T01", "36"))]
    ).timepoints

    assert (first.target, first.nadir_mm) == (Response.PR, D("50"))
    assert (second.nadir_mm, second.change_from_nadir_pct, second.change_from_baseline_pct) == (
        D("30"),
        D("20"),
        D("-28"),
    )
    assert (second.target, second.overall, second.pd_date) == (Response.PD, Response.PD, on_day(84))


def test_evaluate_nadir_is_the_smallest_sum_before_the_assessment() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "50"))
    follow_ups = [ta(42, tl("T01", "40")), ta(84, tl("T01", "45")), ta(126, tl("T01", "42"))]

    nadirs = [r.nadir_mm for r in evaluate(baseline, follow_ups).timepoints]

    assert nadirs == [D("50"), D("40"), D("40")]


def test_evaluate_pd_needs_5_mm_absolute_increase() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "20"))

    _, second = evaluate(baseline, [ta(42, tl("T01", "10")), ta(84, tl("T01", "12.5"))]).timepoints

    assert (second.sum_mm, second.nadir_mm, second.change_from_nadir_pct) == (
        D("12.5"),
        D("10"),
        D("25"),
    )
    assert D("12.5") - D("10") < RECIST_PD_MIN_ABSOLUTE_MM
    assert (second.target, second.overall) == (Response.PR, Response.PR)


def test_evaluate_exactly_minus_30_percent_is_pr() -> None:
    result = only(ta(BASELINE_DAY, tl("T01", "28.0")), ta(42, tl("T01", "19.6")))

    assert (result.change_from_baseline_pct, result.target) == (D("-30"), Response.PR)
    assert display_pct(result.change_from_baseline_pct) == "-30.0"


def test_evaluate_just_under_30_percent_is_sd() -> None:
    result = only(ta(BASELINE_DAY, tl("T01", "28.0")), ta(42, tl("T01", "19.7")))

    assert result.target == Response.SD


def test_evaluate_exactly_plus_20_percent_and_5_4_mm_is_pd() -> None:
    result = only(ta(BASELINE_DAY, tl("T01", "27.0")), ta(42, tl("T01", "32.4")))

    assert (result.sum_mm, result.nadir_mm, result.change_from_nadir_pct) == (
        D("32.4"),
        D("27.0"),
        D("20"),
    )
    assert (result.target, result.overall) == (Response.PD, Response.PD)


def test_evaluate_just_under_20_percent_is_sd() -> None:
    result = only(ta(BASELINE_DAY, tl("T01", "27.0")), ta(42, tl("T01", "32.3")))

    assert result.target == Response.SD


def test_evaluate_nodes_under_10_mm_are_cr_with_a_non_zero_sum() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "30"), tl("T02", "20", organ="LYMPH_NODE", node=True))
    follow_up = ta(
        42,
        tl("T01", None, status=TLStatus.DISAPPEARED),
        tl("T02", "9.9", organ="LYMPH_NODE", node=True),
    )

    result = only(baseline, follow_up)

    assert (result.target, result.overall, result.sum_mm) == (Response.CR, Response.CR, D("9.9"))


def test_evaluate_node_at_exactly_10_mm_is_not_cr() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "30"), tl("T02", "20", organ="LYMPH_NODE", node=True))
    follow_up = ta(
        42,
        tl("T01", None, status=TLStatus.DISAPPEARED),
        tl("T02", str(RECIST_NORMAL_NODE_MM), organ="LYMPH_NODE", node=True),
    )

    result = only(baseline, follow_up)

    assert (result.target, result.sum_mm) == (Response.PR, RECIST_NORMAL_NODE_MM)


def test_evaluate_too_small_non_nodal_lesion_counts_5_mm_and_is_not_cr() -> None:
    result = only(
        ta(BASELINE_DAY, tl("T01", "30")), ta(42, tl("T01", None, status=TLStatus.TOO_SMALL))
    )

    assert (result.sum_mm, result.target) == (RECIST_TOO_SMALL_DEFAULT_MM, Response.PR)


def test_evaluate_too_small_lesion_with_a_given_value() -> None:
    result = only(
        ta(BASELINE_DAY, tl("T01", "30")), ta(42, tl("T01", "3", status=TLStatus.TOO_SMALL))
    )

    assert (result.sum_mm, result.target) == (D("3"), Response.PR)


def test_evaluate_too_small_node_is_cr() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "20", organ="LYMPH_NODE", node=True))

    result = only(
        baseline, ta(42, tl("T01", None, organ="LYMPH_NODE", node=True, status=TLStatus.TOO_SMALL))
    )

    assert (result.sum_mm, result.target) == (RECIST_TOO_SMALL_DEFAULT_MM, Response.CR)


def test_evaluate_target_not_assessed_is_ne() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "30"), tl("T02", "20", organ="LUNG"))

    result = only(baseline, ta(42, tl("T01", "10"), tl("T02", None, status=TLStatus.NOT_ASSESSED)))

    assert (result.sum_mm, result.change_from_baseline_pct, result.target, result.overall) == (
        None,
        None,
        Response.NE,
        Response.NE,
    )


def test_evaluate_target_missing_from_the_follow_up_is_ne() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "30"), tl("T02", "20", organ="LUNG"))

    result = only(baseline, ta(42, tl("T01", "30")))

    assert (result.target, result.overall) == (Response.NE, Response.NE)


def test_evaluate_ne_overridden_by_pd_of_the_assessed_targets() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "20"), tl("T02", "20", organ="LUNG"))

    result = only(baseline, ta(42, tl("T01", "50"), tl("T02", None, status=TLStatus.NOT_ASSESSED)))

    assert (result.sum_mm, result.target, result.overall, result.pd_date) == (
        None,
        Response.PD,
        Response.PD,
        on_day(42),
    )


def test_evaluate_incomplete_sum_does_not_become_the_nadir() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "30"), tl("T02", "20", organ="LUNG"))
    follow_ups = [
        ta(42, tl("T01", "10"), tl("T02", None, status=TLStatus.NOT_ASSESSED)),
        ta(84, tl("T01", "25"), tl("T02", "20")),
    ]

    _, second = evaluate(baseline, follow_ups).timepoints

    assert (second.nadir_mm, second.target) == (D("50"), Response.SD)


def test_evaluate_sorts_follow_ups_by_date() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "50"))

    results = evaluate(baseline, [ta(84, tl("T01", "36")), ta(42, tl("T01", "30"))]).timepoints

    assert [(r.assessed_on, r.target) for r in results] == [
        (on_day(42), Response.PR),
        (on_day(84), Response.PD),
    ]


# --- Non-target and new lesions ---------------------------------------------------------------


def test_evaluate_unequivocal_new_lesion_is_pd_dated_when_first_seen() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "30"))
    lesion_at_84 = NewLesion("N01", "LUNG", True, on_day(42))

    first, second = evaluate(
        baseline,
        [
            ta(42, tl("T01", "30"), new=(NewLesion("N01", "LUNG", False, on_day(42)),)),
            ta(84, tl("T01", "30"), new=(lesion_at_84,)),
        ],
    ).timepoints

    assert (first.new_lesion, first.overall, first.pd_date) == (False, Response.SD, None)
    assert (second.target, second.new_lesion, second.overall, second.pd_date) == (
        Response.SD,
        True,
        Response.PD,
        on_day(42),
    )


def test_evaluate_equivocal_new_lesion_is_not_pd() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "30"))

    result = only(
        baseline, ta(42, tl("T01", "20"), new=(NewLesion("N01", "LUNG", False, on_day(42)),))
    )

    assert (result.new_lesion, result.overall, result.pd_date) == (False, Response.PR, None)


def test_evaluate_unequivocal_non_target_progression_is_pd() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "30"), non_targets=(ntl("NT01"), ntl("NT02")))
    follow_up = ta(
        42,
        tl("T01", None, status=TLStatus.DISAPPEARED),
        non_targets=(ntl("NT01", NTLStatus.ABSENT), ntl("NT02", NTLStatus.UNEQUIVOCAL_PD)),
    )

    result = only(baseline, follow_up)

    assert (result.target, result.non_target, result.overall, result.pd_date) == (
        Response.CR,
        NonTargetResponse.PD,
        Response.PD,
        on_day(42),
    )


def test_evaluate_non_target_missing_at_follow_up_is_ne() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "30"), non_targets=(ntl("NT01"), ntl("NT02")))

    result = only(baseline, ta(42, tl("T01", "20"), non_targets=(ntl("NT01", NTLStatus.ABSENT),)))

    assert (result.non_target, result.overall) == (NonTargetResponse.NE, Response.PR)


def test_evaluate_non_target_node_absent_counts_as_cr() -> None:
    node = NonTargetLesion("NT01", "LYMPH_NODE", NTLStatus.PRESENT, is_node=True)
    baseline = ta(BASELINE_DAY, tl("T01", "30"), non_targets=(node,))
    gone = NonTargetLesion("NT01", "LYMPH_NODE", NTLStatus.ABSENT, is_node=True)

    result = only(
        baseline, ta(42, tl("T01", None, status=TLStatus.DISAPPEARED), non_targets=(gone,))
    )

    assert (result.non_target, result.overall) == (NonTargetResponse.CR, Response.CR)


# --- Best overall response ----------------------------------------------------------------------


def test_bor_cr_confirmed_28_days_later() -> None:
    result = bor(tp(42, Response.CR), tp(42 + RECIST_CONFIRMATION_MIN_DAYS, Response.CR))

    assert (result.bor, result.first_response_on, result.confirmed_on) == (
        Response.CR,
        on_day(42),
        on_day(70),
    )


def test_bor_cr_27_days_later_is_not_confirmed() -> None:
    result = bor(tp(42, Response.CR), tp(42 + RECIST_CONFIRMATION_MIN_DAYS - 1, Response.CR))

    assert (result.bor, result.confirmed_on, result.first_response_on) == (Response.SD, None, None)


def test_bor_cr_ne_cr_is_cr() -> None:
    result = bor(tp(42, Response.CR), tp(84, Response.NE), tp(126, Response.CR))

    assert (result.bor, result.confirmed_on) == (Response.CR, on_day(126))


def test_bor_pr_ne_pr_is_confirmed_pr() -> None:
    result = bor(tp(42, Response.PR), tp(84, Response.NE), tp(126, Response.PR))

    assert (result.bor, result.first_response_on, result.confirmed_on) == (
        Response.PR,
        on_day(42),
        on_day(126),
    )


def test_bor_pr_ne_ne_pr_is_not_confirmed() -> None:
    result = bor(
        tp(42, Response.PR), tp(84, Response.NE), tp(126, Response.NE), tp(168, Response.PR)
    )

    assert (result.bor, result.confirmed_on) == (Response.SD, None)


def test_bor_pr_sd_pr_is_not_confirmed() -> None:
    result = bor(tp(42, Response.PR), tp(84, Response.SD), tp(126, Response.PR))

    assert result.bor == Response.SD


def test_bor_pr_then_cr_is_confirmed_pr() -> None:
    result = bor(tp(42, Response.PR), tp(84, Response.CR))

    assert (result.bor, result.first_response_on, result.confirmed_on) == (
        Response.PR,
        on_day(42),
        on_day(84),
    )


def test_bor_pr_then_two_crs_is_cr_from_the_first_pr() -> None:
    result = bor(tp(42, Response.PR), tp(84, Response.CR), tp(126, Response.CR))

    assert (result.bor, result.first_response_on, result.confirmed_on) == (
        Response.CR,
        on_day(42),
        on_day(126),
    )


def test_bor_cr_then_pr_is_not_confirmed() -> None:
    result = bor(tp(42, Response.CR), tp(84, Response.PR))

    assert result.bor == Response.SD


@pytest.mark.parametrize(
    ("sd_day", "expected"),
    [(RECIST_SD_MIN_STUDY_DAY - 1, Response.PD), (RECIST_SD_MIN_STUDY_DAY, Response.SD)],
)
def test_bor_sd_minimum_study_day_then_pd(sd_day: int, expected: Response) -> None:
    result = bor(tp(sd_day, Response.SD), tp(84, Response.PD))

    assert result.bor == expected


@pytest.mark.parametrize(
    ("pr_day", "expected"),
    [(RECIST_SD_MIN_STUDY_DAY - 1, Response.PD), (RECIST_SD_MIN_STUDY_DAY, Response.SD)],
)
def test_bor_unconfirmed_pr_then_pd(pr_day: int, expected: Response) -> None:
    result = bor(tp(pr_day, Response.PR), tp(pr_day + 42, Response.PD))

    assert (result.bor, result.first_response_on) == (expected, None)


def test_bor_ignores_tas_after_new_therapy() -> None:
    results = (tp(42, Response.PR), tp(84, Response.PR))

    assert bor(*results).bor == Response.PR
    assert bor(*results, new_therapy_on=on_day(84)).bor == Response.SD


def test_bor_ignores_tas_after_the_first_pd() -> None:
    result = bor(
        tp(20, Response.SD), tp(42, Response.PD), tp(84, Response.CR), tp(126, Response.CR)
    )

    assert result.bor == Response.PD


def test_bor_pd_dated_back_drops_the_responses_from_that_scan() -> None:
    result = bor(tp(42, Response.SD), tp(84, Response.PD, pd_day=42))

    assert result.bor == Response.PD


def test_bor_without_assessments_is_ne() -> None:
    assert bor().bor == Response.NE
    assert bor(tp(42, Response.NE), tp(84, Response.NE)).bor == Response.NE


def test_bor_ignores_input_order() -> None:
    assert bor(tp(84, Response.CR), tp(42, Response.CR)).bor == Response.CR


def test_bor_end_to_end_from_evaluate() -> None:
    baseline = ta(BASELINE_DAY, tl("T01", "40"), non_targets=(ntl("NT01"),))
    follow_ups = [
        ta(42, tl("T01", "25"), non_targets=(ntl("NT01"),)),
        ta(84, tl("T01", "20"), non_targets=(ntl("NT01"),)),
        ta(126, tl("T01", "30"), non_targets=(ntl("NT01"),)),
    ]

    results = evaluate(baseline, follow_ups).timepoints
    best = best_overall_response(results, DAY1)

    assert [r.overall for r in results] == [Response.PR, Response.PR, Response.PD]
    assert (best.bor, best.first_response_on, best.confirmed_on) == (
        Response.PR,
        on_day(42),
        on_day(84),
    )


# --- Properties -----------------------------------------------------------------------------------

ORGANS = ["LIVER", "LUNG", "LYMPH_NODE", "BONE"]
diameters = st.decimals(min_value=0, max_value=200, places=1, allow_nan=False, allow_infinity=False)


def targets(ids: list[str]) -> st.SearchStrategy[tuple[TargetLesion, ...]]:
    lesion = st.builds(
        TargetLesion,
        lesion_id=st.sampled_from(ids),
        organ=st.sampled_from(ORGANS),
        is_node=st.booleans(),
        status=st.sampled_from(TLStatus),
        diameter_mm=st.none() | diameters,
    )
    return st.lists(lesion, max_size=5).map(tuple)


def non_targets() -> st.SearchStrategy[tuple[NonTargetLesion, ...]]:
    lesion = st.builds(
        NonTargetLesion,
        lesion_id=st.sampled_from(["NT01", "NT02", "NT03"]),
        organ=st.sampled_from(ORGANS),
        status=st.sampled_from(NTLStatus),
        is_node=st.booleans(),
    )
    return st.lists(lesion, max_size=3).map(tuple)


@st.composite
def follow_up(draw: st.DrawFn) -> TumourAssessment:
    day = draw(st.integers(min_value=1, max_value=730))
    new = draw(
        st.lists(
            st.builds(
                NewLesion,
                lesion_id=st.sampled_from(["N01", "N02"]),
                organ=st.sampled_from(ORGANS),
                unequivocal=st.booleans(),
                first_seen=st.integers(min_value=1, max_value=day).map(on_day),
            ),
            max_size=2,
        )
    )
    return TumourAssessment(
        on_day(day), draw(targets(["T01", "T02", "T03", "T04"])), draw(non_targets()), tuple(new)
    )


baselines = st.builds(
    TumourAssessment,
    assessed_on=st.integers(min_value=-28, max_value=1).map(on_day),
    targets=targets(["T01", "T02", "T03"]),
    non_targets=non_targets(),
)


@settings(max_examples=200, deadline=None)
@given(
    baseline=baselines,
    follow_ups=st.lists(follow_up(), max_size=4),
    new_therapy_day=st.none() | st.integers(min_value=1, max_value=730),
)
def test_evaluate_and_bor_properties_hold_for_any_data(
    baseline: TumourAssessment, follow_ups: list[TumourAssessment], new_therapy_day: int | None
) -> None:
    new_therapy_on = None if new_therapy_day is None else on_day(new_therapy_day)

    evaluation = evaluate(baseline, follow_ups)
    best = best_overall_response(evaluation.timepoints, DAY1, new_therapy_on=new_therapy_on)

    assert evaluate(baseline, list(follow_ups)) == evaluation
    assert best_overall_response(evaluation.timepoints, DAY1, new_therapy_on=new_therapy_on) == best
    assert isinstance(best.bor, Response)
    ordered = sorted(follow_ups, key=lambda a: a.assessed_on)
    for assessment, result in zip(ordered, evaluation.timepoints, strict=True):
        assert isinstance(result.overall, Response)
        assert result.assessed_on == assessment.assessed_on
        if any(n.unequivocal for n in assessment.new_lesions):
            assert result.overall == Response.PD
            assert result.pd_date is not None and result.pd_date <= result.assessed_on
        assert (result.overall == Response.PD) == (result.pd_date is not None)
