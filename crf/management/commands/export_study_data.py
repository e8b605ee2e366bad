"""Write the study data file (crf-spec "The study data file") to FILE, or to stdout with -."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crf.datafile import dumps, export_document


class Command(BaseCommand):
    help = "Export the study's clinical data as one JSON study data file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The file to write, or - for standard output.")
        parser.add_argument(
            "--user",
            help="Export only what this person may see (their sites); default: everything.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        document = export_document(user=user)
        text = dumps(document)
        if options["file"] == "-":
            self.stdout.write(text, ending="")
            return
        Path(options["file"]).write_text(text, encoding="utf-8")
        self.stderr.write(
            f"Wrote {options['file']}: {len(document['subjects'])} subjects, "
            f"{len(document['screening'])} screened persons never enrolled."
        )
