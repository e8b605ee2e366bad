"""Visit forms (crf-spec VS, LB, CP, EX, CM, TA) and the lab normal ranges."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from crf.codelists import (
    YN,
    ActionReason,
    Ascites,
    Dose,
    Encephalopathy,
    ImagingMethod,
    NonTargetResponse,
    NonTargetStatus,
    Organ,
    Response,
    Route,
    TargetStatus,
    UrineProtein,
)
from crf.models import PARTIAL_DATE_HELP, CaseReportForm, RepeatingRow


def _dec(label: Any, digits: int = 7, places: int = 2) -> Any:
    return models.DecimalField(
        label, max_digits=digits, decimal_places=places, null=True, blank=True
    )


class LabNormalRange(models.Model):
    """The normal range of one laboratory test (protocol data; flags values in colour)."""

    test = models.CharField(_("test"), max_length=8, unique=True)
    unit = models.CharField(_("unit"), max_length=16)
    low = models.DecimalField(
        _("lower limit"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    high = models.DecimalField(
        _("upper limit"), max_digits=10, decimal_places=2, null=True, blank=True
    )

    class Meta:
        ordering = ["test"]
        verbose_name = _("laboratory normal range")
        verbose_name_plural = _("laboratory normal ranges")

    def __str__(self) -> str:
        return f"{self.test} {self.low}-{self.high} {self.unit}"


class VitalSigns(CaseReportForm):
    """VS: vital signs and performance status."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "VSDAT": "assessed_on",
        "SYSBP": "systolic_bp",
        "DIABP": "diastolic_bp",
        "PULSE": "pulse",
        "TEMP": "temperature",
        "WEIGHT": "weight_kg",
        "ECOG": "ecog",
    }
    UNITS: ClassVar[dict[str, Any]] = {
        "SYSBP": "mmHg",
        "DIABP": "mmHg",
        "PULSE": _("/min"),
        "TEMP": "°C",
        "WEIGHT": "kg",
    }

    assessed_on = models.DateField(_("date"), null=True, blank=True)
    systolic_bp = models.PositiveSmallIntegerField(_("systolic BP"), null=True, blank=True)
    diastolic_bp = models.PositiveSmallIntegerField(_("diastolic BP"), null=True, blank=True)
    pulse = models.PositiveSmallIntegerField(_("pulse"), null=True, blank=True)
    temperature = _dec(_("temperature"), 4, 1)
    weight_kg = _dec(_("weight"), 5, 1)
    ecog = models.PositiveSmallIntegerField(_("ECOG performance status"), null=True, blank=True)

    class Meta:
        verbose_name = _("vital signs")


