"""Web forms of the screening CRFs and their registration with the form registry."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crf import registry
from crf.codelists import Aetiology, PriorTherapy
from crf.forms import CRFForm, PartialDateInput
from crf.models import VisitKind
from enrollment import checks
from enrollment.models import (
    Demographics,
    Eligibility,
    EligibilityAnswer,
    Enrolment,
    History,
    InformedConsent,
    ScreeningLog,
)


class ScreeningLogForm(CRFForm):
    failed_criteria = forms.MultipleChoiceField(
        label=_("Criteria not met"), required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ScreeningLog
        fields = ["screening_date", "screen_failure", "failed_criteria"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from enrollment.selectors import criteria_in_force

        self.fields["failed_criteria"].choices = [  # type: ignore[attr-defined]
            (c.code, f"{c.code} {c.display_text}") for c in criteria_in_force()
        ]


class InformedConsentForm(CRFForm):
    class Meta:
        model = InformedConsent
        fields = ["consent_date", "consent_version"]


class DemographicsForm(CRFForm):
    class Meta:
        model = Demographics
        fields = ["birth_date", "sex", "ethnic_group", "height_cm"]
        widgets = {"birth_date": PartialDateInput()}


class HistoryForm(CRFForm):
    aetiology = forms.MultipleChoiceField(
        label=_("Aetiology"),
        choices=Aetiology.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    prior_therapy = forms.MultipleChoiceField(
        label=_("Prior local/systemic therapy besides lenvatinib"),
        choices=PriorTherapy.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = History
        fields = list(History.VARIABLES.values())
        widgets = {
            "diagnosis_date": PartialDateInput(),
            "lenvatinib_start": PartialDateInput(),
            "lenvatinib_last_dose": PartialDateInput(),
        }


class EnrolmentForm(CRFForm):
    class Meta:
        model = Enrolment
        fields = ["enrolled_on", "planned_day1"]


def register_forms() -> None:
    screening = [VisitKind.SCREENING]
    registry.register(
        ScreeningLog,
        code="SL",
        title=_("Screening log"),
        visit_kinds=screening,
        required=["SCRDAT", "SCRFAIL"],
        checks=checks.SL_CHECKS,
        form_class=ScreeningLogForm,
        once_per_subject=True,
        order=10,
    )
    registry.register(
        InformedConsent,
        code="IC",
        title=_("Informed consent"),
        visit_kinds=screening,
        required=["ICDAT", "ICVER"],
        checks=checks.IC_CHECKS,
        form_class=InformedConsentForm,
        once_per_subject=True,
        order=20,
    )
    registry.register(
        Demographics,
        code="DM",
        title=_("Demographics"),
        visit_kinds=screening,
        required=["BRTHDAT", "SEX", "ETHNIC", "HEIGHT"],
        checks=checks.DM_CHECKS,
        form_class=DemographicsForm,
        once_per_subject=True,
        order=30,
    )
    registry.register(
        History,
        code="HX",
        title=_("HCC and prior treatment history"),
        visit_kinds=screening,
        required=[
            "DIAGDAT",
            "DIAGMTH",
            "ETIOL",
            "BCLC",
            "MVI",
            "EHS",
            "LENSTDAT",
            "LENENDAT",
            "LENDOSE",
            "LENBOR",
            "LENSTOP",
        ],
        checks=checks.HX_CHECKS,
        form_class=HistoryForm,
        once_per_subject=True,
        order=40,
    )
    registry.register(
        Eligibility,
        code="IE",
        title=_("Eligibility"),
        visit_kinds=screening,
        required=["IEDAT", "IEYN"],
        derived=["IEYN"],
        groups=[
            registry.group("IE", EligibilityAnswer, key="IETESTCD", title=_("Eligibility answers"))
        ],
        checks=checks.IE_CHECKS,
        derive=checks.ie_derive,
        once_per_subject=True,
        order=50,
        page="enrollment:eligibility",
    )
    registry.register(
        Enrolment,
        code="ENR",
        title=_("Enrolment"),
        visit_kinds=screening,
        required=["ENRDAT", "PLDAY1"],
        checks=checks.ENR_CHECKS,
        form_class=EnrolmentForm,
        future_dates=["PLDAY1"],  # crf-spec ENR: PLDAY1 ≤ ENRDAT + 7, a day still ahead
        once_per_subject=True,
        order=60,
        page="enrollment:enrol",
    )
