from typing import ClassVar

from django.db import models

from crf.models import CaseReportForm, RepeatingRow


class YN(models.TextChoices):
    Y = "Y", "Yes"
    N = "N", "No"


class DemoVitals(CaseReportForm):
    """Form XX: a visit form with a repeating group (lesions)."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "XXDAT": "assessed_on",
        "SYSBP": "systolic",
        "DIABP": "diastolic",
        "XXYN": "smoker",
        "XXTEXT": "comment",
        "XXPP": "pulse_pressure",
    }
    UNITS: ClassVar[dict[str, str]] = {"SYSBP": "mmHg", "DIABP": "mmHg", "XXPP": "mmHg"}

    assessed_on = models.DateField("date", null=True, blank=True)
    systolic = models.IntegerField("systolic BP", null=True, blank=True)
    diastolic = models.IntegerField("diastolic BP", null=True, blank=True)
    smoker = models.CharField("smoker", max_length=1, choices=YN.choices, blank=True)
    comment = models.TextField("comment", blank=True)
    pulse_pressure = models.IntegerField("pulse pressure", null=True, blank=True)


class DemoLesion(RepeatingRow):
    VARIABLES: ClassVar[dict[str, str]] = {"LID": "lesion_id", "LDIAM": "diameter"}
    UNITS: ClassVar[dict[str, str]] = {"LDIAM": "mm"}

    form = models.ForeignKey(DemoVitals, on_delete=models.PROTECT, related_name="lesions")
    lesion_id = models.CharField("lesion ID", max_length=8)
    diameter = models.DecimalField(
        "diameter", max_digits=6, decimal_places=1, null=True, blank=True
    )


class DemoLog(CaseReportForm):
    """Form XL: a log form (no visit)."""

    VARIABLES: ClassVar[dict[str, str]] = {"XLDAT": "logged_on", "XLTERM": "term"}

    logged_on = models.DateField("date", null=True, blank=True)
    term = models.CharField("term", max_length=100, blank=True)
