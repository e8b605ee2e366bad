"""Edit checks of the screening forms (crf-spec SL, IC, DM, IE, HX, ENR: the rules columns).

Each check is a small function over the form's variables and the subject's facts
(ICDAT, PLDAY1 …, see enrollment.selectors.screening_facts), shared by the web
forms, the study data file import and the services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from crf.checks import CheckContext, Finding, Severity, check_range
from crf.partial_dates import PartialDate, age_range, parse_partial_date, surely_after
from study import protocol

Data = Mapping[str, Any]


def _hard(variable: str, message: str, check: str) -> Finding:
    return Finding(variable, message, Severity.HARD, check)


def _soft(variable: str, message: str, check: str) -> Finding:
    return Finding(variable, message, Severity.SOFT, check)


def _partial(data: Data, variable: str) -> PartialDate | None:
    value = data.get(variable)
    if not value:
        return None
    try:
        return parse_partial_date(str(value))
    except ValueError:
        return None


def partial_date_format(*variables: str) -> Any:
    """crf-spec *partial* dates: YYYY, YYYY-MM or YYYY-MM-DD, a real date."""

    def check(data: Data, context: CheckContext) -> Iterable[Finding]:
        for variable in variables:
            value = data.get(variable)
            if not value:
                continue
            try:
                parse_partial_date(str(value))
            except ValueError:
                yield _hard(
                    variable,
                    _("%(var)s must be a date as YYYY-MM-DD, YYYY-MM or YYYY.") % {"var": variable},
                    f"{variable}_format",
                )

    return check


def on_or_before_fact(variable: str, fact: str, *, strict: bool = False) -> Any:
    """A (partial) date on or before a date of another form (before it when ``strict``)."""

    def check(data: Data, context: CheckContext) -> Iterable[Finding]:
        limit = context.facts.get(fact)
        value = _partial(data, variable)
        if value is None or not isinstance(limit, dt.date):
            return
        broken = value.earliest >= limit if strict else surely_after(value, limit)
        if broken:
            message = (
                _("%(var)s must be before %(fact)s (%(date)s).")
                if strict
                else _("%(var)s must be on or before %(fact)s (%(date)s).")
            )
            yield _hard(
                variable,
                message % {"var": variable, "fact": fact, "date": limit.isoformat()},
                f"{variable}_le_{fact}",
            )

    return check


def on_or_after_fact(variable: str, fact: str) -> Any:
    def check(data: Data, context: CheckContext) -> Iterable[Finding]:
        limit, value = context.facts.get(fact), data.get(variable)
        if isinstance(limit, dt.date) and isinstance(value, dt.date) and value < limit:
            yield _hard(
                variable,
                _("%(var)s must be on or after %(fact)s (%(date)s).")
                % {"var": variable, "fact": fact, "date": limit.isoformat()},
                f"{variable}_ge_{fact}",
            )

    return check


# --- SL ------------------------------------------------------------------------------------


def sl_failed_criteria(data: Data, context: CheckContext) -> Iterable[Finding]:
    """SCRFRS: required when SCRFAIL=Y, and only criterion codes of the protocol version."""
    codes = data.get("SCRFRS") or []
    if data.get("SCRFAIL") == "Y" and not codes:
        yield _hard(
            "SCRFRS", _("Name the criteria not met for a screen failure."), "SCRFRS_required"
        )
    known = set(context.facts.get("IE_CODES", ()))
    unknown = [c for c in codes if known and c not in known]
    if unknown:
        yield _hard(
            "SCRFRS",
            _("Unknown criterion codes: %(codes)s.") % {"codes": ", ".join(unknown)},
            "SCRFRS_codes",
        )
    if data.get("SCRFAIL") == "N" and codes:
        yield _hard(
            "SCRFRS",
            _("Criteria not met are only given for a screen failure."),
            "SCRFRS_only_when_failed",
        )


SL_CHECKS = [sl_failed_criteria]


# --- IC ------------------------------------------------------------------------------------


def ic_version_approved(data: Data, context: CheckContext) -> Iterable[Finding]:
    version = data.get("ICVER")
    approved = context.facts.get("CONSENT_VERSIONS")
    if version and approved is not None and version not in approved:
        yield _hard(
            "ICVER",
            _(
                "Consent form version %(version)s is not approved for this site (approved: %(approved)s)."
            )
            % {"version": version, "approved": ", ".join(sorted(approved)) or "—"},
            "ICVER_approved",
        )


def ic_before_study_dates(data: Data, context: CheckContext) -> Iterable[Finding]:
    """ICDAT on or before every study date of the subject (history dates excepted)."""
    consent = data.get("ICDAT")
    if not isinstance(consent, dt.date):
        return
    for variable, value in context.facts.get("STUDY_DATES", ()):
        if isinstance(value, dt.date) and value < consent:
            yield _hard(
                "ICDAT",
                _(
                    "ICDAT must be on or before %(var)s (%(date)s): consent comes before any study procedure."
                )
                % {"var": variable, "date": value.isoformat()},
                f"ICDAT_le_{variable}",
            )


IC_CHECKS = [ic_version_approved, ic_before_study_dates]


# --- DM ------------------------------------------------------------------------------------


def dm_age(data: Data, context: CheckContext) -> Iterable[Finding]:
    """Age at consent: hard limits 0-120; the protocol's 18-75 (IN01) as a soft check."""
    birth = _partial(data, "BRTHDAT")
    if birth is None:
        return
    on = context.facts.get("ICDAT") or context.today
    youngest, oldest = age_range(birth, on)
    if birth.earliest > context.today or oldest < 0 or youngest > 120:
        yield _hard(
            "BRTHDAT", _("BRTHDAT gives an age outside 0 to 120 years."), "BRTHDAT_age_hard"
        )
        return
    if oldest < protocol.MIN_AGE_YEARS or youngest > protocol.MAX_AGE_YEARS:
        yield _soft(
            "BRTHDAT",
            _("Age at consent is %(age)s years, outside the protocol's %(min)d to %(max)d.")
            % {
                "age": youngest if youngest == oldest else f"{youngest}-{oldest}",
                "min": protocol.MIN_AGE_YEARS,
                "max": protocol.MAX_AGE_YEARS,
            },
            "BRTHDAT_age_protocol",
        )


