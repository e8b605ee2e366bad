"""The audit trail as people read it: each code beside its label, each form and variable named.

The trail keeps what was saved (crf-spec codes, ``YYYY-MM-DD`` dates, JSON lists of codes);
the subject's audit page shows a crf-spec code as "label (CODE)" (the code is what the data
file and the query refer to), a form or subject status by its label alone (those codes are
internal), and any other value as it was saved. crf-spec: "The UI shows each code's label
(translatable), never the raw code alone."
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from crf import registry
from crf.models import AuditAction, FormStatus
from study.models import SubjectStatus

# Audit entries that are no form of the registry (crf.audit.record callers).
OTHER_FORMS = {"SUBJ": _("Subject"), "VISIT": _("Visit")}
# Internal status codes: shown by their label alone.
STATUS_CHOICES: dict[tuple[str, str], Any] = {("SUBJ", "STATUS"): SubjectStatus.choices}


# Values of the actions higher apps record (a query's status, a lock's level): their labels,
# registered by the app that writes them (data_management), which crf cannot import.
_ACTION_VALUE_LABELS: dict[str, Iterable[tuple[Any, Any]]] = {}


def register_value_labels(action: str, choices: Iterable[tuple[Any, Any]]) -> None:
    """Show the values of ``action``'s entries by these choices' labels."""
    _ACTION_VALUE_LABELS[action] = choices


@dataclass(frozen=True)
class ShownValue:
    """One value of an audit entry: its ``text``; ``code`` is set when text is a code's label."""

    text: str
    code: str = ""


def _labels(choices: Iterable[tuple[Any, Any]]) -> dict[str, str]:
    return {str(code): str(label) for code, label in choices}


def _variable(form_code: str, group: str, variable: str) -> Any:
    """The registry's Variable of an entry, or None (not a registered form or variable)."""
    try:
        spec = registry.get(form_code)
    except KeyError:
        return None
    try:
        variables = spec.group(group).variables if group else spec.variables
    except StopIteration:
        return None
    return next((v for v in variables if v.name == variable), None)


def _code_labels(form_code: str, group: str, variable: str) -> dict[str, str] | None:
    """The crf-spec code list of a variable (model field choices, else the form field's)."""
    found = _variable(form_code, group, variable)
    if found is None:
        return None
    if found.field.choices:
        return _labels(found.field.flatchoices)
    spec = registry.get(form_code)
    form_field = spec.form_class.base_fields.get(found.field_name) if spec.form_class else None
    choices = getattr(form_field, "choices", None)
    return _labels(choices) if choices else None


def shown_values(
    form_code: str, group: str, variable: str, action: str, value: str | None
) -> list[ShownValue]:
    """A stored audit value as people read it: a list for a list of codes, [] when empty."""
    if value is None or value == "":
        return []
    if action in _ACTION_VALUE_LABELS:
        return [ShownValue(_labels(_ACTION_VALUE_LABELS[action]).get(value, value))]
    if action == AuditAction.STATUS and not variable:
        return [ShownValue(_labels(FormStatus.choices).get(value, value))]
    status = STATUS_CHOICES.get((form_code, variable))
    if status is not None:
        return [ShownValue(_labels(status).get(value, value))]
    labels = _code_labels(form_code, group, variable)
    if not labels:
        return [ShownValue(value)]
    codes: list[Any] = [value]
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            codes = parsed
    return [
        ShownValue(labels[str(c)], str(c)) if str(c) in labels else ShownValue(str(c))
        for c in codes
    ]


def form_name(form_code: str) -> str:
    """The form's title ("Adverse event" for AE), or "" when the code is not known."""
    try:
        return str(registry.get(form_code).title)
    except KeyError:
        return str(OTHER_FORMS.get(form_code, ""))


def variable_name(form_code: str, group: str, variable: str) -> str:
    """The variable's label ("Outcome" for AE AEOUT), or "" when not a registered variable."""
    found = _variable(form_code, group, variable)
    return capfirst(str(found.field.verbose_name)) if found is not None else ""
