"""The screening forms' edit checks, case by case (crf-spec SL, IC, DM, IE, HX, ENR)."""

from __future__ import annotations

import datetime as dt

import pytest

from crf.checks import CheckContext, Severity, run_checks
from enrollment import checks
from study import protocol

TODAY = dt.date(2026, 11, 23)


def ctx(**facts) -> CheckContext:
    return CheckContext(today=TODAY, facts=facts)


def found(check_list, data, **facts) -> list[tuple[str, str, str]]:
    outcome = run_checks(check_list, data, ctx(**facts))
    return [(f.variable, f.severity.value, f.check) for f in outcome.hard + outcome.soft]


def test_sl_screen_failure_needs_the_criteria() -> None:
    assert found(checks.SL_CHECKS, {"SCRDAT": TODAY, "SCRFAIL": "Y", "SCRFRS": []}) == [
        ("SCRFRS", "hard", "SCRFRS_required")
    ]
    assert (
        found(
            checks.SL_CHECKS,
            {"SCRDAT": TODAY, "SCRFAIL": "Y", "SCRFRS": ["IN06"]},
            IE_CODES=["IN06"],
        )
        == []
    )


def test_sl_refuses_unknown_codes() -> None:
    # A future SCRDAT is refused by the rule every form shares (tests/crf/test_shared_rules.py).
    assert found(
        checks.SL_CHECKS,
        {"SCRDAT": TODAY, "SCRFAIL": "Y", "SCRFRS": ["XX99"]},
        IE_CODES=["IN06"],
    ) == [("SCRFRS", "hard", "SCRFRS_codes")]


def test_ic_version_must_be_approved_for_the_site() -> None:
    data = {"ICDAT": TODAY, "ICVER": "1.0"}
    assert found(checks.IC_CHECKS, data, CONSENT_VERSIONS={"2.0"}) == [
        ("ICVER", "hard", "ICVER_approved")
    ]
    assert found(checks.IC_CHECKS, {**data, "ICVER": "2.0"}, CONSENT_VERSIONS={"2.0"}) == []


def test_ic_must_precede_every_study_date_but_not_history() -> None:
    data = {"ICDAT": dt.date(2026, 3, 10), "ICVER": "2.0"}
    assert (
        found(
            checks.IC_CHECKS,
            data,
            CONSENT_VERSIONS={"2.0"},
            STUDY_DATES=[("IEDAT", dt.date(2026, 3, 10))],
        )
        == []
    )
    assert found(
        checks.IC_CHECKS,
        data,
        CONSENT_VERSIONS={"2.0"},
        STUDY_DATES=[("IEDAT", dt.date(2026, 3, 9))],
    ) == [("ICDAT", "hard", "ICDAT_le_IEDAT")]


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        ("1951-03-10", []),  # 75 on the day of consent
        ("1951-03-09", []),  # 75 still (76 tomorrow)
        ("1950-03-09", [("BRTHDAT", "soft", "BRTHDAT_age_protocol")]),  # 76
        ("2008-03-10", []),  # 18 on the day
        ("2008-03-11", [("BRTHDAT", "soft", "BRTHDAT_age_protocol")]),  # 17
        ("1951", []),  # 74 or 75: cannot be outside
        ("1900", [("BRTHDAT", "hard", "BRTHDAT_age_hard")]),  # 126
        ("2026-13", [("BRTHDAT", "hard", "BRTHDAT_format")]),
    ],
)
def test_dm_age_at_consent(birth, expected) -> None:
    data = {"BRTHDAT": birth, "HEIGHT": 170}
    assert found(checks.DM_CHECKS, data, ICDAT=dt.date(2026, 3, 10)) == expected


def test_dm_height_hard_limits() -> None:
    assert found(checks.DM_CHECKS, {"HEIGHT": 231}) == [("HEIGHT", "hard", "HEIGHT_range")]
    assert found(checks.DM_CHECKS, {"HEIGHT": 100}) == []


DAY1 = dt.date(2026, 6, 1)


@pytest.mark.parametrize(
    ("days_before", "ok"),
    [
        (protocol.LENVATINIB_LAST_DOSE_MAX_DAYS_BEFORE_DAY1, True),  # Day 1 - 70
        (protocol.LENVATINIB_LAST_DOSE_MAX_DAYS_BEFORE_DAY1 + 1, False),  # Day 1 - 71
        (protocol.LENVATINIB_LAST_DOSE_MIN_DAYS_BEFORE_DAY1, True),  # Day 1 - 15
        (protocol.LENVATINIB_LAST_DOSE_MIN_DAYS_BEFORE_DAY1 - 1, False),  # Day 1 - 14
    ],
)
def test_hx_lenvatinib_window_edges(days_before, ok) -> None:
    last = (DAY1 - dt.timedelta(days=days_before)).isoformat()
    result = found(
        checks.HX_CHECKS, {"LENSTDAT": "2025", "LENENDAT": last}, PLDAY1=DAY1, ICDAT=DAY1
    )
    assert result == ([] if ok else [("LENENDAT", "hard", "LENENDAT_IN04_window")])


def test_hx_a_partial_last_dose_is_refused_only_when_surely_outside() -> None:
    assert found(checks.HX_CHECKS, {"LENENDAT": "2026-04"}, PLDAY1=DAY1) == []  # may be inside
    assert found(checks.HX_CHECKS, {"LENENDAT": "2026-02"}, PLDAY1=DAY1) == [
        ("LENENDAT", "hard", "LENENDAT_IN04_window")
    ]


