"""The "People and roles: changes" page's rows: each AccessChange with its values' labels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from study.models import AccessChange, AccessChangeKind, Role

EMPTY = "—"


@dataclass(frozen=True)
class ChangeRow:
    change: AccessChange
    what: str
    old: str
    new: str


def recent_changes() -> QuerySet[AccessChange]:
    """Every access change, newest first (people and roles are study-wide: no site scoping)."""
    return AccessChange.objects.order_by("-at", "-id")


def _text(kind: str, value: str) -> str:
    """A recorded value as people read it: the role's label, Yes/No, the site numbers."""
    if kind == AccessChangeKind.PASSWORD:
        return EMPTY
    if not value:
        return EMPTY
    if kind == AccessChangeKind.ROLE:
        return str(Role(value).label) if value in Role.values else value
    if kind == AccessChangeKind.PRINCIPAL_INVESTIGATOR:
        return _("Yes") if value == "Y" else _("No")
    return value


def rows(changes: Iterable[AccessChange]) -> list[ChangeRow]:
    return [
        ChangeRow(
            change=c,
            what=str(AccessChangeKind(c.kind).label)
            if c.kind in AccessChangeKind.values
            else c.kind,
            old=_text(c.kind, c.old_value),
            new=_text(c.kind, c.new_value),
        )
        for c in changes
    ]
