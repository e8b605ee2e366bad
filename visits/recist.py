"""RECIST 1.1 for the tumour assessments (TA form): lesions in, responses out.

Pure Python, no Django: frozen dataclasses in, frozen dataclasses out, so that the
web form, the study-data import and the outcome analyses apply one set of rules,
and the rules can be tested exhaustively without a database.

Sources, cited rule by rule:
- "RECIST 1.1 §n": Eisenhauer et al., Eur J Cancer 2009;45:228-247.
- "RECIST 1.1 FAQ": the RECIST working group's questions and clarifications
  (recist.eortc.org).
- "protocol.md: <section>": ../shared/protocol.md, the protocol as the software knows it.
- "crf-spec: TA": ../shared/crf-spec.md, the TA form (TL, NTL, NL groups).

Every number is a named parameter of `study.protocol`.

Arithmetic (protocol.md: RECIST 1.1, "Arithmetic on diameters is exact"): diameters,
sums and percentages are `Decimal`, never float. The thresholds are tested by exact
cross-multiplication (sum × 100 ≤ baseline × 70), so that 28.0 → 19.6 mm is a PR and
27.0 → 32.4 mm a PD. Percent changes are computed for TAPCHBL/TAPCHNAD and display only.

Interpretation choices:
- A subject without non-target lesions gets `NonTargetResponse.NONE`. Table 1 is written
  for subjects with non-target disease; with none, target CR means that all known
  disease is gone, which is CR (RECIST 1.1 §4.3.1 CR, "disappearance of all target
  lesions", with no other disease recorded). Elsewhere NONE counts as non-PD.
- Nodal CR: a target node counts in the sum with its short axis even when < 10 mm,
  so a CR can carry a non-zero sum (RECIST 1.1 §4.3.2). CR is tested before PD: nodes
  that stay < 10 mm are normal, and a growing normal node is not progression.
- Baseline and follow-up lesions are matched by lesion ID. A baseline target missing
  at follow-up counts as not assessed; a follow-up target unknown at baseline is
  ignored by `evaluate` (both are reported by `follow_up_problems`). The same goes for
  non-targets, except that an unknown non-target showing unequivocal progression
  still counts as PD.
- A diameter that is negative or not a finite number is unusable: the lesion counts
  as not assessed (and the problem functions report it).
- An incomplete sum (a target not assessed) is reported as `sum_mm=None` and never
  becomes the nadir, even when the assessed targets alone already show PD.
- BOR: a TA on the day new anticancer therapy starts is not "before" it and is left
  out; the first PD ends the TAs considered, and a PD dated back to an earlier scan (a
  new lesion first seen there while equivocal) also drops the responses from that
  scan on (protocol.md: Best overall response; RECIST 1.1 §4.3.5).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from study.protocol import (
    RECIST_CONFIRMATION_MIN_DAYS,
    RECIST_MAX_TARGETS,
    RECIST_MAX_TARGETS_PER_ORGAN,
    RECIST_MIN_MEASURABLE_MM,
    RECIST_MIN_MEASURABLE_NODE_MM,
    RECIST_NORMAL_NODE_MM,
    RECIST_PD_INCREASE_PERCENT,
    RECIST_PD_MIN_ABSOLUTE_MM,
    RECIST_PR_DECREASE_PERCENT,
    RECIST_SD_MIN_STUDY_DAY,
    RECIST_TOO_SMALL_DEFAULT_MM,
)
from study.text import Text, gettext_noop, text
from visits.schedule import study_day  # the one definition of the study day (no Day 0)

__all__ = [
    "BestResponse",
    "Evaluation",
    "NTLStatus",
    "NewLesion",
    "NonTargetLesion",
    "NonTargetResponse",
    "Problem",
    "Response",
    "TLStatus",
    "TargetLesion",
    "TimepointResult",
    "TumourAssessment",
    "baseline_problems",
    "best_overall_response",
    "display_pct",
    "effective_diameter",
    "evaluate",
    "follow_up_problems",
    "study_day",
]

ZERO = Decimal(0)
HUNDRED = Decimal(100)
# Sums of diameters in tenths of a millimetre multiply exactly at this precision,
# whatever decimal context the caller has set.
_CONTEXT = Context(prec=50)
# RECIST 1.1 FAQ ("paired organs"): all lymph nodes together are one organ.
NODE_ORGAN = "LYMPH_NODE"


# --- Codes (crf-spec: code lists TLSTAT, NTLSTAT, RESP) ---------------------------------


class TLStatus(enum.StrEnum):
    """TLSTAT: the status of a target lesion at one TA."""

    MEASURED = "MEASURED"
    TOO_SMALL = "TOO_SMALL"
    DISAPPEARED = "DISAPPEARED"
    NOT_ASSESSED = "NOT_ASSESSED"


class NTLStatus(enum.StrEnum):
    """NTLSTAT: the status of a non-target lesion at one TA."""

    PRESENT = "PRESENT"
    ABSENT = "ABSENT"
    UNEQUIVOCAL_PD = "UNEQUIVOCAL_PD"
    NOT_ASSESSED = "NOT_ASSESSED"


class Response(enum.StrEnum):
    """RESP: a target, time-point or best overall response."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"


