"""Outcomes pages: ending treatment from the subject page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from outcomes.services import open_end_of_treatment
from study.models import Subject
from study.roles import ENTER, VIEW, perm
from study.scoping import subject_view


@subject_view(VIEW, ENTER)
@require_POST
def end_treatment(request: HttpRequest, subject: Subject) -> HttpResponse:
    """Open the EOT visit and go to its EOT form."""
    try:
        open_end_of_treatment(actor=request.user, subject=subject)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("crf:subject_detail", subject_pk=subject.pk)
    return redirect("crf:visit_form", subject_pk=subject.pk, visit_code="EOT", form_code="EOT")


def subject_actions(subject: Subject, user: object) -> list[tuple[str, str]]:
    """A link to end treatment is a POST form; offered as the page of the EOT form once open."""
    from crf.models import Visit

    if not subject.subject_id or not getattr(user, "has_perm", None):
        return []
    if not user.has_perm(perm(ENTER)):  # type: ignore[attr-defined]
        return []
    if Visit.objects.filter(subject=subject, code="EOT").exists():
        url = reverse(
            "crf:visit_form",
            kwargs={"subject_pk": subject.pk, "visit_code": "EOT", "form_code": "EOT"},
        )
        return [(str(_("End of treatment")), url)]
    return []


def end_treatment_panel(request: HttpRequest, subject: Subject) -> str:
    """On an enrolled subject's page: a button to end treatment (until the EOT visit exists)."""
    from django.template.loader import render_to_string

    from crf.models import Visit

    if not subject.subject_id or not request.user.has_perm(perm(ENTER)):
        return ""
    if Visit.objects.filter(subject=subject, code="EOT").exists():
        return ""
    return render_to_string("outcomes/_end_treatment.html", {"subject": subject}, request=request)
