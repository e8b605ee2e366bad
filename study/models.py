"""Sites, people and their roles, subjects, and the record of sign-ins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from study import protocol

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Role(models.TextChoices):
    """The roles of protocol.md ("Users and what they do"); each is a Django group."""

    INVESTIGATOR = "investigator", _("Investigator")
    SITE_COORDINATOR = "site_coordinator", _("Site coordinator")
    STUDY_COORDINATOR = "study_coordinator", _("Study coordinator")
    MONITOR = "monitor", _("Monitor (CRA)")
    DATA_MANAGER = "data_manager", _("Data manager")
    MEDICAL_MONITOR = "medical_monitor", _("Medical monitor")
    ADMINISTRATOR = "administrator", _("Administrator")


# Roles whose scope is every site (protocol.md); the others see their own sites only.
STUDY_WIDE_ROLES = frozenset({Role.STUDY_COORDINATOR, Role.DATA_MANAGER, Role.MEDICAL_MONITOR})
# Roles that never see clinical data (the administrator manages people and sites).
NO_CLINICAL_ACCESS_ROLES = frozenset({Role.ADMINISTRATOR})


class Site(models.Model):
    number = models.CharField(
        _("site number"),
        max_length=2,
        unique=True,
        help_text=_("Two digits, e.g. 01; it starts every subject ID of the site."),
    )
    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=protocol.DEFAULT_SITE_TIME_ZONE
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class Membership(models.Model):
    """A person's role in the study and the sites it covers."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="membership"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    sites = models.ManyToManyField(
        Site,
        blank=True,
        related_name="memberships",
        verbose_name=_("sites"),
        help_text=_("Ignored for study-wide roles, which cover every site."),
    )
    is_principal_investigator = models.BooleanField(_("principal investigator"), default=False)

    class Meta:
        verbose_name = _("study membership")
        verbose_name_plural = _("study memberships")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    @property
    def is_study_wide(self) -> bool:
        return self.role in STUDY_WIDE_ROLES


class StudyParametersQuerySet(models.QuerySet["StudyParameters"]):
    def current(self) -> StudyParameters:
        return self.get_or_create(pk=1, defaults=StudyParameters.defaults())[0]


class StudyParameters(models.Model):
    """The protocol parameters a data manager may change (audited); one row.

    Defaults come from study/protocol.py; a migration writes the row.
    """

    target_enrolment = models.PositiveSmallIntegerField(
        _("target enrolment"), default=protocol.TARGET_ENROLMENT
    )
    accrual_start = models.DateField(
        _("planned accrual start"), default=protocol.PLANNED_ACCRUAL_START
    )
    accrual_months = models.PositiveSmallIntegerField(
        _("planned months to full enrolment"), default=protocol.PLANNED_ACCRUAL_MONTHS
    )

    objects = StudyParametersQuerySet.as_manager()

    class Meta:
        verbose_name = _("study parameters")
        verbose_name_plural = _("study parameters")

    def __str__(self) -> str:
        return str(_("Study parameters"))

    @staticmethod
    def defaults() -> dict[str, Any]:
        return {
            "target_enrolment": protocol.TARGET_ENROLMENT,
            "accrual_start": protocol.PLANNED_ACCRUAL_START,
            "accrual_months": protocol.PLANNED_ACCRUAL_MONTHS,
        }


class SubjectStatus(models.TextChoices):
    SCREENING = "screening", _("Screening")
    SCREEN_FAILED = "screen_failed", _("Screen failed")
    ON_TREATMENT = "on_treatment", _("Enrolled / on treatment")
    FOLLOW_UP = "follow_up", _("In follow-up")
    OFF_STUDY = "off_study", _("Off study")
    DIED = "died", _("Died")