class NonTargetResponse(enum.StrEnum):
    """The non-target response (RECIST 1.1 §4.3.3); NONE: no non-target lesions."""

    CR = "CR"
    NON_CR_NON_PD = "NON_CR_NON_PD"
    PD = "PD"
    NE = "NE"
    NONE = "NONE"


# --- Inputs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetLesion:
    """A TL row: the longest diameter, or the short axis for a node."""

    lesion_id: str
    organ: str
    is_node: bool
    status: TLStatus
    diameter_mm: Decimal | None


@dataclass(frozen=True)
class NonTargetLesion:
    """An NTL row."""

    lesion_id: str
    organ: str
    status: NTLStatus
    is_node: bool = False


@dataclass(frozen=True)
class NewLesion:
    """An NL row; `first_seen` (NLDAT) dates the PD (crf-spec: TA; RECIST 1.1 §4.3.5)."""

    lesion_id: str
    organ: str
    unequivocal: bool
    first_seen: date


@dataclass(frozen=True)
class TumourAssessment:
    """One TA: the baseline (SCR) or a follow-up scan."""

    assessed_on: date
    targets: tuple[TargetLesion, ...]
    non_targets: tuple[NonTargetLesion, ...] = ()
    new_lesions: tuple[NewLesion, ...] = ()