DM_CHECKS = [partial_date_format("BRTHDAT"), dm_age, check_range("HEIGHT", 100, 230, unit="cm")]


# --- IE ------------------------------------------------------------------------------------


def ie_answers(data: Data, context: CheckContext) -> Iterable[Finding]:
    """Every criterion of the protocol version exactly once."""
    expected = list(context.facts.get("IE_CODES", ()))
    given = [row.get("IETESTCD") for row in data.get("IE", [])]
    missing = [c for c in expected if c not in given]
    extra = [c for c in given if c not in expected]
    twice = sorted({c for c in given if given.count(c) > 1})
    if missing:
        yield _hard(
            "IE",
            _("Answer every criterion; missing: %(codes)s.") % {"codes": ", ".join(missing)},
            "IE_missing",
        )
    if extra:
        yield _hard(
            "IE",
            _("Not criteria of this protocol version: %(codes)s.")
            % {"codes": ", ".join(map(str, extra))},
            "IE_unknown",
        )
    if twice:
        yield _hard(
            "IE", _("Answered more than once: %(codes)s.") % {"codes": ", ".join(twice)}, "IE_twice"
        )


def ie_contradictions(data: Data, context: CheckContext) -> Iterable[Finding]:
    """Where other forms already answer a criterion, a contradicting answer is a soft finding."""
    answers = {row.get("IETESTCD"): row.get("IEORRES") for row in data.get("IE", [])}
    facts = context.facts
    birth, consent = facts.get("BRTHDAT"), facts.get("ICDAT")
    if answers.get("IN01") == "Y" and birth and isinstance(consent, dt.date):
        ages: tuple[int, int] | None
        try:
            ages = age_range(str(birth), consent)
        except ValueError:
            ages = None
        youngest, oldest = ages if ages is not None else (None, None)
        if (
            oldest is not None
            and youngest is not None
            and (oldest < protocol.MIN_AGE_YEARS or youngest > protocol.MAX_AGE_YEARS)
        ):
            yield _soft(
                "IE",
                _("IN01 is answered Yes but DM gives an age outside 18 to 75."),
                "IE_IN01_vs_DM",
            )
    if answers.get("IN12") == "Y" and not consent:
        yield _soft(
            "IE", _("IN12 is answered Yes but no consent (IC) is recorded."), "IE_IN12_vs_IC"
        )
    yield from _visit_data_contradictions(answers, facts)
    last_dose, day1 = facts.get("LENENDAT"), facts.get("DAY1") or facts.get("PLDAY1")
    if answers.get("IN04") == "Y" and last_dose and isinstance(day1, dt.date):
        problem = lenvatinib_interval_problem(str(last_dose), day1)
        if problem:
            yield _soft(
                "IE",
                _("IN04 is answered Yes but HX says: %(problem)s") % {"problem": problem},
                "IE_IN04_vs_HX",
            )


