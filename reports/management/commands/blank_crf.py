"""Write the blank annotated CRF (every registered form, each field with its crf-spec
variable name, type and code list, and the visits of each form) as a PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reports import pdf
from reports.crf_pdf import render_blank_crf
from reports.models import ExportKind


class Command(BaseCommand):
    help = "Write the blank annotated CRF (aCRF) as a PDF, generated from the form registry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-o", "--output", required=True, help="The PDF file to write.")
        parser.add_argument(
            "--language", default="en", help="Interface language of the PDF (en, zh-hans)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        content = render_blank_crf(language=options["language"])
        path = Path(options["output"])
        path.write_bytes(content)
        pdf.record_export(
            actor=None,
            kind=ExportKind.BLANK_CRF,
            content=content,
            source="command",
            detail=str(path),
        )
        self.stdout.write(f"Wrote {path} ({len(content)} bytes, SHA-256 {pdf.sha256(content)}).")
