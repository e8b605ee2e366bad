from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _seed_reference_data(sender: Any, apps: Any = None, **kwargs: Any) -> None:
    from django.apps import apps as global_apps

    from enrollment.reference_data import seed_reference_data

    # migrate passes its state's registry; flush (tests) passes none.
    seed_reference_data(apps if apps is not None else global_apps)


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = _("Screening and enrolment")

    def ready(self) -> None:
        from crf import registry
        from enrollment import selectors
        from enrollment.forms import register_forms
        from enrollment.services import complete_imported_enrolment, enforce_enrolment_cap
        from enrollment.views import subject_actions
        from study import navigation
        from study.roles import DASHBOARDS, ENTER, PROTOCOL

        navigation.register(
            navigation.NavItem(_("Register screening"), "enrollment:register", ENTER, order=20)
        )
        navigation.register(
            navigation.NavItem(
                _("Enrolment dashboard"), "enrollment:dashboard", DASHBOARDS, order=30
            )
        )
        navigation.register(
            navigation.NavItem(_("Eligibility criteria"), "enrollment:criteria", PROTOCOL, order=60)
        )
        navigation.register(
            navigation.NavItem(_("Target enrolment"), "enrollment:target", PROTOCOL, order=61)
        )
        # Reference data is there after every migrate, and after a flush (tests).
        post_migrate.connect(_seed_reference_data, sender=self, dispatch_uid="edc_reference_data")
        register_forms()
        registry.register_subject_actions(subject_actions)
        for provider, names in selectors.FACT_PROVIDERS:
            registry.register_facts(provider, names=names)
        registry.register_after_import(complete_imported_enrolment)
        # crf-spec ENR "enrolment cap not reached", on every path that writes an ENR.
        registry.register_after_save(["ENR"], enforce_enrolment_cap)
