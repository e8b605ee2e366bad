"""Write an anchor of the audit trail now (beat writes one daily, a study lock another)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from data_management import anchors


class Command(BaseCommand):
    help = (
        "Sign every audit chain's head and length (EDC_AUDIT_ANCHOR_KEY) and append them to "
        "the anchor log outside the database, mailed to the data managers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--why", default="operator", help="why (kept in the anchor)")
        parser.add_argument("--user", help="who (kept in the anchor)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options.get("user"):
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"No user {options['user']!r}.")
        path = anchors.write_anchor(actor=actor, why=options["why"])
        latest = anchors.read_anchors(path).latest_valid
        chains = len(latest.chains) if latest is not None else 0
        self.stdout.write(f"Anchor of {chains} chains appended to {path}.")
