"""The administrator's pages: people, sites, memberships, sign-in events.

No clinical data is registered here: the admin never offers it for editing. A person's
role, sites and principal-investigator flag change through study.services.set_membership
(never one's own; with a reason; recorded for the data managers to read).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from study import services
from study.models import AuthEvent, Membership, Site

User = get_user_model()


class MembershipForm(forms.ModelForm):  # type: ignore[type-arg]
    """The membership inline, with the reason a change of someone's access needs.

    ``clean`` applies the rules of services.check_access_change, so the admin shows them
    at the field; the save goes through services.set_membership, which checks them again.
    """

    reason = forms.CharField(
        label=_("Reason for a change of role, sites or PI flag"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Recorded with the change and shown to the data managers. Nobody changes their "
            "own role, sites or principal-investigator flag."
        ),
    )

    class Meta:
        model = Membership
        fields = ["role", "sites", "is_principal_investigator"]
        # A few sites: check boxes (labelled, keyboard-friendly, no script) rather than
        # the admin's two-box filter widget.
        widgets = {"sites": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, actor: Any = None, person: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor, self.person = actor, person

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors or self.person is None or "role" not in cleaned:
            return cleaned
        old = services.access_of(self.person) if self.person.pk else None
        new = services.Access(
            role=cleaned["role"],
            sites=tuple(sorted(site.number for site in cleaned.get("sites") or [])),
            principal_investigator=bool(cleaned.get("is_principal_investigator")),
        )
        try:
            services.check_access_change(
                actor=self.actor,
                person=self.person,
                existing=old is not None,
                changed=bool(services.access_changes(old, new)),
                reason=cleaned.get("reason", ""),
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                for message in messages:
                    self.add_error(field, message)
        return cleaned


class MembershipInline(admin.StackedInline):
    model = Membership
    form = MembershipForm
    can_delete = False
    extra = 0
    max_num = 1

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        """Each form knows who is acting and on whom (the rules of an access change)."""
        base = super().get_formset(request, obj, **kwargs)

        class FormSet(base):  # type: ignore[valid-type,misc]
            def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
                return {
                    **super().get_form_kwargs(index),
                    "actor": request.user,
                    # A person being added has no pk yet: nobody is acting on themselves.
                    "person": obj if obj is not None else User(),
                }

        return FormSet


class StudyUserAdmin(UserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "first_name", "last_name", "role", "is_active", "last_login"]
    list_select_related = ["membership"]
    # The study role, by its label; the groups behind it are named by code (role:monitor).
    list_filter = ["membership__role", "is_active", "is_staff"]
    # Set by the system at sign-in and creation, not typed.
    readonly_fields = ["last_login", "date_joined"]
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

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """The membership goes through services.set_membership (rules, groups, record)."""
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        # What the admin's history (construct_change_message) reads from a saved formset.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for member_form in formset.forms:
            if not member_form.has_changed() or not member_form.cleaned_data:
                continue
            data = member_form.cleaned_data
            existed = member_form.instance.pk is not None
            membership = services.set_membership(
                actor=request.user,
                person=form.instance,
                role=data["role"],
                sites=data.get("sites") or [],
                is_principal_investigator=bool(data.get("is_principal_investigator")),
                reason=data.get("reason", ""),
            )
            if existed:
                formset.changed_objects.append((membership, member_form.changed_data))
            else:
                formset.new_objects.append(membership)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.sync_user_groups(form.instance)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """Setting someone else's password is recorded: with it one could sign in as them."""
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and isinstance(response, HttpResponseRedirect):
            person = User.objects.filter(pk=id).first()
            if person is not None:
                services.record_password_set(actor=request.user, person=person)
        return response

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
