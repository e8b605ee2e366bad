from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = _("Screening and enrolment")

    def ready(self) -> None:
        from crf import registry
        from enrollment.forms import register_forms
        from enrollment.selectors import screening_facts
        from enrollment.services import refresh_subject_status

        register_forms()
        registry.register_facts(screening_facts)
        registry.register_after_import(refresh_subject_status)
