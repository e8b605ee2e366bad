"""Reads of the audit trail for people: a form's history, the study-wide search, its CSV, and
the latest check of the trail (data_management.anchors)."""

from __future__ import annotations

import csv
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crf import audit_labels
from crf.audit_filters import AuditFilterForm
from crf.models import AuditEntry, Visit
from crf.registry import FormSpec
from data_management.models import AuditCheck
from study.scoping import site_ids_for_user, sites_for_user
from study.timezones import zone_named


def zone_of(name: str | None) -> zoneinfo.ZoneInfo:
    return zone_named(name)


# --- A form's history -----------------------------------------------------------------------


def form_history(spec: FormSpec, instance: Any) -> list[AuditEntry]:
    """Every audit entry of this form record and of its repeating rows, oldest first."""
    where = Q(object_model=instance._meta.label, object_id=instance.pk)
    for group in spec.groups:
        model: Any = group.model  # a RepeatingRow: a foreign key "form" to its form
        row_ids = list(model._base_manager.filter(form=instance).values_list("pk", flat=True))
        if row_ids:
            where |= Q(object_model=group.model._meta.label, object_id__in=row_ids)
    return list(
        AuditEntry.objects.filter(subject_id=instance.subject_id, form_code=spec.code)
        .filter(where)
        .order_by("id")
    )


# --- The study-wide search ------------------------------------------------------------------


class StudyAuditFilterForm(AuditFilterForm):
    """The subject's filters and a subject (its ID or screening number) and a site."""

    subject = forms.CharField(
        label=gettext_lazy("Subject"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("ID or screening number")}),
    )
    site = forms.ChoiceField(label=gettext_lazy("Site"), required=False)
    field_order = ["subject", "site", "form", "visit", "user", "action", "date_from", "date_to"]

    def __init__(self, data: Any = None, *, user: Any, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["site"].choices = [("", gettext_lazy("All sites"))] + [
            (str(site.pk), f"{site.number} {site.name}")
            for site in sites_for_user(user).order_by("number")
        ]
        fields["subject"].widget.attrs["class"] = "form-control form-control-sm"
        fields["site"].widget.attrs["class"] = "form-select form-select-sm"

    def apply(self, entries: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        entries = super().apply(entries)
        if not self.is_bound or not self.is_valid():
            return entries  # all, or none while a filter is not valid
        if self.cleaned_data.get("subject"):
            text = self.cleaned_data["subject"].strip()
            entries = entries.filter(
                Q(subject__subject_id__iexact=text) | Q(subject__screening_id__iexact=text)
            )
        if self.cleaned_data.get("site"):
            entries = entries.filter(subject__site_id=int(self.cleaned_data["site"]))
        return entries


def study_filters(data: Any, user: Any) -> StudyAuditFilterForm:
    # The visits' codes from the visits (a smaller table than the trail, read whole here)
    visits = Visit.objects.order_by().values_list("code", flat=True).distinct()
    users = sorted(
        {*get_user_model().objects.values_list("username", flat=True), "system"}, key=str.lower
    )
    return StudyAuditFilterForm(data or None, user=user, visits=_visit_order(visits), users=users)


def _visit_order(codes: Iterable[str]) -> list[str]:
    """Visit codes in the schedule's order (SCR, C1D1, C2D1, …, TA1, …), not as text."""
    import re

    prefix = {"SCR": 0, "C": 1, "TA": 2, "EOT": 3, "SFU": 4, "SURV": 5, "UNS": 6}

    def key(code: str) -> tuple[int, list[int], str]:
        head = re.match(r"[A-Z]+", code)
        letters = head.group(0) if head else code
        return (prefix.get(letters, 9), [int(n) for n in re.findall(r"\d+", code)], code)

    return sorted(set(codes), key=key)


def study_entries(user: Any, filters: AuditFilterForm) -> QuerySet[AuditEntry]:
    """The entries the user may read (their sites' subjects; the study's own chain for
    study-wide roles), filtered, newest first."""
    entries = AuditEntry.objects.select_related("subject", "subject__site")
    site_ids = site_ids_for_user(user)
    if site_ids is not None:
        entries = entries.filter(subject__site_id__in=site_ids)
    return filters.apply(entries).order_by("-id")


# --- The CSV --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Echo:
    """A file-like object whose write returns the line (csv.writer into a streamed response)."""

    def write(self, value: str) -> str:
        return value


def csv_rows(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    """The header and one line per entry, read a chunk at a time: labels beside the codes,
    the time in UTC and in the subject's site's zone."""
    writer = csv.writer(Echo())
    yield "\ufeff" + writer.writerow(
        [
            _("Time (UTC)"),
            _("Time (site)"),
            _("Site time zone"),
            _("Site"),
            _("Subject"),
            _("User"),
            _("Action"),
            _("Source"),
            _("Form"),
            _("Form name"),
            _("Visit"),
            _("Group"),
            _("Row"),
            _("Variable"),
            _("Variable name"),
            _("Old value"),
            _("New value"),
            _("Reason"),
            _("Reason, details"),
            _("File SHA-256"),
            _("Entry hash"),
        ]
    )
    for e in entries.iterator(chunk_size=2000):
        subject = e.subject
        zone_name = (
            subject.site.time_zone if subject is not None else timezone.get_current_timezone_name()
        )
        local = timezone.localtime(e.at, zone_of(zone_name))
        yield writer.writerow(
            [
                e.at.astimezone(zoneinfo.ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ"),
                local.strftime("%Y-%m-%d %H:%M:%S"),
                zone_name,
                subject.site.number if subject is not None else "",
                subject.label if subject is not None else _("Study"),
                e.actor_username,
                e.get_action_display(),
                e.get_source_display(),
                e.form_code,
                audit_labels.form_name(e.form_code),
                e.visit_code,
                e.group,
                e.row_key,
                e.variable,
                audit_labels.variable_name(e.form_code, e.group, e.variable),
                _shown(e, e.old_value),
                _shown(e, e.new_value),
                e.get_reason_code_display() if e.reason_code else "",
                e.reason_text,
                e.file_sha256,
                e.entry_hash,
            ]
        )


def _shown(entry: AuditEntry, value: str | None) -> str:
    shown = audit_labels.shown_values(
        entry.form_code, entry.group, entry.variable, entry.action, value
    )
    return ", ".join(f"{v.text} ({v.code})" if v.code else v.text for v in shown)


# --- The latest check -----------------------------------------------------------------------


def latest_check() -> AuditCheck | None:
    return AuditCheck.objects.order_by("-at", "-id").first()
