"""The web forms of case report forms: built from the registry, checked by the services."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.forms.models import BaseInlineFormSet, inlineformset_factory, modelform_factory
from django.utils.translation import gettext_lazy as _

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


class CRFForm(forms.ModelForm):  # type: ignore[type-arg]
    """Base of every CRF web form: version for the optimistic lock, completion, reason."""

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
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

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


def form_class_for(spec: FormSpec) -> type[CRFForm]:
    if spec.form_class is not None:
        return spec.form_class  # type: ignore[return-value]
    return modelform_factory(  # type: ignore[return-value]
        spec.model,
        form=CRFForm,
        fields=[v.field_name for v in spec.input_variables],
    )


class GroupFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    def rows(self) -> list[dict[str, Any]]:
        """The rows kept (not deleted, not empty), keyed by model field name."""
        fields = [name for name in self.form.base_fields if name not in ("DELETE", "id", "form")]
        return [
            {name: f.cleaned_data.get(name) for name in fields}
            for f in self.forms
            if f.has_changed() or f.instance.pk
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]


def formset_class_for(group: GroupSpec, *, extra: int = 1) -> type[GroupFormSet]:
    parent = group.model._meta.get_field("form").related_model  # type: ignore[misc]
    assert parent is not None
    return inlineformset_factory(  # type: ignore[return-value]
        parent,
        group.model,
        formset=GroupFormSet,
        fields=[v.field_name for v in group.variables],
        extra=extra,
        can_delete=True,
    )
