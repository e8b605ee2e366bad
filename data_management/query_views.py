"""Query pages: the steps of a query from the form page's panel (htmx partial, or a plain
POST and a redirect back to the thread without JavaScript), the queries page, the query
metrics and the CSV of every query."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crf import registry
from crf import selectors as crf_selectors
from crf.registry import FormSpec
from data_management import queries as services
from data_management import query_selectors as selectors
from data_management import query_ui
from data_management.models import Query, QueryOrigin, QueryStatus
from study.models import Subject
from study.roles import ENTER, QUERIES, VIEW, perm
from study.scoping import require_perm, sites_for_user, subject_view

PER_PAGE = 50
Key = tuple[str, str, str]


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _message(error: ValidationError) -> str:
    return " ".join(str(m) for m in error.messages)


def _form_of(subject: Subject, form_code: str, record_pk: int) -> tuple[FormSpec, Any]:
    """The subject's form row ``record_pk`` of ``form_code``; 404 when it is none."""
    try:
        spec = registry.get(form_code)
    except KeyError:
        raise Http404 from None
    instance = get_object_or_404(spec.model.objects.select_related("visit"), pk=record_pk)
    if instance.subject_id != subject.pk:
        raise Http404
    return spec, instance


def _answer(
    request: HttpRequest,
    subject: Subject,
    spec: FormSpec,
    instance: Any,
    *,
    anchor: str,
    keys: set[Key],
    done: str = "",
    error: ValidationError | None = None,
    where: str = "raise",
) -> HttpResponse:
    """After a step: with htmx the panel again (and the badges it changed, out of band);
    without, a message and the form page at the thread."""
    if _is_htmx(request):
        selectors.forget_form_queries(request)
        errors = {where: _message(error)} if error is not None else {}
        typed = {where: request.POST.get("text", "")} if error is not None else {}
        if error is not None and where == "raise":
            typed["raise_variable"] = request.POST.get("variable", "")
            typed["raise_row"] = request.POST.get("row", "")
        context = query_ui.panel_context(
            request, spec, subject, instance, errors=errors, typed=typed
        )
        context["notice"] = done
        context["mark_updates"] = query_ui.mark_updates(request, spec, instance, keys)
        html = render_to_string(
            "data_management/queries/_form_panel.html", context, request=request
        )
        return HttpResponse(html.strip())
    if error is not None:
        messages.error(request, _message(error))
    elif done:
        messages.success(request, done)
    return redirect(f"{crf_selectors.form_url(subject, spec, instance)}#{anchor}")


def _target(data: Any) -> tuple[str, str, str, str]:
    """(group, row_key, variable, problem) from the raise form's two selects: a variable
    ("SYSBP" of the form, "TL.TLDIAM" of a group) and a row ("TL:T1")."""
    chosen, row = str(data.get("variable", "")), str(data.get("row", ""))
    row_group, _sep, row_key = row.partition(":")
    group, _dot, variable = chosen.rpartition(".")
    if row and not row_key:
        return "", "", "", _("Choose a row from the list.")
    if group and not row:
        return "", "", "", _("Choose the row of the value (for example the lesion).")
    if row and not group and variable:
        return "", "", "", _("That variable is not in a row: choose no row, or the row's variable.")
    if group and row_group != group:
        return "", "", "", _("The row is not of the variable's group.")
    return row_group, row_key, variable, ""


@subject_view(VIEW, QUERIES)
@require_POST
def raise_query(
    request: HttpRequest, subject: Subject, form_code: str, record_pk: int
) -> HttpResponse:
    """A monitor or data manager raises a query on the form, one of its rows or values."""
    spec, instance = _form_of(subject, form_code, record_pk)
    group, row_key, variable, problem = _target(request.POST)
    try:
        if problem:
            raise ValidationError(problem)
        query = services.raise_query(
            actor=request.user,
            subject=subject,
            form_code=spec.code,
            instance=instance,
            text=request.POST.get("text", ""),
            group=group,
            row_key=row_key,
            variable=variable,
        )
    except ValidationError as error:
        return _answer(
            request, subject, spec, instance, anchor="queries-panel", keys=set(), error=error
        )
    key = (query.group, query.row_key, query.variable)
    return _answer(
        request,
        subject,
        spec,
        instance,
        anchor=f"query-{query.pk}",
        keys={key},
        done=_("Query raised."),
    )


def _step(
    request: HttpRequest, subject: Subject, query_pk: int, service: Any, done: str
) -> HttpResponse:
    """One step on an existing query of the subject (another subject's: 404)."""
    query = get_object_or_404(Query, pk=query_pk, subject=subject)
    spec, instance = _form_of(subject, query.form_code, query.object_id)
    key = (query.group, query.row_key, query.variable)
    anchor = f"query-{query.pk}"
    try:
        service(actor=request.user, query=query, text=request.POST.get("text", ""))
    except ValidationError as error:
        return _answer(
            request,
            subject,
            spec,
            instance,
            anchor=anchor,
            keys={key},
            error=error,
            where=str(query.pk),
        )
    return _answer(request, subject, spec, instance, anchor=anchor, keys={key}, done=done)


@subject_view(VIEW, ENTER)
@require_POST
def answer_query(request: HttpRequest, subject: Subject, query_pk: int) -> HttpResponse:
    """The site answers an open query (after correcting the value in the form, if wrong)."""
    return _step(request, subject, query_pk, services.answer_query, _("Answer sent."))


