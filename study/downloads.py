"""CSV downloads: one way for every page (UTF-8 with a BOM so spreadsheets read Chinese,
and text cells that a spreadsheet would run as a formula neutralised)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

# A cell starting with one of these is read as a formula by spreadsheets (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(cell: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers
    (including negative ones) are left as they are."""
    if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def csv_response(
    filename: str, header: Sequence[object], rows: Iterable[Sequence[object]]
) -> HttpResponse:
    response = HttpResponse(
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return response
