"""Data management: the subject × visit status matrix (page, menu entry) and the monitor's
home panel (data_management.workspace)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from data_management.matrix_selectors import (
    STATE_LABELS,
    STATUS_FILTER_LABELS,
    Cell,
    CellState,
    Row,
    build_matrix,
    parse_status,
)
from study.roles import VIEW
from study.scoping import require_perm, sites_for_user


def connect() -> None:
    """Register this concern's hooks and navigation (called from DataManagementConfig)."""
    from data_management import workspace
    from study import home_panels, navigation

    navigation.register(
        navigation.NavItem(_("Status matrix"), "data_management:matrix", VIEW, order=16)
    )
    home_panels.register(workspace.monitor_panel, order=20)


@require_perm(VIEW)
def status_matrix(request: HttpRequest) -> HttpResponse:
    """Subjects × visits of the reader's sites, a page of subjects at a time, filtered by
    site and by status; each cell says where the visit stands and links to it."""
    sites = list(sites_for_user(request.user).order_by("number"))
    numbers = {site.number for site in sites}
    site = request.GET.get("site") if request.GET.get("site") in numbers else None
    status = parse_status(request.GET.get("status"))
    matrix = build_matrix(
        request.user,
        today=timezone.localdate(),
        site_number=site,
        status=status,
        page_number=request.GET.get("page"),
    )
    params = {"site": site or "", "status": status.value if status else ""}
    context = {
        "matrix": matrix,
        "page": matrix.page,
        "rows": [(row, render_row_cells(row)) for row in matrix.rows],
        "sites": sites,
        "site": site,
        "status": status.value if status else "",
        "statuses": [(s.value, label) for s, label in STATUS_FILTER_LABELS.items()],
        "states": [(s.value, label) for s, label in STATE_LABELS.items()],
        "filtered": bool(site or status),
        "page_query": urlencode({k: v for k, v in params.items() if v}),
    }
    return render(request, "data_management/matrix/matrix.html", context)


def render_cell(cell: Cell | None) -> str:
    """One cell's HTML. Built here rather than in the template: a page holds thousands of
    cells, and the template engine would spend most of the page's time on them. The link's
    name (aria-label, also its tooltip) says in words what its marks show."""
    if cell is None:
        return '<td class="mx-none"></td>'
    text = escape(f"{cell.code}: {cell.summary}")
    marks = []
    if cell.open_queries:
        marks.append(f'<span class="mx-q">{cell.open_queries}</span>')
    elif cell.answered_queries:
        marks.append(f'<span class="mx-q mx-qa">{cell.answered_queries}</span>')
    if cell.verified:
        marks.append('<span class="mx-v"></span>')
    elif cell.partly_verified:
        marks.append('<span class="mx-v mx-vp"></span>')
    if cell.signed:
        marks.append('<span class="mx-g"></span>')
    elif cell.signature_invalidated:
        marks.append('<span class="mx-g mx-gx"></span>')
    if cell.any_locked:
        marks.append(f'<span class="mx-l{"" if cell.locked else " mx-lp"}"></span>')
    return (
        f'<td><a class="mx mx-{cell.state.value}" href="{escape(cell.url)}" aria-label="{text}" '
        f'title="{text}">{"".join(marks)}</a></td>'
    )


def render_row_cells(row: Row) -> SafeString:
    """The row's cells, then its log forms' cell."""
    cells = [render_cell(cell) for cell in row.cells]
    cells.append(render_cell(row.logs).replace("<td>", '<td class="mx-logs">', 1))
    return mark_safe("".join(cells))  # noqa: S308 - every value above is escaped or ours


__all__ = ["CellState", "connect", "render_cell", "status_matrix"]
