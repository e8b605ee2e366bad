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
