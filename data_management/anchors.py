"""Anchors of the audit trail outside the database.

Every chain's head hash and length (crf.models.AuditChain) are signed with HMAC-SHA256 under
a key that is not in the database (``EDC_AUDIT_ANCHOR_KEY``, an environment secret) and
appended as one JSON line to a log outside the database (``EDC_AUDIT_ANCHOR_LOG``, by default
``audit-anchors.jsonl`` in the data directory), and mailed to the data managers. Written daily
(Celery beat, data_management.tasks) and at every study lock (data_management.locks).

``manage.py verify_audit`` compares the trail with the latest anchor whose signature holds: a
chain shorter than anchored (entries deleted, the table truncated), a chain whose entry at the
anchored length has another hash (a value edited and the chain re-computed), a chain missing,
and an anchor line whose signature does not hold (forged or edited) are each reported. Whoever
owns the database can rewrite the trail and its heads, but not the anchors already written
and mailed, nor sign a new one without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


# --- Key and log ----------------------------------------------------------------------------


def anchor_key() -> bytes:
    """The HMAC key: ``EDC_AUDIT_ANCHOR_KEY`` (settings, from the environment)."""
    key = getattr(settings, "EDC_AUDIT_ANCHOR_KEY", "") or ""
    if not key:
        logger.warning(
            "EDC_AUDIT_ANCHOR_KEY is not set: audit anchors are signed with a key derived "
            "from DJANGO_SECRET_KEY (development only; set a secret of its own in production)."
        )
        key = (
            "derived:"
            + hashlib.sha256(("audit-anchor:" + settings.SECRET_KEY).encode()).hexdigest()
        )
    return key.encode("utf-8")


def anchor_log_path() -> Path:
    configured = getattr(settings, "EDC_AUDIT_ANCHOR_LOG", "") or ""
    if configured:
        return Path(configured)
    return Path(settings.VAR_DIR) / "audit-anchors.jsonl"


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


def sign(payload: dict[str, Any], key: bytes | None = None) -> str:
    """HMAC-SHA256 over the canonical JSON of the payload (without its ``hmac``)."""
    body = {k: v for k, v in payload.items() if k != "hmac"}
    return hmac.new(key or anchor_key(), _canonical(body), hashlib.sha256).hexdigest()


# --- Anchors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """One anchor line: when, who, why, and each chain's (length, head hash)."""

    at: datetime
    actor: str
    why: str
    chains: dict[str, tuple[int, str]]
    hmac: str
    database: str = ""
    line_number: int = 0
    valid: bool = True

    def payload(self) -> dict[str, Any]:
        return {
            "v": FORMAT_VERSION,
            "database": self.database,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "why": self.why,
            "chains": {k: {"length": n, "head": h} for k, (n, h) in sorted(self.chains.items())},
        }

    def line(self) -> str:
        return _canonical({**self.payload(), "hmac": self.hmac}).decode("utf-8")


def database_name() -> str:
    """Which database an anchor is of (its name, the SQLite file): a log kept in a data
    directory shared by several databases (development, tests) compares each with its own."""
    connection = connections[router.db_for_read(_chain_model())]
    return f"{connection.vendor}:{connection.settings_dict['NAME']}"


def current_heads() -> dict[str, tuple[int, str]]:
    """Every chain with entries: key -> (length, head hash), as the database has them now."""
    from crf.models import AuditChain

    return {
        key: (length, head)
        for key, length, head in AuditChain.objects.filter(length__gt=0)
        .order_by("key")
        .values_list("key", "length", "head_hash")
    }


def make_anchor(*, actor: Any = None, why: str) -> Anchor:
    """Sign the current chain heads (not written anywhere)."""
    at = timezone.now()
    name = actor.get_username() if actor is not None else "system"
    unsigned = Anchor(
        at=at, actor=name, why=why, chains=current_heads(), hmac="", database=database_name()
    )
    return replace(unsigned, hmac=sign(unsigned.payload()))


