from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender: Any, **kwargs: Any) -> None:
    from study.roles import sync_roles

    sync_roles()


class StudyConfig(AppConfig):
    name = "study"
    verbose_name = _("Study, sites and people")

    def ready(self) -> None:
        from study import signals  # noqa: F401  (connects the sign-in recorders)

        # Groups and their permissions follow the code after every migrate.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="edc_sync_roles")
