"""Liver function scores of form CP: Child-Pugh score and class, ALBI score and grade.

Pure Python (no Django). Source: crf-spec CP (the points table, the ALBI formula and grades, every
boundary as written) with the LB units: bilirubin in µmol/L, albumin in g/L, INR as a ratio.

ALBI score type: ``Decimal``. The logarithm is taken with ``math.log10`` on the float value of
the bilirubin (the only inexact step); that float is converted to Decimal exactly and the rest of
the formula is computed in Decimal with enough precision to be exact. So the score carries the
full precision of the float logarithm, the grade cut-offs −2.60 and −1.39 are compared exactly as
written (a binary float cannot even hold −2.60), and the score is stored in the CP model's decimal
field without a float round trip. Rounding happens only in ``Albi.display``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

# crf-spec CP: Child-Pugh points, bounds inclusive as written.
BILIRUBIN_2_POINTS_FROM_UMOL_L = Decimal("34")  # < 34 → 1; 34 to 50 → 2
BILIRUBIN_2_POINTS_TO_UMOL_L = Decimal("50")  # > 50 → 3
ALBUMIN_2_POINTS_FROM_G_L = Decimal("28")  # < 28 → 3; 28 to 35 → 2
ALBUMIN_2_POINTS_TO_G_L = Decimal("35")  # > 35 → 1
INR_2_POINTS_FROM = Decimal("1.7")  # < 1.7 → 1; 1.7 to 2.3 → 2
INR_2_POINTS_TO = Decimal("2.3")  # > 2.3 → 3

# crf-spec CP: ASCITES and HENC code lists and their points.
ASCITES_POINTS = {"NONE": 1, "MILD": 2, "MODERATE_SEVERE": 3}
ENCEPHALOPATHY_POINTS = {"NONE": 1, "GRADE_1_2": 2, "GRADE_3_4": 3}

# crf-spec CP: CPCLASS A 5-6, B 7-9, C 10-15.
CHILD_PUGH_CLASS_A_MAX = 6
CHILD_PUGH_CLASS_B_MAX = 9

# crf-spec CP: ALBISCORE = 0.66·log10(bilirubin µmol/L) − 0.085·(albumin g/L).
ALBI_BILIRUBIN_COEFFICIENT = Decimal("0.66")
ALBI_ALBUMIN_COEFFICIENT = Decimal("0.085")
# crf-spec CP: ALBIGRADE ≤ −2.60 → 1; > −2.60 and ≤ −1.39 → 2; > −1.39 → 3.
ALBI_GRADE_1_MAX = Decimal("-2.60")
ALBI_GRADE_2_MAX = Decimal("-1.39")

# Exact arithmetic on a float converted to Decimal needs ~60 significant digits; 100 is ample
# and independent of the caller's decimal context.
_EXACT_PRECISION = 100
_TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class ChildPughPoints:
    """The points of each Child-Pugh component (1, 2 or 3)."""

    bilirubin: int
    albumin: int
    inr: int
    ascites: int
    encephalopathy: int

    @property
    def total(self) -> int:
        return self.bilirubin + self.albumin + self.inr + self.ascites + self.encephalopathy

    def as_dict(self) -> dict[str, int]:
        return {
            "bilirubin": self.bilirubin,
            "albumin": self.albumin,
            "inr": self.inr,
            "ascites": self.ascites,
            "encephalopathy": self.encephalopathy,
        }


@dataclass(frozen=True)
class ChildPugh:
    """CPSCORE (5-15), CPCLASS ('A', 'B', 'C') and the points they come from."""

    score: int
    klass: str
    points: ChildPughPoints


@dataclass(frozen=True)
class Albi:
    """ALBISCORE (unrounded, see the module docstring) and ALBIGRADE (1, 2, 3)."""

    score: Decimal
    grade: int

    @property
    def display(self) -> str:
        """The score to two decimals, half up (crf-spec CP: "shown to two decimals")."""
        rounded = self.score.quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)
        # -0.004 rounds to -0.00; show it as 0.00.
        return str(rounded.copy_abs() if rounded.is_zero() else rounded)


def _finite_non_negative(name: str, value: Decimal) -> None:
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name} must be a finite number ≥ 0, not {value}")


def _bilirubin_points(bilirubin_umol_l: Decimal) -> int:
    # crf-spec CP: bilirubin < 34 µmol/L 1, 34 to 50 2, > 50 3.
    if bilirubin_umol_l < BILIRUBIN_2_POINTS_FROM_UMOL_L:
        return 1
    if bilirubin_umol_l <= BILIRUBIN_2_POINTS_TO_UMOL_L:
        return 2
    return 3


def _albumin_points(albumin_g_l: Decimal) -> int:
    # crf-spec CP: albumin > 35 g/L 1, 28 to 35 2, < 28 3.
    if albumin_g_l > ALBUMIN_2_POINTS_TO_G_L:
        return 1
    if albumin_g_l >= ALBUMIN_2_POINTS_FROM_G_L:
        return 2
    return 3


def _inr_points(inr: Decimal) -> int:
    # crf-spec CP: INR < 1.7 1, 1.7 to 2.3 2, > 2.3 3.
    if inr < INR_2_POINTS_FROM:
        return 1
    if inr <= INR_2_POINTS_TO:
        return 2
    return 3


def _code_points(name: str, table: dict[str, int], code: str) -> int:
    try:
        return table[code]
    except KeyError:
        raise ValueError(f"{name}: {code!r} is not one of {', '.join(table)}") from None


def child_pugh_class(score: int) -> str:
    """CPCLASS from CPSCORE (crf-spec CP: A 5-6, B 7-9, C 10-15)."""
    if not 5 <= score <= 15:
        raise ValueError(f"a Child-Pugh score is 5 to 15, not {score}")
    if score <= CHILD_PUGH_CLASS_A_MAX:
        return "A"
    if score <= CHILD_PUGH_CLASS_B_MAX:
        return "B"
    return "C"


def child_pugh(
    *,
    bilirubin_umol_l: Decimal,
    albumin_g_l: Decimal,
    inr: Decimal,
    ascites: str,
    encephalopathy: str,
) -> ChildPugh:
    """Child-Pugh score, class and points (crf-spec CP, points table with inclusive bounds).

    Inputs are the same visit's LB values (TBIL µmol/L, ALB g/L, INR) and the CP codes ASCITES
    (NONE, MILD, MODERATE_SEVERE) and HENC (NONE, GRADE_1_2, GRADE_3_4). ValueError for a negative
    or non-finite value or an unknown code. No side effects.
    """
    _finite_non_negative("bilirubin", bilirubin_umol_l)
    _finite_non_negative("albumin", albumin_g_l)
    _finite_non_negative("INR", inr)
    points = ChildPughPoints(
        bilirubin=_bilirubin_points(bilirubin_umol_l),
        albumin=_albumin_points(albumin_g_l),
        inr=_inr_points(inr),
        ascites=_code_points("ascites", ASCITES_POINTS, ascites),
        encephalopathy=_code_points("encephalopathy", ENCEPHALOPATHY_POINTS, encephalopathy),
    )
    return ChildPugh(score=points.total, klass=child_pugh_class(points.total), points=points)


def albi_grade(score: Decimal) -> int:
    """ALBIGRADE from the unrounded score (crf-spec CP: ≤ −2.60 → 1; ≤ −1.39 → 2; else 3)."""
    if score <= ALBI_GRADE_1_MAX:
        return 1
    if score <= ALBI_GRADE_2_MAX:
        return 2
    return 3


def albi(*, bilirubin_umol_l: Decimal, albumin_g_l: Decimal) -> Albi:
    """ALBI score and grade (crf-spec CP): 0.66·log10(bilirubin µmol/L) − 0.085·albumin g/L.

    The grade is taken from the unrounded score. Bilirubin must be > 0 (the logarithm), albumin
    ≥ 0; no other range is imposed (the LB hard limits are the form's check). No side effects.
    """
    _finite_non_negative("albumin", albumin_g_l)
    if not bilirubin_umol_l.is_finite() or bilirubin_umol_l <= 0:
        raise ValueError(f"bilirubin must be a finite number > 0 for ALBI, not {bilirubin_umol_l}")
    log_bilirubin = Decimal(math.log10(float(bilirubin_umol_l)))  # exact float → Decimal
    with localcontext() as context:
        context.prec = _EXACT_PRECISION
        score = ALBI_BILIRUBIN_COEFFICIENT * log_bilirubin - ALBI_ALBUMIN_COEFFICIENT * albumin_g_l
    return Albi(score=score, grade=albi_grade(score))
