"""Session, time-zone, request-size and browser-cache middleware."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from study.scoping import membership_of, membership_sites
from study.timezones import zone_named
from study.views import render_without_database

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
            sites = membership_sites(request.user)
            if sites:
                zone_name = sites[0].time_zone
        timezone.activate(zone_named(zone_name))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared body is larger than the largest upload, unread.

    Placed before the CSRF check, which reads a POST body in full (files and all) to
    find its token: here only the Content-Length header is looked at, so an oversized
    upload is answered 413 without its body being read. The proxy enforces the same
    limit first (docs/deploy.md, ``client_max_body_size``). The allowance covers the
    form's other fields and the multipart framing around the file.
    """

    MULTIPART_ALLOWANCE = 64 * 1024

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit_mb = settings.EDC_MAX_UPLOAD_MB
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django reads no body without a valid length
        if declared > limit_mb * 1024 * 1024 + self.MULTIPART_ALLOWANCE:
            return render_without_database(request, "413.html", 413, max_upload_mb=limit_mb)
        return self.get_response(request)


class NoStoreMiddleware:
    """No browser or proxy keeps what a signed-in person was shown (``Cache-Control:
    no-store, private``): pages, CSVs, PDFs and exports all carry patient data.

    Static files are served by WhiteNoise before this runs and keep their caching.
    Whether the person is signed in is read on the way in (the session is loaded then
    anyway), so a response to a failed request does not touch the database again.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        signed_in = request.user.is_authenticated
        response = self.get_response(request)
        if signed_in:
            add_never_cache_headers(response)
        return response
