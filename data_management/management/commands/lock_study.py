"""Lock the whole study (the database lock), audited as a data manager."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from data_management import locks
from study.models import Role
from study.roles import LOCK, perm


def add_lock_arguments(parser: CommandParser, *, doing: str) -> None:
    parser.add_argument(
        "--reason", required=True, help=f"Why the study is {doing} (kept in the audit trail)."
    )
    parser.add_argument(
        "--user",
        help=f"The data manager the study is {doing} as (default: the first active data manager).",
    )


def data_manager(username: str | None) -> Any:
    """The user named, or the first active data manager; CommandError when none may lock."""
    users = get_user_model().objects.filter(is_active=True)
    if username:
        actor = users.filter(username=username).first()
        if actor is None:
            raise CommandError(f"No active user {username!r}.")
    else:
        actor = users.filter(membership__role=Role.DATA_MANAGER).order_by("pk").first()
        if actor is None:
            raise CommandError("No active data manager: give --user USERNAME.")
    if not actor.has_perm(perm(LOCK)):
        raise CommandError(f"{actor.get_username()} may not lock data (data managers may).")
    return actor


def run(action: Any, reason: str, username: str | None) -> Any:
    """Call the lock service with the checked reason and user; its refusal as CommandError."""
    if not reason.strip():
        raise CommandError("Give the reason (--reason).")
    actor = data_manager(username)
    try:
        return action(actor=actor, reason=reason)
    except (ValidationError, PermissionDenied) as error:
        messages = error.messages if isinstance(error, ValidationError) else [str(error)]
        raise CommandError(" ".join(messages)) from None


class Command(BaseCommand):
    help = (
        "Lock the whole study: every form, visit and subject becomes read-only for every "
        "user and path until unlock_study; reading and exports keep working."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_lock_arguments(parser, doing="locked")

    def handle(self, *args: Any, **options: Any) -> None:
        lock = run(locks.lock_study, options["reason"], options["user"])
        self.stdout.write(
            f"The study is locked by {lock.locked_by.get_username()} at "
            f"{lock.locked_at:%Y-%m-%d %H:%M} UTC ({lock.reason})."
        )
