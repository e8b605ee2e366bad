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
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from crf import partial_dates


class Severity(StrEnum):
    HARD = "hard"
    SOFT = "soft"


@dataclass(frozen=True)
class Finding:
    variable: str
    message: str | Promise
    severity: Severity
    check: str
    # For a variable of a repeating group: the group and the row (1-based, in the order
    # the rows were given), so a page can put the message in that row.
    group: str = ""
    row: int | None = None


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


# --- Rules every form shares (crf.services.save_form applies them to every variable) -------


def field_name(variable: str, label: str | Promise = "", *, row: int | None = None) -> str:
    """How a message names a variable: "Onset date (AESTDAT)", "… in row 2" for a group row."""
    named = _("%(label)s (%(var)s)") % {"label": label, "var": variable} if label else variable
    if row is not None:
        return _("%(field)s in row %(row)s") % {"field": named, "row": row}
    return named


def future_date_finding(
    variable: str,
    value: Any,
    today: dt.date,
    *,
    label: str | Promise = "",
    row: int | None = None,
) -> Finding | None:
    """A hard finding when a date, or a crf-spec *partial* date (``2027-01``), is after
    ``today`` at its own precision; None for an empty value or text that is not a date
    (the format checks say so).

    crf-spec: dates of clinical events are not in the future (SCRDAT "not in the
    future", ICDAT "≤ today"); a form allows one only by declaring it
    (``crf.registry.register(future_dates=...)``, e.g. ENR PLDAY1, a planned day).
    """
    if isinstance(value, dt.datetime) or _empty(value):
        return None
    if isinstance(value, dt.date):
        future, shown = value > today, value.isoformat()
    elif isinstance(value, str):
        try:
            future, shown = partial_dates.in_future(value, today), value.strip()
        except ValueError:
            return None
    else:
        return None
    if not future:
        return None
    return Finding(
        variable,
        _("%(field)s cannot be in the future: %(value)s is after today (%(today)s).")
        % {"field": field_name(variable, label, row=row), "value": shown, "today": today},
        Severity.HARD,
        f"{variable}_not_future",
    )


# Characters that end a line (str.splitlines); a single-line field refuses each of them.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# What a multi-line field (a text area) may hold besides printable text.
MULTILINE_ALLOWED = frozenset("\n\r\t\u2028\u2029")


def forbidden_character(value: str, *, multiline: bool) -> str | None:
    """The first character ``value`` may not hold, or None.

    No text holds a control character (Unicode category Cc: NUL, BEL, ESC …): it is
    invisible to the person reading the form, and in a mail header or a PDF it breaks
    what is built from it. A multi-line field keeps its line breaks and tabs; a
    single-line field holds one line (no line or paragraph separator either).
    """
    for char in value:
        if multiline and char in MULTILINE_ALLOWED:
            continue
        if char in LINE_BREAKS or unicodedata.category(char) == "Cc":
            return char
    return None


def control_character_finding(
    variable: str,
    value: Any,
    *,
    multiline: bool,
    label: str | Promise = "",
    row: int | None = None,
) -> Finding | None:
    """A hard finding when text holds a character its field may not hold
    (``forbidden_character``); None otherwise or for a value that is not text."""
    if not isinstance(value, str):
        return None
    char = forbidden_character(value, multiline=multiline)
    if char is None:
        return None
    field = field_name(variable, label, row=row)
    if char in LINE_BREAKS and not multiline:
        message = _("%(field)s must be a single line: remove the line break.") % {"field": field}
    else:
        message = _("%(field)s contains an invisible control character (%(code)s): remove it.") % {
            "field": field,
            "code": f"U+{ord(char):04X}",
        }
    return Finding(variable, message, Severity.HARD, f"{variable}_control_characters")


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
