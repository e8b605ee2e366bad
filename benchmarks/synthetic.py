"""Subjects built by the demo's builders in a loop, to try the bench's study-size phase
at a small size before the synthetic generator exists (``--synthetic-builder
demo-builders``): every form through the services, so about a second per subject."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction

from enrollment.demo import screen_and_enrol
from outcomes.management.commands.seed_demo import demo_days
from study.demo import seed_people
from visits.demo import COURSES, follow_course

ACTORS = {"01": "investigator", "02": "investigator2"}


@transaction.atomic
def build(subjects: int) -> None:
    sites = seed_people()
    users = get_user_model().objects
    _site_today, today = demo_days()
    courses = list(COURSES)
    for i in range(subjects):
        number = "01" if i % 2 == 0 else "02"
        actor = users.get(username=ACTORS[number])
        start = today - dt.timedelta(days=60 + (i * 11) % 300)
        subject = screen_and_enrol(actor, sites[number], start=start)
        follow_course(
            actor,
            subject,
            day1=start + dt.timedelta(days=5),
            screened_on=start,
            course=courses[i % len(courses)],
            today=today,
        )
