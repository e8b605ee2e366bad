"""Check every hash chain of the audit trail; exit 1 when one is broken."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from crf.audit import ChainProblem, verify_chains


class Command(BaseCommand):
    help = "Verify the audit trail's hash chains (tampering shows as a broken chain)."

    def handle(self, *args: Any, **options: Any) -> None:
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
