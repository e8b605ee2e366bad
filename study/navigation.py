"""The menu: apps register their entries (with the permission they need) in ready()."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise

from study.roles import perm


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    permission: str | None = None  # a role permission codename (study.roles)
    order: int = 100


_ITEMS: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    _ITEMS[item.url_name] = item


def items_for(user: Any) -> list[dict[str, Any]]:
    return [
        {"label": item.label, "url": reverse(item.url_name)}
        for item in sorted(_ITEMS.values(), key=lambda i: i.order)
        if item.permission is None or user.has_perm(perm(item.permission))
    ]
