"""The role the web and worker processes connect as (manage.py create_app_role) is refused
every way of rewriting the audit trail: UPDATE, DELETE, TRUNCATE, and switching off or
dropping the triggers. PostgreSQL only: it runs (never skips) in CI, EDC_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROLE = f"edc_app_test_{os.getpid()}"
PASSWORD = "app-role-test-password"


@pytest.fixture
def app_role() -> Iterator[psycopg.Connection[Any]]:
    """The app role created in the test database, and a connection as it (autocommit)."""
    call_command("create_app_role", role=ROLE, password=PASSWORD, stdout=io.StringIO())
    settings = connection.settings_dict
    conn = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        dbname=settings["NAME"],
        user=ROLE,
        password=PASSWORD,
        autocommit=True,
    )
    try:
        yield conn
    finally:
        conn.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{ROLE}"')
            cursor.execute(f'DROP ROLE "{ROLE}"')


def _refused(conn: psycopg.Connection[Any], sql: str) -> str:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
        conn.execute(sql)
    return str(refused.value)


def _audit_entry(conn: psycopg.Connection[Any]) -> None:
    """An entry appended as the app does (a study-level entry: no subject, no actor)."""
    conn.execute(
        "INSERT INTO crf_auditentry (chain, at, actor_username, action, form_code, visit_code,"
        ' object_model, object_id, "group", row_key, variable, old_value, new_value,'
        " reason_code, reason_text, source, file_sha256, prev_hash, entry_hash)"
        " VALUES ('study', now(), 'system', 'update', 'SUBJ', '', 'study.Site', 1, '', '',"
        " 'X', NULL, '1', '', '', 'service', '', %s, %s)",
        ["0" * 64, "a" * 64],
    )


def test_the_app_role_appends_to_the_trail_and_moves_the_chain_head(app_role) -> None:
    _audit_entry(app_role)
    app_role.execute(
        "INSERT INTO crf_auditchain (key, head_hash, length) VALUES ('study', %s, 1)", ["a" * 64]
    )
    app_role.execute("UPDATE crf_auditchain SET length = 1 WHERE key = 'study'")

    row = app_role.execute("SELECT count(*) FROM crf_auditentry").fetchone()
    assert row == (1,)


def test_the_app_role_may_not_update_delete_or_truncate_the_trail(app_role) -> None:
    _audit_entry(app_role)

    for sql in (
        "UPDATE crf_auditentry SET new_value = '2'",
        "DELETE FROM crf_auditentry",
        "TRUNCATE crf_auditentry",
        "DELETE FROM crf_auditchain",
        "TRUNCATE crf_auditchain",
        "TRUNCATE crf_auditentry, crf_auditchain CASCADE",
        "UPDATE data_management_auditcheck SET intact = true",
        "DELETE FROM data_management_auditcheck",
        "DELETE FROM django_migrations",
    ):
        assert "permission denied" in _refused(app_role, sql), sql
    assert app_role.execute("SELECT count(*) FROM crf_auditentry").fetchone() == (1,)


def test_the_app_role_may_not_switch_off_or_change_the_triggers(app_role) -> None:
    for sql in (
        "ALTER TABLE crf_auditentry DISABLE TRIGGER crf_auditentry_append_only",
        "ALTER TABLE crf_auditentry DISABLE TRIGGER ALL",
        "ALTER TABLE crf_auditchain DISABLE TRIGGER crf_auditchain_no_truncate",
        "DROP TRIGGER crf_auditentry_no_truncate ON crf_auditentry",
        "CREATE TRIGGER t BEFORE INSERT ON crf_auditentry"
        " FOR EACH ROW EXECUTE FUNCTION edc_audit_refuse_truncate()",
        "ALTER TABLE crf_auditentry OWNER TO CURRENT_USER",
    ):
        message = _refused(app_role, sql)
        assert "must be owner" in message or "permission denied" in message, sql
    assert "permission denied" in _refused(app_role, "SET session_replication_role = replica")
    assert "permission denied" in _refused(app_role, "CREATE TABLE public.mine (id int)")


def test_the_app_role_owns_no_table_and_has_no_special_rights(app_role) -> None:
    owned = app_role.execute(
        "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"
    ).fetchone()
    rights = app_role.execute(
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls"
        " FROM pg_roles WHERE rolname = current_user"
    ).fetchone()

    assert owned == (0,)
    assert rights == (False, False, False, False, False)


def test_create_app_role_refuses_to_make_the_owner_the_app_role(db) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()

    with pytest.raises(CommandError, match="is the user this command runs as"):
        call_command("create_app_role", role=owner)