# IN08 lower limits (crf-spec IE seed criteria): haemoglobin, neutrophils, platelets, albumin.
IN08_MINIMUM = {"HGB": Decimal(90), "ANC": Decimal("1.5"), "PLT": Decimal(60), "ALB": Decimal(28)}


def _visit_data_contradictions(
    answers: Mapping[str, Any], facts: Mapping[str, Any]
) -> Iterable[Finding]:
    """IN05 (a target lesion at baseline TA), IN06 (ECOG 0-1 at screening VS), IN07
    (Child-Pugh ≤ 7 at screening CP), IN08 (screening labs): a Yes that the visit data
    contradict is a soft finding (crf-spec IE)."""
    ecog, cp, targets = facts.get("SCR_ECOG"), facts.get("SCR_CPSCORE"), facts.get("SCR_TARGETS")
    if answers.get("IN06") == "Y" and ecog is not None and ecog > 1:
        yield _soft(
            "IE",
            _("IN06 is answered Yes but screening VS gives ECOG %(ecog)s.") % {"ecog": ecog},
            "IE_IN06_vs_VS",
        )
    if answers.get("IN07") == "Y" and cp is not None and cp > 7:
        yield _soft(
            "IE",
            _("IN07 is answered Yes but screening CP gives Child-Pugh %(score)s points.")
            % {"score": cp},
            "IE_IN07_vs_CP",
        )
    if answers.get("IN05") == "Y" and targets == 0:
        yield _soft(
            "IE",
            _("IN05 is answered Yes but the baseline TA has no measured target lesion."),
            "IE_IN05_vs_TA",
        )
    labs: Mapping[str, Any] = facts.get("SCR_LABS") or {}
    low = [
        name
        for name, minimum in IN08_MINIMUM.items()
        if labs.get(name) is not None and labs[name] < minimum
    ]
    if answers.get("IN08") == "Y" and low:
        yield _soft(
            "IE",
            _("IN08 is answered Yes but screening labs are below the limit: %(tests)s.")
            % {"tests": ", ".join(low)},
            "IE_IN08_vs_LB",
        )


def ie_derive(data: Data, facts: Mapping[str, Any]) -> dict[str, Any]:
    """IEYN (crf-spec IE): Y when every criterion of the protocol version is answered,
    every inclusion criterion Y and every exclusion criterion N; N when one is not as
    required; empty while answers are missing."""
    rows = data.get("IE", [])
    kinds: Mapping[str, str] = facts.get("IE_KINDS", {})
    answered = {row.get("IETESTCD") for row in rows if row.get("IEORRES")}
    if failing_criteria(rows, kinds):
        return {"IEYN": "N"}
    if not kinds or set(kinds) - answered:
        return {"IEYN": None}
    return {"IEYN": "Y"}


def failing_criteria(rows: Iterable[Mapping[str, Any]], kinds: Mapping[str, str]) -> list[str]:
    """The codes whose answer is not the required one (Y for inclusion, N for exclusion)."""
    return [
        str(row["IETESTCD"])
        for row in rows
        if row.get("IEORRES")
        and row.get("IEORRES") != ("Y" if kinds.get(str(row["IETESTCD"]), "IN") == "IN" else "N")
    ]


IE_CHECKS = [
    on_or_after_fact("IEDAT", "ICDAT"),
    ie_answers,
    ie_contradictions,
]


# --- HX ------------------------------------------------------------------------------------


