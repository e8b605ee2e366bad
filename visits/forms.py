"""Web forms of the visit CRFs and their registration with the form registry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crispy_forms.bootstrap import AppendedText
from crispy_forms.layout import Layout
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


class LaboratoryForm(CRFForm):
    """LB with each value's unit and, outside the normal range, a coloured H or L beside it."""

    class Meta:
        model = Laboratory
        fields = list(Laboratory.VARIABLES.values())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        normals = {n.test: n for n in LabNormalRange.objects.all()}
        parts: list[Any] = ["sampled_on"]
        for variable in LB_TESTS:
            field = Laboratory.VARIABLES[variable]
            normal = normals.get(variable)
            value = getattr(self.instance, field, None) if self.instance.pk else None
            flag = lab_flag(value, normal)
            unit = normal.unit if normal else ""
            text = (
                format_html(
                    '{} <span class="badge text-bg-danger" title="{}">{}</span>',
                    unit,
                    _("Outside the normal range"),
                    flag,
                )
                if flag
                else (unit or "—")
            )
            if normal is not None:
                self.fields[field].help_text = _("Normal %(low)s-%(high)s %(unit)s") % {
                    "low": normal.low if normal.low is not None else "",
                    "high": normal.high if normal.high is not None else "",
                    "unit": normal.unit,
                }
            parts.append(AppendedText(field, text))
        parts += ["urine_protein", "mark_complete"]
        parts += [f for f in ("reason_code", "reason_text") if f in self.fields]
        parts.append("version")
        self.helper.layout = Layout(*parts)


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
            registry.group("TL", TargetLesion, key="TLID"),
            registry.group("NTL", NonTargetLesion, key="NTLID"),
            registry.group("NL", NewLesion, key="NLID"),
        ],
        checks=tumour.TA_CHECKS,
        derive=tumour.ta_derive,
        group_initial=carry_forward_lesions,
        order=150,
    )