# --- Outputs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """A broken rule: the lesion (or ""), the crf-spec group or variable, and the rule.

    ``message`` is in English; ``explain(gettext)`` gives the user's language (``text``
    is the catalogue message with its values, None for a Problem built with a string).
    """

    lesion_id: str
    variable: str
    message: str
    text: Text | None = field(default=None, compare=False)

    def explain(
        self,
        translate: Callable[[str], str],
        describe: Callable[[object], object] | None = None,
    ) -> str:
        return self.text.render(translate, describe) if self.text is not None else self.message


@dataclass(frozen=True)
class TimepointResult:
    """The derived variables of one follow-up TA (crf-spec: TA, TASUM … TARESP).

    `nadir_mm` is the smallest complete sum before this TA, baseline included; it is
    None only when the baseline sum itself cannot be computed.
    """

    assessed_on: date
    sum_mm: Decimal | None
    change_from_baseline_pct: Decimal | None
    change_from_nadir_pct: Decimal | None
    nadir_mm: Decimal | None
    target: Response
    non_target: NonTargetResponse
    new_lesion: bool
    overall: Response
    pd_date: date | None


@dataclass(frozen=True)
class Evaluation:
    """The baseline sum and one result per follow-up TA, in date order."""

    baseline_sum: Decimal | None
    timepoints: tuple[TimepointResult, ...]


@dataclass(frozen=True)
class BestResponse:
    """The best overall response with confirmation (protocol.md: Best overall response).

    `first_response_on`: the first TA of the earliest confirmed response (CR or PR),
    where a duration of response starts; `confirmed_on`: the TA confirming the BOR.
    Both are None unless the BOR is CR or PR.
    """

    bor: Response
    confirmed_on: date | None
    first_response_on: date | None
    reason: str  # in English; ``explain_reason(gettext)`` gives the user's language
    reason_text: Text | None = field(default=None, compare=False)

    def explain_reason(
        self,
        translate: Callable[[str], str],
        describe: Callable[[object], object] | None = None,
    ) -> str:
        if self.reason_text is None:
            return self.reason
        return self.reason_text.render(translate, describe)


# --- Small helpers ----------------------------------------------------------------------


def display_pct(value: Decimal | None) -> str:
    """A percentage to one decimal for display ("-30.0"); "" when there is none.

    Display only: every comparison uses the exact value. Halves round away from zero.
    """
    if value is None or not value.is_finite():
        return ""
    shown = value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return str(abs(shown) if shown.is_zero() else shown)


def _usable_mm(value: Decimal | None) -> Decimal | None:
    """A diameter that can enter a sum: finite and not negative."""
    if value is None or not value.is_finite() or value < ZERO:
        return None
    return value


def effective_diameter(lesion: TargetLesion) -> Decimal | None:
    """The diameter a target lesion contributes to the sum, None when not assessed.

    RECIST 1.1 §4.3.2: a lesion that disappeared counts 0 mm; one too small to measure
    counts RECIST_TOO_SMALL_DEFAULT_MM unless the radiologist gives a value (crf-spec:
    TLDIAM). A node contributes its short axis, even below 10 mm.
    """
    if lesion.status is TLStatus.MEASURED:
        return _usable_mm(lesion.diameter_mm)
    if lesion.status is TLStatus.DISAPPEARED:
        return ZERO
    if lesion.status is TLStatus.TOO_SMALL:
        if lesion.diameter_mm is None:
            return RECIST_TOO_SMALL_DEFAULT_MM
        return _usable_mm(lesion.diameter_mm)
    return None


def _sum(values: Iterable[Decimal]) -> Decimal:
    with localcontext(_CONTEXT):
        return sum(values, ZERO)


def _pct_change(value: Decimal | None, reference: Decimal | None) -> Decimal | None:
    """(value − reference) / reference × 100; None when undefined (reference 0)."""
    if value is None or reference is None or reference.is_zero():
        return None
    with localcontext(_CONTEXT):
        return (value - reference) * HUNDRED / reference


def _meets_pd(total: Decimal, nadir: Decimal) -> bool:
    """RECIST 1.1 §4.3.1 PD: ≥ 20 % above the nadir and ≥ 5 mm above it (exact)."""
    with localcontext(_CONTEXT):
        relative = total * HUNDRED >= nadir * (HUNDRED + RECIST_PD_INCREASE_PERCENT)
        absolute = total - nadir >= RECIST_PD_MIN_ABSOLUTE_MM
    return relative and absolute


def _meets_pr(total: Decimal, baseline: Decimal) -> bool:
    """RECIST 1.1 §4.3.1 PR: ≥ 30 % below the baseline sum (exact)."""
    with localcontext(_CONTEXT):
        return total * HUNDRED <= baseline * (HUNDRED - RECIST_PR_DECREASE_PERCENT)


def _fmt_mm(value: Decimal) -> str:
    return f"{value.normalize():f}" if value.is_finite() else str(value)


def _problem(lesion_id: str, variable: str, message: Text) -> Problem:
    """A Problem with its message in English and as a Text for the user's language."""
    return Problem(lesion_id, variable, message.render(), message)


def _duplicate_id_problems(assessment: TumourAssessment) -> list[Problem]:
    """Every lesion of a TA needs its own ID (crf-spec: TA, TLID/NTLID/NLID)."""
    problems: list[Problem] = []
    rows: list[tuple[str, str]] = [
        *(("TL", t.lesion_id) for t in assessment.targets),
        *(("NTL", n.lesion_id) for n in assessment.non_targets),
        *(("NL", n.lesion_id) for n in assessment.new_lesions),
    ]
    seen: set[str] = set()
    for group, lesion_id in rows:
        if not lesion_id.strip():
            problems.append(
                _problem("", group, text(gettext_noop("Every lesion needs a lesion ID.")))
            )
        elif lesion_id in seen:
            problems.append(
                _problem(
                    lesion_id,
                    group,
                    text(
                        gettext_noop(
                            "Lesion ID %(lesion)s is used more than once; each lesion needs its own ID."
                        ),
                        lesion=lesion_id,
                    ),
                )
            )
        seen.add(lesion_id)
    return problems


# --- Baseline (RECIST 1.1 §3.1, §4.2) ---------------------------------------------------


