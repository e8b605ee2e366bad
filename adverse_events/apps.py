from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_terms(sender: Any, apps: Any = None, **kwargs: Any) -> None:
    from django.apps import apps as global_apps

    from adverse_events.reference_data import load_ctcae_terms

    load_ctcae_terms(apps if apps is not None else global_apps)


class AdverseEventsConfig(AppConfig):
    name = "adverse_events"
    verbose_name = _("Adverse events")

    def ready(self) -> None:
        post_migrate.connect(_load_terms, sender=self, dispatch_uid="edc_ctcae_terms")
