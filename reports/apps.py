from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports and exports")

    def ready(self) -> None:
        # Each concern registers its links (form and subject panels), navigation and tasks.
        from reports import bulk, casebook, crf_pdf, csv_exports

        for concern in (crf_pdf, casebook, bulk, csv_exports):
            concern.connect()
