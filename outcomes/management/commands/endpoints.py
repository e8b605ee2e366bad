"""Print every enrolled subject's endpoints and the study summary (protocol.md statistics)."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from outcomes.study import endpoints_document, enrolled_subjects, study_outcomes
from study.models import Subject


class Command(BaseCommand):
    help = (
        "Endpoints (BOR, PFS, OS) of every enrolled subject and the study's ORR, DCR, KM medians."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON document")
        parser.add_argument(
            "--cutoff", help="data cut-off date YYYY-MM-DD (default: today in the study zone)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        import datetime as dt

        today = (
            dt.date.fromisoformat(options["cutoff"]) if options["cutoff"] else timezone.localdate()
        )
        outcomes = study_outcomes(enrolled_subjects(Subject.objects.all()), today=today)
        document = endpoints_document(outcomes)
        if options["json"]:
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
            return
        for row in document["subjects"]:
            pfs, os_ = row["pfs"], row["os"]
            self.stdout.write(
                f"{row['subject_id']:<8} day1 {row['day1'] or '-':<10} BOR {row['bor'] or '-':<3}"
                f" PFS {pfs['days'] or '-':>4} {'event' if pfs['event'] else 'cens.'}"
                f" ({pfs['reason']})  OS {os_['days'] or '-':>4}"
                f" {'event' if os_['event'] else 'cens.'}"
            )
        summary = document["summary"]
        self.stdout.write(f"n={summary['n']} ORR={summary['orr']} DCR={summary['dcr']}")
        self.stdout.write(f"PFS={summary['pfs']} OS={summary['os']}")
