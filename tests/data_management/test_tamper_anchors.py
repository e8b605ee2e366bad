"""The audit trail against its own database's owner: each attack done, each caught.

The anchors (data_management.anchors) keep every chain's head hash and length outside the
database, signed with a key that is not in it; verify_audit compares the trail with the
latest anchor. The attacks are done as the owner would: on PostgreSQL with the triggers off
(session_replication_role = replica, a superuser's setting), on SQLite with plain SQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from crf.audit import GENESIS, HASHED_FIELDS, compute_hash, verify_chains
from crf.models import AuditChain, AuditEntry
from data_management import anchors
from data_management.models import AuditCheck
from study.models import Role
from tests.factories import save_xx

pytestmark = pytest.mark.django_db


def _raw(sql: str, params: list[Any] | tuple[Any, ...] = ()) -> None:
    """Tamper behind the application's back, as the tables' owner (triggers off on PostgreSQL)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, list(params))


def _anchor(actor: Any, django_capture_on_commit_callbacks: Any, why: str = "test") -> Path:
    with django_capture_on_commit_callbacks(execute=True):
        return anchors.write_anchor(actor=actor, why=why)


def _verify(capsys: Any) -> tuple[bool, str]:
    ok = True
    try:
        call_command("verify_audit")
    except CommandError:
        ok = False
    captured = capsys.readouterr()
    return ok, captured.out + captured.err


def _recompute_chain(chain: str) -> None:
    """Re-compute every hash of a chain from its (edited) entries, and its head: the chain
    then reads as intact by itself."""
    prev = GENESIS
    for entry in AuditEntry.objects.filter(chain=chain).order_by("id"):
        values = {name: getattr(entry, name) for name in HASHED_FIELDS}
        new_hash = compute_hash(prev, values)
        _raw(
            "UPDATE crf_auditentry SET prev_hash = %s, entry_hash = %s WHERE id = %s",
            [prev, new_hash, entry.pk],
        )
        prev = new_hash
    count = AuditEntry.objects.filter(chain=chain).count()
    _raw(
        "UPDATE crf_auditchain SET head_hash = %s, length = %s WHERE key = %s",
        [prev, count, chain],
    )


def _chain_problems() -> list[Any]:
    return [p for p in verify_chains() if not isinstance(p, tuple)]


@pytest.fixture
def anchored(people, investigator, subject01, django_capture_on_commit_callbacks) -> Any:
    """Subject 01 with a saved form, anchored."""
    save_xx(investigator, subject01, systolic=120)
    _anchor(people[Role.DATA_MANAGER], django_capture_on_commit_callbacks)
    return subject01


# --- The anchor itself ----------------------------------------------------------------------


def test_write_anchor_appends_a_signed_line_of_every_chain_head(
    people, investigator, subject01, django_capture_on_commit_callbacks, settings
) -> None:
    save_xx(investigator, subject01)
    chain = AuditChain.objects.get(key=f"subject:{subject01.pk}")

    path = _anchor(people[Role.DATA_MANAGER], django_capture_on_commit_callbacks, "daily")

    assert path == Path(settings.EDC_AUDIT_ANCHOR_LOG)
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["chains"][chain.key] == {"length": chain.length, "head": chain.head_hash}
    assert (line["actor"], line["why"]) == ("dm", "daily")
    assert anchors.sign(line) == line["hmac"]
    assert anchors.sign(line, key=b"another key") != line["hmac"]


def test_write_anchor_mails_the_line_to_the_data_managers(
    people, investigator, subject01, django_capture_on_commit_callbacks
) -> None:
    dm = people[Role.DATA_MANAGER]
    dm.email = "dm@example.org"
    dm.save()
    save_xx(investigator, subject01)

    path = _anchor(None, django_capture_on_commit_callbacks)

    assert [m.to for m in mail.outbox] == [["dm@example.org"]]
    assert path.read_text().strip() in mail.outbox[0].body


