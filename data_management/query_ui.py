"""Where queries show: badges at a form's fields, rows and the form itself, the threads
panel below the form, the subject page's panel, the site staff's home panel and the menu.

``connect()`` is called by data_management.queries.connect() (which registers the
services' hooks); everything here reads through data_management.query_selectors.
"""

from __future__ import annotations

import re
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from crf import registry
from crf.registry import FormSpec
from data_management import query_selectors as selectors
from data_management.models import QueryStatus
from study import home_panels, navigation
from study.roles import ENTER, QUERIES, VIEW, perm

HOME_PANEL_LIMIT = 10  # the oldest open queries listed on a site's home page


def badge_text(status: str, count: int) -> str:
    if status == QueryStatus.OPEN:
        return ngettext("%(n)d open query", "%(n)d open queries", count) % {"n": count}
    if status == QueryStatus.ANSWERED:
        return ngettext("%(n)d answered query", "%(n)d answered queries", count) % {"n": count}
    return ngettext("%(n)d closed query", "%(n)d closed queries", count) % {"n": count}


def mark_id(key: tuple[str, str, str]) -> str:
    """The id of a key's badges on the form page (an htmx answer swaps them in place)."""
    return "qmark-" + re.sub(r"[^A-Za-z0-9_-]", "_", "--".join(key))


def badges_html(key: tuple[str, str, str], badges: list[selectors.Badge], row_of: str = "") -> str:
    """The badges of one field, row or form: a link to the thread per state present.
    ``row_of``: the group's title, by which queries.js finds a row not marked yet."""
    group, row, variable = key
    return format_html(
        '<span class="edc-query-marks" id="{}" data-query-group="{}" data-query-title="{}" '
        'data-query-row="{}" data-query-variable="{}">{}</span>',
        mark_id(key),
        group,
        row_of,
        row,
        variable,
        format_html_join(
            " ",
            '<a class="badge rounded-pill edc-query-badge {}" href="#query-{}" '
            'data-testid="query-badge" data-status="{}">{}</a>',
            (
                (
                    selectors.BADGE_CLASSES[QueryStatus(b.status)],
                    b.target,
                    b.status,
                    (
                        gettext("%(variable)s: %(queries)s")
                        % {"variable": b.prefix, "queries": badge_text(b.status, b.count)}
                        if b.prefix
                        else badge_text(b.status, b.count)
                    ),
                )
                for b in badges
            ),
        ),
    )


def form_marks(request: Any, spec: FormSpec, subject: Any, instance: Any) -> dict[Any, str]:
    """registry.form_marks: the query badges of the form's fields, rows and the form."""
    if instance is None or instance.pk is None or not request.user.has_perm(perm(VIEW)):
        return {}
    queries = selectors.form_queries(request, instance)
    return {key: badges_html(key, found) for key, found in selectors.badges(spec, queries).items()}


def panel_context(
    request: Any,
    spec: FormSpec,
    subject: Any,
    instance: Any,
    *,
    errors: dict[str, Any] | None = None,
    typed: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What the threads panel shows (also the htmx answer of a query's step): the threads,
    the raise form for monitors and data managers, the answer form for site staff.
    ``errors``: {"raise" or a query id: message}; ``typed``: text kept after a refusal."""
    user = request.user
    can_raise = user.has_perm(perm(QUERIES))
    queries = selectors.form_queries(request, instance)
    zone = subject.site.time_zone
    errors, typed = errors or {}, typed or {}
    threads = selectors.threads(spec, queries, zone)
    for thread in threads:
        thread.error = errors.get(str(thread.pk), "")
        thread.typed = typed.get(str(thread.pk), "")
    context = {
        "spec": spec,
        "subject": subject,
        "instance": instance,
        "threads": threads,
        "zone": selectors.zone_of(zone).key,
        "can_raise": can_raise,
        "can_close": can_raise,
        "can_answer": user.has_perm(perm(ENTER)),
        "can_edit_form": user.has_perm(perm(ENTER)),
        "raise_error": errors.get("raise", ""),
        "raise_typed": typed.get("raise", ""),
        "raise_variable": typed.get("raise_variable", ""),
        "raise_row": typed.get("raise_row", ""),
        "raise_url": reverse(
            "data_management:query_raise",
            kwargs={"subject_pk": subject.pk, "form_code": spec.code, "record_pk": instance.pk},
        ),
    }
    if can_raise:
        rows = selectors.row_choices(spec, instance)
        context["rows"] = rows
        context["variables"] = selectors.variable_choices(
            spec, {value.split(":", 1)[0] for value, _label in rows}
        )
    return context


def form_panel(request: Any, spec: FormSpec, subject: Any, visit: Any, instance: Any) -> str:
    """registry.form_panels (below the form): the form's query threads and their actions."""
    if instance is None or instance.pk is None or not request.user.has_perm(perm(VIEW)):
        return ""
    context = panel_context(request, spec, subject, instance)
    if not context["threads"] and not context["can_raise"]:
        return ""
    return render_to_string("data_management/queries/_form_panel.html", context, request=request)


def mark_updates(
    request: Any, spec: FormSpec, instance: Any, keys: set[tuple[str, str, str]]
) -> str:
    """The badges of ``keys`` as they now are, for static/js/queries.js to put in place of
    those on the page after an htmx step, or beside the value, row or form they stand at
    when the page shows none there yet (a query just raised)."""
    found = selectors.badges(spec, selectors.form_queries(request, instance))
    return format_html_join(
        "",
        "{}",
        (
            (badges_html(key, found[key], selectors.group_title(spec, key[0])),)
            for key in sorted(keys)
            if key in found
        ),
    )


def subject_panel(request: Any, subject: Any) -> str:
    """The subject page's open and answered queries (kept with the page: every step of a
    query appends to the subject's audit chain, which the page's cache is keyed on)."""
    if not request.user.has_perm(perm(VIEW)):
        return ""
    now = timezone.now()
    rows = selectors.rows(selectors.subject_active(subject), now=now)
    if not rows:
        return ""
    context = {
        "rows": rows,
        "open": sum(r.status == QueryStatus.OPEN for r in rows),
        "answered": sum(r.status == QueryStatus.ANSWERED for r in rows),
        "list_url": reverse("data_management:queries") + f"?subject={subject.pk}",
    }
    return render_to_string("data_management/queries/_subject_panel.html", context, request=request)


def home_panel(request: Any) -> str:
    """Site staff's home page: the open queries of their sites, oldest first."""
    user = request.user
    if not user.has_perm(perm(ENTER)):
        return ""
    open_queries = selectors.for_user(user).filter(status=QueryStatus.OPEN)
    total = open_queries.count()
    if not total:
        return ""
    oldest = selectors.listed(open_queries).order_by("raised_at", "id")[:HOME_PANEL_LIMIT]
    context = {
        "rows": selectors.rows(oldest, now=timezone.now()),
        "total": total,
        "list_url": reverse("data_management:queries") + "?status=open",
    }
    return render_to_string("data_management/queries/_home_panel.html", context, request=request)


def connect() -> None:
    """Register the marks, panels and menu entry (from data_management.queries.connect)."""
    registry.register_form_marks(form_marks)
    registry.register_form_panel(form_panel, order=60)
    registry.register_subject_panel(subject_panel, order=15)
    home_panels.register(home_panel, order=20)
    navigation.register(navigation.NavItem(_("Queries"), "data_management:queries", VIEW, order=17))