class Laboratory(CaseReportForm):
    """LB: laboratory values (units of crf-spec)."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "LBDAT": "sampled_on",
        "HGB": "hgb",
        "WBC": "wbc",
        "ANC": "anc",
        "PLT": "plt",
        "ALT": "alt",
        "AST": "ast",
        "TBIL": "tbil",
        "ALB": "alb",
        "CREAT": "creat",
        "INR": "inr",
        "AFP": "afp",
        "TSH": "tsh",
        "UPROT": "urine_protein",
        "UPROT24": "urine_protein_24h",
    }
    # crf-spec LB: the unit of each value.
    UNITS: ClassVar[dict[str, Any]] = {
        "HGB": "g/L",
        "WBC": "10⁹/L",
        "ANC": "10⁹/L",
        "PLT": "10⁹/L",
        "ALT": "U/L",
        "AST": "U/L",
        "TBIL": "µmol/L",
        "ALB": "g/L",
        "CREAT": "µmol/L",
        "AFP": "ng/mL",
        "TSH": "mIU/L",
        "UPROT24": "g/24 h",
    }

    sampled_on = models.DateField(_("sample date"), null=True, blank=True)
    hgb = _dec(_("haemoglobin"), 6, 1)
    wbc = _dec(_("white cells"), 6, 2)
    anc = _dec(_("neutrophils"), 6, 2)
    plt = _dec(_("platelets"), 6, 1)
    alt = _dec(_("ALT"), 7, 1)
    ast = _dec(_("AST"), 7, 1)
    tbil = _dec(_("total bilirubin"), 7, 1)
    alb = _dec(_("albumin"), 5, 1)
    creat = _dec(_("creatinine"), 7, 1)
    inr = _dec(_("INR"), 5, 2)
    afp = _dec(_("alpha-fetoprotein"), 11, 1)
    tsh = _dec(_("TSH"), 6, 2)
    urine_protein = models.CharField(
        _("urine protein (dipstick)"), max_length=5, choices=UrineProtein.choices, blank=True
    )
    urine_protein_24h = _dec(_("24-h urine protein"), 5, 2)

    class Meta:
        verbose_name = _("laboratory")


class LiverScores(CaseReportForm):
    """CP: Child-Pugh and ALBI, derived from the same visit's LB and the two clinical items."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "ASCITES": "ascites",
        "HENC": "encephalopathy",
        "CPSCORE": "child_pugh_score",
        "CPCLASS": "child_pugh_class",
        "ALBISCORE": "albi_score",
        "ALBIGRADE": "albi_grade",
    }

    ascites = models.CharField(_("ascites"), max_length=16, choices=Ascites.choices, blank=True)
    encephalopathy = models.CharField(
        _("hepatic encephalopathy"), max_length=10, choices=Encephalopathy.choices, blank=True
    )
    child_pugh_score = models.PositiveSmallIntegerField(
        _("Child-Pugh score"), null=True, blank=True
    )
    child_pugh_class = models.CharField(_("Child-Pugh class"), max_length=1, blank=True)
    albi_score = models.DecimalField(
        _("ALBI score"), max_digits=8, decimal_places=4, null=True, blank=True
    )
    albi_grade = models.PositiveSmallIntegerField(_("ALBI grade"), null=True, blank=True)

    class Meta:
        verbose_name = _("liver function scores")


class Exposure(CaseReportForm):
    """EX: study drug exposure of one cycle."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "EXSTDAT": "first_dose_on",
        "EXENDAT": "last_dose_on",
        "EXDOSE": "dose_mg",
        "EXDAYS": "days_dosed",
        "EXINT": "interrupted",
        "EXINTRS": "interruption_reason",
        "EXRED": "reduced",
        "EXREDRS": "reduction_reason",
        "EXDISP": "tablets_dispensed",
        "EXRET": "tablets_returned",
    }
    UNITS: ClassVar[dict[str, Any]] = {
        "EXDOSE": "mg",
        "EXDAYS": _("days"),
        "EXDISP": _("tablets"),
        "EXRET": _("tablets"),
    }

    first_dose_on = models.DateField(_("first dosing day of the cycle"), null=True, blank=True)
    last_dose_on = models.DateField(_("last dosing day of the cycle"), null=True, blank=True)
    dose_mg = models.CharField(_("daily dose"), max_length=2, choices=Dose.choices, blank=True)
    days_dosed = models.PositiveSmallIntegerField(_("days dosed"), null=True, blank=True)
    interrupted = models.CharField(
        _("dose interrupted"), max_length=1, choices=YN.choices, blank=True
    )
    interruption_reason = models.CharField(
        _("reason for interruption"), max_length=16, choices=ActionReason.choices, blank=True
    )
    reduced = models.CharField(
        _("dose reduced this cycle"), max_length=1, choices=YN.choices, blank=True
    )
    reduction_reason = models.CharField(
        _("reason for reduction"), max_length=16, choices=ActionReason.choices, blank=True
    )
    tablets_dispensed = models.PositiveSmallIntegerField(
        _("tablets dispensed"), null=True, blank=True
    )
    tablets_returned = models.PositiveSmallIntegerField(
        _("tablets returned"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("study drug exposure")


class ConcomitantMedication(CaseReportForm):
    """CM: concomitant medication (a subject log)."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "CMTRT": "medication",
        "CMINDC": "indication",
        "CMDOSE": "dose",
        "CMROUTE": "route",
        "CMSTDAT": "started_on",
        "CMENDAT": "ended_on",
        "CMONGO": "ongoing",
    }

    medication = models.CharField(_("medication"), max_length=200, blank=True)
    indication = models.CharField(_("indication"), max_length=200, blank=True)
    dose = models.CharField(_("dose"), max_length=100, blank=True)
    route = models.CharField(_("route"), max_length=8, choices=Route.choices, blank=True)
    started_on = models.CharField(
        _("start date"), max_length=10, blank=True, help_text=PARTIAL_DATE_HELP
    )
    ended_on = models.CharField(
        _("end date"), max_length=10, blank=True, help_text=PARTIAL_DATE_HELP
    )
    ongoing = models.CharField(_("ongoing"), max_length=1, choices=YN.choices, blank=True)

    class Meta:
        verbose_name = _("concomitant medication")


