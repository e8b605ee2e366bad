"""Outcomes forms: end of treatment, safety follow-up, survival contacts, death, end of study."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from crf.codelists import (
    YN,
    YNU,
    Contact,
    DeathCause,
    EndOfTreatmentReason,
    NewTherapyType,
    StudyEndReason,
    SurvivalStatus,
)
from crf.models import CaseReportForm


class EndOfTreatment(CaseReportForm):
    """EOT: the decision to stop anlotinib (crf-spec EOT, at the EOT visit)."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "EOTDAT": "decided_on",
        "LASTDOSE": "last_dose_on",
        "EOTRS": "reason",
        "EOTRSSP": "reason_other",
    }

    decided_on = models.DateField(_("date of end of treatment"), null=True, blank=True)
    last_dose_on = models.DateField(_("date of last dose"), null=True, blank=True)
    reason = models.CharField(
        _("reason"), max_length=24, choices=EndOfTreatmentReason.choices, blank=True
    )
    reason_other = models.CharField(_("reason, if other"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("end of treatment")
        verbose_name_plural = _("end of treatment")


class SafetyFollowUp(CaseReportForm):
    """SFU: the 30-day safety follow-up (crf-spec SFU, at the SFU visit)."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "SFUDAT": "contacted_on",
        "SFUCONT": "contact",
        "SFUNEWAE": "new_adverse_events",
    }

    contacted_on = models.DateField(_("date of safety follow-up"), null=True, blank=True)
    contact = models.CharField(_("contact"), max_length=8, choices=Contact.choices, blank=True)
    new_adverse_events = models.CharField(
        _("new adverse events since the last visit"), max_length=1, choices=YN.choices, blank=True
    )

    class Meta:
        verbose_name = _("safety follow-up")
        verbose_name_plural = _("safety follow-ups")


class SurvivalContact(CaseReportForm):
    """SV: one survival follow-up contact (a subject log)."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "SVDAT": "contacted_on",
        "SVMETH": "method",
        "SVSTAT": "status_found",
        "NACT": "new_therapy",
        "NACTSTDAT": "new_therapy_started_on",
        "NACTTYPE": "new_therapy_type",
        "NACTNAME": "new_therapy_name",
    }

    contacted_on = models.DateField(_("date of contact"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=8, choices=Contact.choices, blank=True)
    status_found = models.CharField(
        _("survival status"), max_length=20, choices=SurvivalStatus.choices, blank=True
    )
    new_therapy = models.CharField(
        _("new anticancer therapy since the last contact"),
        max_length=1,
        choices=YN.choices,
        blank=True,
    )
    new_therapy_started_on = models.DateField(
        _("start of new anticancer therapy"), null=True, blank=True
    )
    new_therapy_type = models.CharField(
        _("type of new anticancer therapy"),
        max_length=14,
        choices=NewTherapyType.choices,
        blank=True,
    )
    new_therapy_name = models.CharField(_("name of new therapy"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("survival follow-up contact")
        verbose_name_plural = _("survival follow-up contacts")


class Death(CaseReportForm):
    """DD: death (once per subject)."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "DTHDAT": "died_on",
        "DTHCAUS": "cause",
        "DTHCAUSP": "cause_detail",
        "AUTOPSY": "autopsy",
    }

    died_on = models.DateField(_("date of death"), null=True, blank=True)
    cause = models.CharField(
        _("cause of death"), max_length=20, choices=DeathCause.choices, blank=True
    )
    cause_detail = models.CharField(_("cause of death, details"), max_length=200, blank=True)
    autopsy = models.CharField(_("autopsy"), max_length=1, choices=YNU.choices, blank=True)

    class Meta:
        verbose_name = _("death")
        verbose_name_plural = _("deaths")


class StudyEnd(CaseReportForm):
    """DS: end of study (once per subject)."""

    VARIABLES: ClassVar[dict[str, str]] = {"DSDAT": "ended_on", "DSDECOD": "reason"}

    ended_on = models.DateField(_("date of end of study"), null=True, blank=True)
    reason = models.CharField(
        _("reason"), max_length=20, choices=StudyEndReason.choices, blank=True
    )

    class Meta:
        verbose_name = _("end of study")
        verbose_name_plural = _("end of study")
