"""Edit checks: small functions over a dict of crf-spec variables.

A check takes the form's data keyed by variable name (``{"SYSBP": 170, ...}``)
and a context (today, the subject's key dates), and yields findings. A *hard*
finding refuses the save with a message on the field; a *soft* finding is
accepted and recorded for review (a query). The same functions run in the web
forms, the study data file import and the services, so every rule is written
once (crf-spec "Forms": the rules columns).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Severity(StrEnum):
    HARD = "hard"
    SOFT = "soft"


@dataclass(frozen=True)
class Finding:
    variable: str
    message: str | Promise
    severity: Severity
    check: str


@dataclass(frozen=True)
class CheckContext:
    """What a check may need beyond the form's own data."""

    today: dt.date
    facts: Mapping[str, Any] = field(default_factory=dict)
    complete: bool = False  # the form is being marked complete


Check = Callable[[Mapping[str, Any], CheckContext], Iterable[Finding]]


@dataclass(frozen=True)
class CheckOutcome:
    hard: tuple[Finding, ...]
    soft: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.hard


def run_checks(
    checks: Iterable[Check], data: Mapping[str, Any], context: CheckContext
) -> CheckOutcome:
    findings = [finding for check in checks for finding in check(data, context)]
    return CheckOutcome(
        hard=tuple(f for f in findings if f.severity is Severity.HARD),
        soft=tuple(f for f in findings if f.severity is Severity.SOFT),
    )


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def check_range(
    variable: str,
    low: Decimal | int | None,
    high: Decimal | int | None,
    *,
    unit: str | Promise = "",
    soft_low: Decimal | int | None = None,
    soft_high: Decimal | int | None = None,
) -> Check:
    """Hard limits ``low``..``high`` (inclusive); optional soft limits raise a finding."""

    def check(data: Mapping[str, Any], context: CheckContext) -> Iterable[Finding]:
        value: Any = data.get(variable)
        if _empty(value):
            return
        lo, hi, soft_lo, soft_hi = low, high, soft_low, soft_high  # narrowed below
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            yield Finding(
                variable,
                _("%(var)s must be between %(low)s and %(high)s %(unit)s.")
                % {"var": variable, "low": low, "high": high, "unit": unit},
                Severity.HARD,
                f"{variable}_range",
            )
            return
        if soft_hi is not None and value >= soft_hi:
            yield Finding(
                variable,
                _("%(var)s is %(value)s %(unit)s, at or above %(limit)s: please confirm.")
                % {"var": variable, "value": value, "unit": unit, "limit": soft_high},
                Severity.SOFT,
                f"{variable}_soft_high",
            )
        if soft_lo is not None and value <= soft_lo:
            yield Finding(
                variable,
                _("%(var)s is %(value)s %(unit)s, at or below %(limit)s: please confirm.")
                % {"var": variable, "value": value, "unit": unit, "limit": soft_low},
                Severity.SOFT,
                f"{variable}_soft_low",
            )

    return check


def check_required_when(variable: str, when: str, equals: Any) -> Check:
    """``variable`` is required when ``when`` equals ``equals`` (e.g. VPGRADE when MVI=Y)."""

    def check(data: Mapping[str, Any], context: CheckContext) -> Iterable[Finding]:
        if data.get(when) == equals and _empty(data.get(variable)):
            yield Finding(
                variable,
                _("%(var)s is required when %(when)s is %(equals)s.")
                % {"var": variable, "when": when, "equals": equals},
                Severity.HARD,
                f"{variable}_required_when_{when}",
            )

    return check


def check_required_on_completion_when(variable: str, when: str, equals: Any) -> Check:
    """``variable`` is needed for the form to be complete when ``when`` equals ``equals``
    (e.g. the SAE narrative: an SAE may be saved first and its report finished later)."""

    def check(data: Mapping[str, Any], context: CheckContext) -> Iterable[Finding]:
        if context.complete and data.get(when) == equals and _empty(data.get(variable)):
            yield Finding(
                variable,
                _("%(var)s is required for the form to be complete when %(when)s is %(equals)s.")
                % {"var": variable, "when": when, "equals": equals},
                Severity.HARD,
                f"{variable}_required_when_{when}",
            )

    return check


def check_not_future(variable: str) -> Check:
    def check(data: Mapping[str, Any], context: CheckContext) -> Iterable[Finding]:
        value = data.get(variable)
        if isinstance(value, dt.date) and value > context.today:
            yield Finding(
                variable,
                _("%(var)s cannot be in the future.") % {"var": variable},
                Severity.HARD,
                f"{variable}_not_future",
            )

    return check


def check_not_before(variable: str, earlier: str, *, strict: bool = False) -> Check:
    """``variable`` on or after ``earlier`` (after it when ``strict``); both dates."""

    def check(data: Mapping[str, Any], context: CheckContext) -> Iterable[Finding]:
        value, other = data.get(variable), data.get(earlier)
        if not isinstance(value, dt.date) or not isinstance(other, dt.date):
            return
        if value < other or (strict and value == other):
            message = (
                _("%(var)s must be after %(other)s (%(date)s).")
                if strict
                else _("%(var)s must be on or after %(other)s (%(date)s).")
            )
            yield Finding(
                variable,
                message % {"var": variable, "other": earlier, "date": other.isoformat()},
                Severity.HARD,
                f"{variable}_not_before_{earlier}",
            )

    return check


def required_findings(required: Iterable[str], data: Mapping[str, Any]) -> list[Finding]:
    """Findings for required variables left empty (the form cannot be complete)."""
    return [
        Finding(
            name,
            _("%(var)s is required for the form to be complete.") % {"var": name},
            Severity.HARD,
            f"{name}_required",
        )
        for name in required
        if _empty(data.get(name))
    ]