@subject_view(VIEW, QUERIES)
@require_POST
def close_query(request: HttpRequest, subject: Subject, query_pk: int) -> HttpResponse:
    return _step(request, subject, query_pk, services.close_query, _("Query closed."))


@subject_view(VIEW, QUERIES)
@require_POST
def reopen_query(request: HttpRequest, subject: Subject, query_pk: int) -> HttpResponse:
    return _step(request, subject, query_pk, services.reopen_query, _("Query re-opened."))


@subject_view(VIEW)
@require_POST
def comment_query(request: HttpRequest, subject: Subject, query_pk: int) -> HttpResponse:
    """A comment on the thread, from either side (the service checks the permission)."""
    if not (request.user.has_perm(perm(QUERIES)) or request.user.has_perm(perm(ENTER))):
        raise PermissionDenied
    return _step(request, subject, query_pk, services.comment_query, _("Comment added."))


# --- The queries page, metrics and CSV ------------------------------------------------------


@require_perm(VIEW)
def query_list(request: HttpRequest) -> HttpResponse:
    """The queries of the user's sites: filters by state, site, form, origin and age; pages;
    each row links to its thread on the form."""
    now = timezone.now()
    sites = list(sites_for_user(request.user))
    filters = selectors.Filters.from_query(request.GET, site_numbers=[s.number for s in sites])
    scoped = selectors.for_user(request.user)
    shown = selectors.filtered(scoped, filters, now=now)
    page = Paginator(selectors.listed(shown).order_by("-raised_at", "-id"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    everywhere = dataclasses.replace(filters, status="")
    counts = selectors.status_counts(selectors.filtered(scoped, everywhere, now=now))
    others = everywhere.params()
    pills = [
        (code, label, n, "?" + urlencode({**others, "status": code} if code else others))
        for code, label, n in [
            ("", _("All"), sum(counts.values())),
            *((status, label, counts[status]) for status, label in QueryStatus.choices),
        ]
    ]
    context = {
        "page": page,
        "rows": selectors.rows(page.object_list, now=now),
        "filters": filters,
        "sites": sites,
        "forms": [(spec.code, spec.title) for spec in registry.all_forms()],
        "statuses": [("active", _("Open or answered")), *QueryStatus.choices],
        "origins": QueryOrigin.choices,
        "ages": [(key, label) for key, _low, _high, label in selectors.AGE_BUCKETS],
        "pills": pills,
        "page_query": urlencode(filters.params()),
        "can_manage": request.user.has_perm(perm(QUERIES)),
    }
    return render(request, "data_management/queries/list.html", context)


@require_perm(VIEW, QUERIES)
def query_metrics(request: HttpRequest) -> HttpResponse:
    """Open queries by age, queries by site and by form, median days to answer and to close."""
    sites = {s.number: s.name for s in sites_for_user(request.user)}
    metrics = selectors.compute_metrics(
        selectors.metric_facts(selectors.for_user(request.user)), now=timezone.now()
    )
    origins = dict(QueryOrigin.choices)
    context = {
        "metrics": metrics,
        "ages": [
            (key, label, metrics.by_age[key]) for key, _low, _high, label in selectors.AGE_BUCKETS
        ],
        "by_site": [(n, sites.get(n, ""), tally) for n, tally in metrics.by_site.items()],
        "by_form": [
            (code, selectors.form_title(code), tally) for code, tally in metrics.by_form.items()
        ],
        "timings": [(origins.get(t.origin, _("Every query")), t) for t in metrics.timings],
    }
    return render(request, "data_management/queries/metrics.html", context)


# The keys of ``manage.py queries --json`` (data_management.queries.query_document), the
# thread flattened to one cell.
CSV_COLUMNS = (
    "id",
    "subject",
    "site",
    "visit",
    "form",
    "group",
    "variable",
    "row_key",
    "origin",
    "check_code",
    "status",
    "text",
    "raised_by",
    "raised_at",
    "answered_at",
    "closed_at",
    "thread",
)


def _iso(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds") if value else ""


def _username(user: Any) -> str:
    return str(user.get_username()) if user is not None else "system"


def csv_rows(queries: Iterable[Query]) -> list[list[Any]]:
    """Every query as a CSV row: times in ISO 8601 UTC, the thread as its steps
    ("time author step (status after): text") joined by " | "."""
    return [
        [
            q.pk,
            q.subject.label,
            q.subject.site.number,
            q.visit_code,
            q.form_code,
            q.group,
            q.variable,
            q.row_key,
            q.origin,
            q.check_code,
            q.status,
            q.text,
            _username(q.raised_by),
            _iso(q.raised_at),
            _iso(q.answered_at),
            _iso(q.closed_at),
            " | ".join(
                f"{_iso(m.at)} {_username(m.author)} {m.step} ({m.status_after}): {m.text}"
                for m in q.messages.all()
            ),
        ]
        for q in queries
    ]


@require_perm(VIEW, QUERIES)
def query_csv(request: HttpRequest) -> HttpResponse:
    """Every query of the user's sites with its thread, as CSV."""
    queries = selectors.with_thread(
        selectors.for_user(request.user).select_related("subject__site")
    ).order_by("raised_at", "id")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="queries-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(queries))
    return response
