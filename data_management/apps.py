from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataManagementConfig(AppConfig):
    name = "data_management"
    verbose_name = _("Data management")

    def ready(self) -> None:
        # Each concern connects its hooks (crf.registry: write guards, change and finding
        # listeners, form marks and panels, subject panels) and its navigation.
        from data_management import audit_views, locks, matrix, queries, sdv, signatures

        for concern in (locks, queries, sdv, signatures, audit_views, matrix):
            concern.connect()
