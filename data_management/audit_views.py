"""Audit views: each field's history on the form, the study-wide audit search and its CSV, and
the audit trail's check (verify_audit) shown to and run by data managers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crf import audit_labels, registry
from crf.models import AuditAction, AuditChain, AuditEntry
from crf.registry import FormSpec, MarkKey
from data_management import anchors
from data_management.audit_selectors import (
    csv_rows,
    form_history,
    latest_check,
    study_entries,
    study_filters,
    zone_of,
)
from data_management.models import LockLevel, QueryStatus
from study.roles import AUDIT, LOCK, perm
from study.scoping import require_perm

# The study-wide search, its CSV and the check are the data manager's: the audit trail's
# permission and the one only data managers hold (study.roles).
DATA_MANAGER_PERMS = (AUDIT, LOCK)


def _is_data_manager(user: Any) -> bool:
    return all(user.has_perm(perm(p)) for p in DATA_MANAGER_PERMS)


# --- A form's history (marks at each field and row, a panel below the form) ---------------


@dataclass(frozen=True)
class FieldHistory:
    """One field's (or row's, or the whole form's) entries, oldest first."""

    key: MarkKey
    anchor: str
    title: str
    entries: list[AuditEntry]


def _history(request: Any, spec: FormSpec, instance: Any) -> list[FieldHistory]:
    """The form's entries by field in the form's order, read once a request."""
    cache = request.__dict__.setdefault("_edc_form_history", {})
    key = (spec.code, instance.pk)
    if key not in cache:
        cache[key] = _by_field(spec, form_history(spec, instance))
    found: list[FieldHistory] = cache[key]
    return found


def _by_field(spec: FormSpec, entries: list[AuditEntry]) -> list[FieldHistory]:
    buckets: dict[MarkKey, list[AuditEntry]] = defaultdict(list)
    for entry in entries:
        if entry.group:
            buckets[(entry.group, entry.row_key, "")].append(entry)
        else:
            buckets[("", "", entry.variable)].append(entry)
    order: list[MarkKey] = [("", "", "")] + [("", "", v.name) for v in spec.variables]
    for group in spec.groups:
        order += sorted(k for k in buckets if k[0] == group.name)
    order += [k for k in buckets if k not in order]  # anything the spec no longer names
    found = []
    for key in order:
        if key not in buckets:
            continue
        group_name, row_key, variable = key
        if group_name:
            title = f"{_group_title(spec, group_name)} {row_key}"
        elif variable:
            label = audit_labels.variable_name(spec.code, "", variable)
            title = f"{label} ({variable})" if label else variable
        else:
            title = str(_("The form"))
        anchor = "history-" + (slugify("-".join(p for p in key if p)) or "form")
        found.append(FieldHistory(key, anchor, title, buckets[key]))
    return found


def _group_title(spec: FormSpec, name: str) -> str:
    try:
        return str(spec.group(name).title or name)
    except StopIteration:
        return name


def form_marks(request: Any, spec: FormSpec, subject: Any, instance: Any) -> dict[MarkKey, str]:
    """A "History" link at each field and row that has entries, to its part of the panel."""
    if instance is None or not request.user.has_perm(perm(AUDIT)):
        return {}
    marks: dict[MarkKey, str] = {}
    for field in _history(request, spec, instance):
        if field.key == ("", "", ""):
            continue
        count = len(field.entries)
        marks[field.key] = format_html(
            '<a class="edc-history-link small" href="#{}" aria-label="{}">{}</a>',
            field.anchor,
            _("History of %(field)s: %(n)d entries") % {"field": field.title, "n": count},
            _("History (%(n)d)") % {"n": count},
        )
    return marks


def form_panel(request: Any, spec: FormSpec, subject: Any, visit: Any, instance: Any) -> str:
    """ "History of this form": each field's changes, old → new, who, when (the site's
    zone), reason and source, by their labels."""
    if instance is None or not request.user.has_perm(perm(AUDIT)):
        return ""
    history = _history(request, spec, instance)
    if not history:
        return ""
    zone = subject.site.time_zone
    with timezone.override(zone_of(zone)):
        return render_to_string(
            "data_management/audit/_form_history.html",
            {
                "history": history,
                "zone": zone,
                "subject": subject,
                "trail_url": reverse("crf:subject_audit", kwargs={"subject_pk": subject.pk})
                + f"?form={spec.code}",
            },
            request=request,
        )


