"""The study coordinator's enrolment dashboard and the CSV of each of its tables."""

from __future__ import annotations

import csv

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from enrollment.dashboard import CSV_TABLES, csv_table, enrolment_dashboard
from study import protocol
from study.roles import DASHBOARDS
from study.scoping import require_perm

# A cell starting with one of these is read as a formula by spreadsheets (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@require_perm(DASHBOARDS)
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "enrollment/dashboard.html",
        {"dashboard": enrolment_dashboard(request.user), "csv_tables": CSV_TABLES},
    )


@require_perm(DASHBOARDS)
def dashboard_csv(request: HttpRequest, table: str) -> HttpResponse:
    """One table of the dashboard as CSV (UTF-8 with a BOM, so spreadsheets read Chinese)."""
    if table not in CSV_TABLES:
        raise Http404
    data = enrolment_dashboard(request.user)
    header, rows = csv_table(data, table)
    filename = f"{protocol.STUDY_CODE}-enrolment-{table}-{data.today:%Y-%m-%d}.csv"
    response = HttpResponse(
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([[_safe(cell) for cell in row] for row in rows])
    return response


def _safe(cell: object) -> object:
    if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell
