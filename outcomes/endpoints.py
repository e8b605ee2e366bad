"""Per-subject endpoints: BOR, PFS, OS and time on treatment.

Pure Python, no Django: one frozen ``SubjectRecord`` in (built by a selector), one frozen
``SubjectEndpoints`` out, so that the dashboard, the exports and the tests apply one set of
rules. Every number is a named parameter of ``study.protocol``; the RECIST 1.1 best overall
response and the study day are reused from ``visits.recist`` and ``visits.schedule``.

Sources, cited rule by rule:
- "protocol.md: <section>": ../shared/protocol.md ("Endpoints", "PFS censoring", …).
- "FDA guidance": Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics
  (2018), table of PFS censoring, which protocol.md's table follows.

Durations (protocol.md: Endpoints): date − Day 1 + 1 days, i.e. the study day of the date
(Day 1 is day 1); months = days / DAYS_PER_MONTH, quantized to 0.01.

PFS, the order in which the censoring table is applied (``_pfs``; steps, not the table's
row numbers), first match wins:

1. Not dosed (``day1`` None): no PFS ("not_dosed"; outside the analysis population).
2. No baseline TA: censored at Day 1 ("no_baseline"), whatever happened later.
3. No post-baseline TA and alive: censored at Day 1 ("no_post_baseline_ta").
4. New anticancer therapy started on or before study day STUDY_DURATION_DAYS ends what PFS
   sees: TAs dated on or after the start and a death on or after it are left out (the same
   cut as the BOR in ``visits.recist``: a TA on the day the therapy starts is not before it).
5. The event is the earlier of the progression (the first remaining TA with overall PD,
   dated at its ``pd_date`` when the PD was dated back to an earlier scan, RECIST 1.1 §4.3.5)
   and death; a tie is a progression.
6. No event: censored at the last adequate TA before the therapy ("new_therapy") if a
   therapy was started, else at the last adequate TA ("last_adequate_ta"); in both cases
   only TAs on or before study day STUDY_DURATION_DAYS count.
7. An event after study day STUDY_DURATION_DAYS: censored at the last adequate TA on or
   before that day ("after_day_730").
8. An event more than PFS_MISSED_TA_GAP_DAYS after the last adequate TA before it (two or
   more missed TAs): censored at that TA ("missed_tas"). Without an adequate TA before the
   event, the gap is counted from Day 1 (so a death with no post-baseline TA is an event
   when it is within the gap of Day 1, censored at Day 1 after it).
9. Otherwise an event: "progression" or "death".
Wherever a censoring date is the last adequate TA and there is none, PFS is censored at
Day 1 (days = 1) with the same reason.

Why this order: steps 2-3 (no assessment at all) make every other step meaningless, so they
come first. The new therapy (4) and day 730 (7) are cuts of what PFS may see; they come
before the gap (8) because the gap is measured inside what PFS sees: with TAs on days 714
and 740 and a death on day 850, the censoring is at day 714 (the last TA of the study
period), not at day 740. The therapy cut comes before the choice of event (5) because a
progression documented after a new therapy, or a death after it, is not an event (FDA
guidance: "new anticancer treatment started" before documented progression).

Interpretation choices:
- "Adequate" TA: overall response other than NE (protocol.md: PFS censoring).
- The gap (protocol.md: "the gap from the last adequate TA to the event exceeds
  2 × 42 + 7 days") is the number of days between the two dates: a gap of exactly
  PFS_MISSED_TA_GAP_DAYS is an event, one more day is censored. For a progression, the TAs
  before it are those dated before the progression date (so a PD dated back to the first
  scan after a long gap is still censored); for a death, a TA on the day of death counts
  (it shows no progression up to the death).
- Step 4 applies only to a therapy started on or before study day STUDY_DURATION_DAYS: a
  later one is outside the PFS period, which step 7 already ends.
- Step 7 compares the event date (a PD dated back to a scan on or before day 730 is an event
  even when the TA documenting it is later). Step 6 also ignores TAs after day 730 for a
  subject without event, so that no subject's PFS follow-up runs past the period ("Assessed
  each 42 days … up to 24 months", protocol.md: Endpoints).
- OS is not cut at day 730: protocol.md's OS rule has no such cut; survival follow-up ends
  with the subject's study end, and the caller's last-known-alive date reflects it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from study.protocol import DAYS_PER_MONTH, PFS_MISSED_TA_GAP_DAYS, STUDY_DURATION_DAYS
from study.text import Text, gettext_noop
from study.text import text as _text
from visits.recist import BestResponse, Response, TimepointResult, best_overall_response
from visits.schedule import last_protocol_date, study_day

__all__ = [
    "Endpoint",
    "SubjectEndpoints",
    "SubjectRecord",
    "Text",
    "compute_endpoints",
    "duration_days",
    "duration_months",
]

# Months are reported with two decimals (protocol.md: Endpoints, "in months").
_MONTHS_QUANTUM = Decimal("0.01")

# A response in a sentence is its label (crf-spec code list RESP, the labels of
# crf.codelists.Response, so one catalogue entry serves both), never its code.
_RESPONSE_LABELS = {
    Response.CR: gettext_noop("Complete response"),
    Response.PR: gettext_noop("Partial response"),
    Response.SD: gettext_noop("Stable disease"),
    Response.PD: gettext_noop("Progressive disease"),
    Response.NE: gettext_noop("Not evaluable"),
}


def _response_text(response: Response) -> Text:
    return _text(_RESPONSE_LABELS[response])


# --- Input and output -------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectRecord:
    """What the endpoints of one subject are computed from (built by a selector).

    ``day1``: first dose, None if never dosed; ``timepoints``: the follow-up TAs, scheduled
    or unscheduled, in any order; ``new_therapy_on``: the earliest start of a new anticancer
    therapy (NACT or concomitant medication); ``last_known_alive``: the latest dated record
    of the subject; ``last_dose_on``: None while on treatment; ``data_cutoff``: "today" for
    a live study.
    """

    day1: datetime.date | None
    has_baseline_ta: bool
    timepoints: tuple[TimepointResult, ...]
    death_on: datetime.date | None
    new_therapy_on: datetime.date | None
    last_known_alive: datetime.date | None
    last_dose_on: datetime.date | None
    data_cutoff: datetime.date


@dataclass(frozen=True)
class Endpoint:
    """A time-to-event endpoint: an event or a censoring at ``date``, ``days`` after Day 1.

    ``reason`` is a code ("progression", "death", "no_baseline", "no_post_baseline_ta",
    "last_adequate_ta", "new_therapy", "missed_tas", "after_day_730", "last_known_alive",
    "not_dosed"); ``explanation`` one English sentence for people, with the dates.
    ``days``, ``months`` and ``date`` are None only when the subject was not dosed.
    """

    days: int | None
    months: Decimal | None
    event: bool
    date: datetime.date | None
    reason: str
    explanation: str  # in English; ``text.render(gettext)`` gives the user's language
    text: Text | None = field(default=None, compare=False)

    def explain(
        self,
        translate: Callable[[str], str],
        describe: Callable[[object], object] | None = None,
    ) -> str:
        if self.text is None:
            return self.explanation
        return self.text.render(translate, describe)


@dataclass(frozen=True)
class SubjectEndpoints:
    """The endpoints of one subject; ``bor`` and ``best_response`` are None if not dosed."""

    bor: Response | None
    best_response: BestResponse | None
    pfs: Endpoint
    os: Endpoint
    time_on_treatment_days: int | None


# --- Durations --------------------------------------------------------------------------


def duration_days(day1: datetime.date, on: datetime.date) -> int:
    """Days from Day 1 to ``on``, Day 1 counting as day 1 (protocol.md: Endpoints, Durations:
    event date − Day 1 + 1), i.e. the study day of ``on``."""
    return study_day(day1, on)


def duration_months(days: int) -> Decimal:
    """``days`` / DAYS_PER_MONTH, quantized to 0.01 (protocol.md: Endpoints, Durations)."""
    return (Decimal(days) / DAYS_PER_MONTH).quantize(_MONTHS_QUANTUM, rounding=ROUND_HALF_UP)


def _endpoint(
    day1: datetime.date, on: datetime.date, *, event: bool, reason: str, explanation: Text
) -> Endpoint:
    days = duration_days(day1, on)
    return Endpoint(
        days=days,
        months=duration_months(days),
        event=event,
        date=on,
        reason=reason,
        explanation=explanation.render(),
        text=explanation,
    )


def _not_dosed(name: str) -> Endpoint:
    text = _text(
        gettext_noop(
            "No %(name)s: the subject received no dose and is outside the analysis population."
        ),
        name=name,
    )
    return Endpoint(
        days=None,
        months=None,
        event=False,
        date=None,
        reason="not_dosed",
        explanation=text.render(),
        text=text,
    )


# --- PFS (protocol.md: PFS censoring; FDA guidance) -------------------------------------


def _is_adequate(result: TimepointResult) -> bool:
    """protocol.md: PFS censoring, an adequate TA has an overall response other than NE."""
    return result.overall is not Response.NE


def _last_adequate(tas: Sequence[TimepointResult]) -> TimepointResult | None:
    adequate = [r for r in tas if _is_adequate(r)]
    return adequate[-1] if adequate else None


def _censor_at_last_adequate(
    day1: datetime.date,
    tas: Sequence[TimepointResult],
    *,
    reason: str,
    why: Text,
) -> Endpoint:
    """Censored at the last adequate TA of ``tas`` (in date order), or at Day 1 without one
    (the brief's rule for "no adequate TA where one is needed")."""
    last = _last_adequate(tas)
    if last is None:
        return _endpoint(
            day1,
            day1,
            event=False,
            reason=reason,
            explanation=_text(
                gettext_noop(
                    "PFS censored at Day 1 (%(day1)s): %(why)s, and there is no adequate assessment to censor at."
                ),
                day1=day1.isoformat(),
                why=why,
            ),
        )
    return _endpoint(
        day1,
        last.assessed_on,
        event=False,
        reason=reason,
        explanation=_text(
            gettext_noop(
                "PFS censored at %(date)s: last adequate assessment (%(response)s); %(why)s."
            ),
            date=last.assessed_on.isoformat(),
            response=_response_text(last.overall),
            why=why,
        ),
    )


def _pfs(record: SubjectRecord, day1: datetime.date) -> Endpoint:
    """PFS of a dosed subject: the censoring table applied in the order of the module
    docstring (protocol.md: PFS censoring; FDA guidance). No side effects."""
    # Steps 2-3. protocol.md: PFS censoring, "no baseline TA, or no post-baseline TA and alive".
    if not record.has_baseline_ta:
        return _endpoint(
            day1,
            day1,
            event=False,
            reason="no_baseline",
            explanation=_text(
                gettext_noop("PFS censored at Day 1 (%(day1)s): no baseline tumour assessment."),
                day1=day1.isoformat(),
            ),
        )
    if not record.timepoints and record.death_on is None:
        return _endpoint(
            day1,
            day1,
            event=False,
            reason="no_post_baseline_ta",
            explanation=_text(
                gettext_noop(
                    "PFS censored at Day 1 (%(day1)s): no post-baseline tumour assessment and the subject is alive."
                ),
                day1=day1.isoformat(),
            ),
        )

    period_end = last_protocol_date(day1)  # study day STUDY_DURATION_DAYS, inclusive
    tas = sorted(record.timepoints, key=lambda r: r.assessed_on)
    # Step 4. protocol.md: PFS censoring, "new anticancer therapy started before progression":
    # PFS sees nothing from the day the therapy starts (a therapy after the period is moot).
    therapy = record.new_therapy_on
    if therapy is not None and therapy > period_end:
        therapy = None
    if therapy is not None:
        tas = [r for r in tas if r.assessed_on < therapy]
    death = record.death_on
    if death is not None and therapy is not None and death >= therapy:
        death = None
    in_period = [r for r in tas if r.assessed_on <= period_end]

    # Step 5. protocol.md: PFS censoring, "progression documented" (the first TA showing PD,
    # dated back per RECIST 1.1 §4.3.5) and "death before any progression".
    first_pd = next((r for r in tas if r.overall is Response.PD), None)
    progression_on = None
    if first_pd is not None:
        progression_on = first_pd.pd_date or first_pd.assessed_on
    if progression_on is not None and (death is None or progression_on <= death):
        event_on, kind = progression_on, "progression"
        before = [r for r in in_period if r.assessed_on < progression_on]
    elif death is not None:
        event_on, kind = death, "death"
        before = [r for r in in_period if r.assessed_on <= death]
    else:
        # Step 6. protocol.md: PFS censoring, "no progression and no death" / new therapy.
        if therapy is not None:
            return _censor_at_last_adequate(
                day1,
                in_period,
                reason="new_therapy",
                why=_text(
                    gettext_noop(
                        "new anticancer therapy started %(date)s before any progression or death"
                    ),
                    date=therapy.isoformat(),
                ),
            )
        return _censor_at_last_adequate(
            day1,
            in_period,
            reason="last_adequate_ta",
            why=_text(
                gettext_noop("no progression or death observed up to study day %(day)s"),
                day=STUDY_DURATION_DAYS,
            ),
        )

    what = _text(
        gettext_noop("progression on %(date)s")
        if kind == "progression"
        else gettext_noop("death on %(date)s"),
        date=event_on.isoformat(),
    )
    # Step 7. protocol.md: PFS censoring, "progression or death after day 730".
    if event_on > period_end:
        return _censor_at_last_adequate(
            day1,
            in_period,
            reason="after_day_730",
            why=_text(
                gettext_noop("%(what)s (study day %(day)s) is after study day %(last)s"),
                what=what,
                day=study_day(day1, event_on),
                last=STUDY_DURATION_DAYS,
            ),
        )

    # Step 8. protocol.md: PFS censoring, "progression or death after two or more consecutive
    # missed TAs" = a gap from the last adequate TA (or Day 1) above PFS_MISSED_TA_GAP_DAYS.
    last = _last_adequate(before)
    anchor = last.assessed_on if last is not None else day1
    anchor_text = (
        _text(gettext_noop("the last adequate assessment on %(date)s"), date=anchor.isoformat())
        if last is not None
        else _text(
            gettext_noop("Day 1 (%(day1)s), with no adequate assessment before it"),
            day1=day1.isoformat(),
        )
    )
    gap = (event_on - anchor).days
    if gap > PFS_MISSED_TA_GAP_DAYS:
        return _endpoint(
            day1,
            anchor,
            event=False,
            reason="missed_tas",
            explanation=_text(
                gettext_noop(
                    "PFS censored at %(date)s: %(what)s came %(gap)s days after %(anchor)s, more than %(limit)s (two or more missed assessments)."
                ),
                date=anchor.isoformat(),
                what=what,
                gap=gap,
                anchor=anchor_text,
                limit=PFS_MISSED_TA_GAP_DAYS,
            ),
        )

    # Step 9: the event.
    if first_pd is not None and kind == "progression":
        shown = (
            _text(
                gettext_noop("first shown by the assessment of %(date)s"),
                date=first_pd.assessed_on.isoformat(),
            )
            if first_pd.assessed_on == event_on
            else _text(
                gettext_noop(
                    "first shown by the assessment of %(date)s, dated back to %(first)s where it was first seen"
                ),
                date=first_pd.assessed_on.isoformat(),
                first=event_on.isoformat(),
            )
        )
        explanation = _text(
            gettext_noop("PFS event on %(date)s: progression %(shown)s."),
            date=event_on.isoformat(),
            shown=shown,
        )
    else:
        explanation = _text(
            gettext_noop(
                "PFS event on %(date)s: death before any progression, %(gap)s days after %(anchor)s (at most %(limit)s)."
            ),
            date=event_on.isoformat(),
            gap=gap,
            anchor=anchor_text,
            limit=PFS_MISSED_TA_GAP_DAYS,
        )
    return _endpoint(day1, event_on, event=True, reason=kind, explanation=explanation)


# --- OS (protocol.md: PFS censoring, OS rule; Endpoints) ---------------------------------


def _os(record: SubjectRecord, day1: datetime.date) -> Endpoint:
    """OS: an event at death; otherwise censored at the last date known alive, or at Day 1
    without a later one (protocol.md: "OS: event at date of death; otherwise censored at
    the last date the subject was known alive"). No side effects."""
    if record.death_on is not None:
        return _endpoint(
            day1,
            record.death_on,
            event=True,
            reason="death",
            explanation=_text(
                gettext_noop("OS event on %(date)s: death."), date=record.death_on.isoformat()
            ),
        )
    alive = record.last_known_alive
    if alive is None or alive < day1:
        return _endpoint(
            day1,
            day1,
            event=False,
            reason="last_known_alive",
            explanation=_text(
                gettext_noop(
                    "OS censored at Day 1 (%(day1)s): no later record of the subject alive."
                ),
                day1=day1.isoformat(),
            ),
        )
    return _endpoint(
        day1,
        alive,
        event=False,
        reason="last_known_alive",
        explanation=_text(
            gettext_noop("OS censored at %(date)s: last date the subject was known alive."),
            date=alive.isoformat(),
        ),
    )


# --- The subject ------------------------------------------------------------------------


def compute_endpoints(record: SubjectRecord) -> SubjectEndpoints:
    """BOR, PFS, OS and time on treatment of one subject.

    BOR: ``visits.recist.best_overall_response`` over the follow-up TAs before the new
    therapy (protocol.md: Best overall response). PFS and OS: see the module docstring
    (protocol.md: Endpoints, PFS censoring). Time on treatment: last dose (or the data
    cutoff while on treatment) − Day 1 + 1 days (protocol.md: Endpoints, Durations;
    Statistics, swimmer plot). A subject never dosed gets no values and the reason
    "not_dosed" (protocol.md: Endpoints, analysis population). No side effects.
    """
    day1 = record.day1
    if day1 is None:
        return SubjectEndpoints(
            bor=None,
            best_response=None,
            pfs=_not_dosed("PFS"),
            os=_not_dosed("OS"),
            time_on_treatment_days=None,
        )
    best = best_overall_response(record.timepoints, day1, new_therapy_on=record.new_therapy_on)
    treated_to = record.last_dose_on if record.last_dose_on is not None else record.data_cutoff
    return SubjectEndpoints(
        bor=best.bor,
        best_response=best,
        pfs=_pfs(record, day1),
        os=_os(record, day1),
        time_on_treatment_days=duration_days(day1, treated_to),
    )
