from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = _("Outcomes")

    def ready(self) -> None:
        from crf import registry
        from outcomes import selectors, services, views
        from outcomes.forms import register_forms
        from visits.services import register_course_provider

        register_forms()
        for provider, names in selectors.FACT_PROVIDERS:
            registry.register_facts(provider, names=names)
        register_course_provider(selectors.course_dates)
        registry.register_after_save(["EOT", "DD", "DS"], services.after_outcome_saved)
        registry.register_after_save(["DD"], services.recheck_after_death)
        registry.register_after_save(["AE"], services.recheck_death_after_ae)
        # The subject's status follows SL, ENR, EOT, DS and DD on every path (issue 10).
        registry.register_after_save(services.STATUS_FORMS, services.status_after_form_saved)
        registry.register_after_import(services.status_after_import)
        registry.register_subject_actions(views.subject_actions)
        registry.register_subject_panel(views.end_treatment_panel, order=20, live=True)
        registry.register_subject_panel(views.endpoint_panel, order=40)
        from django.utils.translation import gettext_lazy as _

        from study import navigation
        from study.roles import OUTCOMES

        navigation.register(navigation.NavItem(_("Outcomes"), "outcomes:study", OUTCOMES, order=42))