def test_an_anchor_of_a_rolled_back_transaction_is_never_written(
    people, investigator, subject01, django_capture_on_commit_callbacks
) -> None:
    save_xx(investigator, subject01)

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                path = anchors.write_anchor(actor=None, why="study lock")
                raise RuntimeError("the lock failed")
        except RuntimeError:
            pass

    assert not path.exists()


def test_verify_audit_compares_with_the_latest_anchor_and_keeps_the_result(
    anchored, capsys
) -> None:
    ok, output = _verify(capsys)

    assert ok, output
    assert "Compared with the anchor of" in output
    assert "Audit trail intact: 7 entries in 1 chains." in output
    check = AuditCheck.objects.get()
    assert (check.intact, check.entries, check.chains, check.problems) == (True, 7, 1, "")
    assert check.anchor_at is not None


def test_verify_audit_without_an_anchor_says_so(investigator, subject01, capsys) -> None:
    save_xx(investigator, subject01)

    ok, output = _verify(capsys)

    assert ok
    assert "No anchor yet" in output
    assert AuditCheck.objects.get().anchor_at is None


def test_a_later_anchor_covers_entries_written_since(
    anchored, investigator, django_capture_on_commit_callbacks, capsys
) -> None:
    save_xx(investigator, anchored, instance=_form(anchored), systolic=125, reason=_reason())
    _anchor(None, django_capture_on_commit_callbacks)

    ok, output = _verify(capsys)

    assert ok, output


# --- The attacks ----------------------------------------------------------------------------


def test_truncating_the_trail_and_its_heads_is_caught(anchored, capsys) -> None:
    key = f"subject:{anchored.pk}"
    if connection.vendor == "postgresql":
        connection.check_constraints()  # no deferred checks pending: TRUNCATE refuses those
        _raw("TRUNCATE crf_auditentry, crf_auditchain")
    else:
        _raw("DELETE FROM crf_auditentry")
        _raw("DELETE FROM crf_auditchain")
    assert _chain_problems() == []  # the chains alone read "intact: 0 entries"

    ok, output = _verify(capsys)

    assert not ok
    assert f"{anchored.label} ({key}): the chain is missing (anchored with 7 entries)" in output
    check = AuditCheck.objects.get()
    assert (check.intact, check.entries) == (False, 0)
    assert "the chain is missing" in check.problems


def test_deleting_entries_and_rewriting_the_head_is_caught(anchored, capsys) -> None:
    key = f"subject:{anchored.pk}"
    keep = list(AuditEntry.objects.filter(chain=key).order_by("id"))[:4]
    _raw("DELETE FROM crf_auditentry WHERE chain = %s AND id > %s", [key, keep[-1].pk])
    _raw(
        "UPDATE crf_auditchain SET head_hash = %s, length = 4 WHERE key = %s",
        [keep[-1].entry_hash, key],
    )
    assert _chain_problems() == []  # a shorter chain is still a chain

    ok, output = _verify(capsys)

    assert not ok
    assert (
        f"{anchored.label} ({key}): the chain is shorter than anchored (4 entries, 7 anchored): "
        "entries deleted or truncated"
    ) in output


def test_an_edited_value_with_the_chain_recomputed_is_caught(anchored, capsys) -> None:
    key = f"subject:{anchored.pk}"
    target = AuditEntry.objects.get(chain=key, variable="SYSBP")
    _raw("UPDATE crf_auditentry SET new_value = %s WHERE id = %s", ["99", target.pk])
    _recompute_chain(key)
    assert _chain_problems() == []  # the re-computed chain reads as intact by itself

    ok, output = _verify(capsys)

    assert not ok
    assert (
        f"{anchored.label} ({key}): the entry at the anchored length 7 has another hash than anchored: "
        "the chain was re-computed"
    ) in output