def test_hx_rules() -> None:
    data = {
        "MVI": "Y",
        "VPGRADE": "",
        "LENSTDAT": "2026-03",
        "LENENDAT": "2026-02",
        "DIAGDAT": "2026-05",
    }
    assert found(checks.HX_CHECKS, data, ICDAT=dt.date(2026, 4, 1)) == [
        ("DIAGDAT", "hard", "DIAGDAT_le_ICDAT"),
        ("VPGRADE", "hard", "VPGRADE_required_when_MVI"),
        ("LENSTDAT", "hard", "LENSTDAT_lt_LENENDAT"),
    ]


@pytest.mark.parametrize(("days", "ok"), [(0, True), (7, True), (8, False), (-1, False)])
def test_enr_planned_day1_window(days, ok) -> None:
    enrolled = dt.date(2026, 3, 10)
    data = {"ENRDAT": enrolled, "PLDAY1": enrolled + dt.timedelta(days=days)}
    result = found(checks.ENR_CHECKS, data, IEYN="Y", IC_COMPLETE=True, IEDAT=enrolled)
    assert result == ([] if ok else [("PLDAY1", "hard", "PLDAY1_window")])


def test_enr_needs_eligibility_consent_and_iedat_order() -> None:
    data = {"ENRDAT": dt.date(2026, 3, 10), "PLDAY1": dt.date(2026, 3, 12)}
    assert found(
        checks.ENR_CHECKS, data, IEYN="N", IC_COMPLETE=False, IEDAT=dt.date(2026, 3, 11)
    ) == [
        ("ENRDAT", "hard", "ENRDAT_ge_IEDAT"),
        ("ENRDAT", "hard", "ENR_eligible"),
        ("ENRDAT", "hard", "ENR_consented"),
    ]


KINDS = {"IN01": "IN", "IN06": "IN", "EX03": "EX"}


@pytest.mark.parametrize(
    ("answers", "ieyn"),
    [
        ({"IN01": "Y", "IN06": "Y", "EX03": "N"}, "Y"),
        ({"IN01": "Y", "IN06": "N", "EX03": "N"}, "N"),
        ({"IN01": "Y", "IN06": "Y", "EX03": "Y"}, "N"),
        ({"IN01": "Y", "IN06": "", "EX03": "N"}, None),
        ({"IN01": "Y", "IN06": "", "EX03": "Y"}, "N"),  # already failing
    ],
)
def test_ieyn_is_derived_from_the_answers(answers, ieyn) -> None:
    rows = [{"IETESTCD": c, "IEORRES": a} for c, a in answers.items()]
    assert checks.ie_derive({"IE": rows}, {"IE_KINDS": KINDS}) == {"IEYN": ieyn}


def test_ie_answers_every_criterion_exactly_once() -> None:
    rows = [
        {"IETESTCD": "IN01", "IEORRES": "Y"},
        {"IETESTCD": "IN01", "IEORRES": "Y"},
        {"IETESTCD": "ZZ", "IEORRES": "Y"},
    ]
    result = found(checks.IE_CHECKS, {"IE": rows}, IE_CODES=list(KINDS))
    assert result == [
        ("IE", "hard", "IE_missing"),
        ("IE", "hard", "IE_unknown"),
        ("IE", "hard", "IE_twice"),
    ]


def test_ie_contradictions_are_soft_findings() -> None:
    rows = [{"IETESTCD": "IN01", "IEORRES": "Y"}, {"IETESTCD": "IN12", "IEORRES": "Y"}]
    outcome = run_checks(
        [checks.ie_contradictions], {"IE": rows}, ctx(BRTHDAT="1940-01-01", ICDAT=None)
    )
    assert [(f.check, f.severity) for f in outcome.soft] == [("IE_IN12_vs_IC", Severity.SOFT)]
    outcome = run_checks(
        [checks.ie_contradictions],
        {"IE": rows},
        ctx(BRTHDAT="1940-01-01", ICDAT=dt.date(2026, 3, 1)),
    )
    assert [f.check for f in outcome.soft] == ["IE_IN01_vs_DM"]


def test_ie_contradictions_with_the_screening_visit_data() -> None:
    from decimal import Decimal

    rows = [{"IETESTCD": c, "IEORRES": "Y"} for c in ("IN05", "IN06", "IN07", "IN08")]
    facts = {
        "SCR_ECOG": 2,
        "SCR_CPSCORE": 8,
        "SCR_TARGETS": 0,
        "SCR_LABS": {"HGB": Decimal("85"), "PLT": Decimal("60")},
    }

    outcome = run_checks([checks.ie_contradictions], {"IE": rows}, ctx(**facts))

    assert [f.check for f in outcome.soft] == [
        "IE_IN06_vs_VS",
        "IE_IN07_vs_CP",
        "IE_IN05_vs_TA",
        "IE_IN08_vs_LB",
    ]
    assert "HGB" in str(outcome.soft[-1].message) and "PLT" not in str(outcome.soft[-1].message)
    fine = {"SCR_ECOG": 1, "SCR_CPSCORE": 7, "SCR_TARGETS": 2, "SCR_LABS": {"HGB": Decimal("90")}}
    assert run_checks([checks.ie_contradictions], {"IE": rows}, ctx(**fine)).soft == ()
