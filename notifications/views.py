"""The notification centre: the signed-in person's notifications and mail preferences."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from notifications import services
from notifications.due import KIND_ORDER
from notifications.models import ALWAYS_MAILED, Kind, Language, Notification, Preference
from study.scoping import authenticated_view

# Newest first; a long history shows its latest items (the older ones stay in the table).
PAGE_LIMIT = 200


@authenticated_view
@require_GET
def center(request: HttpRequest) -> HttpResponse:
    items = list(
        Notification.objects.filter(recipient_id=request.user.pk)
        .select_related("subject")
        .order_by("-local_date", "-created_at", "-id")[:PAGE_LIMIT]
    )
    # A day reads as its digest does: by kind in digest order (SAE first), then as collected.
    order = {kind: n for n, kind in enumerate(KIND_ORDER)}
    items.sort(key=lambda n: (-n.local_date.toordinal(), order.get(n.kind, 99), n.pk))
    days = [
        (
            day,
            [
                (Kind(kind).label, list(of_kind))
                for kind, of_kind in groupby(of_day, key=lambda n: n.kind)
            ],
        )
        for day, of_day in groupby(items, key=lambda n: n.local_date)
    ]
    unread = sum(1 for n in items if n.read_at is None)
    return render(
        request, "notifications/center.html", {"days": days, "unread": unread, "items": items}
    )


@authenticated_view
@require_POST
def open_notification(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    """Mark one's own notification read (once: the first opening stays) and go to its page."""
    notification = get_object_or_404(Notification, pk=pk, recipient_id=request.user.pk)
    if notification.read_at is None:
        Notification.objects.filter(pk=pk, read_at__isnull=True).update(read_at=timezone.now())
    target = notification.url
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return redirect("notifications:center")


@authenticated_view
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponseRedirect:
    count = Notification.objects.filter(recipient_id=request.user.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if count:
        messages.success(request, _("Every notification is marked read."))
    return redirect("notifications:center")


def switchable(user: Any) -> list[Kind]:
    """The kinds ``user`` receives and may switch on or off (SAE mail always goes out)."""
    membership = getattr(user, "membership", None)
    mine = services.kinds_for(membership.role if membership is not None else None)
    return [Kind(kind) for kind in mine if kind not in ALWAYS_MAILED]


class PreferenceForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language of my mails"),
        choices=Language.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    mail_kinds = forms.MultipleChoiceField(
        label=_("Reminders sent to me by mail"),
        choices=[],
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        required=False,
    )

    def __init__(self, *args: Any, kinds: list[Kind], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["mail_kinds"]
        field.choices = [(kind.value, kind.label) for kind in kinds]  # type: ignore[attr-defined]


@authenticated_view
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    user_pk: int = request.user.pk  # type: ignore[assignment]  # signed in: never None
    kinds = switchable(request.user)
    preference = Preference.objects.filter(user_id=user_pk).first()
    initial: dict[str, Any] = {
        "language": preference.language if preference else Language.EN.value,
        "mail_kinds": (
            [k for k in preference.mail_kinds or [] if k not in ALWAYS_MAILED]
            if preference
            else [kind.value for kind in kinds]
        ),
    }
    form = PreferenceForm(request.POST or None, initial=initial, kinds=kinds)
    if request.method == "POST" and form.is_valid():
        # SAE kinds stay in the list whatever was posted: their mail cannot be switched off.
        # Kinds this role never receives keep their earlier choice (a later role change).
        others = [
            k
            for k in (preference.mail_kinds if preference else [])
            if k not in ALWAYS_MAILED and k not in {kind.value for kind in kinds}
        ]
        chosen = sorted(ALWAYS_MAILED) + list(form.cleaned_data["mail_kinds"]) + others
        Preference.objects.update_or_create(
            user_id=user_pk,
            defaults={"language": form.cleaned_data["language"], "mail_kinds": chosen},
        )
        messages.success(request, _("Your mail preferences are saved."))
        return redirect("notifications:preferences")
    membership = getattr(request.user, "membership", None)
    role_kinds = services.kinds_for(membership.role if membership is not None else None)
    always = [kind for kind in Kind if kind.value in ALWAYS_MAILED and kind.value in role_kinds]
    return render(request, "notifications/preferences.html", {"form": form, "always": always})