def baseline_problems(assessment: TumourAssessment) -> list[Problem]:
    """The RECIST 1.1 rules a baseline TA breaks, with the rule in each message.

    1 to RECIST_MAX_TARGETS targets and at most RECIST_MAX_TARGETS_PER_ORGAN per organ
    (RECIST 1.1 §4.2; lymph nodes together are one organ, RECIST 1.1 FAQ); each target
    MEASURED with a diameter (RECIST 1.1 §4.2), ≥ RECIST_MIN_MEASURABLE_MM, or for a node
    a short axis ≥ RECIST_MIN_MEASURABLE_NODE_MM (RECIST 1.1 §3.1.1); non-targets present
    (RECIST 1.1 §4.2); lesion IDs unique. No side effects.
    """
    problems = _duplicate_id_problems(assessment)
    targets = assessment.targets
    if not 1 <= len(targets) <= RECIST_MAX_TARGETS:
        problems.append(
            _problem(
                "",
                "TL",
                text(
                    gettext_noop(
                        "1 to %(max)s target lesions are recorded at baseline (RECIST 1.1 §4.2): %(n)s given."
                    ),
                    max=RECIST_MAX_TARGETS,
                    n=len(targets),
                ),
            )
        )
    per_organ: Counter[str] = Counter()
    for target in targets:
        organ = NODE_ORGAN if target.is_node else target.organ
        per_organ[organ] += 1
        if per_organ[organ] == RECIST_MAX_TARGETS_PER_ORGAN + 1:
            count = sum(1 for t in targets if (NODE_ORGAN if t.is_node else t.organ) == organ)
            problems.append(
                _problem(
                    target.lesion_id,
                    "TL",
                    text(
                        gettext_noop(
                            "At most %(max)s target lesions per organ (RECIST 1.1 §4.2): %(organ)s has %(n)s."
                        ),
                        max=RECIST_MAX_TARGETS_PER_ORGAN,
                        organ=organ,
                        n=count,
                    ),
                )
            )
    for target in targets:
        problems.extend(_baseline_target_problems(target))
    for lesion in assessment.non_targets:
        if lesion.status is not NTLStatus.PRESENT:
            problems.append(
                _problem(
                    lesion.lesion_id,
                    "NTL",
                    text(
                        gettext_noop(
                            "A non-target lesion at baseline is recorded as present (RECIST 1.1 §4.2): %(lesion)s is %(status)s."
                        ),
                        lesion=lesion.lesion_id,
                        status=lesion.status,
                    ),
                )
            )
    return problems


def _baseline_target_problems(target: TargetLesion) -> list[Problem]:
    diameter = _usable_mm(target.diameter_mm)
    if target.status is not TLStatus.MEASURED:
        return [
            _problem(
                target.lesion_id,
                "TL",
                text(
                    gettext_noop(
                        "A target lesion at baseline must be measured, with a diameter (RECIST 1.1 §4.2): %(lesion)s is %(status)s."
                    ),
                    lesion=target.lesion_id,
                    status=target.status,
                ),
            )
        ]
    if diameter is None:
        return [
            _problem(
                target.lesion_id,
                "TL",
                text(
                    gettext_noop(
                        "A target lesion at baseline must be measured, with a diameter (RECIST 1.1 §4.2): %(lesion)s is without a diameter."
                    ),
                    lesion=target.lesion_id,
                ),
            )
        ]
    if target.is_node and diameter < RECIST_MIN_MEASURABLE_NODE_MM:
        return [
            _problem(
                target.lesion_id,
                "TL",
                text(
                    gettext_noop(
                        "A target lymph node needs a short axis of at least %(min)s mm (RECIST 1.1 §3.1): %(lesion)s is %(mm)s mm."
                    ),
                    min=_fmt_mm(RECIST_MIN_MEASURABLE_NODE_MM),
                    lesion=target.lesion_id,
                    mm=_fmt_mm(diameter),
                ),
            )
        ]
    if not target.is_node and diameter < RECIST_MIN_MEASURABLE_MM:
        return [
            _problem(
                target.lesion_id,
                "TL",
                text(
                    gettext_noop(
                        "A target lesion needs a longest diameter of at least %(min)s mm (RECIST 1.1 §3.1): %(lesion)s is %(mm)s mm."
                    ),
                    min=_fmt_mm(RECIST_MIN_MEASURABLE_MM),
                    lesion=target.lesion_id,
                    mm=_fmt_mm(diameter),
                ),
            )
        ]
    return []


# --- Follow-up (RECIST 1.1 §4.3) --------------------------------------------------------


