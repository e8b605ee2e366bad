"""Check every hash chain of the audit trail, and the trail against its latest anchor;
exit 1 when something is wrong. Each run is kept (data_management.models.AuditCheck) and
shown to data managers."""

from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crf.audit import ChainProblem, verify_chains


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chains and compare them with the latest anchor outside "
        "the database (tampering, truncation and a re-computed chain are reported)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="who runs the check (kept with its result)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options.get("user"):
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"No user {options['user']!r}.")
        if not apps.is_installed("data_management"):  # the chains alone
            self._chains_only()
            return
        # The anchors and the record of each run belong to data management, which adds them
        # to crf's command (imported here, when the command runs, not by crf's modules).
        from data_management.anchors import check_audit_trail, record_audit_check

        result = check_audit_trail()
        record_audit_check(actor=actor, result=result)
        for problem in result.problems:
            self.stderr.write(f"BROKEN {problem}")
        if result.anchor is None:
            self.stdout.write("No anchor yet: the trail was compared with none.")
        else:
            self.stdout.write(
                f"Compared with the anchor of {result.anchor.at:%Y-%m-%d %H:%M} UTC "
                f"({len(result.anchor.chains)} chains)."
            )
        if result.problems:
            raise CommandError(
                f"Audit trail verification FAILED: {len(result.problems)} problem(s)."
            )
        self.stdout.write(
            f"Audit trail intact: {result.entries} entries in {result.chains} chains."
        )

    def _chains_only(self) -> None:
        problems: list[ChainProblem] = []
        chains = entries = 0
        for item in verify_chains():
            if isinstance(item, ChainProblem):
                problems.append(item)
                self.stderr.write(f"BROKEN {item.chain} entry {item.entry_id}: {item.message}")
            else:
                chains += 1
                entries += item[1]
        if problems:
            raise CommandError(f"Audit trail verification FAILED: {len(problems)} problem(s).")
        self.stdout.write(f"Audit trail intact: {entries} entries in {chains} chains.")
