"""Filters of the audit trail: by form, visit, user, action and a date range.

Used by the subject's audit trail page (crf.views.subject_audit) and, with a subject and a
site added, by the study-wide audit search of data management. Dates are days in the time
zone the reader sees times in (the subject's site, or the reader's own), from the first
moment of the first day to the last moment of the last.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crf import audit_labels, registry
from crf.forms import DateInput
from crf.models import AuditAction, AuditEntry


def form_choices() -> list[tuple[str, Any]]:
    """Every form of the registry and the other records the trail names, by title."""
    known: list[tuple[str, Any]] = [
        (spec.code, f"{spec.title} ({spec.code})") for spec in registry.all_forms()
    ]
    known += [(code, f"{title} ({code})") for code, title in audit_labels.OTHER_FORMS.items()]
    return [("", _("All forms")), *sorted(known, key=lambda c: str(c[1]))]


class AuditFilterForm(forms.Form):
    """GET filters of an audit trail; ``apply`` narrows a queryset of AuditEntry."""

    form = forms.ChoiceField(label=_("Form"), required=False)
    visit = forms.ChoiceField(label=_("Visit"), required=False)
    user = forms.ChoiceField(label=_("User"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    # YYYY-MM-DD typed, as every date of the study (not the browser's picker in its locale)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def __init__(
        self,
        data: Any = None,
        *,
        visits: Iterable[str] = (),
        users: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["form"].choices = form_choices()
        fields["visit"].choices = [("", _("All visits")), *((v, v) for v in visits)]
        fields["user"].choices = [("", _("All users")), *((u, u) for u in users)]
        fields["action"].choices = [("", _("All actions")), *AuditAction.choices]
        for field in fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if is_select else "form-control form-control-sm"
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end of the range is before its start."))
        return cleaned

    def value(self, name: str) -> Any:
        """A cleaned filter's value (None or "" when not given or not valid)."""
        if not self.is_bound or not self.is_valid():
            return None
        return self.cleaned_data.get(name)

    def apply(self, entries: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        """The entries the filters select; none while a filter is not valid (its error is
        shown), never the whole trail as if nothing had been asked."""
        if not self.is_bound:
            return entries
        if not self.is_valid():
            return entries.none()
        data = self.cleaned_data
        if data.get("form"):
            entries = entries.filter(form_code=data["form"])
        if data.get("visit"):
            entries = entries.filter(visit_code=data["visit"])
        if data.get("user"):
            entries = entries.filter(actor_username=data["user"])
        if data.get("action"):
            entries = entries.filter(action=data["action"])
        if data.get("date_from"):
            entries = entries.filter(at__gte=_start_of(data["date_from"]))
        if data.get("date_to"):
            entries = entries.filter(at__lt=_start_of(data["date_to"] + dt.timedelta(days=1)))
        return entries

    def query_string(self, **extra: str) -> str:
        """The filters given, as a URL query (for the pages' links and the CSV)."""
        if not self.is_bound:
            return urlencode(extra)
        given = {k: self.data.get(k, "") for k in self.fields}
        return urlencode({k: v for k, v in {**given, **extra}.items() if v})

    @property
    def active(self) -> bool:
        return self.is_bound and any(self.data.get(k) for k in self.fields)


def _start_of(day: dt.date) -> dt.datetime:
    """The first moment of ``day`` in the current time zone (what the reader sees)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