def follow_up_problems(baseline: TumourAssessment, assessment: TumourAssessment) -> list[Problem]:
    """The rules a follow-up TA breaks against its baseline, with the rule in each message.

    The same target and non-target lesions as at baseline, none missing, none added
    (protocol.md: RECIST 1.1, "the same lesions as at baseline"; RECIST 1.1 §4.3); a
    diameter when MEASURED, 0 when DISAPPEARED (TLDIAM); a new lesion first seen
    after the baseline scan and on or before this one (NLDAT). No side effects.
    """
    problems = _duplicate_id_problems(assessment)
    if assessment.assessed_on <= baseline.assessed_on:  # protocol.md: Parameters, tumour assessment
        problems.append(
            _problem(
                "",
                "TADAT",
                text(
                    gettext_noop(
                        "A follow-up scan is dated after the baseline scan: the baseline is on %(date)s."
                    ),
                    date=baseline.assessed_on.isoformat(),
                ),
            )
        )
    base_targets = {t.lesion_id: t for t in baseline.targets}
    seen_targets = {t.lesion_id for t in assessment.targets}
    for lesion_id in base_targets:  # protocol.md: RECIST 1.1, the same lesions as at baseline
        if lesion_id not in seen_targets:
            problems.append(
                _problem(
                    lesion_id,
                    "TL",
                    text(
                        gettext_noop(
                            "Every baseline target lesion is assessed at each follow-up: %(lesion)s is missing; record it as not assessed if it was not evaluated."
                        ),
                        lesion=lesion_id,
                    ),
                )
            )
    for target in assessment.targets:
        base = base_targets.get(target.lesion_id)
        if base is None:
            problems.append(
                _problem(
                    target.lesion_id,
                    "TL",
                    text(
                        gettext_noop(
                            "Target lesions are chosen at baseline only (RECIST 1.1 §4.2): %(lesion)s is not a baseline target; record a new lesion under NL."
                        ),
                        lesion=target.lesion_id,
                    ),
                )
            )
        elif base.is_node != target.is_node:
            problems.append(
                _problem(
                    target.lesion_id,
                    "TL",
                    text(
                        gettext_noop(
                            "A target lesion stays a node or a non-node as at baseline (RECIST 1.1 §4.3.2): %(lesion)s changed."
                        ),
                        lesion=target.lesion_id,
                    ),
                )
            )
        problems.extend(_follow_up_target_problems(target))
    base_non_targets = {n.lesion_id for n in baseline.non_targets}
    seen_non_targets = {n.lesion_id for n in assessment.non_targets}
    for lesion_id in sorted(base_non_targets - seen_non_targets):
        problems.append(
            _problem(
                lesion_id,
                "NTL",
                text(
                    gettext_noop(
                        "Every baseline non-target lesion is assessed at each follow-up (RECIST 1.1 §4.2): %(lesion)s is missing; record it as not assessed if it was not evaluated."
                    ),
                    lesion=lesion_id,
                ),
            )
        )
    for lesion in assessment.non_targets:
        if lesion.lesion_id not in base_non_targets:
            problems.append(
                _problem(
                    lesion.lesion_id,
                    "NTL",
                    text(
                        gettext_noop(
                            "Non-target lesions are recorded at baseline only (RECIST 1.1 §4.2): %(lesion)s is not a baseline non-target; record a new lesion under NL."
                        ),
                        lesion=lesion.lesion_id,
                    ),
                )
            )
    for new in assessment.new_lesions:
        if new.first_seen > assessment.assessed_on:
            problems.append(
                _problem(
                    new.lesion_id,
                    "NL",
                    text(
                        gettext_noop(
                            "A new lesion is first seen on or before the date of this scan (NLDAT): %(lesion)s was first seen on %(date)s."
                        ),
                        lesion=new.lesion_id,
                        date=new.first_seen.isoformat(),
                    ),
                )
            )
        elif new.first_seen <= baseline.assessed_on:
            problems.append(
                _problem(
                    new.lesion_id,
                    "NL",
                    text(
                        gettext_noop(
                            "A new lesion is first seen after the baseline scan (RECIST 1.1 §4.3.5): %(lesion)s was first seen on %(date)s."
                        ),
                        lesion=new.lesion_id,
                        date=new.first_seen.isoformat(),
                    ),
                )
            )
    return problems


