"""Sign-in, sign-out and the home page of each role."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from study import home_panels, selectors
from study.models import Role
from study.protocol import SESSION_POLICY
from study.scoping import authenticated_view, membership_of, public_view


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
