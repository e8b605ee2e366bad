"""One SAE text never stops safety mail for everyone (issue 10, security and fault probe).

A stored AE whose "term, if other" holds a line break made the mail subject raise
BadHeaderError; the sender caught only OSError and sent the newest first, so every
mail queued before it was never sent. The rows with bad values are written here
behind the validation (SQL, or a queryset update of a user), as a legacy row or a
manual fix in the database would be, to prove the sender survives what slips by.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core import mail as django_mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from adverse_events import sae, tasks
from adverse_events.models import AdverseEvent, SafetyMail
from enrollment.demo import screen_and_enrol
from study.models import Role
from study.services import upsert_person
from visits.demo import treat

from .conftest import DAY1, SERIOUS, START, save_ae

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"
AWARE = DAY1 + dt.timedelta(days=8)
INJECTED = "crisis\r\nBcc: x@y"


@pytest.fixture
def contacts(settings) -> None:
    settings.EDC_SAFETY_CONTACTS = ["pv@example.org"]


def serious(actor, subject, onset_days: int, **values):
    return save_ae(
        actor,
        subject,
        complete=False,
        **SERIOUS,
        aware_on=AWARE,
        onset_on=DAY1 + dt.timedelta(days=onset_days),
        **values,
    )


def behind_the_validation(ae: AdverseEvent, term_other: str) -> None:
    """Store a value the edit checks refuse, straight into the table."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AdverseEvent._meta.db_table} SET term_other = %s WHERE id = %s",
            [term_other, ae.pk],
        )


def later() -> dt.datetime:
    """A scan well after every mail of the test was queued."""
    return timezone.now() + dt.timedelta(hours=1)


def keys() -> list[str]:
    return [m.extra_headers["X-EDC-Safety-Mail"] for m in django_mail.outbox]


def test_mail_subject_is_one_line_whatever_the_stored_term_holds(
    investigator, treated, contacts
) -> None:
    ae = serious(
        investigator, treated, 7, term="Vascular disorders - Other, specify", term_other="crisis"
    )
    behind_the_validation(ae, INJECTED)

    sae.send_safety_mail(mail_id=SafetyMail.objects.get().pk)

    [message] = django_mail.outbox
    assert message.subject == (
        "[ANLO-HCC] SAE 01-001: Vascular disorders - Other, specify: crisis Bcc: x@y grade 3 "
        "(initial report)"
    )
    assert message.bcc == []
    assert message.to == ["pv@example.org"]
    assert SafetyMail.objects.get().subject_line == message.subject


def test_a_bad_term_no_longer_stops_the_mail_queued_before_it(
    investigator, treated, contacts
) -> None:
    older = serious(investigator, treated, 7)
    newer = serious(
        investigator, treated, 8, term="Vascular disorders - Other, specify", term_other="crisis"
    )
    behind_the_validation(newer, INJECTED)

    sent = sae.send_pending_mails(now=later())

    assert keys() == [f"initial:{older.pk}:1", f"initial:{newer.pk}:1"]  # the oldest first
    assert [m.sent_at is not None for m in sent] == [True, True]


@pytest.fixture
def site02_with_a_broken_pi_address(sites) -> None:
    """The PI of site 02 has an address with a line break, set behind the form's validation."""
    pi = upsert_person(
        username="pi02",
        password=PASSWORD,
        role=Role.INVESTIGATOR,
        sites=[sites["02"]],
        email="pi02@example.org",
        is_principal_investigator=True,
    )
    get_user_model().objects.filter(pk=pi.pk).update(email="pi02@example.org\nBcc: x@y")


def test_a_mail_that_fails_is_recorded_and_the_others_still_go_oldest_first(
    investigator, treated, sites, contacts, site02_with_a_broken_pi_address
) -> None:
    first = serious(investigator, treated, 5)
    other = screen_and_enrol(investigator, sites["02"], start=START)
    treat(investigator, other, day1=DAY1, cycles=1, course="PD")
    failing = serious(investigator, other, 6)
    last = serious(investigator, treated, 7)

    sae.send_pending_mails(now=later())

    assert keys() == [f"initial:{first.pk}:1", f"initial:{last.pk}:1"]
    mail = SafetyMail.objects.get(adverse_event=failing)
    assert (mail.sent_at, mail.attempts) == (None, 1)
    assert mail.last_error.startswith("BadHeaderError: Header values can't contain newlines")
    assert mail.last_attempt_at is not None
    sent = SafetyMail.objects.exclude(pk=mail.pk)
    assert [(m.attempts, m.last_error) for m in sent] == [(1, ""), (1, "")]


def test_the_next_scan_retries_the_mail_that_failed(
    investigator, treated, sites, contacts, site02_with_a_broken_pi_address
) -> None:
    other = screen_and_enrol(investigator, sites["02"], start=START)
    treat(investigator, other, day1=DAY1, cycles=1, course="PD")
    failing = serious(investigator, other, 8)
    sae.send_pending_mails(now=later())
    get_user_model().objects.filter(username="pi02").update(email="pi02@example.org")

    sae.send_pending_mails(now=later())

    mail = SafetyMail.objects.get(adverse_event=failing)
    assert keys() == [f"initial:{failing.pk}:1"]
    assert django_mail.outbox[0].to == ["pi02@example.org", "pv@example.org"]
    assert (mail.sent_at is not None, mail.attempts, mail.last_error) == (True, 2, "")


def test_the_send_task_records_the_failure_and_does_not_raise(
    investigator, treated, sites, contacts, site02_with_a_broken_pi_address
) -> None:
    other = screen_and_enrol(investigator, sites["02"], start=START)
    treat(investigator, other, day1=DAY1, cycles=1, course="PD")
    failing = serious(investigator, other, 8)
    mail = SafetyMail.objects.get(adverse_event=failing)

    tasks.send_safety_mail(mail.pk)

    mail.refresh_from_db()
    assert (mail.sent_at, mail.attempts) == (None, 1)
    assert mail.last_error.startswith("BadHeaderError")


def test_the_deadline_scan_survives_a_failing_mail(
    investigator, treated, sites, contacts, site02_with_a_broken_pi_address
) -> None:
    other = screen_and_enrol(investigator, sites["02"], start=START)
    treat(investigator, other, day1=DAY1, cycles=1, course="PD")
    failing = serious(investigator, other, 8)  # aware long ago: overdue at once
    good = serious(investigator, treated, 7)

    tasks.scan_sae_deadlines()

    assert keys() == [f"escalation:{good.pk}"]
    assert SafetyMail.objects.get(key=f"escalation:{failing.pk}").attempts == 1


def test_the_mail_log_shows_why_a_mail_was_not_sent(
    client, people, investigator, treated, sites, contacts, site02_with_a_broken_pi_address
) -> None:
    other = screen_and_enrol(investigator, sites["02"], start=START)
    treat(investigator, other, day1=DAY1, cycles=1, course="PD")
    failing = serious(investigator, other, 8)
    sae.send_pending_mails(now=later())
    client.force_login(people[Role.MEDICAL_MONITOR])

    response = client.get(reverse("adverse_events:mail_log"))

    html = response.content.decode()
    row = html[
        html.index(f'data-testid="mail-{SafetyMail.objects.get(adverse_event=failing).pk}"') :
    ]
    row = row[: row.index("</tr>")]
    assert "Not sent: failed 1 time" in row
    assert "BadHeaderError: Header values can&#x27;t contain newlines" in row
    assert "The scan tries again every 5 minutes." in row