def _follow_up_target_problems(target: TargetLesion) -> list[Problem]:
    diameter = target.diameter_mm
    if diameter is not None and _usable_mm(diameter) is None:
        return [
            _problem(
                target.lesion_id,
                "TL",
                text(
                    gettext_noop(
                        "A diameter is a number of millimetres, 0 or more (TLDIAM): %(lesion)s has %(value)s."
                    ),
                    lesion=target.lesion_id,
                    value=str(diameter),
                ),
            )
        ]
    if target.status is TLStatus.MEASURED and diameter is None:
        return [
            _problem(
                target.lesion_id,
                "TL",
                text(
                    gettext_noop(
                        "A measured target lesion needs its diameter (TLDIAM): %(lesion)s has none."
                    ),
                    lesion=target.lesion_id,
                ),
            )
        ]
    if target.status is TLStatus.DISAPPEARED and diameter is not None and not diameter.is_zero():
        return [
            _problem(
                target.lesion_id,
                "TL",
                text(
                    gettext_noop(
                        "A target lesion that disappeared is recorded as 0 mm (RECIST 1.1 §4.3.2): %(lesion)s has %(mm)s mm."
                    ),
                    lesion=target.lesion_id,
                    mm=_fmt_mm(diameter),
                ),
            )
        ]
    return []


# --- Time-point response (RECIST 1.1 §4.3, §4.4.1 table 1) -------------------------------


def _target_response(
    baseline: TumourAssessment,
    baseline_sum: Decimal | None,
    nadir: Decimal | None,
    assessment: TumourAssessment,
) -> tuple[Response, Decimal | None]:
    """The target response and the sum (None when incomplete), matched by lesion ID."""
    if baseline_sum is None or nadir is None or not baseline.targets:
        return Response.NE, None
    current = {t.lesion_id: t for t in assessment.targets}
    measured: list[tuple[TargetLesion, Decimal]] = []
    complete = True
    for base in baseline.targets:
        lesion = current.get(base.lesion_id)
        diameter = None if lesion is None else effective_diameter(lesion)
        if diameter is None:
            complete = False
        else:
            # Whether a lesion is a node is fixed at baseline (RECIST 1.1 §4.3.2).
            measured.append((base, diameter))
    total = _sum(d for _, d in measured)
    if not complete:
        # RECIST 1.1 §4.4.2: a partial assessment is NE unless the lesions measured
        # already show PD, which the missing ones could not undo.
        return (Response.PD if _meets_pd(total, nadir) else Response.NE), None
    # RECIST 1.1 §4.3.1 CR: non-nodal targets gone, every nodal target < 10 mm short
    # axis (§4.3.2: the nodes keep counting in the sum, which may not be zero).
    if all((d < RECIST_NORMAL_NODE_MM) if base.is_node else d.is_zero() for base, d in measured):
        return Response.CR, total
    if _meets_pd(total, nadir):
        return Response.PD, total
    if _meets_pr(total, baseline_sum):
        return Response.PR, total
    return Response.SD, total


def _non_target_response(
    baseline: TumourAssessment, assessment: TumourAssessment
) -> NonTargetResponse:
    """RECIST 1.1 §4.3.3: CR, non-CR/non-PD, PD (unequivocal progression), NE.

    CR needs every non-target ABSENT: a node back below 10 mm is normal and recorded
    ABSENT. Baseline lesions missing at follow-up count as not assessed.
    """
    current = {n.lesion_id: n.status for n in assessment.non_targets}
    statuses = [current.get(n.lesion_id, NTLStatus.NOT_ASSESSED) for n in baseline.non_targets]
    known = {n.lesion_id for n in baseline.non_targets}
    statuses += [n.status for n in assessment.non_targets if n.lesion_id not in known]
    if not statuses:
        return NonTargetResponse.NONE
    if NTLStatus.UNEQUIVOCAL_PD in statuses:
        return NonTargetResponse.PD
    if NTLStatus.NOT_ASSESSED in statuses:
        return NonTargetResponse.NE
    if all(s is NTLStatus.ABSENT for s in statuses):
        return NonTargetResponse.CR
    return NonTargetResponse.NON_CR_NON_PD


