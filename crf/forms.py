"""The web forms of case report forms: built from the registry, checked by the services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from crispy_forms.bootstrap import AppendedText
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Fieldset, Layout, LayoutObject
from django import forms
from django.forms.models import BaseInlineFormSet, inlineformset_factory, modelform_factory
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from crf.display import ShownValue, field_text, variable_text
from crf.models import CaseReportForm, ChangeReason
from crf.registry import FormSpec, GroupSpec
from crf.services import Reason

# Reasons a person may pick (an import's reason is the system's own).
SYSTEM_REASONS = frozenset({ChangeReason.DATA_IMPORT, ChangeReason.DERIVATION})
WEB_REASONS = [(c.value, c.label) for c in ChangeReason if c not in SYSTEM_REASONS]


class DateInput(forms.DateInput):
    """A date typed as YYYY-MM-DD.

    A text field rather than the browser's date picker, which shows the date in
    the browser's locale (11/18/2026); the study writes every date as YYYY-MM-DD.
    """

    input_type = "text"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = {
            "placeholder": "YYYY-MM-DD",
            "pattern": r"\d{4}-\d{2}-\d{2}",
            "inputmode": "numeric",
            "autocomplete": "off",
        }
        super().__init__(attrs={**defaults, **(attrs or {})}, format="%Y-%m-%d")


class PartialDateInput(forms.TextInput):
    """A crf-spec *partial* date typed as YYYY-MM-DD, YYYY-MM or YYYY."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = {
            "placeholder": "YYYY-MM-DD",
            "pattern": r"\d{4}(-\d{2}(-\d{2})?)?",
            "inputmode": "numeric",
            "autocomplete": "off",
        }
        super().__init__(attrs={**defaults, **(attrs or {})})


# Input widths by what a field holds (static/css/edc.css): a blood pressure box is as wide
# as three digits, not the page.
SIZE_DATE = "edc-size-date"
SIZE_NUMBER = "edc-size-number"
SIZE_CHOICE = "edc-size-choice"
SIZE_SHORT = "edc-size-short"
SIZE_TEXT = "edc-size-text"
SHORT_TEXT_MAX_LENGTH = 20

# The horizontal layout of clinical forms: label and input on one line from 768 px up.
LABEL_CLASS = "col-md-4 col-lg-3"
FIELD_CLASS = "col-md-8 col-lg-9 edc-field"
# What follows the clinical fields on every form, in this order.
COMPLETION_FIELDS = ("mark_complete", "reason_code", "reason_text")


def size_class(field: forms.Field) -> str:
    """The width class of a field's input, from the kind of value it holds."""
    widget = field.widget
    if isinstance(widget, forms.Textarea):
        return SIZE_TEXT
    if isinstance(widget, (forms.RadioSelect, forms.CheckboxSelectMultiple, forms.CheckboxInput)):
        return ""
    if isinstance(field, forms.DateField) or isinstance(widget, (DateInput, PartialDateInput)):
        return SIZE_DATE
    if isinstance(field, (forms.IntegerField, forms.DecimalField, forms.FloatField)):
        return SIZE_NUMBER
    if isinstance(widget, forms.Select):
        return SIZE_CHOICE
    max_length = getattr(field, "max_length", None)
    if max_length is not None and max_length <= SHORT_TEXT_MAX_LENGTH:
        return SIZE_SHORT
    return SIZE_TEXT


def add_class(widget: forms.Widget, css_class: str) -> None:
    if css_class:
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css_class}".strip()


def model_units(model: Any) -> dict[str, Any]:
    """Model field name -> unit, from the model's crf-spec ``UNITS`` (variable -> unit)."""
    variables = getattr(model, "VARIABLES", {})
    return {variables[name]: unit for name, unit in getattr(model, "UNITS", {}).items()}


