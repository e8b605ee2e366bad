"""Screening and enrolment forms (crf-spec SL, IC, DM, IE, HX, ENR) and their reference data."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from crf.codelists import (
    BCLC,
    YN,
    DiagnosisMethod,
    Ethnic,
    LenvatinibDose,
    LenvatinibStop,
    PortalVeinGrade,
    Response,
    Sex,
)
from crf.models import PARTIAL_DATE_HELP, CaseReportForm, RepeatingRow
from study.models import Site


class CriterionKind(models.TextChoices):
    INCLUSION = "IN", _("Inclusion")
    EXCLUSION = "EX", _("Exclusion")


def criterion_text(text: str, text_zh_hans: str, language: str | None) -> str:
    """The criterion's text in ``language``: the Chinese text for zh-hans when there is one,
    the English text otherwise (the protocol's language, always present)."""
    if (language or "").lower().startswith("zh") and text_zh_hans.strip():
        return text_zh_hans
    return text


class EligibilityCriterion(models.Model):
    """One eligibility criterion of a protocol version (data, edited by a data manager).

    Protocol text is study content, not an interface string: both languages are stored and
    edited by a data manager (audited), not translated by the gettext catalogue. One column
    per language of settings.LANGUAGES (two, fixed by the protocol).
    """

    protocol_version = models.CharField(_("protocol version"), max_length=16)
    code = models.CharField(_("code"), max_length=8)
    kind = models.CharField(_("kind"), max_length=2, choices=CriterionKind.choices)
    text = models.TextField(_("criterion, English"))
    text_zh_hans = models.TextField(
        _("criterion, Simplified Chinese (简体中文)"),
        blank=True,
        help_text=_(
            "Shown to people using the EDC in Chinese; left empty, they see the English text."
        ),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["protocol_version", "order", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["protocol_version", "code"], name="enrollment_criterion_unique_code"
            )
        ]
        verbose_name = _("eligibility criterion")
        verbose_name_plural = _("eligibility criteria")

    def __str__(self) -> str:
        return f"{self.code} {self.display_text}"

    @property
    def display_text(self) -> str:
        """The text in the active language, English where no Chinese text is given."""
        return criterion_text(self.text, self.text_zh_hans, get_language())

    @property
    def shows_english_instead(self) -> bool:
        """True where the active language is Chinese and the English text stands in for it."""
        return (get_language() or "").startswith("zh") and not self.text_zh_hans.strip()

    @property
    def required_answer(self) -> str:
        """Inclusion criteria must be met (Y); exclusion criteria must not (N)."""
        return YN.Y if self.kind == CriterionKind.INCLUSION else YN.N


class ConsentFormVersion(models.Model):
    """An approved version of the consent form, for every site or for some."""

    version = models.CharField(_("version"), max_length=16, unique=True)
    all_sites = models.BooleanField(_("approved for every site"), default=False)
    sites = models.ManyToManyField(Site, blank=True, verbose_name=_("approved for sites"))

    class Meta:
        ordering = ["version"]
        verbose_name = _("consent form version")
        verbose_name_plural = _("consent form versions")

    def __str__(self) -> str:
        return self.version


class ScreeningLog(CaseReportForm):
    """SL: one per screened person."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "SCRDAT": "screening_date",
        "SCRFAIL": "screen_failure",
        "SCRFRS": "failed_criteria",
    }

    screening_date = models.DateField(_("date of screening"), null=True, blank=True)
    screen_failure = models.CharField(
        _("screen failure"), max_length=1, choices=YN.choices, blank=True
    )
    failed_criteria = models.JSONField(_("criteria not met"), default=list, blank=True)

    class Meta:
        verbose_name = _("screening log")


class InformedConsent(CaseReportForm):
    """IC: informed consent."""

    VARIABLES: ClassVar[dict[str, str]] = {"ICDAT": "consent_date", "ICVER": "consent_version"}

    consent_date = models.DateField(_("date consent signed"), null=True, blank=True)
    consent_version = models.CharField(_("consent form version"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("informed consent")


class Demographics(CaseReportForm):
    """DM: demographics."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "BRTHDAT": "birth_date",
        "SEX": "sex",
        "ETHNIC": "ethnic_group",
        "HEIGHT": "height_cm",
    }
    UNITS: ClassVar[dict[str, str]] = {"HEIGHT": "cm"}

    birth_date = models.CharField(
        _("date of birth"), max_length=10, blank=True, help_text=PARTIAL_DATE_HELP
    )
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    ethnic_group = models.CharField(
        _("ethnic group"), max_length=24, choices=Ethnic.choices, blank=True
    )
    height_cm = models.DecimalField(
        _("height"), max_digits=4, decimal_places=1, null=True, blank=True
    )

    class Meta:
        verbose_name = _("demographics")


