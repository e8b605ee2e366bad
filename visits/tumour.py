"""The TA form's glue to the RECIST 1.1 engine (visits.recist): rows in, responses out.

Checks and derivations run on the form's data (variables) and the subject's other
TAs (facts TA_BASELINE, TA_PREVIOUS, DAY1/PLDAY1), so the web form, the import and
the services apply RECIST the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from crf.checks import CheckContext, Finding, Severity
from study import protocol
from visits import recist

Data = Mapping[str, Any]


def _dec(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def assessment_from_data(data: Data) -> recist.TumourAssessment | None:
    """The engine's view of a TA form's variables (TL, NTL, NL groups)."""
    day = data.get("TADAT")
    if not isinstance(day, dt.date):
        return None
    try:
        targets = tuple(
            recist.TargetLesion(
                lesion_id=str(row.get("TLID") or ""),
                organ=str(row.get("TLLOC") or ""),
                is_node=row.get("TLNODE") == "Y",
                status=recist.TLStatus(row.get("TLSTAT") or "NOT_ASSESSED"),
                diameter_mm=_dec(row.get("TLDIAM")),
            )
            for row in data.get("TL", [])
        )
        non_targets = tuple(
            recist.NonTargetLesion(
                lesion_id=str(row.get("NTLID") or ""),
                organ=str(row.get("NTLLOC") or ""),
                status=recist.NTLStatus(row.get("NTLSTAT") or "NOT_ASSESSED"),
            )
            for row in data.get("NTL", [])
        )
        new_lesions = tuple(
            recist.NewLesion(
                lesion_id=str(row.get("NLID") or ""),
                organ=str(row.get("NLLOC") or ""),
                unequivocal=row.get("NLEQUIV") == "Y",
                first_seen=row.get("NLDAT") if isinstance(row.get("NLDAT"), dt.date) else day,
            )
            for row in data.get("NL", [])
        )
    except ValueError:
        return None
    return recist.TumourAssessment(
        assessed_on=day, targets=targets, non_targets=non_targets, new_lesions=new_lesions
    )


def _is_baseline(facts: Mapping[str, Any]) -> bool:
    return facts.get("TA_IS_BASELINE", False)


def ta_rules(data: Data, context: CheckContext) -> Iterable[Finding]:
    """RECIST 1.1 rules on the lesions (baseline: §3; follow-up: the same targets)."""
    facts = context.facts
    current = assessment_from_data(data)
    if current is None:
        return
    if _is_baseline(facts):
        problems = recist.baseline_problems(current)
        day1 = facts.get("DAY1") or facts.get("PLDAY1")
        if isinstance(day1, dt.date):
            first = day1 + dt.timedelta(days=protocol.SCREENING_WINDOW_FIRST_DAY)
            if not first <= current.assessed_on <= day1:
                yield Finding(
                    "TADAT",
                    _("The baseline scan must be within Day -28 to Day 1 (%(first)s to %(last)s).")
                    % {"first": first.isoformat(), "last": day1.isoformat()},
                    Severity.HARD,
                    "TADAT_baseline_window",
                )
        if data.get("NL"):
            yield Finding(
                "NL", _("New lesions are recorded at follow-up only."), Severity.HARD, "NL_baseline"
            )
    else:
        baseline = facts.get("TA_BASELINE")
        if baseline is None:
            yield Finding(
                "TADAT",
                _("Enter the baseline tumour assessment (SCR) first."),
                Severity.HARD,
                "TA_no_baseline",
            )
            return
        problems = recist.follow_up_problems(baseline, current)
        if not data.get("TAINVRS"):
            yield Finding(
                "TAINVRS",
                _("Enter the investigator's overall response at follow-up."),
                Severity.HARD,
                "TAINVRS_required",
            )
    for problem in problems:
        variable = problem.variable if problem.variable in ("TL", "NTL", "NL", "TADAT") else "TL"
        yield Finding(variable, problem.explain(_), Severity.HARD, f"TA_{problem.variable}")


def ta_investigator_agrees(data: Data, context: CheckContext) -> Iterable[Finding]:
    """TARESP differs from TAINVRS → an automatic query (crf-spec TA)."""
    computed, given = data.get("TARESP"), data.get("TAINVRS")
    if computed and given and computed != given:
        yield Finding(
            "TAINVRS",
            _(
                "The investigator's response (%(given)s) differs from the RECIST 1.1 response (%(computed)s)."
            )
            % {"given": _response_label(given), "computed": _response_label(computed)},
            Severity.SOFT,
            "TAINVRS_vs_TARESP",
        )


def _response_label(code: str) -> str:
    """A response in a message is its label (crf-spec code list RESP), not its code."""
    from crf.codelists import Response

    try:
        return str(Response(code).label)
    except ValueError:
        return code


TA_CHECKS = [ta_rules, ta_investigator_agrees]

EMPTY = {
    "TASUM": None,
    "TAPCHBL": None,
    "TAPCHNAD": None,
    "TATRESP": "",
    "TANTRESP": "",
    "TARESP": "",
}


def ta_derive(data: Data, facts: Mapping[str, Any]) -> dict[str, Any]:
    """TASUM, TAPCHBL, TAPCHNAD, TATRESP, TANTRESP, TARESP (RECIST 1.1, protocol.md table 1)."""
    current = assessment_from_data(data)
    if current is None:
        return dict(EMPTY)
    if _is_baseline(facts):
        total = recist.evaluate(current, ()).baseline_sum
        return {**EMPTY, "TASUM": total}
    baseline = facts.get("TA_BASELINE")
    if baseline is None or recist.follow_up_problems(baseline, current):
        return dict(EMPTY)
    previous: Sequence[recist.TumourAssessment] = facts.get("TA_PREVIOUS", ())
    earlier = [a for a in previous if a.assessed_on < current.assessed_on]
    result = recist.evaluate(baseline, [*earlier, current]).timepoints[-1]
    return {
        "TASUM": result.sum_mm,
        "TAPCHBL": _round(result.change_from_baseline_pct),
        "TAPCHNAD": _round(result.change_from_nadir_pct),
        "TATRESP": str(result.target.value),
        "TANTRESP": str(result.non_target.value),
        "TARESP": str(result.overall.value),
    }


def _round(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"))
