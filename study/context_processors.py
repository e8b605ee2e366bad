"""What every page's shell shows: the study, the user's role and sites, the menu."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from study import navigation, protocol
from study.scoping import membership_of, membership_sites


def study_shell(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {
        "STUDY_CODE": protocol.STUDY_CODE,
        "PROTOCOL_VERSION": protocol.PROTOCOL_VERSION,
    }
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    membership = membership_of(user)
    nav: list[dict[str, Any]] = [{"label": _("Home"), "url": reverse("study:home")}]
    nav += navigation.items_for(user)
    if user.is_staff:
        nav.append({"label": _("Administration"), "url": reverse("admin:index")})
    context.update(
        {
            "shell_membership": membership,
            "shell_role": membership.get_role_display() if membership else _("No study role"),
            "shell_sites": (
                _("All sites")
                if membership is not None and membership.is_study_wide
                else ", ".join(s.number for s in membership_sites(user))
            ),
            "shell_nav": nav,
        }
    )
    return context
