"""Edit checks of the visit forms (crf-spec VS, LB, CP, EX, CM: the rules columns).

Facts (see visits.selectors.visit_facts): the visit's window (VISIT_WINDOW), the last
weight before this visit (PREV_WEIGHT), the previous cycle's dose (PREV_DOSE), the
visit's laboratory values (LB_TBIL, LB_ALB, LB_INR).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from crf.checks import (
    CheckContext,
    Finding,
    Severity,
    check_range,
    check_required_when,
)
from enrollment.checks import partial_date_format
from study import protocol
from visits import exposure, liver_scores

Data = Mapping[str, Any]


def within_visit_window(variable: str) -> Any:
    """A date outside the visit's window is accepted and raises a soft finding
    (crf-spec VS VSDAT: "within the visit window, else a soft query")."""

    def check(data: Data, context: CheckContext) -> Iterable[Finding]:
        value, window = data.get(variable), context.facts.get("VISIT_WINDOW")
        if not isinstance(value, dt.date) or not window or None in window:
            return
        start, end = window
        if not start <= value <= end:
            yield Finding(
                variable,
                _("%(var)s %(date)s is outside the visit window %(start)s to %(end)s.")
                % {
                    "var": variable,
                    "date": value.isoformat(),
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                },
                Severity.SOFT,
                f"{variable}_window",
            )
            yield Finding(
                variable,
                _(
                    "Suggested protocol deviation (visit window): the visit was held out of its window."
                ),
                Severity.SOFT,
                f"{variable}_window_deviation",
            )

    return check


def vs_diastolic_below_systolic(data: Data, context: CheckContext) -> Iterable[Finding]:
    sys_bp, dia_bp = data.get("SYSBP"), data.get("DIABP")
    if sys_bp is not None and dia_bp is not None and dia_bp >= sys_bp:
        yield Finding("DIABP", _("DIABP must be below SYSBP."), Severity.HARD, "DIABP_lt_SYSBP")


def vs_weight_change(data: Data, context: CheckContext) -> Iterable[Finding]:
    """WEIGHT: soft when more than 10 % from the last visit (crf-spec VS)."""
    weight, previous = data.get("WEIGHT"), context.facts.get("PREV_WEIGHT")
    if weight is None or not previous:
        return
    change = (Decimal(weight) - Decimal(previous)) / Decimal(previous) * 100
    if abs(change) > 10:
        yield Finding(
            "WEIGHT",
            _("WEIGHT changed by %(pct)s %% since the last visit (%(prev)s kg): please confirm.")
            % {"pct": f"{change:+.1f}", "prev": previous},
            Severity.SOFT,
            "WEIGHT_change",
        )


VS_CHECKS = [
    within_visit_window("VSDAT"),
    check_range("SYSBP", 60, 260, unit="mmHg", soft_high=160),
    check_range("DIABP", 30, 160, unit="mmHg"),
    vs_diastolic_below_systolic,
    check_range("PULSE", 30, 200, unit="/min"),
    check_range("TEMP", Decimal("34.0"), Decimal("42.0"), unit="°C"),
    check_range("WEIGHT", 25, 250, unit="kg"),
    vs_weight_change,
    check_range("ECOG", 0, 4),
]

# crf-spec LB: hard limits, in the units of the form.
LB_LIMITS: dict[str, tuple[Decimal, Decimal, str]] = {
    "HGB": (Decimal(20), Decimal(250), "g/L"),
    "WBC": (Decimal(0), Decimal(200), "10⁹/L"),
    "ANC": (Decimal(0), Decimal(100), "10⁹/L"),
    "PLT": (Decimal(0), Decimal(2000), "10⁹/L"),
    "ALT": (Decimal(0), Decimal(10000), "U/L"),
    "AST": (Decimal(0), Decimal(10000), "U/L"),
    "TBIL": (Decimal(0), Decimal(1000), "µmol/L"),
    "ALB": (Decimal(5), Decimal(70), "g/L"),
    "CREAT": (Decimal(10), Decimal(2000), "µmol/L"),
    "INR": (Decimal("0.5"), Decimal(10), ""),
    "AFP": (Decimal(0), Decimal(10000000), "ng/mL"),
    "TSH": (Decimal(0), Decimal(200), "mIU/L"),
    "UPROT24": (Decimal(0), Decimal(30), "g/24 h"),
}

LB_CHECKS = [
    check_range(name, low, high, unit=unit) for name, (low, high, unit) in LB_LIMITS.items()
]


def cp_derive(data: Data, facts: Mapping[str, Any]) -> dict[str, Any]:
    """CPSCORE/CPCLASS/ALBISCORE/ALBIGRADE from the same visit's LB (crf-spec CP)."""
    tbil: Any = facts.get("LB_TBIL")
    alb: Any = facts.get("LB_ALB")
    inr: Any = facts.get("LB_INR")
    derived: dict[str, Any] = {"CPSCORE": None, "CPCLASS": "", "ALBISCORE": None, "ALBIGRADE": None}
    if tbil is not None and alb is not None and tbil > 0:
        score = liver_scores.albi(bilirubin_umol_l=Decimal(tbil), albumin_g_l=Decimal(alb))
        derived["ALBISCORE"] = Decimal(str(score.score)).quantize(Decimal("0.0001"))
        derived["ALBIGRADE"] = score.grade
    if None not in (tbil, alb, inr) and data.get("ASCITES") and data.get("HENC"):
        cp = liver_scores.child_pugh(
            bilirubin_umol_l=Decimal(tbil),
            albumin_g_l=Decimal(alb),
            inr=Decimal(inr),
            ascites=str(data["ASCITES"]),
            encephalopathy=str(data["HENC"]),
        )
        derived["CPSCORE"], derived["CPCLASS"] = cp.score, cp.klass
    return derived


