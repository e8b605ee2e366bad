"""The study's endpoints: every subject's record read in a bounded number of queries,
the pure endpoint rules applied, and the statistics of protocol.md.

The number of queries does not grow with the number of subjects: one per form model for
the last-known-alive dates, and a fixed handful for Day 1, the tumour assessments and
their lesions, end of treatment, death and new anticancer therapy.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Min

from crf import registry
from crf.models import VisitKind
from outcomes import endpoints
from outcomes.models import Death, EndOfTreatment, SurvivalContact
from outcomes.selectors import latest_dates
from study.models import Subject
from visits import recist
from visits.models import Exposure, TumourAssessment
from visits.tumour import assessment_from_data


@dataclass(frozen=True)
class SubjectOutcome:
    """One dosed or undosed enrolled subject: identity, endpoints and the data for figures."""

    pk: int
    subject_id: str
    site: str
    record: endpoints.SubjectRecord
    result: endpoints.SubjectEndpoints
    # (study day, % change of the target sum from baseline) per follow-up TA with a sum
    changes: tuple[tuple[int, Decimal], ...]

    @property
    def dosed(self) -> bool:
        return self.record.day1 is not None

    @property
    def best_change(self) -> Decimal | None:
        """The best (lowest) % change of the target sum from baseline (waterfall)."""
        return min((pct for _day, pct in self.changes), default=None)


def _tumour_data(subject_ids: list[int]) -> dict[int, list[tuple[Any, dict[str, Any]]]]:
    """Every TA of the subjects with its variables and groups, in 1 + 3 queries."""
    spec = registry.get("TA")
    forms = list(
        TumourAssessment.objects.filter(subject_id__in=subject_ids, is_deleted=False)
        .select_related("visit")
        .order_by("scanned_on", "id")
    )
    rows_by_group: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for group in spec.groups:
        by_form: dict[int, list[dict[str, Any]]] = defaultdict(list)
        rows = group.model.objects.filter(
            is_deleted=False, **{"form_id__in": [f.pk for f in forms]}
        ).order_by("id")
        for row in rows:
            by_form[row.form_id].append(  # type: ignore[attr-defined]
                {v.name: getattr(row, v.field_name) for v in group.variables}
            )
        rows_by_group[group.name] = by_form
    result: dict[int, list[tuple[Any, dict[str, Any]]]] = defaultdict(list)
    for form in forms:
        data: dict[str, Any] = {v.name: getattr(form, v.field_name) for v in spec.variables}
        for group in spec.groups:
            data[group.name] = rows_by_group[group.name].get(form.pk, [])
        result[form.subject_id].append((form, data))
    return result


def study_outcomes(subjects: Iterable[Subject], *, today: dt.date) -> list[SubjectOutcome]:
    """The endpoints of every given enrolled subject (protocol.md: Endpoints, PFS censoring)."""
    chosen = [s for s in subjects if s.subject_id]
    ids = [s.pk for s in chosen]
    day1 = dict(
        Exposure.objects.filter(subject_id__in=ids, is_deleted=False, visit__code="C1D1")
        .exclude(first_dose_on=None)
        .values_list("subject_id", "first_dose_on")
    )
    last_dose = dict(
        EndOfTreatment.objects.filter(subject_id__in=ids, is_deleted=False).values_list(
            "subject_id", "last_dose_on"
        )
    )
    deaths = dict(
        Death.objects.filter(subject_id__in=ids, is_deleted=False).values_list(
            "subject_id", "died_on"
        )
    )
    therapy = dict(
        SurvivalContact.objects.filter(subject_id__in=ids, is_deleted=False, new_therapy="Y")
        .exclude(new_therapy_started_on=None)
        .values("subject_id")
        .annotate(first=Min("new_therapy_started_on"))
        .values_list("subject_id", "first")
    )
    alive = latest_dates(ids)
    tumour = _tumour_data(ids)
    outcomes = []
    for subject in chosen:
        baseline = None
        follow_ups: list[recist.TumourAssessment] = []
        for form, data in tumour.get(subject.pk, []):
            assessment = assessment_from_data(data)
            if assessment is None:
                continue
            if form.visit is not None and form.visit.kind == VisitKind.SCREENING:
                baseline = assessment
            else:
                follow_ups.append(assessment)
        timepoints: tuple[recist.TimepointResult, ...] = ()
        if baseline is not None and follow_ups:
            timepoints = recist.evaluate(baseline, follow_ups).timepoints
        first_day = day1.get(subject.pk)
        record = endpoints.SubjectRecord(
            day1=first_day,
            has_baseline_ta=baseline is not None,
            timepoints=timepoints,
            death_on=deaths.get(subject.pk),
            new_therapy_on=therapy.get(subject.pk),
            last_known_alive=alive.get(subject.pk),
            last_dose_on=last_dose.get(subject.pk),
            data_cutoff=today,
        )
        changes: tuple[tuple[int, Decimal], ...] = ()
        if first_day is not None:
            changes = tuple(
                (endpoints.duration_days(first_day, t.assessed_on), t.change_from_baseline_pct)
                for t in timepoints
                if t.change_from_baseline_pct is not None
            )
        outcomes.append(
            SubjectOutcome(
                pk=subject.pk,
                subject_id=subject.subject_id or "",
                site=subject.site.number,
                record=record,
                result=endpoints.compute_endpoints(record),
                changes=changes,
            )
        )
    return outcomes


def enrolled_subjects(queryset: Any) -> list[Subject]:
    return list(
        queryset.filter(subject_id__isnull=False).select_related("site").order_by("subject_id")
    )


RESPONDERS = frozenset({recist.Response.CR, recist.Response.PR})
DISEASE_CONTROL = frozenset({recist.Response.CR, recist.Response.PR, recist.Response.SD})


@dataclass(frozen=True)
class StudySummary:
    """protocol.md "Statistics": ORR and DCR with Clopper-Pearson CIs; KM of PFS and OS."""

    n: int
    orr: Any  # outcomes.statistics.Proportion
    dcr: Any
    pfs: Any  # outcomes.statistics.KaplanMeier
    os: Any


def study_summary(outcomes: Iterable[SubjectOutcome]) -> StudySummary:
    """Over the analysis population: every subject who received at least one dose."""
    from outcomes import statistics

    dosed = [o for o in outcomes if o.dosed]
    pfs = [o.result.pfs for o in dosed]
    os_ = [o.result.os for o in dosed]
    return StudySummary(
        n=len(dosed),
        orr=statistics.binomial_ci(sum(o.result.bor in RESPONDERS for o in dosed), len(dosed)),
        dcr=statistics.binomial_ci(sum(o.result.bor in DISEASE_CONTROL for o in dosed), len(dosed)),
        pfs=statistics.kaplan_meier([e.days or 0 for e in pfs], [e.event for e in pfs]),
        os=statistics.kaplan_meier([e.days or 0 for e in os_], [e.event for e in os_]),
    )


def _proportion(p: Any) -> dict[str, Any]:
    return {"n": p.n, "pct": p.pct, "ci_low": p.ci_low, "ci_high": p.ci_high}


def _days(value: float | None) -> float | int | None:
    """Days as an integer (a median that is a midpoint of two event days keeps its .5)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _km(km: Any) -> dict[str, Any]:
    return {
        "median_days": _days(km.median),
        "ci_low_days": _days(km.median_ci_low),
        "ci_high_days": _days(km.median_ci_high),
        "events": km.events,
        "censored": km.censored,
    }


def endpoints_document(outcomes: list[SubjectOutcome]) -> dict[str, Any]:
    """The `manage.py endpoints --json` document (the issue's shape; dates ISO, days ints)."""
    summary = study_summary(outcomes)

    def when(value: dt.date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "subjects": [
            {
                "subject_id": o.subject_id,
                "day1": when(o.record.day1),
                "bor": o.result.bor.value if o.result.bor is not None else None,
                "pfs": {
                    "days": o.result.pfs.days,
                    "event": o.result.pfs.event,
                    "date": when(o.result.pfs.date),
                    "reason": o.result.pfs.reason,
                },
                "os": {
                    "days": o.result.os.days,
                    "event": o.result.os.event,
                    "date": when(o.result.os.date),
                },
            }
            for o in outcomes
        ],
        "summary": {
            "n": summary.n,
            "orr": _proportion(summary.orr),
            "dcr": _proportion(summary.dcr),
            "pfs": _km(summary.pfs),
            "os": _km(summary.os),
        },
    }
