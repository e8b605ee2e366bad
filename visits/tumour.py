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

from crf import codelists
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
        group, row = _lesion_row(data, variable, problem.lesion_id)
        yield Finding(
            variable,
            problem.explain(_, code_label),
            Severity.HARD,
            f"TA_{problem.variable}",
            group=group,
            row=row,
        )


_LESION_KEYS = {"TL": "TLID", "NTL": "NTLID", "NL": "NLID"}

# The RECIST engine's codes and the code lists that label them (crf-spec: TLSTAT, NTLSTAT,
# RESP): its sentences name "Present", "Partial response", not PRESENT, PR.
_CODE_LISTS: dict[type, Any] = {
    recist.TLStatus: codelists.TargetStatus,
    recist.NTLStatus: codelists.NonTargetStatus,
    recist.Response: codelists.Response,
    recist.NonTargetResponse: codelists.NonTargetResponse,
}


def code_label(value: object) -> object:
    """A code of the RECIST engine as people read it (its code list's label, in the user's
    language); any other value unchanged. The ``describe`` of ``study.text.Text.render``."""
    choices = _CODE_LISTS.get(type(value))
    if choices is None or str(value) not in choices.values:
        return value
    return str(choices(str(value)).label)


def _lesion_row(data: Data, group: str, lesion_id: str) -> tuple[str, int | None]:
    """The group and 1-based row of the lesion a RECIST problem names, so a page can show
    the message in that row; ("", None) when it names no lesion of the group."""
    key = _LESION_KEYS.get(group)
    if key is None or not lesion_id:
        return "", None
    for number, row in enumerate(data.get(group) or (), start=1):
        if str(row.get(key) or "") == lesion_id:
            return group, number
    return "", None


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
