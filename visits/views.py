"""The site worklist."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from study.models import Subject
from study.roles import VIEW
from study.scoping import require_perm, subject_view
from visits.summary import exposure_rows, tumour_summary
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


@subject_view(VIEW)
def summary(request: HttpRequest, subject: Subject) -> HttpResponse:
    """Treatment and response: exposure per cycle, lesions over time, best overall response."""
    context = {
        "subject": subject,
        "cycles": exposure_rows(subject),
        "tumour": tumour_summary(subject),
    }
    return render(request, "visits/summary.html", context)


def subject_actions(subject: Subject, user: object) -> list[tuple[str, str]]:
    from django.urls import reverse
    from django.utils.translation import gettext as _

    if not subject.subject_id:
        return []
    return [
        (
            str(_("Treatment and response")),
            reverse("visits:summary", kwargs={"subject_pk": subject.pk}),
        )
    ]
