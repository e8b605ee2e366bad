"""Write a subject's casebook (PDF/A-3b with its study data file embedded), or time the
naive and the optimised render of the same casebook (``--bench``, issue 13: Speed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from reports import casebook, pdf
from reports.models import ExportKind
from study.models import Subject


class Command(BaseCommand):
    help = (
        "Write the casebook of a subject (by subject ID, e.g. 01-003) as a PDF/A-3b file "
        "with the subject's study data file embedded; --bench times a naive and the "
        "optimised render of the same casebook."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subject_id", help="The subject ID (e.g. 01-003) or screening number.")
        parser.add_argument("-o", "--output", help="The PDF file to write.")
        parser.add_argument("--user", help="The user named as exporter (default: the system).")
        parser.add_argument(
            "--language", default="en", help="Interface language of the PDF (en, zh-hans)."
        )
        parser.add_argument(
            "--bench",
            action="store_true",
            help="Print the seconds of a naive and of the optimised render (nothing written).",
        )
        parser.add_argument("--rounds", type=int, default=1, help="Rounds of --bench (best).")

    def handle(self, *args: Any, **options: Any) -> None:
        label = options["subject_id"]
        subject = (
            Subject.objects.select_related("site")
            .filter(Q(subject_id=label) | Q(screening_id=label))
            .first()
        )
        if subject is None:
            raise CommandError(f"No subject {label}.")
        if options["bench"]:
            self._bench(subject, options)
            return
        if not options["output"]:
            raise CommandError("Name the PDF to write with -o FILE.pdf.")
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"No user {options['user']}.")
        content = casebook.render_casebook(subject, actor=actor, language=options["language"])
        path = Path(options["output"])
        path.write_bytes(content)
        pdf.record_export(
            actor=actor,
            kind=ExportKind.CASEBOOK,
            subject=subject,
            content=content,
            source="command",
            detail=f"{path} language={options['language']}",
        )
        self.stdout.write(
            f"Wrote {path}: casebook of {subject.label} "
            f"({len(content)} bytes, SHA-256 {pdf.sha256(content)})."
        )

    def _bench(self, subject: Subject, options: dict[str, Any]) -> None:
        result = casebook.bench(
            subject, language=options["language"], rounds=max(1, options["rounds"])
        )
        speedup = result["naive"] / result["optimised"] if result["optimised"] else 0.0
        self.stdout.write(
            f"Casebook of {subject.label}: naive {result['naive']:.2f} s "
            f"({int(result['naive_pages'])} pages), optimised {result['optimised']:.2f} s "
            f"({int(result['pages'])} pages): {speedup:.1f}x faster"
        )
