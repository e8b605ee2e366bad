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
    renderer = CellRenderer()
    params = {"site": site or "", "status": status.value if status else ""}
    context = {
        "matrix": matrix,
        "page": matrix.page,
        "rows": [(row, renderer.row(row)) for row in matrix.rows],
        "sites": sites,
        "site": site,
        "status": status.value if status else "",
        "statuses": [(s.value, label) for s, label in STATUS_FILTER_LABELS.items()],
        "states": [(s.value, label) for s, label in STATE_LABELS.items()],
        "filtered": bool(site or status),
        "page_query": urlencode({k: v for k, v in params.items() if v}),
    }
    return render(request, "data_management/matrix/matrix.html", context)


class CellRenderer:
    """Cells' HTML. Built here rather than in the template: a page holds thousands of cells,
    and the template engine would spend most of the page's time on them. A link's name
    (aria-label, also its tooltip) says in words what its marks show; the words of a cell
    without marks (most of them) are translated and escaped once a page. A cell's URL
    (data_management.matrix_selectors) is a reversed path and a URL-quoted visit code, with
    nothing for HTML to escape."""

    def __init__(self) -> None:
        self.states = {state: str(label) for state, label in STATE_LABELS.items()}
        self.plain: dict[tuple[str, str], str] = {}

    def text(self, cell: Cell) -> str:
        if (
            cell.open_queries
            or cell.answered_queries
            or cell.forms_verified
            or cell.signed
            or cell.signature_invalidated
            or cell.locked
            or cell.forms_locked
        ):
            return escape(f"{cell.code}: {cell.summary}")
        key = (cell.code, cell.state)
        found = self.plain.get(key)
        if found is None:
            found = self.plain[key] = escape(f"{cell.code}: {self.states[cell.state]}")
        return found

    def cell(self, cell: Cell | None, td: str = "<td>") -> str:
        if cell is None:
            return '<td class="mx-none"></td>'
        text = self.text(cell)
        marks = ""
        if cell.open_queries:
            marks += f'<span class="mx-q">{cell.open_queries}</span>'
        elif cell.answered_queries:
            marks += f'<span class="mx-q mx-qa">{cell.answered_queries}</span>'
        if cell.verified:
            marks += '<span class="mx-v"></span>'
        elif cell.partly_verified:
            marks += '<span class="mx-v mx-vp"></span>'
        if cell.signed:
            marks += '<span class="mx-g"></span>'
        elif cell.signature_invalidated:
            marks += '<span class="mx-g mx-gx"></span>'
        if cell.locked:
            marks += '<span class="mx-l"></span>'
        elif cell.forms_locked:
            marks += '<span class="mx-l mx-lp"></span>'
        return (
            f'{td}<a class="mx mx-{cell.state.value}" href="{cell.url}" '
            f'aria-label="{text}" title="{text}">{marks}</a></td>'
        )

    def row(self, row: Row) -> SafeString:
        """The row's visit cells, then its log forms' cell."""
        cells = [self.cell(cell) for cell in row.cells]
        cells.append(self.cell(row.logs, '<td class="mx-logs">'))
        return mark_safe("".join(cells))  # noqa: S308 - every value above is escaped or ours


__all__ = ["CellRenderer", "CellState", "connect", "status_matrix"]
