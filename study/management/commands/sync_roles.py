from typing import Any

from django.core.management.base import BaseCommand

from study.roles import sync_roles


class Command(BaseCommand):
    help = "Create the role groups and set their permissions from study/roles.py."

    def handle(self, *args: Any, **options: Any) -> None:
        sync_roles()
        self.stdout.write("Role groups are in step with study/roles.py.")