def _overall(target: Response, non_target: NonTargetResponse, new_lesion: bool) -> Response:
    """protocol.md: Time-point overall response (RECIST 1.1 §4.4.1, table 1), every row."""
    if new_lesion or target is Response.PD or non_target is NonTargetResponse.PD:
        return Response.PD
    if target is Response.CR:
        # No non-target disease: all known disease is gone (module docstring).
        if non_target in (NonTargetResponse.CR, NonTargetResponse.NONE):
            return Response.CR
        return Response.PR  # non-CR/non-PD or NE
    # PR, SD and NE stay as they are with non-PD (or NE) non-targets.
    return target


def evaluate(baseline: TumourAssessment, follow_ups: Sequence[TumourAssessment]) -> Evaluation:
    """The baseline sum and the time-point responses of the follow-ups, by date.

    Per TA: the sum (TASUM), % change from baseline (TAPCHBL) and from the nadir
    (TAPCHNAD), the target (§4.3.1), non-target (§4.3.3) and overall response
    (protocol.md table 1), and the PD date: the scan date, or for an unequivocal new
    lesion the date it was first seen (RECIST 1.1 §4.3.5). The nadir is the smallest
    complete sum before the TA, baseline included (RECIST 1.1 §4.3.1 PD). No side
    effects; never raises on inconsistent data (see the problem functions for those).
    """
    base_diameters = [effective_diameter(t) for t in baseline.targets]
    baseline_sum: Decimal | None = None
    if all(d is not None for d in base_diameters):
        baseline_sum = _sum(d for d in base_diameters if d is not None)
    nadir = baseline_sum
    results: list[TimepointResult] = []
    for assessment in sorted(follow_ups, key=lambda a: a.assessed_on):
        target, total = _target_response(baseline, baseline_sum, nadir, assessment)
        non_target = _non_target_response(baseline, assessment)
        unequivocal = [n for n in assessment.new_lesions if n.unequivocal]
        overall = _overall(target, non_target, bool(unequivocal))
        pd_date = None
        if overall is Response.PD:
            # RECIST 1.1 §4.3.5: an equivocal lesion later proved unequivocal dates the
            # PD to the scan where it was first seen (NLDAT).
            pd_date = min([assessment.assessed_on, *(n.first_seen for n in unequivocal)])
        results.append(
            TimepointResult(
                assessed_on=assessment.assessed_on,
                sum_mm=total,
                change_from_baseline_pct=_pct_change(total, baseline_sum),
                change_from_nadir_pct=_pct_change(total, nadir),
                nadir_mm=nadir,
                target=target,
                non_target=non_target,
                new_lesion=bool(unequivocal),
                overall=overall,
                pd_date=pd_date,
            )
        )
        if total is not None and nadir is not None and total < nadir:
            nadir = total
    return Evaluation(baseline_sum=baseline_sum, timepoints=tuple(results))


# --- Best overall response (protocol.md: Best overall response; RECIST 1.1 §4.4.3, §4.6.1)


def _confirmed_pairs(
    window: Sequence[TimepointResult],
    first: set[Response],
    second: set[Response],
    between: set[Response],
) -> list[tuple[int, int]]:
    """Pairs (i, j): window[i] in `first`, window[j] in `second`, j at least
    RECIST_CONFIRMATION_MIN_DAYS after i, only `between` responses between them, at most
    one NE, and no PR after a CR from i to j (protocol.md: Best overall response)."""
    pairs = []
    for i, start in enumerate(window):
        if start.overall not in first:
            continue
        for j in range(i + 1, len(window)):
            end = window[j]
            middle = window[i + 1 : j]
            if any(r.overall not in between for r in middle):
                break
            if sum(1 for r in middle if r.overall is Response.NE) > 1:
                break
            if end.overall not in second:
                continue
            if (end.assessed_on - start.assessed_on).days < RECIST_CONFIRMATION_MIN_DAYS:
                continue
            if _pr_after_cr([r.overall for r in window[i : j + 1]]):
                continue
            pairs.append((i, j))
    return pairs


def _pr_after_cr(responses: Sequence[Response]) -> bool:
    seen_cr = False
    for response in responses:
        if response is Response.CR:
            seen_cr = True
        elif response is Response.PR and seen_cr:
            return True
    return False


def _best(
    bor: Response, *, confirmed_on: date | None, first_response_on: date | None, reason: Text
) -> BestResponse:
    """A BestResponse with its reason in English and as a Text for the user's language."""
    return BestResponse(bor, confirmed_on, first_response_on, reason.render(), reason)


