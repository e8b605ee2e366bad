"""The study coordinator's enrolment dashboard (being built)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from study.roles import DASHBOARDS
from study.scoping import require_perm


@require_perm(DASHBOARDS)
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "enrollment/dashboard.html", {})
