"""Write a synthetic study of N enrolled subjects as a study data file (outcomes.synthetic),
for `make bench` and for trying the pages at study scale:

    manage.py synthetic_study --subjects 2000 -o var/synthetic.json [--seed S]
    manage.py import_study_data var/synthetic.json --reason "synthetic study"

Nothing is written to the database: the file is imported like any other.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from crf.datafile import chunks
from outcomes.synthetic import synthetic_document


class Command(BaseCommand):
    help = (
        "Write a study data file of N synthetic enrolled subjects with full visit histories "
        "(and the persons who failed screening), to import with import_study_data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subjects", type=int, required=True, help="Enrolled subjects.")
        parser.add_argument("-o", "--output", required=True, help="The file, or - for stdout.")
        parser.add_argument("--seed", type=int, default=0, help="Another seed, another study.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subjects"] < 1:
            raise CommandError("--subjects must be at least 1.")
        document = synthetic_document(
            options["subjects"], seed=options["seed"], today=timezone.localdate()
        )
        if options["output"] == "-":
            sys.stdout.writelines(chunks(document))
            return
        with Path(options["output"]).open("w", encoding="utf-8") as out:
            out.writelines(chunks(document))
        self.stderr.write(f"Wrote {options['output']}: {options['subjects']} subjects.")