class Eligibility(CaseReportForm):
    """IE: the eligibility checklist; one answer row per criterion."""

    VARIABLES: ClassVar[dict[str, str]] = {"IEDAT": "confirmed_on", "IEYN": "all_met"}

    confirmed_on = models.DateField(_("date eligibility confirmed"), null=True, blank=True)
    all_met = models.CharField(_("all criteria met"), max_length=1, choices=YN.choices, blank=True)

    class Meta:
        verbose_name = _("eligibility")


class EligibilityAnswer(RepeatingRow):
    VARIABLES: ClassVar[dict[str, str]] = {"IETESTCD": "criterion_code", "IEORRES": "answer"}

    form = models.ForeignKey(Eligibility, on_delete=models.PROTECT, related_name="answers")
    criterion_code = models.CharField(_("criterion code"), max_length=8)
    answer = models.CharField(_("answer"), max_length=1, choices=YN.choices, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("eligibility answer")
        verbose_name_plural = _("eligibility answers")


class History(CaseReportForm):
    """HX: HCC and prior treatment history."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "DIAGDAT": "diagnosis_date",
        "DIAGMTH": "diagnosis_method",
        "ETIOL": "aetiology",
        "BCLC": "bclc_stage",
        "MVI": "macrovascular_invasion",
        "VPGRADE": "portal_vein_grade",
        "EHS": "extrahepatic_spread",
        "PRIORTX": "prior_therapy",
        "LENSTDAT": "lenvatinib_start",
        "LENENDAT": "lenvatinib_last_dose",
        "LENDOSE": "lenvatinib_dose",
        "LENBOR": "lenvatinib_best_response",
        "LENSTOP": "lenvatinib_stop_reason",
    }

    diagnosis_date = models.CharField(
        _("date of HCC diagnosis"), max_length=10, blank=True, help_text=PARTIAL_DATE_HELP
    )
    diagnosis_method = models.CharField(
        _("basis of diagnosis"), max_length=16, choices=DiagnosisMethod.choices, blank=True
    )
    aetiology = models.JSONField(_("aetiology"), default=list, blank=True)
    bclc_stage = models.CharField(
        _("BCLC stage at entry"), max_length=1, choices=BCLC.choices, blank=True
    )
    macrovascular_invasion = models.CharField(
        _("macrovascular invasion"), max_length=1, choices=YN.choices, blank=True
    )
    portal_vein_grade = models.CharField(
        _("portal vein invasion grade"), max_length=3, choices=PortalVeinGrade.choices, blank=True
    )
    extrahepatic_spread = models.CharField(
        _("extrahepatic spread"), max_length=1, choices=YN.choices, blank=True
    )
    prior_therapy = models.JSONField(
        _("prior local/systemic therapy besides lenvatinib"), default=list, blank=True
    )
    lenvatinib_start = models.CharField(
        _("lenvatinib start"), max_length=10, blank=True, help_text=PARTIAL_DATE_HELP
    )
    lenvatinib_last_dose = models.CharField(
        _("last lenvatinib dose"), max_length=10, blank=True, help_text=PARTIAL_DATE_HELP
    )
    lenvatinib_dose = models.CharField(
        _("lenvatinib starting dose"), max_length=2, choices=LenvatinibDose.choices, blank=True
    )
    lenvatinib_best_response = models.CharField(
        _("best response on lenvatinib"), max_length=2, choices=Response.choices, blank=True
    )
    lenvatinib_stop_reason = models.CharField(
        _("reason lenvatinib stopped"), max_length=12, choices=LenvatinibStop.choices, blank=True
    )

    class Meta:
        verbose_name = _("HCC history")


class Enrolment(CaseReportForm):
    """ENR: enrolment; the subject ID is assigned with it."""

    VARIABLES: ClassVar[dict[str, str]] = {"ENRDAT": "enrolled_on", "PLDAY1": "planned_day1"}

    enrolled_on = models.DateField(_("date enrolled"), null=True, blank=True)
    planned_day1 = models.DateField(_("planned Day 1"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrolment")
