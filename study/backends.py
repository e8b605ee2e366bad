"""Role permissions without a query: the clinical permissions come from the person's role.

``study.roles.ROLE_PERMISSIONS`` is the only source of the ``study.*`` permissions of the
roles (``sync_roles`` writes the same sets into the role groups for the admin's sake), and
the person's role is read with their sites once per request (``study.scoping``). Django's
ModelBackend would ask the database twice per request (user and group permissions) to
learn the same thing; this backend answers first. Other permissions (the administrator's
model permissions in the admin) fall through to ModelBackend.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from study.roles import ROLE_PERMISSIONS

ROLE_CODENAMES = frozenset().union(*ROLE_PERMISSIONS.values())


class RolePermissionBackend:
    """Answers permissions only: it signs nobody in (no ``get_user``, so sessions and the
    test client's ``force_login`` keep the ModelBackend)."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        app_label, _dot, codename = perm.partition(".")
        if app_label != "study" or codename not in ROLE_CODENAMES:
            return False  # not a role permission: the next backend answers
        if not user_obj.is_active or not user_obj.is_authenticated:
            raise PermissionDenied
        from study.scoping import membership_of

        membership = membership_of(user_obj)
        if membership is not None and codename in ROLE_PERMISSIONS.get(membership.role, ()):
            return True
        # Roles are the only source of these permissions: no other backend may grant one.
        raise PermissionDenied
