"""Screening and enrolment pages (being built)."""

from django.http import Http404, HttpRequest, HttpResponse

from study.roles import ENTER, PROTOCOL, VIEW
from study.scoping import require_perm, subject_view


@require_perm(ENTER)
def register(request: HttpRequest) -> HttpResponse:
    raise Http404


@subject_view(VIEW)
def eligibility(request: HttpRequest, subject: object) -> HttpResponse:
    raise Http404


@subject_view(VIEW, ENTER)
def screen_failure(request: HttpRequest, subject: object) -> HttpResponse:
    raise Http404


@subject_view(VIEW, ENTER)
def enrol(request: HttpRequest, subject: object) -> HttpResponse:
    raise Http404


@require_perm(PROTOCOL)
def criteria(request: HttpRequest) -> HttpResponse:
    raise Http404


@require_perm(PROTOCOL)
def criterion_edit(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


@require_perm(PROTOCOL)
def target(request: HttpRequest) -> HttpResponse:
    raise Http404
