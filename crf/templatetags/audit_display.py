"""Template filters of the subject's audit trail page (crf.audit_labels does the looking up)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from crf import audit_labels
from crf.models import AuditEntry

register = template.Library()


def _value(entry: AuditEntry, value: str | None) -> SafeString:
    shown = audit_labels.shown_values(
        entry.form_code, entry.group, entry.variable, entry.action, value
    )
    return format_html_join(
        ", ",
        "{}{}",
        (
            (
                v.text,
                format_html(' <span class="text-body-secondary">({})</span>', v.code)
                if v.code
                else "",
            )
            for v in shown
        ),
    )


@register.filter
def audit_old(entry: AuditEntry) -> SafeString:
    """The entry's old value as people read it ("Not recovered / not resolved (NOT_RECOVERED)")."""
    return _value(entry, entry.old_value)


@register.filter
def audit_new(entry: AuditEntry) -> SafeString:
    """The entry's new value as people read it."""
    return _value(entry, entry.new_value)


@register.filter
def audit_form_name(entry: AuditEntry) -> str:
    return audit_labels.form_name(entry.form_code)


@register.filter
def audit_variable_name(entry: AuditEntry) -> str:
    return audit_labels.variable_name(entry.form_code, entry.group, entry.variable)
