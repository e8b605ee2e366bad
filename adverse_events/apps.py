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
        from adverse_events import sae, services, views
        from adverse_events.forms import register_forms
        from crf import registry

        post_migrate.connect(_load_terms, sender=self, dispatch_uid="edc_ctcae_terms")
        register_forms()
        # TEAE follows Day 1 (EX at C1D1); the SAE clock and mail follow the AE.
        registry.register_after_save(["EX", "EOT"], services.refresh_treatment_emergence)
        registry.register_after_save(["AE"], sae.after_adverse_event_saved)
        sae.register_outbox()  # safety mail goes through the one outbox (notifications)
        sae.register_panels()
        registry.register_subject_panel(views.ae_panel, order=50)
        services.register_navigation()
