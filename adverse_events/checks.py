"""Edit checks and derivations of the AE and DV forms (crf-spec AE, DV: the rules columns).

Facts (crf.registry.subject_facts): ICDAT (informed consent), DAY1 (first anlotinib
dose), LASTDOSE (end of treatment, once known) and DTHDAT (death, once recorded).
The CTCAE term of the form is looked up in the shipped term list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext as _

from adverse_events import teae
from crf.checks import (
    Check,
    CheckContext,
    Finding,
    Severity,
    check_not_before,
    check_range,
    check_required_on_completion_when,
    check_required_when,
)
from crf.codelists import YN, AEOutcome

Data = Mapping[str, Any]

SERIOUSNESS_CRITERIA = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")
RESOLVED_OUTCOMES = frozenset({AEOutcome.RECOVERED, AEOutcome.RECOVERED_WITH_SEQUELAE})
ONGOING_OUTCOMES = frozenset({AEOutcome.NOT_RECOVERED, AEOutcome.RECOVERING})


def _hard(variable: str, message: str, check: str) -> Finding:
    return Finding(variable, message, Severity.HARD, check)


def find_term(term: str | None) -> Any:
    """The CtcaeTerm named ``term`` (exact, as the list spells it), or None."""
    if not term:
        return None
    from adverse_events.models import CtcaeTerm

    return CtcaeTerm.objects.filter(term=term).first()


def ae_term(data: Data, context: CheckContext) -> Iterable[Finding]:
    """AETERM from the CTCAE v5.0 list; "Other, specify" needs AETERMSP; only the
    grades the term defines."""
    name = data.get("AETERM")
    if not name:
        return
    term = find_term(name)
    if term is None:
        yield _hard(
            "AETERM",
            _("%(term)s is not a CTCAE v5.0 term: pick one from the list.") % {"term": name},
            "AETERM_ctcae",
        )
        return
    if term.is_other_specify and not (data.get("AETERMSP") or "").strip():
        yield _hard(
            "AETERMSP",
            _("AETERMSP is required for the term %(term)s.") % {"term": term.term},
            "AETERMSP_required_other",
        )
    grade = data.get("AETOXGR")
    defined = [n for n, _text in term.grades()]
    if grade is not None and grade not in defined:
        yield _hard(
            "AETOXGR",
            _("%(term)s has no grade %(grade)s in CTCAE v5.0; its grades are %(grades)s.")
            % {
                "term": term.term,
                "grade": grade,
                "grades": ", ".join(str(n) for n in defined),
            },
            "AETOXGR_defined",
        )


def ae_dates(data: Data, context: CheckContext) -> Iterable[Finding]:
    """Onset on or after consent; ongoing exactly when there is no resolution date."""
    onset, end, ongoing = data.get("AESTDAT"), data.get("AEENDAT"), data.get("AEONGO")
    consent = context.facts.get("ICDAT")
    if isinstance(onset, dt.date) and isinstance(consent, dt.date) and onset < consent:
        yield _hard(
            "AESTDAT",
            _("AESTDAT must be on or after the informed consent date (%(date)s).")
            % {"date": consent.isoformat()},
            "AESTDAT_not_before_ICDAT",
        )
    if ongoing == YN.Y and end is not None:
        yield _hard(
            "AEENDAT",
            _("AEENDAT must be empty while the AE is ongoing (AEONGO = Yes)."),
            "AEENDAT_empty_when_ongoing",
        )
    if ongoing == YN.N and end is None:
        yield _hard(
            "AEENDAT",
            _("AEENDAT is required when the AE is not ongoing (AEONGO = No)."),
            "AEENDAT_required_when_not_ongoing",
        )


def ae_outcome(data: Data, context: CheckContext) -> Iterable[Finding]:
    """AEOUT consistent with the end date; grade 5 exactly when fatal; a fatal AE needs DD."""
    outcome, end, ongoing = data.get("AEOUT"), data.get("AEENDAT"), data.get("AEONGO")
    grade = data.get("AETOXGR")
    if outcome in RESOLVED_OUTCOMES and end is None:
        yield _hard(
            "AEENDAT",
            _("AEENDAT is required when the outcome is %(outcome)s.")
            % {"outcome": AEOutcome(outcome).label},
            "AEENDAT_required_when_resolved",
        )
    if outcome in ONGOING_OUTCOMES and ongoing and ongoing != YN.Y:
        yield _hard(
            "AEONGO",
            _("AEONGO must be Yes when the outcome is %(outcome)s.")
            % {"outcome": AEOutcome(outcome).label},
            "AEONGO_when_not_recovered",
        )
    if grade is not None and outcome and (grade == 5) != (outcome == AEOutcome.FATAL):
        yield _hard(
            "AETOXGR",
            _("Grade 5 is recorded exactly when the outcome is fatal (AEOUT = FATAL)."),
            "AETOXGR_5_iff_fatal",
        )
    if outcome == AEOutcome.FATAL or grade == 5:
        death = context.facts.get("DTHDAT")
        if outcome == AEOutcome.FATAL and end is None:
            yield _hard(
                "AEENDAT",
                _("AEENDAT is required for a fatal AE: the date of death."),
                "AEENDAT_required_when_fatal",
            )
        if death is None:
            yield Finding(
                "AEOUT",
                _("A fatal AE needs a death form (DD): please record the death."),
                Severity.SOFT,
                "AEOUT_fatal_needs_DD",
            )
        elif isinstance(end, dt.date) and end != death:
            yield _hard(
                "AEENDAT",
                _("AEENDAT of a fatal AE must be the date of death (%(date)s).")
                % {"date": death.isoformat()},
                "AEENDAT_eq_DTHDAT",
            )


def ae_seriousness(data: Data, context: CheckContext) -> Iterable[Finding]:
    """AESER = Yes exactly when at least one seriousness criterion is Yes."""
    serious = data.get("AESER")
    met = [name for name in SERIOUSNESS_CRITERIA if data.get(name) == YN.Y]
    if serious == YN.Y and not met:
        yield _hard(
            "AESER",
            _("A serious AE needs at least one seriousness criterion answered Yes."),
            "AESER_needs_criterion",
        )
    if serious == YN.N and met:
        for name in met:
            yield _hard(
                name,
                _("%(var)s is Yes, so the AE is serious: set AESER to Yes.") % {"var": name},
                f"{name}_implies_AESER",
            )


AE_CHECKS = [
    check_range("AETOXGR", 1, 5),
    ae_term,
    check_not_before("AEENDAT", "AESTDAT"),
    check_not_before("SAEAWDAT", "AESTDAT"),
    ae_dates,
    ae_outcome,
    ae_seriousness,
    *[check_required_when(name, "AESER", YN.Y) for name in SERIOUSNESS_CRITERIA],
    check_required_when("SAEAWDAT", "AESER", YN.Y),
    check_required_on_completion_when("SAENARR", "AESER", YN.Y),
]


def ae_derive(data: Data, facts: Mapping[str, Any]) -> dict[str, Any]:
    """AESOC from the term; TEAE by adverse_events.teae (Day 1 ≤ onset ≤ last dose + 30)."""
    term = find_term(data.get("AETERM"))
    onset = data.get("AESTDAT")
    emergent = None
    if isinstance(onset, dt.date):
        flag = teae.is_treatment_emergent(
            onset=onset, day1=facts.get("DAY1"), last_dose=facts.get("LASTDOSE")
        )
        emergent = YN.Y.value if flag else YN.N.value
    return {"AESOC": term.soc if term is not None else "", "TEAE": emergent}


DV_CHECKS: list[Check] = []  # DVDAT not in the future: the shared rule (crf.services)
