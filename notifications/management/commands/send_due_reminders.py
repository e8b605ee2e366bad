"""Collect and send the reminders due now (or on --date): running it twice sends nothing more."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications import services
from notifications.models import DigestStatus


class Command(BaseCommand):
    help = (
        "Create today's notifications and daily digests (each site's local date, after its "
        "07:30; or every site on --date) and send the pending digests now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="YYYY-MM-DD: the local date to collect for")

    def handle(self, *args: Any, **options: Any) -> None:
        date = None
        if options.get("date"):
            try:
                date = dt.date.fromisoformat(options["date"])
            except ValueError as error:
                raise CommandError("--date must be YYYY-MM-DD") from error
        pending = services.collect_due(date)
        sent = failed = 0
        for digest in pending:
            try:
                result = services.send_digest(digest.pk)
            except Exception as error:  # recorded on the digest by services
                failed += 1
                self.stderr.write(f"digest {digest.pk}: {error}")
                continue
            if result is not None and result.status == DigestStatus.SENT:
                sent += 1
        self.stdout.write(f"{sent} digests sent, {failed} failed")