# --- The study-wide search ------------------------------------------------------------------


@require_perm(*DATA_MANAGER_PERMS)
def audit_search(request: HttpRequest) -> HttpResponse:
    """Every entry of the study, filtered by subject, site, form, visit, user, action and
    dates, 100 a page, newest first; the latest check of the trail and a button to run it."""
    filters = study_filters(request.GET, request.user)
    entries = study_entries(request.user, filters)
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    rows = [
        (e, timezone.localtime(e.at, zone_of(e.subject.site.time_zone if e.subject else None)))
        for e in page
    ]
    context = {
        "page": page,
        "rows": rows,
        "filters": filters,
        "page_query": filters.query_string(),
        "csv_url": reverse("data_management:audit_csv") + "?" + filters.query_string(),
        "clear_url": reverse("data_management:audit_search"),
        "check": latest_check(),
    }
    return render(request, "data_management/audit/search.html", context)


@require_perm(*DATA_MANAGER_PERMS)
def audit_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The search's entries as CSV (UTF-8 with BOM), streamed a chunk at a time."""
    filters = study_filters(request.GET, request.user)
    response = StreamingHttpResponse(
        csv_rows(study_entries(request.user, filters)), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.csv"'
    return response


@require_perm(*DATA_MANAGER_PERMS)
@require_POST
def audit_check_run(request: HttpRequest) -> HttpResponse:
    """Run verify_audit's check now (the chains and the latest anchor) and keep its result;
    a trail longer than EDC_AUDIT_CHECK_INLINE_MAX entries is checked by the worker."""
    back = request.POST.get("next", "")
    if back not in {reverse("study:home"), reverse("data_management:audit_search")}:
        back = reverse("data_management:audit_search")
    length = AuditChain.objects.aggregate(total=Sum("length"))["total"] or 0
    if length > getattr(settings, "EDC_AUDIT_CHECK_INLINE_MAX", 200_000):
        from data_management.tasks import check_audit_trail

        actor_id = request.user.pk
        transaction.on_commit(lambda: check_audit_trail.delay(actor_id))
        messages.info(
            request,
            _(
                "The audit trail holds %(n)d entries: it is being checked in the background. "
                "Reload this page in a few minutes to see the result."
            )
            % {"n": length},
        )
        return redirect(back)
    check = anchors.record_audit_check(actor=request.user)
    if check.intact:
        messages.success(
            request,
            _("Audit trail intact: %(entries)d entries in %(chains)d chains.")
            % {"entries": check.entries, "chains": check.chains},
        )
    else:
        messages.error(
            request,
            _("The audit trail check found %(n)d problem(s): see below.")
            % {"n": len(check.problems.splitlines())},
        )
    return redirect(back)


def home_panel(request: Any) -> str:
    """The data manager's home: the latest check of the audit trail and its button."""
    if not _is_data_manager(request.user):
        return ""
    return render_to_string(
        "data_management/audit/_check_panel.html",
        {"check": latest_check(), "next": reverse("study:home")},
        request=request,
    )


def connect() -> None:
    """Register this concern's hooks and navigation (called from DataManagementConfig)."""
    from study import home_panels, navigation

    audit_labels.register_value_labels(AuditAction.QUERY, QueryStatus.choices)
    audit_labels.register_value_labels(AuditAction.LOCK, LockLevel.choices)
    audit_labels.register_value_labels(AuditAction.UNLOCK, LockLevel.choices)
    registry.register_form_marks(form_marks)
    registry.register_form_panel(form_panel, order=80)
    home_panels.register(home_panel, order=60)
    navigation.register(
        navigation.NavItem(
            gettext_lazy("Audit trail"), "data_management:audit_search", LOCK, order=78
        )
    )
