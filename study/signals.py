"""Record every sign-in, sign-out and failed sign-in (issue: foundation)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from study.models import AuthEvent, AuthEventKind


def _client(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {"ip_address": None, "user_agent": ""}
    return {
        "ip_address": request.META.get("REMOTE_ADDR") or None,
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
    }


@receiver(user_logged_in, dispatch_uid="edc_login")
def record_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    AuthEvent.objects.create(
        kind=AuthEventKind.LOGIN, user=user, username=user.get_username(), **_client(request)
    )


@receiver(user_logged_out, dispatch_uid="edc_logout")
def record_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    expired = getattr(request, "edc_session_expired", False)
    AuthEvent.objects.create(
        kind=AuthEventKind.SESSION_EXPIRED if expired else AuthEventKind.LOGOUT,
        user=user,
        username=user.get_username(),
        **_client(request),
    )


@receiver(user_login_failed, dispatch_uid="edc_login_failed")
def record_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    AuthEvent.objects.create(
        kind=AuthEventKind.LOGIN_FAILED,
        username=str(credentials.get("username", ""))[:150],
        **_client(request),
    )
