"""Load the demo study: sites, people of every role, screened persons. Idempotent."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from enrollment.services import register_screening
from study.demo import DEMO_PASSWORD, DEMO_PEOPLE, seed_people
from study.models import Subject

DEMO_SCREENED_PER_SITE = {"01": 3, "02": 2, "03": 1}


class Command(BaseCommand):
    help = "Create the demo sites, demo users of every role and demo subjects (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        sites = seed_people()
        actor = get_user_model().objects.get(username="investigator")
        for number, wanted in DEMO_SCREENED_PER_SITE.items():
            have = Subject.objects.filter(site=sites[number]).count()
            for _ in range(max(0, wanted - have)):
                register_screening(actor=actor, site=sites[number])
        self.stdout.write("Demo study ready. Demo users (password for all: %s):" % DEMO_PASSWORD)
        for person in DEMO_PEOPLE:
            scope = ", ".join(person.sites) if person.sites else "all sites"
            if person.role == "administrator":
                scope = "people and sites; no clinical data"
            self.stdout.write(f"  {person.username:<14} {person.role.label:<22} {scope}")
