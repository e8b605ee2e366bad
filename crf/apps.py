from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrfConfig(AppConfig):
    name = "crf"
    verbose_name = _("Case report forms")

    def ready(self) -> None:
        from study import navigation
        from study.roles import IMPORT, VIEW

        navigation.register(navigation.NavItem(_("Subjects"), "crf:subject_list", VIEW, order=10))
        navigation.register(
            navigation.NavItem(_("Study data file"), "crf:data_import", IMPORT, order=70)
        )
