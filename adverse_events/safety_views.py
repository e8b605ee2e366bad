"""The safety page: TEAE tables of protocol.md, the AEs behind each number, CSV, mail log."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from study.roles import SAFETY
from study.scoping import require_perm


@require_perm(SAFETY)
def safety(request: HttpRequest) -> HttpResponse:
    return HttpResponse("to do")


@require_perm(SAFETY)
def safety_csv(request: HttpRequest) -> HttpResponse:
    return HttpResponse("to do")


@require_perm(SAFETY)
def safety_events(request: HttpRequest) -> HttpResponse:
    return HttpResponse("to do")