def cp_needs_labs(data: Data, context: CheckContext) -> Iterable[Finding]:
    missing = [n for n in ("LB_TBIL", "LB_ALB", "LB_INR") if context.facts.get(n) is None]
    if missing:
        yield Finding(
            "CPSCORE",
            _(
                "The Child-Pugh score needs this visit's TBIL, ALB and INR (LB); missing: %(missing)s."
            )
            % {"missing": ", ".join(m.removeprefix("LB_") for m in missing)},
            Severity.SOFT,
            "CP_needs_LB",
        )


CP_CHECKS = [cp_needs_labs]


def ex_rules(data: Data, context: CheckContext) -> Iterable[Finding]:
    """EX: end within the 14 dosing days, dose never above the previous cycle's, EXRED
    exactly when reduced (crf-spec EX)."""
    start, end = data.get("EXSTDAT"), data.get("EXENDAT")
    if isinstance(start, dt.date) and isinstance(end, dt.date):
        last = start + dt.timedelta(days=protocol.DOSING_DAYS_PER_CYCLE - 1)
        if not start <= end <= last:
            yield Finding(
                "EXENDAT",
                _("EXENDAT must be from EXSTDAT to %(last)s (%(days)d dosing days).")
                % {"last": last.isoformat(), "days": protocol.DOSING_DAYS_PER_CYCLE},
                Severity.HARD,
                "EXENDAT_window",
            )
    dose, previous = data.get("EXDOSE"), context.facts.get("PREV_DOSE")
    if dose and previous:
        if int(dose) > int(previous):
            yield Finding(
                "EXDOSE",
                _(
                    "EXDOSE %(dose)s mg is above the previous cycle's %(prev)s mg: a dose never goes back up."
                )
                % {"dose": dose, "prev": previous},
                Severity.HARD,
                "EXDOSE_no_increase",
            )
        expected = exposure.reduction_expected(int(previous), int(dose))
        if data.get("EXRED") and (data.get("EXRED") == "Y") != expected:
            yield Finding(
                "EXRED",
                _(
                    "EXRED must be Yes exactly when the dose is lower than the previous cycle's (%(prev)s mg)."
                )
                % {"prev": previous},
                Severity.HARD,
                "EXRED_consistent",
            )
    disp, ret = data.get("EXDISP"), data.get("EXRET")
    if disp is not None and ret is not None and ret > disp:
        yield Finding(
            "EXRET",
            _("EXRET cannot exceed EXDISP (%(n)d).") % {"n": disp},
            Severity.HARD,
            "EXRET_le_EXDISP",
        )


EX_CHECKS = [
    check_range("EXDAYS", 0, protocol.DOSING_DAYS_PER_CYCLE),
    check_required_when("EXINTRS", "EXINT", "Y"),
    check_required_when("EXREDRS", "EXRED", "Y"),
    check_range("EXDISP", 0, 100),
    ex_rules,
]


def cm_dates(data: Data, context: CheckContext) -> Iterable[Finding]:
    from crf.partial_dates import parse_partial_date

    start, end = data.get("CMSTDAT"), data.get("CMENDAT")
    try:
        if (
            start
            and end
            and parse_partial_date(str(end)).latest < parse_partial_date(str(start)).earliest
        ):
            yield Finding(
                "CMENDAT",
                _("CMENDAT must be on or after CMSTDAT."),
                Severity.HARD,
                "CMENDAT_ge_CMSTDAT",
            )
    except ValueError:
        return


CM_CHECKS = [partial_date_format("CMSTDAT", "CMENDAT"), cm_dates]
