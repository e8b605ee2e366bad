"""Sign-in, sign-out and the home page of each role."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import DisallowedHost, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from study import access_changes, home_panels, protocol, selectors
from study.models import Role
from study.protocol import SESSION_POLICY
from study.roles import ACCESS, VIEW, perm
from study.scoping import authenticated_view, membership_of, public_view, require_perm


class LoginForm(AuthenticationForm):
    def get_invalid_login_error(self) -> ValidationError:
        return ValidationError(
            _(
                "The user name or password is not right. After %(limit)d failed attempts "
                "the account is locked for %(minutes)d minutes."
            )
            % {
                "limit": SESSION_POLICY.failed_logins_before_lock,
                "minutes": SESSION_POLICY.lock_minutes,
            },
            code="invalid_login",
        )


login = public_view(
    auth_views.LoginView.as_view(
        template_name="study/login.html",
        authentication_form=LoginForm,
        redirect_authenticated_user=True,
    )
)
logout = authenticated_view(require_POST(auth_views.LogoutView.as_view()))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any]
) -> HttpResponse:
    """What a locked account sees (django-axes calls this): a clear message, HTTP 403."""
    form = LoginForm(request, data=None)
    message = _(
        "This account is locked for %(minutes)d minutes after %(limit)d failed sign-in "
        "attempts. Try again later or ask the study administrator."
    ) % {"minutes": SESSION_POLICY.lock_minutes, "limit": SESSION_POLICY.failed_logins_before_lock}
    return render(
        request,
        "study/login.html",
        {"form": form, "locked_message": message},
        status=403,
    )


HOME_TEMPLATES = {
    Role.INVESTIGATOR: "study/home_site.html",
    Role.SITE_COORDINATOR: "study/home_site.html",
    Role.STUDY_COORDINATOR: "study/home_study_coordinator.html",
    Role.MONITOR: "study/home_monitor.html",
    Role.DATA_MANAGER: "study/home_data_manager.html",
    Role.MEDICAL_MONITOR: "study/home_medical_monitor.html",
    Role.ADMINISTRATOR: "study/home_administrator.html",
}


@authenticated_view
def home(request: HttpRequest) -> HttpResponse:
    """The home page of the user's role."""
    membership = membership_of(request.user)
    if membership is None:
        return render(request, "study/home_no_role.html")
    context = {
        "membership": membership,
        "site_summaries": selectors.site_summaries(request.user),
        "recent_subjects": selectors.recent_subjects(request.user, limit=10),
        "idle_minutes": settings.EDC_IDLE_TIMEOUT_SECONDS // 60,
        "panels": home_panels.panels_for(request),
    }
    return render(request, HOME_TEMPLATES[Role(membership.role)], context)


@require_perm(ACCESS)
def access_change_list(request: HttpRequest) -> HttpResponse:
    """People and roles: changes. Every change of someone's role, sites or PI flag, and every
    password an administrator set for someone else: who, when, old, new, reason."""
    page = Paginator(access_changes.recent_changes(), 50).get_page(request.GET.get("page"))
    context = {"page": page, "rows": access_changes.rows(page)}
    return render(request, "study/access_changes.html", context)


# --- Error pages ------------------------------------------------------------------------------
# handler400/403/404/500 in trial_edc/urls.py and CSRF_FAILURE_VIEW point here. Each page is
# the site's layout with a <main> landmark, says what happened and where to go, in the user's
# language. A subject of another site raises the same Http404 as a missing page, and the 404
# page shows nothing of the exception, so both are the same page.


def _back_url(request: HttpRequest) -> str | None:
    """The page the person came from (same host only), as a path; None when unknown."""
    referer = request.META.get("HTTP_REFERER", "")
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={host}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(referer)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _render_error(
    request: HttpRequest, template_name: str, status: int, **extra: Any
) -> HttpResponse:
    """An error page with the whole shell (menu, role, sites): the database is up."""
    user = request.user
    context = {
        "back_url": _back_url(request),
        "signed_in": user.is_authenticated,
        "can_list_subjects": user.is_authenticated and user.has_perm(perm(VIEW)),
        **extra,
    }
    return render(request, template_name, context, status=status)


def render_without_database(
    request: HttpRequest, template_name: str, status: int, **extra: Any
) -> HttpResponse:
    """An error page drawn without one query: for the 500 page (the database may be what
    failed) and for refusals before the session is read (413).

    No context processor runs (they read the person's membership and menu), and neither
    ``request.user`` nor the session is touched: both would query. The page has the
    site's layout without the menu, the language switch (its CSRF token comes from the
    cookie) and a way home.
    """
    context = {
        "STUDY_CODE": protocol.STUDY_CODE,
        "PROTOCOL_VERSION": protocol.PROTOCOL_VERSION,
        "request": request,
        "csrf_token": get_token(request),
        "back_url": _back_url(request),
        "signed_in": True,  # the home page sends a signed-out person to sign in
        **extra,
    }
    return HttpResponse(loader.get_template(template_name).render(context), status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render_error(request, "400.html", 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render_error(request, "403.html", 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render_error(request, "404.html", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render_without_database(request, "500.html", 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent with a stale or missing CSRF token: the page was open too long, or the
    session ended. Nothing was saved; sign in again and go back to the page."""
    back = _back_url(request)
    login_url = reverse("study:login")
    if back:
        login_url += "?" + urlencode({REDIRECT_FIELD_NAME: back}, safe="/")
    return _render_error(
        request,
        "403_csrf.html",
        403,
        login_url=login_url,
        idle_minutes=settings.EDC_IDLE_TIMEOUT_SECONDS // 60,
    )
