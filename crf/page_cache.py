"""Pages of clinical data kept while the data they show have not changed.

A subject's page is drawn from the subject's forms and visits, every change to which goes
through crf.services and extends the subject's audit chain (crf.audit): the chain's head
hash names the version of the subject's data. A fragment cached under that version (with
the local date, the language and the reader's role, which the page also depends on) is
right until the next change, and no longer: the next change moves the head. A short
lifetime bounds what depends on the clock alone (an SAE report turning overdue within
the day). Fragments never hold a CSRF token or anything of the reader's own: parts with
a form stay live.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.core.cache import caches
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import get_language

from crf.audit import GENESIS, chain_key
from crf.models import AuditChain, AuditEntry

# How long a fragment may live at most (what changes with the clock alone).
FRAGMENT_SECONDS = 60
CACHE_ALIAS = "default"


def subject_version(subject_id: int) -> str:
    """The version of a subject's data: its audit chain's head (one indexed read)."""
    head = (
        AuditChain.objects.filter(key=chain_key(subject_id))
        .values_list("head_hash", flat=True)
        .first()
    )
    return head or GENESIS


def study_version() -> int:
    """The version of the whole study's data: the last audit entry (an index's end)."""
    return AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0


def reader(user: Any) -> str:
    """What a fragment may show differently by reader: the role (its permissions) and
    whether the person is a superuser; never the person."""
    from study.scoping import membership_of

    membership = membership_of(user)
    role = membership.role if membership is not None else "-"
    return f"{role}:{int(bool(getattr(user, 'is_superuser', False)))}"


def fragment(name: str, parts: tuple[Any, ...], render: Callable[[], str]) -> str:
    """The fragment ``name`` for ``parts`` (the versions and whatever else it depends on),
    rendered by ``render`` when not kept; the local date and language are always parts."""
    raw = repr((name, parts, timezone.localdate().isoformat(), get_language()))
    key = f"edc-fragment:{name}:{hashlib.sha256(raw.encode()).hexdigest()}"
    cache = caches[CACHE_ALIAS]
    html = cache.get(key)
    if html is None:
        html = render()
        if "csrfmiddlewaretoken" in html:  # a form's token is the reader's own
            raise ValueError(f"fragment {name} holds a CSRF token and must not be cached")
        cache.set(key, html, FRAGMENT_SECONDS)
    return str(html)
