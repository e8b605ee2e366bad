"""Study drug exposure (crf-spec EX): compliance, relative dose intensity, dose rules (no database).

Inputs are built from the named protocol parameters; expected ratios are worked out by hand for
12 mg on 14 of 21 days (e.g. 13/14 = 0.92857142857142857142857142857…, kept to 28 digits).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from study.protocol import DOSE_LEVELS_MG, DOSING_DAYS_PER_CYCLE, STARTING_DOSE_MG
from visits.exposure import (
    CycleExposure,
    as_percent,
    compliance,
    cycle_relative_dose_intensity,
    dose_increase_problems,
    next_dose_level,
    reduction_expected,
    relative_dose_intensity,
    running_relative_dose_intensity,
    tablets_taken,
)

D = Decimal
FULL = DOSING_DAYS_PER_CYCLE
FIRST_REDUCTION, SECOND_REDUCTION = DOSE_LEVELS_MG[1], DOSE_LEVELS_MG[2]


def _ex(cycle: int, dose: int = STARTING_DOSE_MG, days: int = FULL) -> CycleExposure:
    return CycleExposure(
        cycle=cycle, dose_mg=dose, days_dosed=days, tablets_dispensed=None, tablets_returned=None
    )


# --------------------------------------------------------------------------- compliance


def test_compliance_full_cycle_is_one() -> None:
    assert compliance(_ex(1)) == D("1")


def test_compliance_half_the_days_is_one_half() -> None:
    assert compliance(_ex(1, days=FULL // 2)) == D("0.5")


def test_compliance_one_day_missed_keeps_28_digits() -> None:
    assert compliance(_ex(1, days=FULL - 1)) == D("0.9285714285714285714285714286")


def test_compliance_no_day_dosed_is_zero() -> None:
    assert compliance(_ex(1, days=0)) == D("0")


# --------------------------------------------------------------------------- dose intensity


def test_cycle_rdi_full_dose_is_one() -> None:
    assert cycle_relative_dose_intensity(_ex(1)) == D("1")


def test_cycle_rdi_first_reduction() -> None:
    assert cycle_relative_dose_intensity(_ex(2, dose=FIRST_REDUCTION)) == D(
        "0.8333333333333333333333333333"
    )


def test_cycle_rdi_second_reduction() -> None:
    assert cycle_relative_dose_intensity(_ex(3, dose=SECOND_REDUCTION)) == D(
        "0.6666666666666666666666666667"
    )


def test_cycle_rdi_half_the_days() -> None:
    assert cycle_relative_dose_intensity(_ex(1, days=FULL // 2)) == D("0.5")


def test_rdi_cumulative_over_cycles() -> None:
    cycles = [_ex(1), _ex(2), _ex(3, dose=FIRST_REDUCTION)]

    # (168 + 168 + 140) / (3 · 168) = 476 / 504
    assert relative_dose_intensity(cycles) == D("0.9444444444444444444444444444")


def test_rdi_counts_a_cycle_with_no_day_dosed() -> None:
    assert relative_dose_intensity([_ex(1), _ex(2, days=0)]) == D("0.5")


def test_rdi_order_of_cycles_does_not_matter() -> None:
    cycles = [_ex(3, dose=FIRST_REDUCTION), _ex(1), _ex(2, days=FULL // 2)]

    assert relative_dose_intensity(cycles) == relative_dose_intensity(cycles[::-1])


def test_rdi_running_gives_the_cumulative_value_per_cycle() -> None:
    cycles = [_ex(2, dose=FIRST_REDUCTION, days=FULL // 2), _ex(1)]

    # C1: 168/168; C1-C2: (168 + 70) / 336 = 238/336
    assert running_relative_dose_intensity(cycles) == [
        (1, D("1")),
        (2, D("0.7083333333333333333333333333")),
    ]


def test_rdi_without_cycles_is_refused() -> None:
    with pytest.raises(ValueError):
        relative_dose_intensity([])


def test_rdi_repeated_cycle_is_refused() -> None:
    with pytest.raises(ValueError):
        relative_dose_intensity([_ex(1), _ex(1)])


# --------------------------------------------------------------------------- dose rules


def test_dose_increase_problems_none_when_dose_only_falls() -> None:
    cycles = [_ex(1), _ex(2, dose=FIRST_REDUCTION), _ex(3, dose=SECOND_REDUCTION)]

    assert dose_increase_problems(cycles) == []


def test_dose_increase_problems_flags_re_escalation() -> None:
    cycles = [_ex(1), _ex(2, dose=FIRST_REDUCTION), _ex(3), _ex(4)]

    assert dose_increase_problems(cycles) == [
        (
            3,
            "C3: daily dose 12 mg is higher than the previous cycle's 10 mg (C2); "
            "the dose is never re-escalated",
        )
    ]


def test_dose_increase_problems_across_a_gap_compares_with_last_known_cycle() -> None:
    cycles = [_ex(4), _ex(1, dose=SECOND_REDUCTION)]

    assert [cycle for cycle, _ in dose_increase_problems(cycles)] == [4]


@pytest.mark.parametrize(
    ("previous", "dose", "expected"),
    [
        (None, STARTING_DOSE_MG, False),
        (STARTING_DOSE_MG, STARTING_DOSE_MG, False),
        (STARTING_DOSE_MG, FIRST_REDUCTION, True),
        (STARTING_DOSE_MG, SECOND_REDUCTION, True),
        (FIRST_REDUCTION, SECOND_REDUCTION, True),
        (FIRST_REDUCTION, STARTING_DOSE_MG, False),
    ],
)
def test_reduction_expected_exactly_when_lower(
    previous: int | None, dose: int, expected: bool
) -> None:
    assert reduction_expected(previous, dose) is expected


def test_next_dose_level_walks_down_then_stops() -> None:
    levels = [STARTING_DOSE_MG]
    while (lower := next_dose_level(levels[-1])) is not None:
        levels.append(lower)

    assert levels == list(DOSE_LEVELS_MG)
    assert next_dose_level(DOSE_LEVELS_MG[-1]) is None


def test_next_dose_level_12_10_8() -> None:
    # crf-spec EX, code list DOSE: 12, 10, 8.
    assert [next_dose_level(d) for d in (12, 10, 8)] == [10, 8, None]


def test_next_dose_level_unknown_dose_is_refused() -> None:
    with pytest.raises(ValueError):
        next_dose_level(11)


# --------------------------------------------------------------------------- the EX record


def test_tablets_taken_is_dispensed_minus_returned() -> None:
    cycle = CycleExposure(
        cycle=1,
        dose_mg=STARTING_DOSE_MG,
        days_dosed=FULL,
        tablets_dispensed=28,
        tablets_returned=14,
    )

    assert tablets_taken(cycle) == 14


def test_tablets_taken_unknown_without_returns() -> None:
    cycle = CycleExposure(
        cycle=1,
        dose_mg=STARTING_DOSE_MG,
        days_dosed=FULL,
        tablets_dispensed=28,
        tablets_returned=None,
    )

    assert tablets_taken(cycle) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"cycle": 0},
        {"dose_mg": 11},
        {"days_dosed": -1},
        {"days_dosed": DOSING_DAYS_PER_CYCLE + 1},
        {"tablets_dispensed": -1},
        {"tablets_dispensed": 10, "tablets_returned": 11},
        {"tablets_returned": -1},
    ],
)
def test_cycle_exposure_out_of_range_is_refused(fields: dict[str, int]) -> None:
    values: dict[str, Any] = {
        "cycle": 1,
        "dose_mg": STARTING_DOSE_MG,
        "days_dosed": FULL,
        "tablets_dispensed": None,
        "tablets_returned": None,
        **fields,
    }

    with pytest.raises(ValueError):
        CycleExposure(**values)


# --------------------------------------------------------------------------- display


@pytest.mark.parametrize(
    ("ratio", "places", "expected"),
    [
        ("0.9285714285714285714285714286", 1, "92.9"),
        ("0.9285714285714285714285714286", 0, "93"),
        ("0.7083333333333333333333333333", 2, "70.83"),
        ("1", 1, "100.0"),
        ("0.00125", 2, "0.13"),  # half up
    ],
)
def test_as_percent_rounds_half_up_for_display(ratio: str, places: int, expected: str) -> None:
    assert str(as_percent(D(ratio), places)) == expected
