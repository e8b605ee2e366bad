from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _seed(sender: Any, apps: Any = None, **kwargs: Any) -> None:
    from django.apps import apps as global_apps

    from visits.reference_data import seed_normal_ranges

    seed_normal_ranges(apps if apps is not None else global_apps)


class VisitsConfig(AppConfig):
    name = "visits"
    verbose_name = _("Visits")

    def ready(self) -> None:
        from crf import registry
        from study import navigation
        from study.roles import VIEW
        from visits import selectors, services
        from visits.forms import register_forms

        navigation.register(navigation.NavItem(_("Worklist"), "visits:worklist", VIEW, order=15))
        registry.register_visit_status(selectors.tell_visit_status)
        from visits.views import subject_actions

        registry.register_subject_actions(subject_actions)
        register_forms()
        for provider, names in selectors.FACT_PROVIDERS:
            registry.register_facts(provider, names=names)
        registry.register_after_save(["ENR", "EX", "TA"], services.after_enrolment_or_exposure)
        registry.register_after_save(list(services.HELD_ON_FIELDS), services.record_held_on)
        registry.register_after_save(
            [services.SURVIVAL_CONTACT_FORM], services.after_survival_contact
        )
        post_migrate.connect(_seed, sender=self, dispatch_uid="edc_lab_normal_ranges")
