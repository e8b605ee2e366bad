"""Registration of the test forms, with checks of the kinds crf-spec uses."""

from collections.abc import Iterable, Mapping
from typing import Any

from crf import registry
from crf.checks import (
    CheckContext,
    Finding,
    Severity,
    check_range,
)
from crf.models import VisitKind
from tests.crftest.models import DemoLesion, DemoLog, DemoVitals


def diastolic_below_systolic(data: Mapping[str, Any], context: CheckContext) -> Iterable[Finding]:
    sys_bp, dia_bp = data.get("SYSBP"), data.get("DIABP")
    if sys_bp is not None and dia_bp is not None and dia_bp >= sys_bp:
        yield Finding("DIABP", "DIABP must be below SYSBP.", Severity.HARD, "DIABP_lt_SYSBP")


def derive(data: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    sys_bp, dia_bp = data.get("SYSBP"), data.get("DIABP")
    return {"XXPP": sys_bp - dia_bp if sys_bp is not None and dia_bp is not None else None}


XX = registry.register(
    DemoVitals,
    code="XX",
    title="Test vitals",
    visit_kinds=[VisitKind.SCREENING, VisitKind.CYCLE],
    required=["XXDAT", "SYSBP", "DIABP"],
    derived=["XXPP"],
    groups=[registry.group("LS", DemoLesion, key="LID")],
    checks=[
        check_range("SYSBP", 60, 260, unit="mmHg", soft_high=160),
        check_range("DIABP", 30, 160, unit="mmHg"),
        diastolic_below_systolic,
    ],
    derive=derive,
)
XL = registry.register(DemoLog, code="XL", title="Test log", visit_kinds=[], required=["XLDAT"])
