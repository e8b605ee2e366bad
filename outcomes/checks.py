"""Edit checks of the outcomes forms (crf-spec EOT, SFU, SV, DD, DS: the rules columns).

Facts (outcomes.selectors.outcome_facts): DAY1, LAST_EXENDAT (the last EX EXENDAT),
LASTDOSE (EOT), DTHDAT (DD), LATEST_OTHER_DATE (the latest date of the subject's other
records, for DTHDAT), OPEN_NONFATAL_AES (ongoing AEs not marked fatal), HAS_DD.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext as _

from crf.checks import (
    CheckContext,
    Finding,
    Severity,
    check_not_before,
    check_required_when,
)
from crf.codelists import YN, EndOfTreatmentReason, StudyEndReason
from study import protocol

Data = Mapping[str, Any]


def eot_dates(data: Data, context: CheckContext) -> Iterable[Finding]:
    """LASTDOSE ≥ Day 1, ≤ EOTDAT; it should equal the last EXENDAT (soft)."""
    last, day1 = data.get("LASTDOSE"), context.facts.get("DAY1")
    if isinstance(last, dt.date) and isinstance(day1, dt.date) and last < day1:
        yield Finding(
            "LASTDOSE",
            _("LASTDOSE must be on or after Day 1 (%(date)s).") % {"date": day1.isoformat()},
            Severity.HARD,
            "LASTDOSE_not_before_DAY1",
        )
    exposure_end = context.facts.get("LAST_EXENDAT")
    if isinstance(last, dt.date) and isinstance(exposure_end, dt.date) and last != exposure_end:
        yield Finding(
            "LASTDOSE",
            _("LASTDOSE %(date)s differs from the last EXENDAT %(ex)s: please check.")
            % {"date": last.isoformat(), "ex": exposure_end.isoformat()},
            Severity.SOFT,
            "LASTDOSE_eq_EXENDAT",
        )


EOT_CHECKS = [
    check_not_before("EOTDAT", "LASTDOSE"),
    eot_dates,
    check_required_when("EOTRSSP", "EOTRS", EndOfTreatmentReason.OTHER),
]


def sfu_window(data: Data, context: CheckContext) -> Iterable[Finding]:
    """SFUDAT within LASTDOSE + 30 to + 37, else a soft query."""
    value, last = data.get("SFUDAT"), context.facts.get("LASTDOSE")
    if not isinstance(value, dt.date) or not isinstance(last, dt.date):
        return
    start = last + dt.timedelta(days=protocol.SAFETY_FOLLOW_UP_DAYS)
    end = start + dt.timedelta(days=protocol.SAFETY_FOLLOW_UP_WINDOW_AFTER_DAYS)
    if not start <= value <= end:
        yield Finding(
            "SFUDAT",
            _("SFUDAT %(date)s is outside the safety follow-up window %(start)s to %(end)s.")
            % {"date": value.isoformat(), "start": start.isoformat(), "end": end.isoformat()},
            Severity.SOFT,
            "SFUDAT_window",
        )


SFU_CHECKS = [sfu_window]

SV_CHECKS = [
    check_required_when("NACTSTDAT", "NACT", YN.Y),
    check_required_when("NACTTYPE", "NACT", YN.Y),
]


def dd_rules(data: Data, context: CheckContext) -> Iterable[Finding]:
    """DTHDAT ≥ every other date of the subject; an open AE not marked fatal is queried."""
    died = data.get("DTHDAT")
    latest = context.facts.get("LATEST_OTHER_DATE")
    if callable(latest):
        latest = latest()
    if isinstance(died, dt.date) and isinstance(latest, dt.date) and died < latest:
        yield Finding(
            "DTHDAT",
            _("DTHDAT must be on or after every other date of the subject (latest %(date)s).")
            % {"date": latest.isoformat()},
            Severity.HARD,
            "DTHDAT_last_date",
        )
    open_aes = context.facts.get("OPEN_NONFATAL_AES") or 0
    if died is not None and open_aes:
        yield Finding(
            "DTHDAT",
            _("%(n)d adverse event(s) still ongoing and not marked fatal: update their outcome.")
            % {"n": open_aes},
            Severity.SOFT,
            "DTHDAT_open_aes",
        )


DD_CHECKS = [dd_rules]


def ds_death_needs_dd(data: Data, context: CheckContext) -> Iterable[Finding]:
    if data.get("DSDECOD") == StudyEndReason.DEATH and not context.facts.get("HAS_DD"):
        yield Finding(
            "DSDECOD",
            _("DSDECOD is DEATH: a death form (DD) is needed."),
            Severity.SOFT,
            "DSDECOD_death_needs_DD",
        )


DS_CHECKS = [ds_death_needs_dd]
