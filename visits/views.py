"""The site worklist."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from study.roles import VIEW
from study.scoping import require_perm
from visits.worklist import DUE_SOON_DAYS, build_worklist


@require_perm(VIEW)
def worklist(request: HttpRequest) -> HttpResponse:
    """Visits due in the next 14 days, overdue visits, forms missing after a visit was held."""
    today = timezone.localdate()
    context = {
        "worklist": build_worklist(request.user, today=today),
        "today": today,
        "days": DUE_SOON_DAYS,
    }
    return render(request, "visits/worklist.html", context)
