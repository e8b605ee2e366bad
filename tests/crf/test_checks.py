"""The edit-check framework: pure functions over a dict (no database)."""

import datetime as dt

from crf.checks import (
    CheckContext,
    Severity,
    check_not_before,
    check_range,
    check_required_when,
    required_findings,
    run_checks,
)

CTX = CheckContext(today=dt.date(2026, 11, 23))


def test_range_check_accepts_the_limits_themselves() -> None:
    check = check_range("SYSBP", 60, 260, unit="mmHg")
    assert run_checks([check], {"SYSBP": 60}, CTX).hard == ()
    assert run_checks([check], {"SYSBP": 260}, CTX).hard == ()


def test_range_check_refuses_outside_with_field_and_limits_named() -> None:
    outcome = run_checks([check_range("SYSBP", 60, 260, unit="mmHg")], {"SYSBP": 261}, CTX)
    assert [f.variable for f in outcome.hard] == ["SYSBP"]
    assert str(outcome.hard[0].message) == "SYSBP must be between 60 and 260 mmHg."


def test_range_check_soft_limit_is_accepted_with_a_finding() -> None:
    outcome = run_checks(
        [check_range("SYSBP", 60, 260, unit="mmHg", soft_high=160)], {"SYSBP": 160}, CTX
    )
    assert outcome.ok
    assert [(f.variable, f.severity, f.check) for f in outcome.soft] == [
        ("SYSBP", Severity.SOFT, "SYSBP_soft_high")
    ]


def test_range_check_ignores_empty_values() -> None:
    assert run_checks([check_range("PULSE", 30, 200)], {"PULSE": None}, CTX).hard == ()


def test_required_when_fires_only_on_the_condition() -> None:
    check = check_required_when("VPGRADE", "MVI", "Y")
    assert [f.variable for f in check({"MVI": "Y", "VPGRADE": ""}, CTX)] == ["VPGRADE"]
    assert list(check({"MVI": "N", "VPGRADE": ""}, CTX)) == []
    assert list(check({"MVI": "Y", "VPGRADE": "VP2"}, CTX)) == []


def test_not_before_strict_and_inclusive() -> None:
    same_day = {"IEDAT": dt.date(2026, 1, 5), "ICDAT": dt.date(2026, 1, 5)}
    assert list(check_not_before("IEDAT", "ICDAT")(same_day, CTX)) == []
    assert len(list(check_not_before("IEDAT", "ICDAT", strict=True)(same_day, CTX))) == 1
    earlier = {"IEDAT": dt.date(2026, 1, 4), "ICDAT": dt.date(2026, 1, 5)}
    assert len(list(check_not_before("IEDAT", "ICDAT")(earlier, CTX))) == 1


def test_required_findings_name_each_missing_variable() -> None:
    findings = required_findings(["A", "B", "C"], {"A": 1, "B": "", "C": []})
    assert [f.variable for f in findings] == ["B", "C"]
