"""The site worklist, the declare-missed confirmation and the treatment-and-response page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crf import page_cache
from crf.models import Visit
from study.models import Subject
from study.roles import ENTER, VIEW, perm
from study.scoping import require_perm, site_ids_for_user, sites_for_user, subject_view
from visits.services import declare_missed as declare
from visits.services import why_not_missable
from visits.summary import exposure_rows, tumour_summary
from visits.worklist import (
    DUE_SOON_DAYS,
    SUBJECTS_PER_PAGE,
    Filters,
    build_worklist,
    facets,
    filter_items,
    group_by_subject,
)
from visits.worklist_forms import REASON_MAX_LENGTH, DeclareMissedForm


def _scope(user: object) -> object:
    ids = site_ids_for_user(user)  # type: ignore[arg-type]
    return "all sites" if ids is None else tuple(ids)


@require_perm(VIEW)
def worklist(request: HttpRequest) -> HttpResponse:
    """Due, overdue and missing-form work by subject; filtered by site, work, visit and age.

    The list is kept while no data of the study change (crf.page_cache: the audit trail's
    last entry), for the reader's sites, role, filters, day and language."""
    can_enter = request.user.has_perm(perm(ENTER))

    def render_body() -> str:
        today = timezone.localdate()
        sites = list(sites_for_user(request.user))
        filters = Filters.from_query(request.GET, site_numbers=[site.number for site in sites])
        work = build_worklist(request.user, today=today)
        shown = filter_items(work.items, filters)
        paginator = Paginator(group_by_subject(shown), SUBJECTS_PER_PAGE)
        page = paginator.get_page(request.GET.get("page"))  # not a number: 1; too far: last
        context = {
            "today": today,
            "days": DUE_SOON_DAYS,
            "filters": filters,
            "facets": facets(work.items, filters, sites=sites),
            "page": page,
            "pages": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "total_items": len(work.items),
            "shown_items": len(shown),
            "can_enter": can_enter,
        }
        return render_to_string("visits/_worklist_body.html", context, request=request)

    parts = (
        page_cache.study_version(),
        _scope(request.user),
        page_cache.reader(request.user),
        sorted(request.GET.items()),
    )
    context = {
        "body": page_cache.fragment("worklist", parts, render_body),
        "can_enter": can_enter,
        "reason_max_length": REASON_MAX_LENGTH,
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
    if not subject.subject_id:
        return []
    return [
        (
            str(_("Treatment and response")),
            reverse("visits:summary", kwargs={"subject_pk": subject.pk}),
        )
    ]


def _next_url(request: HttpRequest) -> str:
    """Where to go back to: the worklist page the person came from, never another host."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("visits:worklist")


@subject_view(VIEW, ENTER)
@require_http_methods(["GET", "POST"])
def declare_missed(request: HttpRequest, subject: Subject, visit_code: str) -> HttpResponse:
    """Declare a visit missed with a reason (audited); it leaves the worklist.

    GET is the confirmation page the worklist's button opens without JavaScript (with
    JavaScript the same form is in a dialog on the worklist); an empty reason shows its
    message at the field.
    """
    visit = get_object_or_404(Visit, subject=subject, code=visit_code)
    next_url = _next_url(request)
    blocked = why_not_missable(visit)
    form = DeclareMissedForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not blocked and form.is_valid():
        try:
            declare(actor=request.user, visit=visit, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("%(subject)s %(visit)s declared missed.")
                % {"subject": subject.label, "visit": visit.code},
            )
            return redirect(next_url)
    context = {
        "subject": subject,
        "visit": visit,
        "form": form,
        "blocked": blocked,
        "next_url": next_url,
        "reason_max_length": REASON_MAX_LENGTH,
    }
    return render(request, "visits/declare_missed.html", context)
