"""The bell in the navigation bar: the signed-in person's unread notifications (one query)."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest

from notifications.models import Notification


def unread_count(user: Any) -> int:
    """How many of ``user``'s notifications are unread: one COUNT on an indexed pair."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_bell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # A callable, which the template calls (once: cached) where it draws the bell: a fragment or
    # a page without the navigation bar asks nothing.
    return {"notifications_unread": cache(lambda: unread_count(user))}
