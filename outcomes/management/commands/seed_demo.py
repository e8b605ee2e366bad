"""Load the demo study: sites, people of every role, subjects in every screening state,
visit data with every kind of tumour response, adverse events (with SAEs), deviations,
and outcomes (end of treatment, follow-up, deaths) after progression; then the monitor's and
the PI's data management (data_management.demo: queries, SDV, signatures; no lock).

The study looks well run on whatever day it is built: accrual from January 2026 at fixed
dates, every subject followed up to today (cycles with vital signs, labs, liver scores and
exposure; tumour assessments every 42 days until progression), nothing dated after today,
and only a few realistic gaps (``plan_gaps``). The last enrolment of sites 01 and 02 is
recent: their C1D1 is due today or in two days, an empty calendar for a user to try.

Everything is built through the same services as the UI. Idempotent: a second run
refreshes the people and leaves the subjects as they are. (It lives in the highest
clinical app so that it may use every app's builders.)
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from adverse_events.demo import plan_adverse_events, seed_adverse_events, seed_deviations
from enrollment.demo import screen, screen_and_enrol, screen_and_fail
from outcomes.demo import seed_outcomes
from study import protocol
from study.demo import DEMO_PASSWORD, DEMO_PEOPLE, seed_people
from study.models import Site, StudyParameters, Subject
from visits.demo import COURSES, Gaps, follow_course, progression_on, record_screening

# Enrolments spread over the months of accrual so the dashboard's cumulative chart has a
# shape; 28 enrolled = the study at its cap.
FIRST_DAY = dt.date(2026, 1, 12)
SCREENING_EVERY_DAYS = 8  # round-robin over the sites
ENROLLED_PER_SITE = {"01": 12, "02": 10, "03": 6}
SCREEN_FAILURES: dict[str, list[tuple[str, ...]]] = {
    "01": [("IN06",), ("IN07", "IN08")],
    "02": [("EX05",)],
    "03": [("IN04",), ("IN08",)],
}
DAY1_AFTER_SCREENING = 5  # enrolled 3 days after screening, Day 1 two days later
# The last enrolment of these sites is recent: (site, screened this many days ago, planned
# Day 1 this many days after screening). Enrolled three days after screening, Day 1 is
# today for the first and in two days for the second (crf-spec ENR: within 7 days).
RECENT = (("01", 10, 10), ("02", 6, 8))
WAITING = {"01": 1, "02": 1}  # eligible, screened, waiting to enrol (the cap refuses them)
WAITING_SCREENED_DAYS_AGO = 4

# The deliberate gaps of a well-run study.
MISSED_CYCLE = 5
MISSED_REASON = (
    "Patient away for a family emergency in another province; no study drug dispensed "
    "this cycle, resumed at the next cycle visit."
)
DOSES_FORGOTTEN_CYCLE = 2  # the third subject: the dosing deviation of adverse_events.demo


def demo_days() -> tuple[dt.date, dt.date]:
    """Today at the demo's sites (what their pages show: due, overdue) and the last day the
    demo records data on: the earlier of the sites' today and the server's, so that no date
    is after today wherever it is read (the sites are 8 hours ahead of UTC)."""
    site_today = timezone.localdate(timezone=zoneinfo.ZoneInfo(protocol.DEFAULT_SITE_TIME_ZONE))
    return site_today, min(site_today, timezone.localdate())


@dataclass(frozen=True)
class Screening:
    """One person screened for the demo: at ``site`` on ``start``, enrolled or failing."""

    site: str
    start: dt.date
    enrol: bool
    failing: tuple[str, ...] = ()
    day1_after: int = DAY1_AFTER_SCREENING
    recent: bool = False

    @property
    def day1(self) -> dt.date:
        return self.start + dt.timedelta(days=self.day1_after)


def accrual(today: dt.date) -> list[Screening]:
    """Every screening of the demo in date order: the round-robin from FIRST_DAY (enrolments
    and failures), then the recent enrolments relative to ``today``."""
    recent_sites = {site for site, _ago, _after in RECENT}
    queues: dict[str, list[Screening]] = {}
    for number, enrolled in ENROLLED_PER_SITE.items():
        queue = [Screening(number, FIRST_DAY, True)] * (enrolled - (number in recent_sites))
        queue += [Screening(number, FIRST_DAY, False, f) for f in SCREEN_FAILURES.get(number, [])]
        queues[number] = queue
    screenings: list[Screening] = []
    day = FIRST_DAY
    while any(queues.values()):
        for queue in queues.values():
            if queue:
                screenings.append(_on(queue.pop(0), day))
                day += dt.timedelta(days=SCREENING_EVERY_DAYS)
    for number, ago, after in RECENT:
        start = today - dt.timedelta(days=ago)
        screenings.append(Screening(number, start, True, day1_after=after, recent=True))
    return screenings


def _on(screening: Screening, day: dt.date) -> Screening:
    return Screening(screening.site, day, screening.enrol, screening.failing)


@dataclass(frozen=True)
class Course:
    """How one enrolled subject of the demo fares: its RECIST course and, when its disease
    progressed by today, the date of the scan that showed it."""

    key: Hashable  # the subject (or whatever the caller tells subjects by)
    site: str
    day1: dt.date
    course: str
    progressed_on: dt.date | None


def courses(
    keys: Sequence[Hashable], screenings: Sequence[Screening], today: dt.date
) -> list[Course]:
    """The treated subjects (enrolled, not recent) with their courses in turn, in enrolment
    order; ``keys`` name them, one per treated screening."""
    treated = [s for s in screenings if s.enrol and not s.recent]
    names = list(COURSES)
    return [
        Course(
            key,
            s.site,
            s.day1,
            names[i % len(names)],
            progression_on(names[i % len(names)], s.day1, today),
        )
        for i, (key, s) in enumerate(zip(keys, treated, strict=True))
    ]


def cycle_day(day1: dt.date, today: dt.date) -> int:
    """Days since the target of the latest cycle visit (0 on a cycle's Day 1)."""
    return (today - day1).days % protocol.CYCLE_LENGTH_DAYS


def plan_gaps(treated: Sequence[Course], today: dt.date) -> dict[Hashable, Gaps]:
    """The few gaps, on subjects still on treatment, one per subject: at site 01 one cycle
    visit overdue by a few days (1-10: its ±3-day window closed; 3 when the calendar
    allows) and one visit declared missed with its reason; at site 02 one visit held 4-14
    days ago whose laboratory sample (and so its liver scores) is not entered yet; the
    third subject took 12 of 14 tablets in cycle 2 (the dosing deviation of
    adverse_events.demo.seed_deviations)."""
    window = protocol.CYCLE_VISIT_WINDOW_DAYS
    gaps: dict[Hashable, Gaps] = {}
    if len(treated) > 2:
        gaps[treated[2].key] = Gaps(doses_forgotten_cycle=DOSES_FORGOTTEN_CYCLE)
    going = [
        c
        for c in treated
        if c.progressed_on is None and (today - c.day1).days > 3 * protocol.CYCLE_LENGTH_DAYS
    ]

    def pick(site: str, wanted: int, low: int, high: int) -> Course | None:
        found = [
            (abs(cycle_day(c.day1, today) - wanted), i, c)
            for i, c in enumerate(going)
            if c.site == site and c.key not in gaps and low <= cycle_day(c.day1, today) <= high
        ]
        return min(found)[2] if found else None

    if (late := pick("01", window + 3, window + 1, window + 10)) is not None:
        gaps[late.key] = Gaps(overdue_last_cycle=True)
    if (labs := pick("02", 8, 4, 14)) is not None:
        gaps[labs.key] = Gaps(labs_missing_last_cycle=True)
    long_treated = [
        c
        for c in going
        if c.site == "01"
        and c.key not in gaps
        and (today - c.day1).days > (MISSED_CYCLE + 1) * protocol.CYCLE_LENGTH_DAYS
    ]
    if long_treated:
        gaps[long_treated[0].key] = Gaps(missed_cycle=MISSED_CYCLE, missed_reason=MISSED_REASON)
    return gaps


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
            site_today, today = demo_days()
            StudyParameters.objects.current()
            treated = self._accrue(actors, sites, today, site_today)
            self._treat(actors, treated, today, site_today)
            seed_deviations(actors)
            seed_outcomes(actors, today=today)
            for number, n in WAITING.items():
                for _ in range(n):
                    start = today - dt.timedelta(days=WAITING_SCREENED_DAYS_AGO)
                    subject = screen(actors[number], sites[number], start=start)
                    record_screening(actors[number], subject, on=start, today=today)
            # Data management (queries, SDV, signatures) comes after the clinical data it is
            # about. The command is the demo's composition root: it alone reaches up to the
            # data-management app's builders (imported here, not by outcomes' modules).
            from data_management.demo import seed_data_management

            seed_data_management(password=DEMO_PASSWORD)
        self.stdout.write(f"Demo study ready. Demo users (password for all: {DEMO_PASSWORD}):")
        for person in DEMO_PEOPLE:
            scope = ", ".join(person.sites) if person.sites else "all sites"
            if person.role == "administrator":
                scope = "people and sites; no clinical data"
            self.stdout.write(f"  {person.username:<14} {person.role.label:<22} {scope}")

    def _accrue(
        self, actors: dict[str, Any], sites: dict[str, Site], today: dt.date, site_today: dt.date
    ) -> list[tuple[Subject, Course]]:
        """Screen everyone of ``accrual``; the recent enrolments get their screening visit
        (VS, LB, CP, baseline scan) and nothing after: C1D1 on is left for a user. Returns
        the treated subjects with their courses."""
        screenings = accrual(site_today)
        enrolled: list[Subject] = []
        for s in screenings:
            actor, site = actors[s.site], sites[s.site]
            if not s.enrol:
                screen_and_fail(actor, site, start=s.start, failing=s.failing)
                continue
            subject = screen_and_enrol(actor, site, start=s.start, day1_after=s.day1_after)
            if s.recent:
                record_screening(actor, subject, on=s.start, today=today)
            else:
                enrolled.append(subject)
        plan = courses([s.pk for s in enrolled], screenings, today)
        return list(zip(enrolled, plan, strict=True))

    def _treat(
        self,
        actors: dict[str, Any],
        treated: list[tuple[Subject, Course]],
        today: dt.date,
        site_today: dt.date,
    ) -> None:
        """Visit data and AEs of the treated subjects, followed up to today."""
        plan = plan_adverse_events(
            [(subject, c.day1, c.progressed_on) for subject, c in treated], today=today
        )
        gaps = plan_gaps([c for _subject, c in treated], site_today)
        for subject, c in treated:
            follow_course(
                actors[c.site],
                subject,
                day1=c.day1,
                screened_on=c.day1 - dt.timedelta(days=DAY1_AFTER_SCREENING),
                course=c.course,
                today=today,
                toxicities=[event.toxicity for event in plan[subject.pk]],
                gaps=gaps.get(subject.pk, Gaps()),
            )
        seed_adverse_events(actors, today=today, plan=plan)