def lenvatinib_interval_problem(last_dose: str, day1: dt.date) -> str | None:
    """IN04: the last lenvatinib dose more than 2 and at most 10 weeks before Day 1.

    crf-spec HX LENENDAT: between Day 1 − 70 and Day 1 − 15 days. A partial date
    breaks the rule only when every day it may stand for is outside the window.
    """
    parsed = parse_partial_date(last_dose)
    first_allowed = day1 - dt.timedelta(days=protocol.LENVATINIB_LAST_DOSE_MAX_DAYS_BEFORE_DAY1)
    last_allowed = day1 - dt.timedelta(days=protocol.LENVATINIB_LAST_DOSE_MIN_DAYS_BEFORE_DAY1)
    if parsed.latest < first_allowed or parsed.earliest > last_allowed:
        return _(
            "the last lenvatinib dose (%(date)s) must fall between %(first)s and %(last)s "
            "(Day 1 − %(max)d to Day 1 − %(min)d days)."
        ) % {
            "date": last_dose,
            "first": first_allowed.isoformat(),
            "last": last_allowed.isoformat(),
            "max": protocol.LENVATINIB_LAST_DOSE_MAX_DAYS_BEFORE_DAY1,
            "min": protocol.LENVATINIB_LAST_DOSE_MIN_DAYS_BEFORE_DAY1,
        }
    return None


def hx_lenvatinib(data: Data, context: CheckContext) -> Iterable[Finding]:
    start, end = _partial(data, "LENSTDAT"), _partial(data, "LENENDAT")
    if start is not None and end is not None and start.earliest >= end.latest:
        yield _hard("LENSTDAT", _("LENSTDAT must be before LENENDAT."), "LENSTDAT_lt_LENENDAT")
    day1 = context.facts.get("DAY1") or context.facts.get("PLDAY1")
    if end is not None and isinstance(day1, dt.date):
        problem = lenvatinib_interval_problem(end.text, day1)
        if problem:
            yield _hard("LENENDAT", problem, "LENENDAT_IN04_window")


def hx_portal_vein(data: Data, context: CheckContext) -> Iterable[Finding]:
    if data.get("MVI") == "Y" and not data.get("VPGRADE"):
        yield _hard(
            "VPGRADE", _("VPGRADE is required when MVI is Yes."), "VPGRADE_required_when_MVI"
        )


HX_CHECKS = [
    partial_date_format("DIAGDAT", "LENSTDAT", "LENENDAT"),
    on_or_before_fact("DIAGDAT", "ICDAT"),
    on_or_before_fact("LENENDAT", "ICDAT"),
    hx_portal_vein,
    hx_lenvatinib,
]


# --- ENR -----------------------------------------------------------------------------------


def enr_dates(data: Data, context: CheckContext) -> Iterable[Finding]:
    enrolled, day1 = data.get("ENRDAT"), data.get("PLDAY1")
    if isinstance(enrolled, dt.date) and isinstance(day1, dt.date):
        latest = enrolled + dt.timedelta(days=protocol.PLANNED_DAY1_MAX_DAYS_AFTER_ENROLMENT)
        if not enrolled <= day1 <= latest:
            yield _hard(
                "PLDAY1",
                _("PLDAY1 must be from ENRDAT to %(days)d days after it (%(first)s to %(last)s).")
                % {
                    "days": protocol.PLANNED_DAY1_MAX_DAYS_AFTER_ENROLMENT,
                    "first": enrolled.isoformat(),
                    "last": latest.isoformat(),
                },
                "PLDAY1_window",
            )


def enr_eligible(data: Data, context: CheckContext) -> Iterable[Finding]:
    if context.facts.get("IEYN") != "Y":
        yield _hard(
            "ENRDAT",
            _(
                "Only an eligible person can be enrolled: the eligibility checklist (IE) is not complete with all criteria met."
            ),
            "ENR_eligible",
        )
    if not context.facts.get("IC_COMPLETE"):
        yield _hard(
            "ENRDAT",
            _("Only a consented person can be enrolled: informed consent (IC) is not complete."),
            "ENR_consented",
        )


ENR_CHECKS = [
    on_or_after_fact("ENRDAT", "IEDAT"),
    enr_dates,
    enr_eligible,
]
