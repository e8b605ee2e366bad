"""Values as people read them: code labels instead of codes, dates as YYYY-MM-DD, units.

Used by the read-only form view and the derived values of the CRF page (later the PDFs),
so a value is written out one way everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext as _

from crf.registry import Variable

EMPTY = "—"


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def choice_text(choices: Iterable[tuple[Any, Any]], value: Any) -> str:
    """The label of a code (or of each code of a list), the code itself when unknown."""
    labels = {str(code): label for code, label in choices}
    if isinstance(value, (list, tuple)):
        return ", ".join(str(labels.get(str(v), v)) for v in value)
    return str(labels.get(str(value), value))


def plain_text(value: Any) -> str:
    if _empty(value):
        return EMPTY
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def variable_text(variable: Variable, value: Any) -> str:
    """A stored value of a crf-spec variable, with its code label."""
    if _empty(value):
        return EMPTY
    if variable.field.choices:
        return choice_text(variable.field.flatchoices, value)
    return plain_text(value)


def field_text(bound: forms.BoundField) -> str:
    """The value a form field shows, as text (its choice label for a code)."""
    value = bound.value()
    field = bound.field
    if isinstance(field, forms.BooleanField):
        return str(_("Yes") if value else _("No"))
    if _empty(value):
        return EMPTY
    choices = getattr(field, "choices", None)
    if choices:
        return choice_text(choices, value)
    return plain_text(value)


@dataclass(frozen=True)
class ShownValue:
    label: str
    text: str
    unit: str = ""
    name: str = ""  # the crf-spec variable name, when known
    marks: str = ""  # safe HTML shown with the value (registry.form_marks)
