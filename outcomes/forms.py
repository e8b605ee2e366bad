"""Registration of the outcomes forms with the CRF registry."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crf import registry
from crf.models import VisitKind
from outcomes import checks
from outcomes.models import Death, EndOfTreatment, SafetyFollowUp, StudyEnd, SurvivalContact


def register_forms() -> None:
    registry.register(
        EndOfTreatment,
        code="EOT",
        title=_("End of treatment"),
        visit_kinds=[VisitKind.END_OF_TREATMENT],
        required=["EOTDAT", "LASTDOSE", "EOTRS"],
        checks=checks.EOT_CHECKS,
        order=400,
    )
    registry.register(
        SafetyFollowUp,
        code="SFU",
        title=_("Safety follow-up"),
        visit_kinds=[VisitKind.SAFETY_FOLLOW_UP],
        required=["SFUDAT", "SFUCONT", "SFUNEWAE"],
        checks=checks.SFU_CHECKS,
        order=410,
    )
    registry.register(
        SurvivalContact,
        code="SV",
        title=_("Survival follow-up contact"),
        visit_kinds=[],
        required=["SVDAT", "SVMETH", "SVSTAT", "NACT"],
        checks=checks.SV_CHECKS,
        order=420,
    )
    registry.register(
        Death,
        code="DD",
        title=_("Death"),
        visit_kinds=[],
        required=["DTHDAT", "DTHCAUS"],
        checks=checks.DD_CHECKS,
        once_per_subject=True,
        order=430,
    )
    registry.register(
        StudyEnd,
        code="DS",
        title=_("End of study"),
        visit_kinds=[],
        required=["DSDAT", "DSDECOD"],
        checks=checks.DS_CHECKS,
        once_per_subject=True,
        order=440,
    )