class TumourAssessment(CaseReportForm):
    """TA: a tumour assessment by RECIST 1.1; responses derived by visits.recist."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "TADAT": "scanned_on",
        "TAMETH": "method",
        "TAINVRS": "investigator_response",
        "TASUM": "sum_mm",
        "TAPCHBL": "change_from_baseline_pct",
        "TAPCHNAD": "change_from_nadir_pct",
        "TATRESP": "target_response",
        "TANTRESP": "non_target_response",
        "TARESP": "overall_response",
    }
    UNITS: ClassVar[dict[str, Any]] = {"TASUM": "mm", "TAPCHBL": "%", "TAPCHNAD": "%"}

    scanned_on = models.DateField(_("date of scan"), null=True, blank=True)
    method = models.CharField(
        _("imaging method"), max_length=3, choices=ImagingMethod.choices, blank=True
    )
    investigator_response = models.CharField(
        _("investigator's overall response"), max_length=2, choices=Response.choices, blank=True
    )
    sum_mm = _dec(_("sum of diameters"), 7, 1)
    # xgettext:no-python-format
    change_from_baseline_pct = _dec(_("% change from baseline"), 8, 2)
    # xgettext:no-python-format
    change_from_nadir_pct = _dec(_("% change from nadir"), 8, 2)
    target_response = models.CharField(
        _("target response"), max_length=16, choices=Response.choices, blank=True
    )
    non_target_response = models.CharField(
        _("non-target response"), max_length=16, choices=NonTargetResponse.choices, blank=True
    )
    overall_response = models.CharField(
        _("computed overall response"), max_length=2, choices=Response.choices, blank=True
    )

    class Meta:
        verbose_name = _("tumour assessment")


class TargetLesion(RepeatingRow):
    VARIABLES: ClassVar[dict[str, str]] = {
        "TLID": "lesion_id",
        "TLLOC": "organ",
        "TLNODE": "is_node",
        "TLSTAT": "status",
        "TLDIAM": "diameter_mm",
    }
    UNITS: ClassVar[dict[str, Any]] = {"TLDIAM": "mm"}

    form = models.ForeignKey(TumourAssessment, on_delete=models.PROTECT, related_name="targets")
    lesion_id = models.CharField(_("lesion ID"), max_length=4)
    organ = models.CharField(_("organ"), max_length=12, choices=Organ.choices, blank=True)
    is_node = models.CharField(_("lymph node"), max_length=1, choices=YN.choices, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=TargetStatus.choices, blank=True)
    diameter_mm = _dec(_("diameter"), 5, 1)

    class Meta:
        ordering = ["id"]


class NonTargetLesion(RepeatingRow):
    VARIABLES: ClassVar[dict[str, str]] = {
        "NTLID": "lesion_id",
        "NTLLOC": "organ",
        "NTLSTAT": "status",
    }

    form = models.ForeignKey(TumourAssessment, on_delete=models.PROTECT, related_name="non_targets")
    lesion_id = models.CharField(_("lesion ID"), max_length=5)
    organ = models.CharField(_("organ"), max_length=12, choices=Organ.choices, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=NonTargetStatus.choices, blank=True
    )

    class Meta:
        ordering = ["id"]


class NewLesion(RepeatingRow):
    VARIABLES: ClassVar[dict[str, str]] = {
        "NLID": "lesion_id",
        "NLLOC": "organ",
        "NLEQUIV": "unequivocal",
        "NLDAT": "first_seen_on",
    }

    form = models.ForeignKey(TumourAssessment, on_delete=models.PROTECT, related_name="new_lesions")
    lesion_id = models.CharField(_("lesion ID"), max_length=4)
    organ = models.CharField(_("organ"), max_length=12, choices=Organ.choices, blank=True)
    unequivocal = models.CharField(_("unequivocal"), max_length=1, choices=YN.choices, blank=True)
    first_seen_on = models.DateField(_("date first seen"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
