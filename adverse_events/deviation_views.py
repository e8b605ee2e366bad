"""Protocol deviations: the study list by category and site; suggested deviations."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from study.roles import DEVIATIONS, VIEW
from study.scoping import require_perm


@require_perm(VIEW)
def deviations(request: HttpRequest) -> HttpResponse:
    return HttpResponse("to do")


@require_perm(VIEW)
def deviations_csv(request: HttpRequest) -> HttpResponse:
    return HttpResponse("to do")


@require_perm(VIEW, DEVIATIONS)
@require_POST
def decide_suggestion(request: HttpRequest, finding_pk: int) -> HttpResponse:
    return HttpResponse("to do")
