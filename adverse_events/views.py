"""The AE form's helpers (term type-ahead, a term's grades) and a subject's AE log."""

from __future__ import annotations

from django.db.models import Case, Q, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from adverse_events import checks
from adverse_events.forms import AdverseEventForm
from adverse_events.models import CtcaeTerm
from study.models import Subject
from study.roles import VIEW
from study.scoping import require_perm, subject_view

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
    return HttpResponse("to do")
