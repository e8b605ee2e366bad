"""Web forms of the visit CRFs and their registration with the form registry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from crispy_forms.bootstrap import AppendedText
from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crf import registry
from crf.forms import CRFForm, PartialDateInput
from crf.models import VisitKind
from visits import checks, tumour
from visits.models import (
    ConcomitantMedication,
    Exposure,
    LabNormalRange,
    Laboratory,
    LiverScores,
    NewLesion,
    NonTargetLesion,
    TargetLesion,
    TumourAssessment,
    VitalSigns,
)

LB_TESTS = [v for v in Laboratory.VARIABLES if v not in ("LBDAT", "UPROT")]


def lab_flag(value: Decimal | None, normal: LabNormalRange | None) -> str:
    """'H' above, 'L' below the normal range, '' inside or unknown."""
    if value is None or normal is None:
        return ""
    if normal.high is not None and value > normal.high:
        return "H"
    if normal.low is not None and value < normal.low:
        return "L"
    return ""


def _number(value: Decimal | None) -> str:
    """A limit as written on a lab report: 115, 3.5, 0.27 (no trailing zeros)."""
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class LaboratoryForm(CRFForm):
    """LB with each value's unit, its normal range beside it and, outside the range, a
    coloured H or L."""

    SECTIONS: ClassVar[list[tuple[Any, list[str]]]] = [
        (None, ["sampled_on"]),
        (_("Haematology"), ["hgb", "wbc", "anc", "plt"]),
        (_("Liver and kidney"), ["alt", "ast", "tbil", "alb", "creat", "inr"]),
        (_("Other tests"), ["afp", "tsh", "urine_protein", "urine_protein_24h"]),
    ]

    class Meta:
        model = Laboratory
        fields = list(Laboratory.VARIABLES.values())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.normals = {n.test: n for n in LabNormalRange.objects.all()}
        super().__init__(*args, **kwargs)
        for variable in LB_TESTS:
            normal = self.normals.get(variable)
            if normal is not None:
                self.fields[Laboratory.VARIABLES[variable]].help_text = _(
                    "normal %(low)s–%(high)s"
                ) % {"low": _number(normal.low), "high": _number(normal.high)}

    def field_layout(self, name: str) -> Any:
        variable = next((v for v, f in Laboratory.VARIABLES.items() if f == name), "")
        unit = self.units.get(name, "")
        value = getattr(self.instance, name, None) if self.instance.pk else None
        flag = lab_flag(value, self.normals.get(variable)) if variable in LB_TESTS else ""
        if not flag:
            return super().field_layout(name)
        text = format_html(
            '{} <span class="badge text-bg-danger" title="{}">{}</span>',
            unit,
            _("Outside the normal range"),
            flag,
        )
        return AppendedText(name, text)


# ECOG performance status (Oken et al., Am J Clin Oncol 1982;5:649-655), shortened.
ECOG_CHOICES = [
    ("", "---------"),
    (0, _("0 – Fully active")),
    (1, _("1 – Restricted in strenuous activity, ambulatory")),
    # xgettext:no-python-format
    (2, _("2 – Ambulatory, self-care, unable to work; up > 50 % of waking hours")),
    # xgettext:no-python-format
    (3, _("3 – Limited self-care; in bed or chair > 50 % of waking hours")),
    (4, _("4 – Completely disabled; confined to bed or chair")),
]


class VitalSignsForm(CRFForm):
    SECTIONS: ClassVar[list[tuple[Any, list[str]]]] = [
        (None, ["assessed_on"]),
        (_("Blood pressure"), ["systolic_bp", "diastolic_bp"]),
        (_("Pulse, temperature and weight"), ["pulse", "temperature", "weight_kg"]),
        (_("Performance status"), ["ecog"]),
    ]

    ecog = forms.TypedChoiceField(
        label=_("ECOG performance status"),
        choices=ECOG_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )

    class Meta:
        model = VitalSigns
        fields = list(VitalSigns.VARIABLES.values())


class ExposureForm(CRFForm):
    SECTIONS: ClassVar[list[tuple[Any, list[str]]]] = [
        (_("Dosing in this cycle"), ["first_dose_on", "last_dose_on", "dose_mg", "days_dosed"]),
        (_("Interruption"), ["interrupted", "interruption_reason"]),
        (_("Reduction"), ["reduced", "reduction_reason"]),
        (_("Tablets"), ["tablets_dispensed", "tablets_returned"]),
    ]

    class Meta:
        model = Exposure
        fields = list(Exposure.VARIABLES.values())


class ConMedForm(CRFForm):
    class Meta:
        model = ConcomitantMedication
        fields = list(ConcomitantMedication.VARIABLES.values())
        widgets = {
            "started_on": PartialDateInput(),
            "ended_on": PartialDateInput(),
        }


def register_forms() -> None:
    visit_kinds = [
        VisitKind.SCREENING,
        VisitKind.CYCLE,
        VisitKind.END_OF_TREATMENT,
        VisitKind.SAFETY_FOLLOW_UP,
        VisitKind.UNSCHEDULED,
    ]
    registry.register(
        VitalSigns,
        code="VS",
        title=_("Vital signs"),
        visit_kinds=visit_kinds,
        required=["VSDAT", "SYSBP", "DIABP", "WEIGHT", "ECOG"],
        checks=checks.VS_CHECKS,
        form_class=VitalSignsForm,
        order=110,
    )
    registry.register(
        Laboratory,
        code="LB",
        title=_("Laboratory"),
        visit_kinds=visit_kinds,
        required=["LBDAT"],
        checks=checks.LB_CHECKS,
        form_class=LaboratoryForm,
        order=120,
    )
    registry.register(
        LiverScores,
        code="CP",
        title=_("Liver function scores"),
        visit_kinds=[VisitKind.SCREENING, VisitKind.CYCLE, VisitKind.END_OF_TREATMENT],
        required=["ASCITES", "HENC"],
        derived=["CPSCORE", "CPCLASS", "ALBISCORE", "ALBIGRADE"],
        checks=checks.CP_CHECKS,
        derive=checks.cp_derive,
        order=130,
    )
    registry.register(
        Exposure,
        code="EX",
        title=_("Study drug exposure"),
        visit_kinds=[VisitKind.CYCLE],
        required=["EXSTDAT", "EXENDAT", "EXDOSE", "EXDAYS", "EXINT", "EXRED"],
        checks=checks.EX_CHECKS,
        form_class=ExposureForm,
        order=140,
    )
    registry.register(
        ConcomitantMedication,
        code="CM",
        title=_("Concomitant medication"),
        visit_kinds=[],
        required=["CMTRT", "CMINDC", "CMSTDAT", "CMONGO"],
        checks=checks.CM_CHECKS,
        form_class=ConMedForm,
        order=300,
    )
    register_tumour_assessment()


def carry_forward_lesions(subject: Any, visit: Any) -> dict[str, list[dict[str, Any]]]:
    """A new follow-up TA starts with the baseline's lesions by ID (crf-spec TA: the same
    IDs at every follow-up), so the investigator types only today's measurements."""
    if visit is None or visit.kind == VisitKind.SCREENING:
        return {}
    baseline = TumourAssessment.objects.filter(
        subject=subject, is_deleted=False, visit__kind=VisitKind.SCREENING
    ).first()
    if baseline is None:
        return {}
    targets = baseline.targets.filter(is_deleted=False).order_by("id")  # type: ignore[attr-defined]
    non_targets = baseline.non_targets.filter(is_deleted=False).order_by("id")  # type: ignore[attr-defined]
    return {
        "TL": [{"lesion_id": t.lesion_id, "organ": t.organ, "is_node": t.is_node} for t in targets],
        "NTL": [{"lesion_id": n.lesion_id, "organ": n.organ} for n in non_targets],
    }


def register_tumour_assessment() -> None:
    registry.register(
        TumourAssessment,
        code="TA",
        title=_("Tumour assessment (RECIST 1.1)"),
        visit_kinds=[VisitKind.SCREENING, VisitKind.TUMOUR_ASSESSMENT, VisitKind.UNSCHEDULED],
        required=["TADAT", "TAMETH"],
        derived=["TASUM", "TAPCHBL", "TAPCHNAD", "TATRESP", "TANTRESP", "TARESP"],
        groups=[
            registry.group("TL", TargetLesion, key="TLID", title=_("Target lesions")),
            registry.group("NTL", NonTargetLesion, key="NTLID", title=_("Non-target lesions")),
            registry.group("NL", NewLesion, key="NLID", title=_("New lesions")),
        ],
        checks=tumour.TA_CHECKS,
        derive=tumour.ta_derive,
        group_initial=carry_forward_lesions,
        order=150,
    )
