"""Adverse events: the CTCAE v5.0 term list, the AE and DV logs, SAE reports and their mail."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from adverse_events import sae_clock
from crf.codelists import (
    YN,
    AEAction,
    AEOutcome,
    AERelation,
    DeviationCategory,
    DeviationSeverity,
)
from crf.models import CaseReportForm, CheckFinding
from notifications.models import OutgoingMail
from study.models import Subject


class CtcaeTerm(models.Model):
    """One CTCAE v5.0 term with its MedDRA code, system organ class and grade texts.

    Reference data loaded by a migration from adverse_events/data/ctcae_v5.0.csv (NCI,
    public domain); an empty grade text means the term has no such grade.
    """

    meddra_code = models.CharField(_("MedDRA code"), max_length=10, unique=True)
    soc = models.CharField(_("system organ class"), max_length=120, db_index=True)
    term = models.CharField(_("CTCAE term"), max_length=200, db_index=True)
    term_zh = models.CharField(_("CTCAE term (Chinese)"), max_length=200, blank=True)
    grade1 = models.TextField(_("grade 1"), blank=True)
    grade2 = models.TextField(_("grade 2"), blank=True)
    grade3 = models.TextField(_("grade 3"), blank=True)
    grade4 = models.TextField(_("grade 4"), blank=True)
    grade5 = models.TextField(_("grade 5"), blank=True)
    definition = models.TextField(_("definition"), blank=True)

    class Meta:
        ordering = ["soc", "term"]
        verbose_name = _("CTCAE term")
        verbose_name_plural = _("CTCAE terms")

    def __str__(self) -> str:
        return self.term

    @property
    def is_other_specify(self) -> bool:
        """'… - Other, specify' terms need the verbatim term (crf-spec AE AETERMSP)."""
        return self.term.endswith("Other, specify")

    def grades(self) -> list[tuple[int, str]]:
        """The grades this term defines, with their texts (crf-spec AE: only those)."""
        texts = [self.grade1, self.grade2, self.grade3, self.grade4, self.grade5]
        return [(n, text) for n, text in enumerate(texts, start=1) if text and text.strip() != "-"]


class AdverseEvent(CaseReportForm):
    """AE: one adverse event of a subject's log (crf-spec AE).

    An AE that began before Day 1 and worsened after it is a new row with the new
    grade, its onset the date it worsened (protocol.md TEAE incidence).
    """

    VARIABLES: ClassVar[dict[str, str]] = {
        "AETERM": "term",
        "AETERMSP": "term_other",
        "AESOC": "soc",
        "AESTDAT": "onset_on",
        "AEENDAT": "resolved_on",
        "AEONGO": "ongoing",
        "AETOXGR": "grade",
        "AESER": "serious",
        "AESDTH": "results_in_death",
        "AESLIFE": "life_threatening",
        "AESHOSP": "hospitalisation",
        "AESDISAB": "disability",
        "AESCONG": "congenital_anomaly",
        "AESMIE": "important_medical_event",
        "AEREL": "relationship",
        "AEACN": "action",
        "AEOUT": "outcome",
        "SAEAWDAT": "aware_on",
        "SAENARR": "narrative",
        "TEAE": "treatment_emergent",
    }
    SERIOUSNESS_CRITERIA: ClassVar[tuple[str, ...]] = (
        "AESDTH",
        "AESLIFE",
        "AESHOSP",
        "AESDISAB",
        "AESCONG",
        "AESMIE",
    )

    term = models.CharField(_("CTCAE v5.0 term"), max_length=200, blank=True, db_index=True)
    term_other = models.CharField(_("term, if other"), max_length=200, blank=True)
    soc = models.CharField(_("system organ class"), max_length=120, blank=True)
    onset_on = models.DateField(_("onset date"), null=True, blank=True)
    resolved_on = models.DateField(_("resolution date"), null=True, blank=True)
    ongoing = models.CharField(_("ongoing"), max_length=1, choices=YN.choices, blank=True)
    grade = models.PositiveSmallIntegerField(_("worst CTCAE grade"), null=True, blank=True)
    serious = models.CharField(_("serious"), max_length=1, choices=YN.choices, blank=True)
    results_in_death = models.CharField(
        _("results in death"), max_length=1, choices=YN.choices, blank=True
    )
    life_threatening = models.CharField(
        _("life-threatening"), max_length=1, choices=YN.choices, blank=True
    )
    hospitalisation = models.CharField(
        _("requires or prolongs hospitalisation"), max_length=1, choices=YN.choices, blank=True
    )
    disability = models.CharField(
        _("persistent or significant disability"), max_length=1, choices=YN.choices, blank=True
    )
    congenital_anomaly = models.CharField(
        _("congenital anomaly / birth defect"), max_length=1, choices=YN.choices, blank=True
    )
    important_medical_event = models.CharField(
        _("important medical event"), max_length=1, choices=YN.choices, blank=True
    )
    relationship = models.CharField(
        _("relationship to anlotinib"), max_length=20, choices=AERelation.choices, blank=True
    )
    action = models.CharField(
        _("action taken with anlotinib"), max_length=20, choices=AEAction.choices, blank=True
    )
    outcome = models.CharField(_("outcome"), max_length=24, choices=AEOutcome.choices, blank=True)
    aware_on = models.DateField(_("date the site became aware"), null=True, blank=True)
    narrative = models.TextField(_("SAE narrative"), blank=True)
    treatment_emergent = models.CharField(
        _("treatment-emergent"), max_length=1, choices=YN.choices, blank=True
    )

    class Meta:
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")

    @property
    def display_term(self) -> str:
        return f"{self.term}: {self.term_other}" if self.term_other else self.term

    @property
    def is_serious(self) -> bool:
        return self.serious == YN.Y and not self.is_deleted


class ProtocolDeviation(CaseReportForm):
    """DV: one protocol deviation of a subject's log (crf-spec DV)."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "DVDAT": "occurred_on",
        "DVCAT": "category",
        "DVSEV": "severity",
        "DVTERM": "description",
        "DVACT": "action",
    }

    occurred_on = models.DateField(_("date of deviation"), null=True, blank=True)
    category = models.CharField(
        _("category"), max_length=20, choices=DeviationCategory.choices, blank=True
    )
    severity = models.CharField(
        _("severity"), max_length=5, choices=DeviationSeverity.choices, blank=True
    )
    description = models.TextField(_("description"), blank=True)
    action = models.TextField(_("action taken"), blank=True)

    class Meta:
        verbose_name = _("protocol deviation")
        verbose_name_plural = _("protocol deviations")


