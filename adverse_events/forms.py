"""The AE and DV web forms and their registration with the CRF registry."""

from __future__ import annotations

from typing import Any

from crispy_forms.bootstrap import InlineRadios
from crispy_forms.layout import HTML, Div, Field, Fieldset, Layout
from django import forms
from django.urls import reverse_lazy
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from adverse_events import checks
from adverse_events.models import AdverseEvent, CtcaeTerm, ProtocolDeviation
from crf import registry
from crf.codelists import YN
from crf.forms import CRFForm, DateInput


def _ctcae_language_note() -> list[HTML]:
    """In a language other than English, say why terms and grade texts are English: NCI
    publishes CTCAE v5.0 in English only, and the study records its terms verbatim."""
    if (get_language() or "en").startswith("en"):
        return []
    return [
        HTML(
            format_html(
                '<p class="form-text mt-0 mb-2" id="ae-ctcae-language" '
                'data-testid="ctcae-language-note">{}</p>',
                _(
                    "CTCAE v5.0 terms and grade definitions are shown in English "
                    "(NCI publishes no Chinese edition)."
                ),
            )
        )
    ]


def grade_choices(term: CtcaeTerm | None) -> list[tuple[int, str]]:
    """The grades a term defines, each with its CTCAE text (all five until a term is chosen)."""
    if term is None:
        # Built per call: a lazy string formatted at import would stay in English.
        return [(n, _("Grade %(n)d") % {"n": n}) for n in range(1, 6)]
    return [
        (n, format_html("<strong>{}</strong> {}", _("Grade %(n)d") % {"n": n}, text))
        for n, text in term.grades()
    ]


class AdverseEventForm(CRFForm):
    """AE: the term by type-ahead over CTCAE v5.0; only the term's grades, with their texts."""

    grade = forms.TypedChoiceField(
        label=_("Worst CTCAE grade"),
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )

    class Meta:
        model = AdverseEvent
        fields = [
            "term",
            "term_other",
            "onset_on",
            "resolved_on",
            "ongoing",
            "grade",
            "serious",
            "results_in_death",
            "life_threatening",
            "hospitalisation",
            "disability",
            "congenital_anomaly",
            "important_medical_event",
            "aware_on",
            "narrative",
            "relationship",
            "action",
            "outcome",
        ]
        widgets = {"narrative": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = (self.data.get("term") if self.is_bound else None) or (
            self.instance.term if self.instance and self.instance.pk else ""
        )
        self.ctcae_term = checks.find_term(name)
        self.fields["grade"].choices = grade_choices(self.ctcae_term)  # type: ignore[attr-defined]
        self.fields["term"].widget.attrs.update(
            {
                "hx-get": reverse_lazy("adverse_events:term_search"),
                "hx-trigger": "input changed delay:250ms, focus once",
                "hx-target": "#ae-term-options",
                "hx-sync": "this:replace",
                "autocomplete": "off",
                # WAI-ARIA combobox (static/js/edc.js keeps expanded/activedescendant).
                "role": "combobox",
                "aria-autocomplete": "list",
                "aria-controls": "ae-term-options",
                "aria-expanded": "false",
                "placeholder": _("Type part of a term or a system organ class"),
                "data-term-input": "",
            }
        )
        self.fields["term"].help_text = _(
            "CTCAE v5.0. Type at least two letters, then pick the term (arrow keys, then Enter)."
        )
        for name in AdverseEvent.SERIOUSNESS_CRITERIA:
            field = self.fields[AdverseEvent.VARIABLES[name]]
            field.widget = forms.RadioSelect(choices=YN.choices)
            field.required = False
        for name in ("ongoing", "serious"):
            self.fields[name].widget = forms.RadioSelect(choices=YN.choices)
        criteria = [
            InlineRadios(AdverseEvent.VARIABLES[n]) for n in AdverseEvent.SERIOUSNESS_CRITERIA
        ]
        soc = self.ctcae_term.soc if self.ctcae_term is not None else ""
        parts: list[Any] = [
            Fieldset(
                _("Event"),
                Field("term"),
                HTML(
                    '<div id="ae-term-options" class="list-group mb-3" role="listbox" '
                    'aria-live="polite"></div>'
                ),
                HTML(
                    format_html(
                        '<p class="small" id="ae-soc" data-testid="ae-soc">{}: <span>{}</span></p>',
                        _("System organ class (AESOC)"),
                        soc or "—",
                    )
                ),
                *_ctcae_language_note(),
                "term_other",
                "onset_on",
                InlineRadios("ongoing"),
                "resolved_on",
                Div("grade", css_id="ae-grade-field"),
            ),
            Fieldset(
                _("Seriousness"),
                InlineRadios("serious"),
                Div(*criteria, css_class="edc-subfields"),
                "aware_on",
                "narrative",
            ),
            Fieldset(
                _("Relationship, action and outcome"),
                "relationship",
                "action",
                "outcome",
            ),
        ]
        self.helper.layout = Layout(*parts)


class DeviationForm(CRFForm):
    class Meta:
        model = ProtocolDeviation
        fields = list(ProtocolDeviation.VARIABLES.values())
        widgets = {
            "occurred_on": DateInput(),
            "description": forms.Textarea(attrs={"rows": 3}),
            "action": forms.Textarea(attrs={"rows": 2}),
        }


def register_forms() -> None:
    registry.register(
        AdverseEvent,
        code="AE",
        title=_("Adverse event"),
        visit_kinds=[],
        required=[
            "AETERM",
            "AESTDAT",
            "AEONGO",
            "AETOXGR",
            "AESER",
            "AEREL",
            "AEACN",
            "AEOUT",
        ],
        derived=["AESOC", "TEAE"],
        checks=checks.AE_CHECKS,
        derive=checks.ae_derive,
        form_class=AdverseEventForm,
        order=310,
    )
    registry.register(
        ProtocolDeviation,
        code="DV",
        title=_("Protocol deviation"),
        visit_kinds=[],
        required=["DVDAT", "DVCAT", "DVSEV", "DVTERM"],
        checks=checks.DV_CHECKS,
        form_class=DeviationForm,
        order=320,
    )
