"""Appending to the audit trail and verifying its hash chains.

Each subject's entries form one chain (entries with no subject form the chain
``study``). An entry's hash is SHA-256 over its content and the previous entry's
hash, so changing, removing or reordering any entry breaks every hash after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connections, router

from crf import guard
from crf.models import AuditChain, AuditEntry

GENESIS = "0" * 64

HASHED_FIELDS = (
    "chain",
    "at",
    "actor_username",
    "subject_id",
    "action",
    "form_code",
    "visit_code",
    "object_model",
    "object_id",
    "group",
    "row_key",
    "variable",
    "old_value",
    "new_value",
    "reason_code",
    "reason_text",
    "source",
    "file_sha256",
)


def chain_key(subject_id: int | None) -> str:
    return f"subject:{subject_id}" if subject_id is not None else "study"


def compute_hash(prev_hash: str, values: dict[str, Any]) -> str:
    payload = [prev_hash] + [
        values[name].isoformat() if name == "at" else values[name] for name in HASHED_FIELDS
    ]
    canonical = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _lock_chain(key: str) -> AuditChain:
    existing = AuditChain.objects.select_for_update().filter(key=key).first()
    if existing is not None:  # the usual case: no savepoint needed
        return existing
    # A new chain (a new subject): created unless a concurrent transaction created it
    # first, then locked; no savepoint needed.
    AuditChain.objects.bulk_create([AuditChain(key=key, head_hash=GENESIS)], ignore_conflicts=True)
    return AuditChain.objects.select_for_update().get(key=key)


def append(entries: list[dict[str, Any]]) -> int:
    """Append entries (dicts of AuditEntry fields, without hashes) in order; return how many.

    Must run inside the caller's transaction: the chain head stays locked until
    it commits, so two writers of one subject never fork its chain.
    """
    if not entries:
        return 0
    rows: list[dict[str, Any]] = []
    heads: dict[str, AuditChain] = {}
    for values in entries:
        key = chain_key(values.get("subject_id"))
        head = heads.get(key) or _lock_chain(key)
        row = {"chain": key, **values}
        row["entry_hash"] = compute_hash(head.head_hash, row)
        row["prev_hash"] = head.head_hash
        rows.append(row)
        head.head_hash = row["entry_hash"]
        head.length += 1
        heads[key] = head
    _insert(rows)
    for head in heads.values():
        head.save(update_fields=["head_hash", "length"])
    return len(rows)


def _insert(rows: list[dict[str, Any]]) -> None:
    """One INSERT statement run for every row, in order (ids follow the list: verify_chains
    reads by id). Written without model instances: an import appends about a million
    entries, and building and preparing each as a model costs more than hashing it. Every
    field is text or a number but the time and the actor, adapted as the ORM would."""
    connection = connections[router.db_for_write(AuditEntry)]
    fields = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(AuditEntry._meta.db_table),
        ", ".join(quote(str(f.column)) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    at_field = AuditEntry._meta.get_field("at")
    times: dict[Any, Any] = {}

    def value(field: Any, row: dict[str, Any]) -> Any:
        if field.name == "at":
            at = row["at"]
            if at not in times:
                times[at] = at_field.get_db_prep_save(at, connection)
            return times[at]
        if field.name == "actor":
            actor = row.get("actor")
            return row.get("actor_id") if actor is None else actor.pk
        if field.attname in row:
            return row[field.attname]
        return row[field.name] if field.name in row else field.get_default()

    params = [tuple(value(f, row) for f in fields) for row in rows]
    with guard.services_writing(), connection.cursor() as cursor:
        cursor.executemany(sql, params)


def record(
    *,
    actor: Any,
    action: str,
    form_code: str,
    obj: Any,
    changes: list[tuple[str, Any, Any]],
    subject_id: int | None = None,
    reason_code: str = "",
    reason_text: str = "",
    source: str = "web",
    file_sha256: str = "",
    visit_code: str = "",
) -> int:
    """Audit changes to a row that is not a case report form (subject identity and
    status, eligibility criteria, study parameters): one entry per (variable, old, new)."""
    from django.utils import timezone

    from crf.values import audit_text

    now = timezone.now()
    return append(
        [
            {
                "at": now,
                "actor": actor,
                "actor_username": actor.get_username() if actor is not None else "system",
                "subject_id": subject_id,
                "action": action,
                "form_code": form_code,
                "visit_code": visit_code,
                "object_model": obj._meta.label,
                "object_id": obj.pk,
                "group": "",
                "row_key": "",
                "variable": variable,
                "old_value": audit_text(old),
                "new_value": audit_text(new),
                "reason_code": reason_code,
                "reason_text": reason_text,
                "source": source,
                "file_sha256": file_sha256,
            }
            for variable, old, new in changes
        ]
    )


@dataclass(frozen=True)
class ChainProblem:
    chain: str
    entry_id: int
    message: str


def _entry_values(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in HASHED_FIELDS}


def verify_chains() -> Iterator[ChainProblem | tuple[str, int]]:
    """Yield a ChainProblem for each break, and ``(chain, length)`` for each chain read."""
    current: str | None = None
    prev = GENESIS
    count = 0
    lasts: dict[str, str] = {}
    entries = AuditEntry.objects.order_by("chain", "id").iterator(chunk_size=2000)
    for entry in entries:
        if entry.chain != current:
            if current is not None:
                yield (current, count)
            current, prev, count = entry.chain, GENESIS, 0
        count += 1
        if entry.prev_hash != prev:
            yield ChainProblem(
                entry.chain, entry.pk, "previous-hash link broken (an entry removed or reordered)"
            )
        expected = compute_hash(entry.prev_hash, _entry_values(entry))
        if expected != entry.entry_hash:
            yield ChainProblem(entry.chain, entry.pk, "content does not match its hash (edited)")
        prev = entry.entry_hash
        lasts[entry.chain] = entry.entry_hash
    if current is not None:
        yield (current, count)
    # A chain whose recorded head is not its last entry lost entries at its end.
    for head in AuditChain.objects.all():
        if head.length and lasts.get(head.key) != head.head_hash:
            yield ChainProblem(head.key, 0, "entries missing at the end of the chain")
