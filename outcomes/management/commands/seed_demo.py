"""Load the demo study: sites, people of every role, subjects in every screening state,
visit data with every kind of tumour response, adverse events (with SAEs), deviations,
and outcomes (end of treatment, follow-up, deaths) after progression.

Everything is built through the same services as the UI. Idempotent: a second run
refreshes the people and leaves the subjects as they are. (It lives in the highest
clinical app so that it may use every app's builders.)
"""

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from adverse_events.demo import seed_adverse_events, seed_deviations
from enrollment.demo import screen, screen_and_enrol, screen_and_fail
from outcomes.demo import seed_outcomes
from study import protocol
from study.demo import DEMO_PASSWORD, DEMO_PEOPLE, seed_people
from study.models import StudyParameters, Subject
from visits.demo import COURSES, treat
from visits.selectors import day1 as planned_day1

# Enrolments spread over the months of accrual so the dashboard's cumulative chart has a
# shape; 28 enrolled = the study at its cap.
FIRST_DAY = dt.date(2026, 1, 12)
ENROLLED_PER_SITE = {"01": 12, "02": 10, "03": 6}
SCREEN_FAILURES: dict[str, list[tuple[str, ...]]] = {
    "01": [("IN06",), ("IN07", "IN08")],
    "02": [("EX05",)],
    "03": [("IN04",), ("IN08",)],
}
WAITING = {"01": 1, "02": 1}  # eligible, screened, waiting to enrol (the cap refuses them)


class Command(BaseCommand):
    help = "Create the demo sites, users of every role and subjects in every screening state."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        sites = seed_people()
        users = get_user_model().objects
        actors = {
            "01": users.get(username="investigator"),
            "02": users.get(username="investigator2"),
        }
        actors["03"] = actors["01"]
        if not Subject.objects.exists():
            StudyParameters.objects.current()
            queues: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
            for number, enrolled in ENROLLED_PER_SITE.items():
                queues[number] = [("enrol", ()) for _ in range(enrolled)]
                queues[number] += [("fail", f) for f in SCREEN_FAILURES.get(number, [])]
            day = FIRST_DAY
            while any(queues.values()):  # round-robin over the sites, a screening every 8 days
                for number, queue in queues.items():
                    if not queue:
                        continue
                    outcome, failing = queue.pop(0)
                    site, actor = sites[number], actors[number]
                    if outcome == "enrol":
                        screen_and_enrol(actor, site, start=day)
                    else:
                        screen_and_fail(actor, site, start=day, failing=failing)
                    day += dt.timedelta(days=8)
            self._treat_enrolled(actors)
            seed_adverse_events(actors, today=timezone.localdate())
            seed_deviations(actors)
            seed_outcomes(actors, today=timezone.localdate())
            for number, n in WAITING.items():
                for _ in range(n):
                    screen(actors[number], sites[number], start=dt.date(2026, 11, 16))
        self.stdout.write(f"Demo study ready. Demo users (password for all: {DEMO_PASSWORD}):")
        for person in DEMO_PEOPLE:
            scope = ", ".join(person.sites) if person.sites else "all sites"
            if person.role == "administrator":
                scope = "people and sites; no clinical data"
            self.stdout.write(f"  {person.username:<14} {person.role.label:<22} {scope}")

    def _treat_enrolled(self, actors: dict[str, Any]) -> None:
        """Visit data for the enrolled subjects, each with a tumour course of visits.demo;
        the two enrolled last keep an empty calendar for a user to fill."""
        courses = list(COURSES)
        today = timezone.localdate()
        enrolled = list(
            Subject.objects.filter(subject_id__isnull=False).order_by("enrolled_at", "subject_id")
        )
        for index, subject in enumerate(enrolled[:-2]):
            first_day = planned_day1(subject)
            assert first_day is not None
            # Only cycles whose last dosing day has passed: no date of the demo is after today.
            dosed = (today - first_day).days - (protocol.DOSING_DAYS_PER_CYCLE - 1)
            cycles = min(6, 1 + dosed // protocol.CYCLE_LENGTH_DAYS) if dosed >= 0 else 0
            treat(
                actors[subject.site.number],
                subject,
                day1=first_day,
                cycles=cycles,
                course=courses[index % len(courses)],
            )