class CRFForm(forms.ModelForm):  # type: ignore[type-arg]
    """Base of every CRF web form: version for the optimistic lock, completion, reason.

    Laid out as clinical forms are: label and input on one line on wide screens, each
    input as wide as what it holds, its unit beside it, related fields in the fieldsets
    of ``SECTIONS`` ([(legend, [field names])]; one plain section when empty).
    """

    SECTIONS: ClassVar[list[tuple[Any, list[str]]]] = []

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    mark_complete = forms.BooleanField(
        label=_("The form is complete"),
        required=False,
        help_text=_("Required fields are checked when the form is marked complete."),
    )
    reason_code = forms.ChoiceField(
        label=_("Reason for change"),
        choices=[("", "---------"), *WEB_REASONS],
        required=False,
    )
    reason_text = forms.CharField(
        label=_("Reason, details"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, needs_reason: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.needs_reason = needs_reason
        self.fields["reason_code"].required = needs_reason
        if not needs_reason:
            del self.fields["reason_code"]
            del self.fields["reason_text"]
        instance: CaseReportForm | None = kwargs.get("instance")
        if instance is not None and instance.pk:
            self.fields["version"].initial = instance.version
            self.fields["mark_complete"].initial = instance.status == "complete"
        else:
            self.fields["version"].initial = 0
        for field in self.fields.values():
            if isinstance(field, forms.DateField):
                field.widget = DateInput()
            add_class(field.widget, size_class(field))
        self.units = model_units(self._meta.model)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.form_class = "form-horizontal edc-form"
        self.helper.label_class = LABEL_CLASS
        self.helper.field_class = FIELD_CLASS
        self.helper.layout = self.clinical_layout()
        # Completion and the reason for change come last, after any repeating groups.
        self.completion_helper = FormHelper()
        self.completion_helper.form_tag = False
        self.completion_helper.disable_csrf = True
        self.completion_helper.form_class = self.helper.form_class
        self.completion_helper.label_class = LABEL_CLASS
        self.completion_helper.field_class = FIELD_CLASS
        self.completion_helper.layout = Layout(
            *[n for n in COMPLETION_FIELDS if n in self.fields], "version"
        )

    def field_layout(self, name: str) -> LayoutObject:
        """One field: with its unit appended when it has one."""
        unit = self.units.get(name)
        return AppendedText(name, unit) if unit else Field(name)

    def clinical_layout(self) -> Layout:
        """The form's sections (completion and the reason: ``completion_helper``)."""
        sections = self.SECTIONS or [(None, [n for n in self.fields if n not in _NOT_CLINICAL])]
        parts: list[Any] = []
        for legend, names in sections:
            fields = [self.field_layout(n) for n in names if n in self.fields]
            parts.append(Fieldset(legend, *fields) if legend else Layout(*fields))
        return Layout(*parts)

    def reason(self) -> Reason | None:
        code = self.cleaned_data.get("reason_code")
        if not code:
            return None
        return Reason(code=code, text=self.cleaned_data.get("reason_text", ""))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("reason_code") == ChangeReason.OTHER
            and not cleaned.get("reason_text", "").strip()
        ):
            self.add_error("reason_text", _("Explain the reason for change."))
        return cleaned

    def _post_clean(self) -> None:
        # The services validate and save; the form only parses. Skipping the
        # model's full_clean keeps one path for every rule (crf.checks).
        pass


_NOT_CLINICAL = frozenset({*COMPLETION_FIELDS, "version"})


def form_class_for(spec: FormSpec) -> type[CRFForm]:
    if spec.form_class is not None:
        return spec.form_class  # type: ignore[return-value]
    return modelform_factory(  # type: ignore[return-value]
        spec.model,
        form=CRFForm,
        fields=[v.field_name for v in spec.input_variables],
    )


class GroupRowForm(forms.ModelForm):  # type: ignore[type-arg]
    """One row of a repeating group (a lesion) in a table: compact inputs, each named for
    a screen reader by its column and row ("Diameter, row 2"), since a table cell has no
    visible label of its own."""

    def __init__(self, *args: Any, row_number: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = model_units(self._meta.model)
        for name, field in self.fields.items():
            if name in ("id", "form", "DELETE"):
                continue
            if isinstance(field, forms.DateField):
                field.widget = DateInput()
            widget = field.widget
            base = (
                "form-select form-select-sm"
                if isinstance(widget, forms.Select)
                else ("form-control form-control-sm")
            )
            add_class(widget, f"{base} {size_class(field)}")
            if field.required:
                widget.attrs["aria-required"] = "true"
            label = capfirst(str(field.label))
            if units.get(name):
                label = _("%(label)s (%(unit)s)") % {"label": label, "unit": units[name]}
            field.label = label
            widget.attrs["aria-label"] = _("%(field)s, row %(row)d") % {
                "field": label,
                "row": row_number,
            }
        self.row_number = row_number


class GroupFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        kwargs["row_number"] = (index or 0) + 1
        return kwargs

    def add_fields(self, form: Any, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            field = form.fields["DELETE"]
            field.label = _("Remove")
            add_class(field.widget, "form-check-input")
            field.widget.attrs["aria-label"] = _("Remove row %(row)d") % {"row": (index or 0) + 1}

    def kept_forms(self) -> list[Any]:
        """The row forms kept (not deleted, not empty), in order: ``rows()`` row n is
        ``kept_forms()[n - 1]``."""
        return [
            f
            for f in self.forms
            if f.has_changed() or f.instance.pk
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]

    def rows(self) -> list[dict[str, Any]]:
        """The rows kept (not deleted, not empty), keyed by model field name."""
        fields = [name for name in self.form.base_fields if name not in ("DELETE", "id", "form")]
        return [{name: f.cleaned_data.get(name) for name in fields} for f in self.kept_forms()]


def formset_class_for(group: GroupSpec, *, extra: int = 1) -> type[GroupFormSet]:
    parent = group.model._meta.get_field("form").related_model  # type: ignore[misc]
    assert parent is not None
    return inlineformset_factory(  # type: ignore[return-value]
        parent,
        group.model,
        form=GroupRowForm,
        formset=GroupFormSet,
        fields=[v.field_name for v in group.variables],
        extra=extra,
        can_delete=True,
    )


def readonly_sections(
    form: CRFForm,
    spec: FormSpec | None = None,
    marks: Mapping[tuple[str, str, str], str] | None = None,
) -> list[tuple[Any, list[ShownValue]]]:
    """The form's values as text, in its sections, for people who may read but not edit;
    each value with its marks (registry.form_marks: query badges, SDV) when given."""
    marks = marks or {}
    sections = form.SECTIONS or [(None, [n for n in form.fields if n not in _NOT_CLINICAL])]

    def name_of(field_name: str) -> str:
        variable = spec.variable_for_field(field_name) if spec is not None else None
        return variable.name if variable is not None else ""

    return [
        (
            legend,
            [
                ShownValue(
                    str(capfirst(str(form[name].label))),
                    field_text(form[name]),
                    str(form.units.get(name, "")),
                    name_of(name),
                    marks.get(("", "", name_of(name)), "") if name_of(name) else "",
                )
                for name in names
                if name in form.fields and not form[name].is_hidden
            ],
        )
        for legend, names in sections
    ]


def readonly_groups(
    spec: FormSpec,
    formsets: dict[str, Any],
    marks: Mapping[tuple[str, str, str], str] | None = None,
) -> list[tuple[Any, list[str], list[tuple[list[str], Any]]]]:
    """Each repeating group as a table of text: (title, column headers, rows), each row
    (cells, its marks: registry.form_marks of the row and its values)."""
    marks = marks or {}
    tables = []
    for group in spec.groups:
        formset = formsets[group.name]
        key_field = group.variable(group.key).field_name
        headers = [f"{v.label} ({v.unit})" if v.unit else v.label for v in group.variables]
        rows = []
        for row in formset.forms:
            if not row.instance.pk:
                continue
            key = str(getattr(row.instance, key_field))
            row_marks = "".join(
                str(html) for k, html in marks.items() if k[0] == group.name and k[1] == key
            )
            rows.append(
                (
                    [
                        variable_text(v, getattr(row.instance, v.field_name))
                        for v in group.variables
                    ],
                    mark_safe(row_marks),  # noqa: S308 - joined marks, each already escaped
                )
            )
        tables.append((group.title, headers, rows))
    return tables
