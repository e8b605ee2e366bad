"""Child-Pugh and ALBI (crf-spec CP): every boundary as written (no database).

ALBI boundaries. An input landing exactly on −2.60 or −1.39 needs log10(bilirubin) to be exact,
i.e. bilirubin a power of ten (math.log10 is exact there). Solving 0.66·k − 0.085·albumin = cut-off
for integers gives bilirubin 10^11 µmol/L with albumin 116 g/L (−2.60) and 10^10 µmol/L with
albumin 94 g/L (−1.39): arithmetic constructions outside any clinical range, used to pin the
inclusive "≤". Clinically plausible inputs are then tested a hair either side, with bilirubin
10 µmol/L (log10 = 1 exactly) so that the expected scores are exact decimals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from visits.liver_scores import (
    Albi,
    ChildPugh,
    ChildPughPoints,
    albi,
    albi_grade,
    child_pugh,
    child_pugh_class,
)

D = Decimal

# Every component at 1 point: Child-Pugh 5, class A.
NORMAL: dict[str, Any] = {
    "bilirubin_umol_l": D("20"),
    "albumin_g_l": D("40"),
    "inr": D("1.0"),
    "ascites": "NONE",
    "encephalopathy": "NONE",
}


def _cp(**changes: Any) -> ChildPugh:
    return child_pugh(**{**NORMAL, **changes})


# --------------------------------------------------------------------------- Child-Pugh points


def test_child_pugh_all_normal_is_5_a() -> None:
    result = _cp()

    assert (result.score, result.klass) == (5, "A")
    assert result.points == ChildPughPoints(1, 1, 1, 1, 1)


@pytest.mark.parametrize(
    ("bilirubin", "points"),
    [("0", 1), ("33.9", 1), ("34", 2), ("34.0", 2), ("50", 2), ("50.1", 3), ("600", 3)],
)
def test_child_pugh_bilirubin_boundaries(bilirubin: str, points: int) -> None:
    result = _cp(bilirubin_umol_l=D(bilirubin))

    assert result.points.bilirubin == points
    assert result.score == 4 + points


@pytest.mark.parametrize(
    ("albumin", "points"),
    [("45", 1), ("35.1", 1), ("35", 2), ("28", 2), ("27.9", 3), ("10", 3)],
)
def test_child_pugh_albumin_boundaries(albumin: str, points: int) -> None:
    result = _cp(albumin_g_l=D(albumin))

    assert result.points.albumin == points
    assert result.score == 4 + points


@pytest.mark.parametrize(
    ("inr", "points"),
    [("1.0", 1), ("1.69", 1), ("1.7", 2), ("1.70", 2), ("2.3", 2), ("2.31", 3), ("4.5", 3)],
)
def test_child_pugh_inr_boundaries(inr: str, points: int) -> None:
    result = _cp(inr=D(inr))

    assert result.points.inr == points
    assert result.score == 4 + points


@pytest.mark.parametrize(("code", "points"), [("NONE", 1), ("MILD", 2), ("MODERATE_SEVERE", 3)])
def test_child_pugh_ascites_each_code(code: str, points: int) -> None:
    result = _cp(ascites=code)

    assert result.points.ascites == points
    assert result.score == 4 + points


@pytest.mark.parametrize(("code", "points"), [("NONE", 1), ("GRADE_1_2", 2), ("GRADE_3_4", 3)])
def test_child_pugh_encephalopathy_each_code(code: str, points: int) -> None:
    result = _cp(encephalopathy=code)

    assert result.points.encephalopathy == points
    assert result.score == 4 + points


# --------------------------------------------------------------------------- Child-Pugh class


def test_child_pugh_class_edge_6_is_a() -> None:
    result = _cp(bilirubin_umol_l=D("34"))

    assert (result.score, result.klass) == (6, "A")


def test_child_pugh_class_edge_7_is_b() -> None:
    result = _cp(bilirubin_umol_l=D("34"), albumin_g_l=D("35"))

    assert (result.score, result.klass) == (7, "B")


def test_child_pugh_class_edge_9_is_b() -> None:
    result = _cp(bilirubin_umol_l=D("34"), albumin_g_l=D("35"), inr=D("1.7"), ascites="MILD")

    assert (result.score, result.klass) == (9, "B")


def test_child_pugh_class_edge_10_is_c() -> None:
    result = _cp(
        bilirubin_umol_l=D("34"),
        albumin_g_l=D("35"),
        inr=D("1.7"),
        ascites="MILD",
        encephalopathy="GRADE_1_2",
    )

    assert (result.score, result.klass) == (10, "C")
    assert result.points.as_dict() == {
        "bilirubin": 2,
        "albumin": 2,
        "inr": 2,
        "ascites": 2,
        "encephalopathy": 2,
    }


def test_child_pugh_worst_is_15_c() -> None:
    result = _cp(
        bilirubin_umol_l=D("51"),
        albumin_g_l=D("20"),
        inr=D("2.5"),
        ascites="MODERATE_SEVERE",
        encephalopathy="GRADE_3_4",
    )

    assert (result.score, result.klass) == (15, "C")


@pytest.mark.parametrize(
    ("score", "klass"), [(5, "A"), (6, "A"), (7, "B"), (9, "B"), (10, "C"), (15, "C")]
)
def test_child_pugh_class_by_score(score: int, klass: str) -> None:
    assert child_pugh_class(score) == klass


@pytest.mark.parametrize("score", [4, 16])
def test_child_pugh_class_outside_5_15_is_refused(score: int) -> None:
    with pytest.raises(ValueError):
        child_pugh_class(score)


@pytest.mark.parametrize(
    "change",
    [
        {"ascites": "none"},
        {"ascites": "SEVERE"},
        {"encephalopathy": "GRADE_2"},
        {"bilirubin_umol_l": D("-1")},
        {"albumin_g_l": D("NaN")},
        {"inr": D("Infinity")},
    ],
)
def test_child_pugh_invalid_input_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _cp(**change)


# --------------------------------------------------------------------------- ALBI


def test_albi_hand_computation_bilirubin_10_albumin_40() -> None:
    # 0.66 · log10(10) − 0.085 · 40 = 0.66 − 3.40 = −2.74
    result = albi(bilirubin_umol_l=D("10"), albumin_g_l=D("40"))

    assert result == Albi(score=D("-2.74"), grade=1)
    assert result.display == "-2.74"


def test_albi_hand_computation_bilirubin_100_albumin_30() -> None:
    # 0.66 · 2 − 0.085 · 30 = 1.32 − 2.55 = −1.23
    result = albi(bilirubin_umol_l=D("100"), albumin_g_l=D("30"))

    assert result == Albi(score=D("-1.23"), grade=3)


def test_albi_hand_computation_bilirubin_17_1_albumin_35() -> None:
    # Bilirubin 1 mg/dL = 17.1 µmol/L: 0.66 · 1.232996110392… − 2.975 = −2.161222567141178…
    # (checked against a 60-digit decimal logarithm).
    result = albi(bilirubin_umol_l=D("17.1"), albumin_g_l=D("35"))

    assert result.score.quantize(D("1e-15")) == D("-2.161222567141178")
    assert (result.display, result.grade) == ("-2.16", 2)


def test_albi_exactly_minus_2_60_is_grade_1() -> None:
    result = albi(bilirubin_umol_l=D("1e11"), albumin_g_l=D("116"))

    assert result.score == D("-2.60")
    assert result.grade == 1


def test_albi_exactly_minus_1_39_is_grade_2() -> None:
    result = albi(bilirubin_umol_l=D("1e10"), albumin_g_l=D("94"))

    assert result.score == D("-1.39")
    assert result.grade == 2


def test_albi_a_hair_above_minus_2_60_is_grade_2() -> None:
    result = albi(bilirubin_umol_l=D("10"), albumin_g_l=D("38.3529"))

    assert result.score == D("-2.5999965")
    assert result.grade == 2


def test_albi_a_hair_below_minus_2_60_is_grade_1() -> None:
    result = albi(bilirubin_umol_l=D("10"), albumin_g_l=D("38.3530"))

    assert result.score == D("-2.600005")
    assert result.grade == 1


def test_albi_a_hair_above_minus_1_39_is_grade_3() -> None:
    result = albi(bilirubin_umol_l=D("10"), albumin_g_l=D("24.1176"))

    assert result.score == D("-1.389996")
    assert result.grade == 3


def test_albi_a_hair_below_minus_1_39_is_grade_2() -> None:
    result = albi(bilirubin_umol_l=D("10"), albumin_g_l=D("24.1177"))

    assert result.score == D("-1.3900045")
    assert result.grade == 2


def test_albi_grade_from_unrounded_score_not_display() -> None:
    # Shown as −2.60 (which would be grade 1) but the unrounded score is above −2.60.
    result = albi(bilirubin_umol_l=D("10"), albumin_g_l=D("38.3529"))

    assert (result.display, result.grade) == ("-2.60", 2)


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        ("-3.5", 1),
        ("-2.60", 1),
        ("-2.5999999999", 2),
        ("-1.39", 2),
        ("-1.3899999999", 3),
        ("0.5", 3),
    ],
)
def test_albi_grade_cut_offs_inclusive(score: str, grade: int) -> None:
    assert albi_grade(D(score)) == grade


def test_albi_display_rounds_half_up() -> None:
    # log10(1) = 0, so the score is −0.085 · 1 = −0.085 exactly: a tie, rounded away from zero.
    assert albi(bilirubin_umol_l=D("1"), albumin_g_l=D("1")).display == "-0.09"


def test_albi_display_has_no_negative_zero() -> None:
    assert albi(bilirubin_umol_l=D("1"), albumin_g_l=D("0.01")).display == "0.00"


@pytest.mark.parametrize(
    ("bilirubin", "albumin"),
    [("0", "40"), ("-5", "40"), ("NaN", "40"), ("10", "-1"), ("10", "Infinity")],
)
def test_albi_invalid_input_is_refused(bilirubin: str, albumin: str) -> None:
    with pytest.raises(ValueError):
        albi(bilirubin_umol_l=D(bilirubin), albumin_g_l=D(albumin))