def lateness_text(late: sae_clock.Lateness) -> str:
    """The two largest units: "249 days 3 hours", "5 hours 30 minutes", "1 minute"."""
    days = ngettext("%(n)d day", "%(n)d days", late.days) % {"n": late.days}
    hours = ngettext("%(n)d hour", "%(n)d hours", late.hours) % {"n": late.hours}
    minutes = ngettext("%(n)d minute", "%(n)d minutes", late.minutes) % {"n": late.minutes}
    if late.days:
        parts = [days, hours] if late.hours else [days]
    elif late.hours:
        parts = [hours, minutes] if late.minutes else [hours]
    else:
        parts = [minutes]
    return " ".join(parts)


class SaeReportQuerySet(models.QuerySet["SaeReport"]):
    def overdue(self, now: dt.datetime) -> SaeReportQuerySet:
        """Past due, not complete, not closed (adverse_events.sae_clock.is_overdue)."""
        return self.filter(due_at__lt=now, completed_at__isnull=True, closed_at__isnull=True)


class SaeReport(models.Model):
    """The 24-hour clock of one serious AE (bookkeeping derived from the AE, not entered).

    The clock starts when the AE is first saved as serious, or at the end of the
    awareness date (site time) when it was recorded later; the report is due
    SAE_REPORT_HOURS after that and is complete when the AE form is complete
    with its narrative. The rule is adverse_events.sae_clock; adverse_events.sae
    keeps these rows in step with the AE.
    """

    adverse_event = models.OneToOneField(
        AdverseEvent, on_delete=models.PROTECT, related_name="sae_report"
    )
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="sae_reports")
    serious_since = models.DateTimeField(
        _("saved as serious"),
        help_text=_("When the AE was first saved as serious (again, after a closed report)."),
    )
    clock_started_at = models.DateTimeField(_("clock started"))
    due_at = models.DateTimeField(_("report due"), db_index=True)
    completed_at = models.DateTimeField(_("report complete"), null=True, blank=True)
    closed_at = models.DateTimeField(
        _("closed"), null=True, blank=True, help_text=_("No longer serious, or deleted.")
    )

    objects = SaeReportQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("SAE report")
        verbose_name_plural = _("SAE reports")

    def __str__(self) -> str:
        return f"SAE {self.adverse_event_id} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def lateness(self) -> sae_clock.Lateness | None:
        """How long after its deadline the report was completed (adverse_events.sae_clock)."""
        return sae_clock.completed_late(due_at=self.due_at, completed_at=self.completed_at)

    @property
    def late_by(self) -> str:
        """``lateness`` as people read it ("249 days 3 hours"); "" when not late."""
        late = self.lateness
        return lateness_text(late) if late is not None else ""

    @property
    def is_overdue(self) -> bool:
        """Past due now, neither complete nor closed (adverse_events.sae_clock)."""
        return sae_clock.is_overdue(
            due_at=self.due_at,
            now=timezone.now(),
            completed_at=self.completed_at,
            closed_at=self.closed_at,
        )


class SafetyMailKind(models.TextChoices):
    INITIAL = "initial", _("Initial SAE report")
    FOLLOW_UP = "follow_up", _("SAE follow-up")
    ESCALATION = "escalation", _("SAE report overdue")


class SafetyMail(OutgoingMail):
    """One safety mail: what, to whom, when, for which event. ``key`` makes sending idempotent;
    notifications.outbox sends it (the one sending path of every mail)."""

    key = models.CharField(_("key"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=SafetyMailKind.choices)
    adverse_event = models.ForeignKey(
        AdverseEvent, on_delete=models.PROTECT, related_name="safety_mails"
    )
    ae_version = models.PositiveIntegerField(_("AE version"))
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    queued_at = models.DateTimeField(_("queued"))

    class Meta:
        ordering = ["-queued_at", "-id"]
        verbose_name = _("safety mail")
        verbose_name_plural = _("safety mails")

    def __str__(self) -> str:
        return self.key


class DeviationDecision(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed as a deviation")
    DISMISSED = "dismissed", _("Dismissed")


class SuggestedDeviation(models.Model):
    """A data manager's decision on a deviation the schedule suggested (an edit-check finding)."""

    finding = models.OneToOneField(
        CheckFinding, on_delete=models.PROTECT, related_name="deviation_decision"
    )
    decision = models.CharField(_("decision"), max_length=10, choices=DeviationDecision.choices)
    note = models.TextField(_("note"), blank=True)
    deviation = models.ForeignKey(
        ProtocolDeviation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"))

    class Meta:
        verbose_name = _("suggested deviation decision")
        verbose_name_plural = _("suggested deviation decisions")

    def __str__(self) -> str:
        return f"{self.finding_id}: {self.decision}"
