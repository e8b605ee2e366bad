"""The administrator's pages: people, sites, memberships, sign-in events.

No clinical data is registered here: the admin never offers it for editing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from study.models import AuthEvent, Membership, Site
from study.services import sync_user_groups

User = get_user_model()


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = False
    filter_horizontal = ["sites"]
    extra = 0
    max_num = 1


class StudyUserAdmin(UserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "first_name", "last_name", "role", "is_active", "last_login"]
    list_select_related = ["membership"]
    # The study role, by its label; the groups behind it are named by code (role:monitor).
    list_filter = ["membership__role", "is_active", "is_staff"]
    # Groups follow the study role; they are not picked by hand.
    fieldsets = tuple(
        (
            name,
            {
                **opts,
                "fields": tuple(
                    f
                    for f in opts["fields"]
                    if f not in ("groups", "user_permissions", "is_superuser")
                ),
            },
        )
        for name, opts in UserAdmin.fieldsets  # type: ignore[union-attr]
    )

    @admin.display(description=_("role"))
    def role(self, obj: Any) -> str:
        membership = getattr(obj, "membership", None)
        return membership.get_role_display() if membership else "—"

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        sync_user_groups(form.instance)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate people instead: their names stay on the audit trail


admin.site.unregister(User)
admin.site.register(User, StudyUserAdmin)
# Role groups and their permissions come from study/roles.py, never by hand.
admin.site.unregister(Group)


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "time_zone", "is_active"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuthEvent)
class AuthEventAdmin(admin.ModelAdmin):
    list_display = ["at", "kind", "username", "ip_address"]
    list_filter = ["kind"]
    search_fields = ["username"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
