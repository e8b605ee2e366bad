"""The study coordinator's enrolment dashboard and the CSV of each of its tables."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from enrollment.dashboard import CSV_TABLES, csv_table, enrolment_dashboard
from study import protocol
from study.downloads import csv_response
from study.roles import DASHBOARDS
from study.scoping import require_perm


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
    return csv_response(filename, header, rows)
