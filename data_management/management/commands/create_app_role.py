"""Create (or bring up to date) the PostgreSQL role the web and worker processes connect as.

Run as the tables' owner after every ``migrate`` (docker-compose.yml's migrate service does
both; docs/deploy.md). The role:

- may log in and nothing else: no superuser, no CREATEDB/CREATEROLE, no replication, owns
  no table, may not create tables in the schema;
- reads and writes the application's tables (SELECT, INSERT, UPDATE, DELETE);
- only reads and appends to the audit trail (crf_auditentry) and the record of its checks:
  SELECT and INSERT, no UPDATE, DELETE or TRUNCATE;
- reads, appends and moves the chain heads (crf_auditchain: SELECT, INSERT, UPDATE, which
  every append needs), but may not DELETE or TRUNCATE them; a rewritten head is what the
  anchors outside the database catch (data_management.anchors);
- reads django_migrations only; uses the sequences (USAGE, SELECT).

Being no owner, it may not ALTER TABLE (disable or drop a trigger) nor set
session_replication_role (a superuser's setting), so the database's own triggers (crf 0002,
data_management 0002) hold against it.
"""

from __future__ import annotations

from typing import Any

import dj_database_url
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

# Tables the app role may only read and append to.
APPEND_ONLY = ("crf_auditentry", "data_management_auditcheck")
# The chain heads: read, appended and moved on every append; never deleted.
CHAIN_HEADS = "crf_auditchain"
READ_ONLY = ("django_migrations",)


class Command(BaseCommand):
    help = (
        "Create or update the PostgreSQL role of the web and worker processes (DATABASE_URL's "
        "user): no table of its own, no UPDATE/DELETE/TRUNCATE of the audit trail. Run as "
        "the owner (MIGRATION_DATABASE_URL) after migrate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", help="role name (default: the user of DATABASE_URL)")
        parser.add_argument(
            "--password", help="its password (default: the password of DATABASE_URL)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("create_app_role is for PostgreSQL only.")
        role, password = self._role(options)
        quote = connection.ops.quote_name
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_database()")
            owner, database = cursor.fetchone()
            if role == owner:
                raise CommandError(
                    f"The app role {role!r} is the user this command runs as (the owner): "
                    "run it with MIGRATION_DATABASE_URL set to the owner and DATABASE_URL to "
                    "the app role, or give --role."
                )
            self._create_or_alter(cursor, role, password)
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE tableowner = %s AND schemaname = 'public'",
                [role],
            )
            owned = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
                [role],
            )
            member_of = [row[0] for row in cursor.fetchall()]
            if member_of:
                raise CommandError(
                    f"The app role {role!r} is a member of {', '.join(member_of)}: it would "
                    "hold their rights (REVOKE ... FROM it first)."
                )
            if owned:
                raise CommandError(
                    f"The app role {role!r} owns tables ({', '.join(owned)}): give them to the "
                    "owner first (ALTER TABLE ... OWNER TO ...)."
                )
            r = quote(role)
            statements = [
                f"GRANT CONNECT ON DATABASE {quote(database)} TO {r}",
                f"GRANT USAGE ON SCHEMA public TO {r}",
                f"REVOKE CREATE ON SCHEMA public FROM {r}",
                f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
                f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {r}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
                f"REVOKE DELETE ON {CHAIN_HEADS} FROM {r}",
            ]
            statements += [f"REVOKE UPDATE, DELETE ON {t} FROM {r}" for t in APPEND_ONLY]
            statements += [f"REVOKE INSERT, UPDATE, DELETE ON {t} FROM {r}" for t in READ_ONLY]
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(
            f"App role {role!r}: reads and writes the app's tables; audit trail "
            f"({', '.join(APPEND_ONLY)}) SELECT/INSERT only; {CHAIN_HEADS} without "
            "DELETE; no TRUNCATE, no table of its own."
        )

    def _role(self, options: dict[str, Any]) -> tuple[str, str | None]:
        app = dj_database_url.parse(settings.APP_DATABASE_URL) if settings.APP_DATABASE_URL else {}
        role = options.get("role") or app.get("USER")
        if not role:
            raise CommandError("No role: give --role or set DATABASE_URL to the app role.")
        password = options.get("password")
        if password is None and not options.get("role"):
            password = app.get("PASSWORD") or None
        return str(role), password

    def _create_or_alter(self, cursor: Any, role: str, password: str | None) -> None:
        quote = connection.ops.quote_name
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        verb = "ALTER" if cursor.fetchone() else "CREATE"
        attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT"
        if password:
            cursor.execute(f"{verb} ROLE {quote(role)} {attributes} PASSWORD %s", [password])
        else:
            cursor.execute(f"{verb} ROLE {quote(role)} {attributes}")
