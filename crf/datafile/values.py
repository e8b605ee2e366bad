"""JSON values into model values: each variable's type, codes and field limits, with a
message naming the variable when a value does not fit."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from crf.datafile.document import is_empty
from crf.registry import FormSpec, Variable

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _codes_of(spec: FormSpec, variable: Variable) -> set[str] | None:
    """The codes a ``codes`` list may hold: from the model field, else the web form's field."""
    if variable.field.choices:
        return {str(code) for code, _label in variable.field.flatchoices}
    form_class = spec.form_class
    form_field = form_class.base_fields.get(variable.field_name) if form_class else None
    choices = getattr(form_field, "choices", None)
    if choices:
        return {str(code) for code, _label in choices}
    return None


def _run_validators(model_field: models.Field[Any, Any], value: Any) -> None:
    """The field's own limits (digits, decimal places, length), which the database enforces."""
    try:
        model_field.run_validators(value)
    except ValidationError as error:
        raise Invalid(" ".join(error.messages)) from None


def to_python(spec: FormSpec, variable: Variable, raw: Any) -> Any:
    """A JSON value as the model field holds it; ``Invalid`` with a message otherwise."""
    model_field, name = variable.field, {"var": variable.name}
    if is_empty(raw):
        return None
    if isinstance(model_field, models.DateTimeField):
        moment = parse_datetime(raw) if isinstance(raw, str) else None
        if moment is None or timezone.is_naive(moment):
            raise Invalid(
                _("%(var)s must be a date and time as YYYY-MM-DDTHH:MM:SS with a UTC offset.")
                % name
            )
        return moment
    if isinstance(model_field, models.DateField):
        if not isinstance(raw, str) or not _DATE.match(raw):
            raise Invalid(_("%(var)s must be a date as YYYY-MM-DD.") % name)
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise Invalid(
                _("%(var)s must be a real date; %(value)s is not.") % {**name, "value": raw}
            ) from None
    if isinstance(model_field, models.DecimalField):
        if isinstance(raw, bool) or not isinstance(raw, int | Decimal | float):
            raise Invalid(_("%(var)s must be a number.") % name)
        value = Decimal(str(raw)) if isinstance(raw, float) else Decimal(raw)
        _run_validators(model_field, value)
        # As the database gives it back (168 -> 168.0), so unchanged values compare equal.
        return value.quantize(Decimal(1).scaleb(-(model_field.decimal_places or 0)))
    if isinstance(model_field, models.IntegerField):
        whole = isinstance(raw, Decimal) and raw == raw.to_integral_value()
        if isinstance(raw, bool) or not (isinstance(raw, int) or whole):
            raise Invalid(_("%(var)s must be a whole number.") % name)
        number = int(raw)
        _run_validators(model_field, number)
        return number
    if isinstance(model_field, models.BooleanField):
        if not isinstance(raw, bool):
            raise Invalid(_("%(var)s must be true or false.") % name)
        return raw
    if isinstance(model_field, models.JSONField):
        if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
            raise Invalid(_("%(var)s must be a list of codes.") % name)
        codes = _codes_of(spec, variable)
        unknown = [c for c in raw if codes is not None and c not in codes]
        if unknown:
            raise Invalid(
                _("%(var)s has unknown codes %(codes)s (expected some of: %(known)s).")
                % {**name, "codes": ", ".join(unknown), "known": ", ".join(sorted(codes or ()))}
            )
        return list(raw)
    if isinstance(model_field, models.CharField | models.TextField):
        if not isinstance(raw, str):
            raise Invalid(_("%(var)s must be text (a JSON string).") % name)
        if model_field.choices:
            known = [str(code) for code, _label in model_field.flatchoices]
            if raw not in known:
                raise Invalid(
                    _("%(var)s has the unknown code %(code)s (expected one of: %(known)s).")
                    % {**name, "code": raw, "known": ", ".join(known)}
                )
        _run_validators(model_field, raw)
        return raw
    raise Invalid(
        _("%(var)s: values of this type (%(type)s) cannot be imported.")
        % {**name, "type": model_field.get_internal_type()}
    )
