"""The AE form's helpers (term type-ahead, a term's grades) and a subject's AE log."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, F, Q, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from adverse_events import checks, timeline
from adverse_events.forms import AdverseEventForm
from adverse_events.models import AdverseEvent, CtcaeTerm
from crf import registry
from crf.codelists import YN
from crf.models import VisitKind
from crf.selectors import form_url
from study.models import Subject
from study.roles import ENTER, VIEW, perm
from study.scoping import require_perm, subject_view
from visits.models import Exposure

TERM_RESULTS = 12


@require_perm(VIEW)
def term_search(request: HttpRequest) -> HttpResponse:
    """Type-ahead over CTCAE v5.0: terms (English or Chinese) and system organ classes."""
    query = request.GET.get("term", "").strip()
    terms: list[CtcaeTerm] = []
    if len(query) >= 2:
        match = Q(term__icontains=query) | Q(term_zh__icontains=query) | Q(soc__icontains=query)
        starts = Q(term__istartswith=query) | Q(term_zh__istartswith=query)
        rank = Case(When(starts, then=Value(0)), default=Value(1))
        terms = list(
            CtcaeTerm.objects.filter(match)
            .annotate(rank=rank)
            .order_by("rank", "term")[:TERM_RESULTS]
        )
    return render(request, "adverse_events/_term_options.html", {"terms": terms, "query": query})


@require_perm(VIEW)
def grades(request: HttpRequest) -> HttpResponse:
    """The grade choices of a term with their CTCAE texts (swapped into the AE form)."""
    name = request.GET.get("term", "")
    form = AdverseEventForm(
        data={"term": name, "grade": request.GET.get("grade", "")}, needs_reason=False
    )
    term = checks.find_term(name)
    return render(request, "adverse_events/_grades.html", {"form": form, "term": term})


@subject_view(VIEW)
def subject_adverse_events(request: HttpRequest, subject: Subject) -> HttpResponse:
    """The subject's whole AE log with its timeline against cycles and doses."""
    return render(request, "adverse_events/subject_log.html", _log_context(request, subject))


def ae_panel(request: HttpRequest, subject: Subject) -> str:
    """The AE panel of the subject page (crf.registry subject panel); enrolled subjects only."""
    if not subject.subject_id:
        return ""
    return render_to_string(
        "adverse_events/_ae_panel.html", _log_context(request, subject), request=request
    )


def _log_context(request: HttpRequest, subject: Subject) -> dict[str, Any]:
    """The subject's active AEs (with their SAE report clocks) in onset order and the
    timeline. Two queries."""
    events = list(
        AdverseEvent.objects.filter(subject=subject, is_deleted=False)
        .select_related("sae_report")
        .order_by(F("onset_on").asc(nulls_last=True), "pk")
    )
    exposures = list(
        Exposure.objects.filter(subject=subject, is_deleted=False, visit__kind=VisitKind.CYCLE)
        .exclude(first_dose_on=None)
        .select_related("visit")
        .order_by("visit__number")
    )
    day1 = next(
        (ex.first_dose_on for ex in exposures if ex.visit and ex.visit.code == "C1D1"), None
    )
    spec = registry.get("AE")
    return {
        "subject": subject,
        "log": [(ae, form_url(subject, spec, ae)) for ae in events],
        "timeline": timeline.build_timeline(
            day1=day1,
            cycles=[
                timeline.CycleSpan(
                    label=f"C{ex.visit.number}" if ex.visit else "",
                    dose_mg=int(ex.dose_mg) if ex.dose_mg else None,
                    first_dose_on=ex.first_dose_on,
                    last_dose_on=ex.last_dose_on,
                )
                for ex in exposures
                if ex.first_dose_on is not None
            ],
            events=[
                timeline.EventSpan(
                    key=ae.pk,
                    term=ae.display_term,
                    onset=ae.onset_on,
                    resolved=ae.resolved_on,
                    grade=ae.grade,
                    serious=ae.serious == YN.Y,
                    teae=ae.treatment_emergent == YN.Y,
                )
                for ae in events
            ],
            today=timezone.localdate(),
        ),
        "can_enter": request.user.has_perm(perm(ENTER)),
        "new_url": reverse("crf:form", kwargs={"subject_pk": subject.pk, "form_code": "AE"}),
        "log_url": reverse("adverse_events:subject_log", kwargs={"subject_pk": subject.pk}),
    }