class SubjectQuerySet(models.QuerySet["Subject"]):
    def for_user(self, user: AbstractBaseUser | AnonymousUser) -> SubjectQuerySet:
        """Subjects of the sites the user belongs to; nothing for anyone else.

        The one place site scoping is decided (protocol.md: a subject of another
        site does not exist for them).
        """
        from study.scoping import site_ids_for_user

        site_ids = site_ids_for_user(user)
        if site_ids is None:
            return self.all()
        return self.filter(site_id__in=site_ids)


class Subject(models.Model):
    """A person in the study, from screening on; the subject ID comes at enrolment."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="subjects")
    screening_id = models.CharField(_("screening number"), max_length=16, unique=True)
    subject_id = models.CharField(
        _("subject ID"), max_length=16, unique=True, null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=20, choices=SubjectStatus.choices, default=SubjectStatus.SCREENING
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    enrolled_at = models.DateField(_("date enrolled"), null=True, blank=True)

    objects = SubjectQuerySet.as_manager()

    class Meta:
        ordering = ["site__number", "screening_id"]
        verbose_name = _("subject")
        verbose_name_plural = _("subjects")
        permissions = [
            ("view_clinical_data", "Can read clinical data of own sites"),
            ("enter_clinical_data", "Can enter and correct clinical data"),
            ("sign_casebook", "Can sign casebooks (principal investigator)"),
            ("manage_queries", "Can raise and close queries"),
            ("verify_source_data", "Can mark source data verification"),
            ("export_data", "Can export CRF PDFs, casebooks and data files"),
            ("import_data", "Can import a study data file"),
            ("lock_data", "Can lock and unlock forms, subjects and the database"),
            ("manage_protocol", "Can edit protocol parameters and eligibility criteria"),
            ("review_safety", "Can review adverse events and receive SAE alerts"),
            ("view_dashboards", "Can view enrolment and visit dashboards"),
            ("view_audit_trail", "Can read the audit trail"),
            ("review_deviations", "Can confirm or dismiss suggested protocol deviations"),
            ("view_outcomes", "Can view the study outcomes (PFS, OS, ORR, DCR and figures)"),
            ("view_access_changes", "Can read the changes of people's roles, sites and access"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return self.subject_id or self.screening_id


class AuthEventKind(models.TextChoices):
    LOGIN = "login", _("Signed in")
    LOGOUT = "logout", _("Signed out")
    LOGIN_FAILED = "login_failed", _("Failed sign-in")
    LOCKED_OUT = "locked_out", _("Account locked")
    SESSION_EXPIRED = "session_expired", _("Session ended after inactivity")


class AuthEvent(models.Model):
    """Every sign-in, sign-out and failed sign-in (append-only)."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("event"), max_length=20, choices=AuthEventKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="auth_events",
    )
    username = models.CharField(_("user name"), max_length=150)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("sign-in event")
        verbose_name_plural = _("sign-in events")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("Sign-in events are append-only.")
        super().save(*args, **kwargs)


class AccessChangeKind(models.TextChoices):
    """What changed in a person's access to the study (study.services.set_membership)."""

    ROLE = "role", _("Role")
    SITES = "sites", _("Sites")
    PRINCIPAL_INVESTIGATOR = "pi", _("Principal investigator")
    PASSWORD = "password", _("Password set by an administrator")


class AccessChange(models.Model):
    """One change of a person's access: who changed what of whom, when, old, new and why.

    Append-only, like AuthEvent: the model refuses updates and deletes, and on PostgreSQL
    a trigger refuses them too (migration 0006). Values are kept as codes (role code, site
    numbers "01, 02", Y/N); the page shows their labels. Written by study.services only.
    """

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_username = models.CharField(_("changed by"), max_length=150)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_changes"
    )
    person_username = models.CharField(_("person"), max_length=150)
    kind = models.CharField(_("what changed"), max_length=10, choices=AccessChangeKind.choices)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("access change")
        verbose_name_plural = _("access changes")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username}: {self.person_username} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("Access changes are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("Access changes are append-only.")
