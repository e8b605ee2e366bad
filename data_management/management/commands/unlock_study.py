"""Unlock the whole study, audited as a data manager."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from data_management import locks
from data_management.management.commands.lock_study import add_lock_arguments, run


class Command(BaseCommand):
    help = "Unlock the study locked by lock_study (with a reason, audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_lock_arguments(parser, doing="unlocked")

    def handle(self, *args: Any, **options: Any) -> None:
        lock = run(locks.unlock_study, options["reason"], options["user"])
        assert lock.unlocked_at is not None and lock.unlocked_by is not None
        self.stdout.write(
            f"The study is unlocked by {lock.unlocked_by.get_username()} at "
            f"{lock.unlocked_at:%Y-%m-%d %H:%M} UTC ({lock.unlock_reason})."
        )
