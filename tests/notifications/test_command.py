"""`send_due_reminders [--date]`: one mail per recipient; running it twice sends nothing more."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from enrollment.demo import screen_and_enrol
from study.models import Role

pytestmark = pytest.mark.django_db


def test_the_command_twice_sends_each_mail_once(settings, people: dict[Role, Any], sites) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for role in (Role.INVESTIGATOR, Role.SITE_COORDINATOR):
        people[role].email = f"{role.value}@example.org"
        people[role].save(update_fields=["email"])
    screen_and_enrol(people[Role.INVESTIGATOR], sites["01"], start=dt.date(2026, 2, 1))
    out = StringIO()
    call_command("send_due_reminders", "--date", "2026-03-08", stdout=out)
    assert "2 digests sent, 0 failed" in out.getvalue()
    assert sorted(m.to[0] for m in mail.outbox) == [
        "investigator@example.org",
        "site_coordinator@example.org",
    ]
    assert all(m.subject == "EDC daily reminders 2026-03-08" for m in mail.outbox)
    out = StringIO()
    call_command("send_due_reminders", "--date", "2026-03-08", stdout=out)
    assert "0 digests sent" in out.getvalue()
    assert len(mail.outbox) == 2


def test_a_bad_date_is_refused(db: Any) -> None:
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("send_due_reminders", "--date", "08/03/2026")


def test_each_persons_digest_lists_what_their_worklist_shows(settings, people, sites) -> None:
    """Done when (issue 14): `send_due_reminders --date` gives each site's staff a digest whose
    items match their worklist: the same overdue visits and the same visits missing forms."""
    from crf.models import Visit
    from notifications.models import Notification
    from visits.demo import treat
    from visits.worklist import build_worklist

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    investigator = people[Role.INVESTIGATOR]
    investigator.email = "investigator@example.org"
    investigator.save(update_fields=["email"])
    treated = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 1, 5))
    day1 = Visit.objects.get(subject=treated, code="C1D1").planned_date
    treat(investigator, treated, day1=day1, cycles=2, course="SD")
    screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 2, 10))
    screen_and_enrol(people[Role.INVESTIGATOR], sites["02"], start=dt.date(2026, 2, 1))
    on = dt.date(2026, 3, 20)

    call_command("send_due_reminders", "--date", on.isoformat(), stdout=StringIO())

    worklist = build_worklist(investigator, today=on)
    notes = Notification.objects.filter(recipient=investigator, local_date=on)

    def listed(kind: str) -> set[tuple[str, str]]:
        return {(n.params["subject"], n.params["code"]) for n in notes if n.kind == kind}

    overdue = {(i.visit.subject.label, i.visit.code) for i in worklist.overdue}
    missing = {(i.visit.subject.label, i.visit.code) for i in worklist.missing_forms}
    assert overdue, "the study has overdue visits on this date"
    assert listed("visit_overdue") == overdue
    assert listed("forms_missing") == missing
    assert {label for label, _code in overdue} <= {"01-001", "01-002"}  # site 01 only
    (message,) = mail.outbox
    for label, code in sorted(overdue):
        assert f"{label}: visit {code} is" in message.body
