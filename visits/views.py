"""The site worklist."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from study.models import Subject
from study.roles import ENTER, VIEW
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


@subject_view(VIEW, ENTER)
@require_POST
def declare_missed(request: HttpRequest, subject: Subject, visit_code: str) -> HttpResponse:
    """Declare a visit missed with a reason; it leaves the overdue list."""
    from django.contrib import messages
    from django.core.exceptions import ValidationError
    from django.shortcuts import get_object_or_404, redirect
    from django.utils.translation import gettext as _

    from crf.models import Visit
    from visits.services import declare_missed as declare

    visit = get_object_or_404(Visit, subject=subject, code=visit_code)
    try:
        declare(actor=request.user, visit=visit, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(subject)s %(visit)s declared missed.")
            % {"subject": subject.label, "visit": visit.code},
        )
    return redirect("visits:worklist")