def best_overall_response(
    results: Sequence[TimepointResult], day1: date, *, new_therapy_on: date | None = None
) -> BestResponse:
    """The BOR over the time-point responses, confirmation required.

    protocol.md: Best overall response (RECIST 1.1 §4.4.3, table 3; §4.6.1): only TAs
    before any new anticancer therapy and up to and including the first PD; CR needs a
    second CR ≥ RECIST_CONFIRMATION_MIN_DAYS later with only CR/NE between and at most one
    NE; PR needs a PR or CR followed by a CR or PR ≥ RECIST_CONFIRMATION_MIN_DAYS later,
    only CR/PR/NE between, at most one NE, no PR after a CR; SD needs a CR, PR or SD on
    study day ≥ RECIST_SD_MIN_STUDY_DAY; else PD if a PD was seen, else NE.
    No side effects.
    """
    ordered = sorted(results, key=lambda r: r.assessed_on)
    if new_therapy_on is not None:
        ordered = [r for r in ordered if r.assessed_on < new_therapy_on]
    first_pd = next((r for r in ordered if r.overall is Response.PD), None)
    window = ordered
    if first_pd is not None:
        pd_on = first_pd.pd_date or first_pd.assessed_on
        # Up to the first PD; a PD dated back to an earlier scan (RECIST 1.1 §4.3.5)
        # leaves out the responses from that scan on.
        window = [
            r for r in ordered if r.assessed_on < pd_on and r.assessed_on < first_pd.assessed_on
        ]

    cr, pr, ne = Response.CR, Response.PR, Response.NE
    responded = _confirmed_pairs(window, {cr, pr}, {cr, pr}, {cr, pr, ne})
    first_response_on = window[responded[0][0]].assessed_on if responded else None
    complete = _confirmed_pairs(window, {cr}, {cr}, {cr, ne})
    if complete:
        i, j = min(complete, key=lambda pair: pair[1])
        start, end = window[i].assessed_on, window[j].assessed_on
        return _best(
            Response.CR,
            confirmed_on=end,
            first_response_on=first_response_on,
            reason=text(
                gettext_noop(
                    "CR on %(start)s confirmed by CR on %(end)s, at least %(days)s days later."
                ),
                start=start.isoformat(),
                end=end.isoformat(),
                days=RECIST_CONFIRMATION_MIN_DAYS,
            ),
        )
    if responded:
        i, j = min(responded, key=lambda pair: pair[1])
        start, end = window[i].assessed_on, window[j].assessed_on
        return _best(
            Response.PR,
            confirmed_on=end,
            first_response_on=first_response_on,
            reason=text(
                gettext_noop(
                    "%(first)s on %(start)s confirmed by %(second)s on %(end)s, at least %(days)s days later."
                ),
                first=window[i].overall,
                start=start.isoformat(),
                second=window[j].overall,
                end=end.isoformat(),
                days=RECIST_CONFIRMATION_MIN_DAYS,
            ),
        )
    stable = next(
        (
            r
            for r in window
            if r.overall in (cr, pr, Response.SD)
            and study_day(day1, r.assessed_on) >= RECIST_SD_MIN_STUDY_DAY
        ),
        None,
    )
    if stable is not None:
        return _best(
            Response.SD,
            confirmed_on=None,
            first_response_on=None,
            reason=text(
                gettext_noop(
                    "%(response)s on %(date)s (study day %(day)s), on or after study day %(min_day)s; no confirmed CR or PR."
                ),
                response=stable.overall,
                date=stable.assessed_on.isoformat(),
                day=study_day(day1, stable.assessed_on),
                min_day=RECIST_SD_MIN_STUDY_DAY,
            ),
        )
    if first_pd is not None:
        return _best(
            Response.PD,
            confirmed_on=None,
            first_response_on=None,
            reason=text(
                gettext_noop(
                    "PD on %(date)s with no confirmed response and no SD on or after study day %(min_day)s before it."
                ),
                date=first_pd.assessed_on.isoformat(),
                min_day=RECIST_SD_MIN_STUDY_DAY,
            ),
        )
    return _best(
        Response.NE,
        confirmed_on=None,
        first_response_on=None,
        reason=text(
            gettext_noop(
                "No evaluable response: no confirmed CR or PR, no SD on or after study day %(min_day)s and no PD."
            ),
            min_day=RECIST_SD_MIN_STUDY_DAY,
        ),
    )
