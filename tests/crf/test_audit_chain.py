"""The audit trail's hash chain and, on PostgreSQL, its append-only trigger."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from crf.audit import verify_chains
from crf.models import AuditEntry
from tests.factories import save_xx

pytestmark = pytest.mark.django_db


def _raw(sql: str, params: list[object]) -> None:
    """Tamper behind the application's back (on PostgreSQL, with triggers off)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)


def test_each_entry_links_to_the_previous_one_of_its_subject(
    investigator, subject01, subject02
) -> None:
    save_xx(investigator, subject01)
    save_xx(investigator, subject02)

    for subject in (subject01, subject02):
        rows = list(AuditEntry.objects.filter(subject=subject).order_by("id"))
        assert rows[0].prev_hash == "0" * 64
        assert all(b.prev_hash == a.entry_hash for a, b in zip(rows, rows[1:], strict=False))
        assert {r.chain for r in rows} == {f"subject:{subject.pk}"}


def test_verify_audit_passes_on_an_untouched_trail(investigator, subject01, capsys) -> None:
    save_xx(investigator, subject01)

    call_command("verify_audit")

    assert "Audit trail intact: 7 entries in 1 chains." in capsys.readouterr().out


def test_verify_audit_finds_an_edited_value(investigator, subject01) -> None:
    save_xx(investigator, subject01)
    target = AuditEntry.objects.get(subject=subject01, variable="SYSBP")

    with transaction.atomic():
        _raw("UPDATE crf_auditentry SET new_value = %s WHERE id = %s", ["999", target.pk])

    problems = [p for p in verify_chains() if not isinstance(p, tuple)]
    assert [(p.entry_id, p.message) for p in problems] == [
        (target.pk, "content does not match its hash (edited)")
    ]
    with pytest.raises(CommandError, match="FAILED"):
        call_command("verify_audit")


def test_verify_audit_finds_a_removed_entry(investigator, subject01) -> None:
    save_xx(investigator, subject01)
    target = AuditEntry.objects.get(subject=subject01, variable="DIABP")

    with transaction.atomic():
        _raw("DELETE FROM crf_auditentry WHERE id = %s", [target.pk])

    problems = [p for p in verify_chains() if not isinstance(p, tuple)]
    assert len(problems) == 1
    assert "link broken" in problems[0].message


def test_verify_audit_finds_entries_cut_from_the_end(investigator, subject01) -> None:
    save_xx(investigator, subject01)
    last = AuditEntry.objects.filter(subject=subject01).latest("id")

    with transaction.atomic():
        _raw("DELETE FROM crf_auditentry WHERE id = %s", [last.pk])

    problems = [p for p in verify_chains() if not isinstance(p, tuple)]
    assert [p.message for p in problems] == ["entries missing at the end of the chain"]


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE crf_auditentry SET new_value = '999' WHERE id = %s",
        "DELETE FROM crf_auditentry WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_postgres_trigger_refuses_update_and_delete(investigator, subject01, sql) -> None:
    save_xx(investigator, subject01)
    entry = AuditEntry.objects.filter(subject=subject01).first()

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [entry.pk])

    assert AuditEntry.objects.get(pk=entry.pk).new_value == entry.new_value
