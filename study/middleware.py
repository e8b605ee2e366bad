"""Session and time-zone middleware."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from study.scoping import membership_of

LAST_ACTIVITY_KEY = "edc_last_activity"


class IdleSessionTimeoutMiddleware:
    """End a session after EDC_IDLE_TIMEOUT_SECONDS without a request.

    The server decides, from the time of the last request kept in the session,
    so a stolen cookie is no good after the idle time either.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last = request.session.get(LAST_ACTIVITY_KEY)
            if last is not None and now - float(last) > settings.EDC_IDLE_TIMEOUT_SECONDS:
                request.edc_session_expired = True  # type: ignore[attr-defined]
                logout(request)
                messages.warning(
                    request,
                    _(
                        "Your session ended after %(minutes)d minutes without activity. "
                        "Please sign in again."
                    )
                    % {"minutes": settings.EDC_IDLE_TIMEOUT_SECONDS // 60},
                )
                return redirect_to_login(request.get_full_path())
            request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


class SiteTimezoneMiddleware:
    """Show times in the time zone of the user's (first) site; Asia/Shanghai by default."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone_name = settings.EDC_DEFAULT_SITE_TIME_ZONE
        membership = membership_of(request.user)
        if membership is not None and not membership.is_study_wide:
            first_site = membership.sites.order_by("number").only("time_zone").first()
            if first_site is not None:
                zone_name = first_site.time_zone
        try:
            timezone.activate(zoneinfo.ZoneInfo(zone_name))
        except zoneinfo.ZoneInfoNotFoundError:
            timezone.activate(zoneinfo.ZoneInfo(settings.EDC_DEFAULT_SITE_TIME_ZONE))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
