"""Import a study data file: all or nothing, every edit check, audited with the file's SHA-256."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crf.datafile import DataFileError, ImportReport, import_document, parse_lazily
from study.models import Role
from study.roles import IMPORT, perm


class Command(BaseCommand):
    help = (
        "Import a study data file (JSON). Nothing is written when any value is refused; "
        "every error is listed as subject / visit / form / variable: message."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The study data file, or - for standard input.")
        parser.add_argument(
            "--reason", required=True, help="Why the data are imported (kept in the audit trail)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and report; write nothing."
        )
        parser.add_argument(
            "--user",
            help="The data manager who imports (default: the first active data manager).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The arguments and the file are checked before the database is opened: a file
        # that is not a study data file (not UTF-8, not JSON, nested too deep) is a
        # message and exit status 1, never a traceback.
        if not options["reason"].strip():
            raise CommandError("Give a reason for the import (--reason).")
        raw = sys.stdin.buffer.read() if options["file"] == "-" else self._read(options["file"])
        sha = hashlib.sha256(raw).hexdigest()
        try:
            text = raw.decode("utf-8-sig")
            del raw  # the text is kept, and each subject read from it in turn
            document = parse_lazily(text)
        except (UnicodeDecodeError, DataFileError) as error:
            raise CommandError(f"{options['file']}: {error}") from None
        actor = self._actor(options["user"])
        try:
            report = import_document(
                document=document,
                actor=actor,
                reason=options["reason"],
                file_sha256=sha,
                dry_run=options["dry_run"],
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self._print(report)
        if report.errors:
            raise CommandError(f"{len(report.errors)} errors: nothing was imported.")

    @staticmethod
    def _read(name: str) -> bytes:
        try:
            return Path(name).read_bytes()
        except OSError as error:
            raise CommandError(f"{name}: {error.strerror}") from None

    @staticmethod
    def _actor(username: str | None) -> Any:
        users = get_user_model().objects.filter(is_active=True)
        if username:
            actor = users.filter(username=username).first()
            if actor is None:
                raise CommandError(f"No active user {username!r}.")
        else:
            actor = users.filter(membership__role=Role.DATA_MANAGER).order_by("pk").first()
            if actor is None:
                raise CommandError("No active data manager to import as: give --user USERNAME.")
        if not actor.has_perm(perm(IMPORT)):
            raise CommandError(f"{actor.get_username()} may not import data (data managers may).")
        return actor

    def _print(self, report: ImportReport) -> None:
        for error in report.errors:
            self.stderr.write(str(error))
        if report.errors:
            return
        s = report.summary
        lead = "Dry run, nothing written; the import would give" if report.dry_run else "Imported"
        self.stdout.write(
            f"{lead} (file SHA-256 {report.file_sha256}): {s.sites_created} sites, "
            f"{s.subjects_created} subjects and {s.forms_created} forms created; "
            f"{s.subjects_changed} subjects and {s.forms_changed} forms changed; "
            f"{s.forms_unchanged} forms unchanged; {s.values_changed} values written."
        )
        for change in report.changed_forms:
            where = " / ".join(p or "-" for p in (change.subject, change.visit, change.form))
            self.stdout.write(f"  changed {where}: {', '.join(change.variables)}")
