"""Print every query (issue 12): ``manage.py queries [--json] [--status open|answered|closed]``.

With ``--json`` a JSON array, one object per query (data_management.queries.query_document:
subject, site, visit, form, group, variable, row key, origin, check code, status, text,
raised/answered/closed times in ISO 8601 UTC, thread); without it a table to read.
Every site's queries: this is an operator's command, run with the server's rights.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from data_management.models import Query, QueryStatus
from data_management.queries import query_document, with_threads


class Command(BaseCommand):
    help = "Every query with its thread, as a table or as JSON (--json); --status filters."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON array")
        parser.add_argument(
            "--status",
            help="only queries in this state: " + ", ".join(QueryStatus.values),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        queries = Query.objects.order_by("raised_at", "id")
        status = options["status"]
        if status is not None:
            if status not in QueryStatus.values:
                raise CommandError(
                    f"--status must be one of {', '.join(QueryStatus.values)}, not {status!r}."
                )
            queries = queries.filter(status=status)
        documents = [query_document(query) for query in with_threads(queries)]
        if options["json"]:
            self.stdout.write(json.dumps(documents, indent=2, ensure_ascii=False))
            return
        self._table(documents)

    def _table(self, documents: list[dict[str, Any]]) -> None:
        header = (
            "Subject",
            "Site",
            "Visit",
            "Where",
            "Origin",
            "Status",
            "Raised",
            "Steps",
            "Query",
        )
        rows = [
            (
                doc["subject"],
                doc["site"],
                doc["visit"] or "-",
                ".".join(
                    p for p in (doc["form"], doc["group"], doc["row_key"], doc["variable"]) if p
                ),
                doc["origin"] + (f" ({doc['check_code']})" if doc["check_code"] else ""),
                doc["status"],
                (doc["raised_at"] or "")[:10],
                str(len(doc["thread"])),
                _short(doc["text"]),
            )
            for doc in documents
        ]
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write(
                "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
        self.stdout.write(f"{len(rows)} {'query' if len(rows) == 1 else 'queries'}")


def _short(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