def test_a_forged_anchor_line_is_caught(anchored, capsys, settings) -> None:
    """The attacker edits a value, re-computes the chain and appends an anchor of the new
    heads, without the key: the forged line is reported, and the trail is still compared
    with the last genuine anchor."""
    key = f"subject:{anchored.pk}"
    target = AuditEntry.objects.get(chain=key, variable="SYSBP")
    _raw("UPDATE crf_auditentry SET new_value = %s WHERE id = %s", ["99", target.pk])
    _recompute_chain(key)
    path = Path(settings.EDC_AUDIT_ANCHOR_LOG)
    genuine = json.loads(path.read_text().splitlines()[-1])
    head = AuditChain.objects.get(key=key)
    forged = {**genuine, "chains": {key: {"length": head.length, "head": head.head_hash}}}
    forged["hmac"] = anchors.sign(forged, key=b"a guess at the key")
    with path.open("a") as handle:
        handle.write(json.dumps(forged) + "\n")

    ok, output = _verify(capsys)

    assert not ok
    assert "anchor log line 2: the signature does not hold (a forged or edited anchor)" in output
    assert "the chain was re-computed" in output


def test_an_anchor_line_edited_to_match_is_caught(anchored, capsys, settings) -> None:
    path = Path(settings.EDC_AUDIT_ANCHOR_LOG)
    line = json.loads(path.read_text())
    line["why"] = "edited"
    path.write_text(json.dumps(line) + "\n")

    ok, output = _verify(capsys)

    assert not ok
    assert "anchor log line 1: the signature does not hold" in output


def test_anchors_of_another_database_are_not_compared(anchored, capsys, settings) -> None:
    path = Path(settings.EDC_AUDIT_ANCHOR_LOG)
    other = json.loads(path.read_text())
    other["database"] = "postgresql:another"
    other["chains"] = {"subject:999999": {"length": 3, "head": "0" * 64}}
    other["hmac"] = anchors.sign(other)
    with path.open("a") as handle:
        handle.write(json.dumps(other) + "\n")

    ok, output = _verify(capsys)

    assert ok, output


# --- PostgreSQL: TRUNCATE refused by the database itself ------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["crf_auditentry", "crf_auditchain"])
def test_postgresql_refuses_truncate_of_the_audit_tables(anchored, table) -> None:
    connection.check_constraints()
    with (
        pytest.raises(DatabaseError, match="TRUNCATE refused on " + table),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"TRUNCATE {table}")

    assert AuditEntry.objects.filter(subject=anchored).count() == 7


@pytest.mark.postgres
def test_postgresql_refuses_truncate_that_cascades_into_the_trail(anchored) -> None:
    connection.check_constraints()
    with (
        pytest.raises(DatabaseError, match="TRUNCATE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE auth_user CASCADE")


# --- helpers --------------------------------------------------------------------------------


def _form(subject: Any) -> Any:
    from tests.crftest.models import DemoVitals

    return DemoVitals.objects.get(subject=subject)


def _reason() -> Any:
    from crf.models import ChangeReason
    from crf.services import Reason

    return Reason(code=ChangeReason.TRANSCRIPTION_ERROR, text="misread")


# --- Written daily by beat, and by hand -----------------------------------------------------


def test_the_daily_task_writes_an_anchor(
    investigator, subject01, django_capture_on_commit_callbacks
) -> None:
    from data_management.tasks import write_daily_anchor

    save_xx(investigator, subject01)

    with django_capture_on_commit_callbacks(execute=True):
        path = Path(write_daily_anchor.run())

    line = json.loads(path.read_text())
    assert line["why"] == "daily"
    assert line["chains"][f"subject:{subject01.pk}"]["length"] == 7


def test_the_daily_anchor_is_in_the_beat_schedule(settings) -> None:
    from trial_edc.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["audit-anchor"]
    assert entry == {"task": "data_management.tasks.write_daily_anchor", "schedule": 86400.0}
    app.loader.import_default_modules()
    assert "data_management.tasks.write_daily_anchor" in app.tasks


def test_anchor_audit_writes_an_anchor_by_hand(
    people, investigator, subject01, django_capture_on_commit_callbacks, capsys
) -> None:
    save_xx(investigator, subject01)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("anchor_audit", "--why", "restored from backup", "--user", "dm")

    reading = anchors.read_anchors()
    assert [(a.why, a.actor, a.valid) for a in reading.anchors] == [
        ("restored from backup", "dm", True)
    ]
