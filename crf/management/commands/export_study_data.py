"""Write the study data file (crf-spec "The study data file") to FILE, or to stdout with -."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crf.datafile import Stream, chunks, export_stream


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
        # Written a chunk of subjects at a time (crf.datafile.export_stream): an export of
        # any size holds one chunk, never the whole study.
        document = export_stream(user=user)
        counts = {"subjects": 0, "screening": 0}

        def counted(key: str, items: Stream) -> Any:
            for item in items:
                counts[key] += 1
                yield item

        document |= {k: Stream(counted(k, document[k])) for k in counts}
        if options["file"] == "-":
            for chunk in chunks(document):
                self.stdout.write(chunk, ending="")
            return
        with Path(options["file"]).open("w", encoding="utf-8") as out:
            out.writelines(chunks(document))
        self.stderr.write(
            f"Wrote {options['file']}: {counts['subjects']} subjects, "
            f"{counts['screening']} screened persons never enrolled."
        )