def _append_line(anchor: Anchor, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(anchor.line() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _mail(anchor: Anchor) -> None:
    """Mail the anchor line to the data managers (a second copy outside the database)."""
    from django.contrib.auth import get_user_model
    from django.core.mail import send_mail
    from django.utils.translation import gettext as _

    from study.models import Role

    recipients = sorted(
        {
            email
            for email in get_user_model()
            .objects.filter(is_active=True, membership__role=Role.DATA_MANAGER)
            .exclude(email="")
            .values_list("email", flat=True)
        }
    )
    if not recipients:
        return
    subject = _("Audit trail anchor %(at)s: %(chains)d chains") % {
        "at": anchor.at.strftime("%Y-%m-%d %H:%M UTC"),
        "chains": len(anchor.chains),
    }
    body = _(
        "The audit trail's chain heads were signed (%(why)s). Keep this message: "
        "manage.py verify_audit compares the trail with the anchor below, so a deleted, "
        "truncated or re-computed trail is reported.\n\n%(line)s\n"
    ) % {"why": anchor.why, "line": anchor.line()}
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # a mail server down must not stop a lock; the log line is written
        logger.exception("Audit anchor mail not sent")


def _write(actor: Any, why: str, path: Path) -> Anchor:
    anchor = make_anchor(actor=actor, why=why)
    _append_line(anchor, path)
    _mail(anchor)
    logger.info("Audit anchor written (%s): %d chains", why, len(anchor.chains))
    return anchor


def write_anchor(*, actor: Any = None, why: str) -> Path:
    """Sign the chain heads and append the anchor to the log (and mail it); return the log.

    Inside a transaction the anchor is written when it commits (its heads read then), so a
    rolled-back lock leaves no anchor of heads that never existed. Tests that hold a
    transaction run it with ``django_capture_on_commit_callbacks(execute=True)``.
    """
    path = anchor_log_path()
    connection = connections[router.db_for_read(_chain_model())]
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _write(actor, why, path), using=connection.alias)
    else:
        _write(actor, why, path)
    return path


def _chain_model() -> Any:
    from crf.models import AuditChain

    return AuditChain


# --- Reading and checking -------------------------------------------------------------------


def _parse(text: str, number: int, key: bytes) -> Anchor | None:
    try:
        data = json.loads(text)
        chains = {
            str(k): (int(v["length"]), str(v["head"])) for k, v in dict(data["chains"]).items()
        }
        anchor = Anchor(
            at=datetime.fromisoformat(data["at"]),
            actor=str(data.get("actor", "")),
            why=str(data.get("why", "")),
            chains=chains,
            hmac=str(data.get("hmac", "")),
            database=str(data.get("database", "")),
            line_number=number,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    body = {k: v for k, v in data.items() if k != "hmac"}
    expected = hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()
    return replace(anchor, valid=hmac.compare_digest(expected, anchor.hmac))


@dataclass
class AnchorReading:
    """The anchor log as read: every line, the latest whose signature holds, bad lines."""

    path: Path
    anchors: list[Anchor] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)  # unreadable or bad signature

    @property
    def latest_valid(self) -> Anchor | None:
        return next((a for a in reversed(self.anchors) if a.valid), None)


def read_anchors(path: Path | None = None) -> AnchorReading:
    """The anchors of this database in the log (lines of other databases are skipped; a
    line that cannot be read or whose signature does not hold is reported)."""
    path = path or anchor_log_path()
    reading = AnchorReading(path=path)
    if not path.exists():
        return reading
    key = anchor_key()
    database = database_name()
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            anchor = _parse(text, number, key)
            if anchor is None:
                reading.bad_lines.append(number)
            elif anchor.database == database:
                reading.anchors.append(anchor)
                if not anchor.valid:
                    reading.bad_lines.append(number)
    return reading


@dataclass(frozen=True)
class AnchorProblem:
    chain: str  # blank for a problem of the log itself
    message: str


def hashes_at(positions: dict[str, int]) -> tuple[dict[str, int], dict[str, str]]:
    """Each chain's entry count, and the hash of its entry at the given position (1-based),
    from the entries themselves (one pass over chain and hash, in chain order)."""
    from crf.models import AuditEntry

    lengths: dict[str, int] = {}
    found: dict[str, str] = {}
    rows: Iterable[tuple[str, str]] = (
        AuditEntry.objects.filter(chain__in=list(positions))
        .order_by("chain", "id")
        .values_list("chain", "entry_hash")
        .iterator(chunk_size=5000)
    )
    for chain, entry_hash in rows:
        n = lengths.get(chain, 0) + 1
        lengths[chain] = n
        if n == positions.get(chain):
            found[chain] = entry_hash
    return lengths, found


def check_trail(reading: AnchorReading | None = None) -> tuple[Anchor | None, list[AnchorProblem]]:
    """Compare the trail with the latest anchor whose signature holds; every problem found."""
    from django.utils.translation import gettext as _

    reading = reading or read_anchors()
    problems = [
        AnchorProblem(
            "",
            _("anchor log line %(line)d: the signature does not hold (a forged or edited anchor)")
            % {"line": number},
        )
        for number in reading.bad_lines
    ]
    anchor = reading.latest_valid
    if anchor is None:
        return None, problems
    lengths, found = hashes_at({k: n for k, (n, _h) in anchor.chains.items()})
    for chain, (length, head) in sorted(anchor.chains.items()):
        have = lengths.get(chain, 0)
        if have == 0:
            problems.append(
                AnchorProblem(
                    chain,
                    _("the chain is missing (anchored with %(n)d entries)") % {"n": length},
                )
            )
        elif have < length:
            problems.append(
                AnchorProblem(
                    chain,
                    _(
                        "the chain is shorter than anchored (%(have)d entries, %(n)d anchored): "
                        "entries deleted or truncated"
                    )
                    % {"have": have, "n": length},
                )
            )
        elif found.get(chain) != head:
            problems.append(
                AnchorProblem(
                    chain,
                    _(
                        "the entry at the anchored length %(n)d has another hash than anchored: "
                        "the chain was re-computed"
                    )
                    % {"n": length},
                )
            )
    return anchor, problems


# --- One run of the whole check (verify_audit, the data manager's button) -------------------


@dataclass(frozen=True)
class CheckResult:
    """What a run found: the chains and entries read, the anchor compared, every problem."""

    chains: int
    entries: int
    anchor: Anchor | None
    problems: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


def check_audit_trail() -> CheckResult:
    """Recompute every hash chain (crf.audit.verify_chains) and compare the trail with the
    latest anchor; nothing written."""
    from crf.audit import ChainProblem, verify_chains

    found: list[tuple[str, str]] = []  # (chain, what)
    chains = entries = 0
    for item in verify_chains():
        if isinstance(item, ChainProblem):
            where = f"entry {item.entry_id}: " if item.entry_id else ""
            found.append((item.chain, where + item.message))
        else:
            chains += 1
            entries += item[1]
    anchor, anchor_problems = check_trail()
    found.extend((p.chain, p.message) for p in anchor_problems)
    names = chain_names({chain for chain, _what in found})
    problems = tuple(f"{names[c]}: {what}" if c else what for c, what in found)
    return CheckResult(chains=chains, entries=entries, anchor=anchor, problems=problems)


def chain_names(keys: set[str]) -> dict[str, str]:
    """Each chain as people know it: "01-002 (subject:4)", "study"; a subject that no longer
    exists keeps its key alone."""
    from study.models import Subject

    ids = {int(k.split(":", 1)[1]) for k in keys if k.startswith("subject:")}
    labels = {s.pk: s.label for s in Subject.objects.filter(pk__in=ids)} if ids else {}
    names = {}
    for key in keys:
        pk = int(key.split(":", 1)[1]) if key.startswith("subject:") else None
        names[key] = f"{labels[pk]} ({key})" if pk in labels else key
    return names


def record_audit_check(*, actor: Any = None, result: CheckResult | None = None) -> Any:
    """Run the check (unless given its result) and keep it as an AuditCheck row, the
    result and time data managers see; return the row."""
    from data_management.models import AuditCheck

    result = result or check_audit_trail()
    return AuditCheck.objects.create(
        at=timezone.now(),
        actor_username=actor.get_username() if actor is not None else "system",
        intact=result.intact,
        chains=result.chains,
        entries=result.entries,
        anchor_at=result.anchor.at if result.anchor is not None else None,
        problems="\n".join(result.problems),
    )
