"""Protocol deviations: the study list by category and site; suggested deviations."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from adverse_events import deviations as dv
from crf import registry
from crf.codelists import DeviationCategory, DeviationSeverity
from crf.models import CheckFinding
from crf.selectors import form_url
from study import protocol
from study.downloads import csv_response
from study.roles import DEVIATIONS, VIEW, perm
from study.scoping import require_perm, sites_for_user


def _filtered(request: HttpRequest) -> tuple[Any, dict[str, str]]:
    rows = dv.deviations_for(request.user)
    chosen = {
        "category": request.GET.get("category", ""),
        "site": request.GET.get("site", ""),
        "severity": request.GET.get("severity", ""),
    }
    if chosen["category"] in DeviationCategory.values:
        rows = rows.filter(category=chosen["category"])
    if chosen["severity"] in DeviationSeverity.values:
        rows = rows.filter(severity=chosen["severity"])
    if chosen["site"]:
        rows = rows.filter(subject__site__number=chosen["site"])
    return rows, chosen


@require_perm(VIEW)
def deviations(request: HttpRequest) -> HttpResponse:
    """Deviations of the user's sites by category and site, the list, and the suggestions."""
    sites = [s.number for s in sites_for_user(request.user).order_by("number")]
    rows, chosen = _filtered(request)
    counts = dv.count_by_category(list(dv.deviations_for(request.user)), sites)
    can_decide = request.user.has_perm(perm(DEVIATIONS))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    spec = registry.get("DV")
    records = [(row, form_url(row.subject, spec, row)) for row in page]
    suggestions = [
        (
            s.finding,
            reverse("crf:subject_detail", kwargs={"subject_pk": s.finding.subject_id}),
            s.sentence,
        )
        for s in dv.describe_suggestions(list(dv.suggestions_for(request.user)[:200]))
    ]
    context = {
        "counts": counts,
        "page": page,
        "records": records,
        "chosen": chosen,
        "categories": DeviationCategory.choices,
        "severities": DeviationSeverity.choices,
        "sites": sites,
        "suggestions": suggestions,
        "page_query": urlencode({k: v for k, v in chosen.items() if v}),
        "can_decide": can_decide,
    }
    return render(request, "adverse_events/deviations.html", context)


@require_perm(VIEW)
def deviations_csv(request: HttpRequest) -> HttpResponse:
    """The deviation list (with the page's filters) as CSV, UTF-8 with a BOM."""
    rows, _chosen = _filtered(request)
    filename = f"{protocol.STUDY_CODE}-deviations-{timezone.localdate():%Y-%m-%d}.csv"
    header = ["SITE", "SUBJID", "DVDAT", "DVCAT", "DVSEV", "DVTERM", "DVACT"]
    return csv_response(
        filename,
        header,
        (
            (
                row.subject.site.number,
                row.subject.subject_id,
                row.occurred_on.isoformat() if row.occurred_on else "",
                row.category,
                row.severity,
                row.description,
                row.action,
            )
            for row in rows
        ),
    )


@require_perm(VIEW, DEVIATIONS)
@require_POST
def decide_suggestion(request: HttpRequest, finding_pk: int) -> HttpResponse:
    """Confirm a suggested deviation (records a DV) or dismiss it with a note."""
    actor = cast(AbstractBaseUser, request.user)
    decision = request.POST.get("decision", "")
    try:
        if decision == "confirm":
            dv.confirm_suggested_deviation(
                actor=actor,
                finding_pk=finding_pk,
                severity=request.POST.get("severity", ""),
                description=request.POST.get("description", ""),
                action=request.POST.get("action", ""),
            )
            messages.success(request, _("The deviation was recorded."))
        elif decision == "dismiss":
            dv.dismiss_suggested_deviation(
                actor=actor, finding_pk=finding_pk, note=request.POST.get("note", "")
            )
            messages.success(request, _("The suggestion was dismissed."))
        else:
            messages.error(request, _("Choose to confirm or to dismiss the suggestion."))
    except CheckFinding.DoesNotExist:
        raise Http404 from None
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("adverse_events:deviations")
