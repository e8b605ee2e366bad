"""Collecting and sending daily digests: site scoping, language, time zones, once only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.db import transaction

from crf import registry
from data_management.models import Query
from data_management.workspace_selectors import awaiting_sdv_by_site
from enrollment.demo import screen_and_enrol
from notifications import services, tasks
from notifications.models import Digest, DigestStatus, Notification, Preference
from study.models import Role

pytestmark = pytest.mark.django_db

START = dt.date(2026, 2, 1)  # screened; Day 1 = 2026-02-06
DAY1 = START + dt.timedelta(days=5)
ON = DAY1 + dt.timedelta(days=30)  # C2D1 (target day 21, window 18-24) is 6 days overdue


@pytest.fixture
def staff(people: dict[Role, Any], make_person: Any) -> dict[str, Any]:
    out = {
        "inv01": people[Role.INVESTIGATOR],
        "sc01": people[Role.SITE_COORDINATOR],
        "inv02": make_person("inv02", Role.INVESTIGATOR, ("02",)),
    }
    for username, user in out.items():
        user.email = f"{username}@example.org"
        user.save(update_fields=["email"])
    return out


@pytest.fixture
def enrolled(staff: dict[str, Any], sites: dict[str, Any]) -> Any:
    return screen_and_enrol(staff["inv01"], sites["01"], start=START)


def test_site_staff_get_one_digest_listing_the_overdue_visit(settings, staff, enrolled) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    pending = services.collect_due(ON)
    assert sorted(d.recipient.username for d in pending) == ["inv01", "sc01"]
    titles = set(
        Notification.objects.filter(recipient=staff["inv01"], local_date=ON).values_list(
            "title", flat=True
        )
    )
    assert f"{enrolled.label}: visit C2D1 is 6 days overdue" in titles
    for digest in pending:
        services.send_digest(digest.pk)
    assert sorted(m.to[0] for m in mail.outbox) == ["inv01@example.org", "sc01@example.org"]
    message = mail.outbox[0]
    assert "C2D1 is 6 days overdue" in message.body
    assert f"http://127.0.0.1:8000/crf/subjects/{enrolled.pk}/" in message.body
    html = message.alternatives[0][0]
    assert f'href="http://127.0.0.1:8000/crf/subjects/{enrolled.pk}/#visit-C2D1"' in html
    # Another site's investigator hears nothing about site 01's subject.
    assert not Notification.objects.filter(recipient=staff["inv02"]).exists()


def test_sending_twice_mails_once(settings, staff, enrolled) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    pending = services.collect_due(ON)
    for digest in [*pending, *pending]:
        services.send_digest(digest.pk)
    assert len(mail.outbox) == len(pending) == 2
    for digest in pending:
        digest.refresh_from_db()
        assert digest.status == DigestStatus.SENT and digest.sent_at is not None
    assert services.collect_due(ON) == []


def test_mail_in_the_recipients_language(settings, staff, enrolled) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Preference.objects.create(user=staff["sc01"], language="zh-hans")
    for digest in services.collect_due(ON):
        services.send_digest(digest.pk)
    by_to = {m.to[0]: m for m in mail.outbox}
    assert '<html lang="zh-hans">' in by_to["sc01@example.org"].alternatives[0][0]
    assert '<html lang="en">' in by_to["inv01@example.org"].alternatives[0][0]


def test_a_kind_switched_off_is_not_mailed_but_sae_cannot_be(staff, enrolled) -> None:
    Preference.objects.create(user=staff["sc01"], mail_kinds=[])
    pending = services.collect_due(ON)
    assert [d.recipient.username for d in pending] == ["inv01"]
    assert Notification.objects.filter(recipient=staff["sc01"]).exists()  # still in the bell
    assert Preference(mail_kinds=[]).mails("sae_due")


@pytest.mark.parametrize(
    ("day", "at_utc"),
    [
        # 2026-03-29: Europe/Berlin moves from UTC+1 to UTC+2; 07:30 local is 05:30 UTC.
        (dt.date(2026, 3, 29), dt.datetime(2026, 3, 29, 5, 30, tzinfo=dt.UTC)),
        # 2026-10-25: back from UTC+2 to UTC+1 (02:00-03:00 happens twice); 07:30 is 06:30 UTC.
        (dt.date(2026, 10, 25), dt.datetime(2026, 10, 25, 6, 30, tzinfo=dt.UTC)),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_berlin_gets_its_digest_once_at_local_0730_on_the_dst_day(
    settings, staff, enrolled, sites, day, at_utc
) -> None:
    """A site in a zone with daylight saving gets its digest once, at its own 07:30."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sites["01"].time_zone = "Europe/Berlin"
    sites["01"].save(update_fields=["time_zone"])
    sites["02"].is_active = False
    sites["02"].save(update_fields=["is_active"])
    first: dict[str, dt.datetime] = {}
    now = dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC) - dt.timedelta(hours=3)
    while now < dt.datetime.combine(day, dt.time(21, 0), tzinfo=dt.UTC):
        for digest in services.collect_due(now=now):
            if digest.local_date == day:
                first.setdefault(digest.recipient.username, now)
            services.send_digest(digest.pk)
        now += dt.timedelta(minutes=30)
    assert first == {"inv01": at_utc, "sc01": at_utc}
    assert Digest.objects.filter(local_date=day).count() == 2
    of_the_day = [m.to[0] for m in mail.outbox if day.isoformat() in m.subject]
    assert sorted(of_the_day) == ["inv01@example.org", "sc01@example.org"]


def test_shanghai_digest_waits_for_local_0730(staff, enrolled) -> None:
    before = dt.datetime(2026, 3, 10, 23, 29, tzinfo=dt.UTC)  # 07:29 on 03-11 in Shanghai
    assert services.collect_due(now=before) == [] or all(
        d.local_date == dt.date(2026, 3, 10) for d in services.collect_due(now=before)
    )
    assert not Digest.objects.filter(local_date=dt.date(2026, 3, 11)).exists()
    after = before + dt.timedelta(minutes=1)
    assert {d.local_date for d in services.collect_due(now=after)} >= {dt.date(2026, 3, 11)}


def test_a_rolled_back_transaction_sends_none(settings, staff, enrolled) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        pending = services.collect_due(ON)
        assert pending
        tasks.queue_pending([d.pk for d in pending])
        raise Boom
    assert mail.outbox == []
    assert not Digest.objects.exists()


def test_a_failed_send_is_recorded_and_the_last_retry_marks_it_failed(
    settings, staff, enrolled
) -> None:
    settings.EMAIL_BACKEND = "tests.notifications.test_services.BrokenBackend"
    digest = services.collect_due(ON)[0]
    with pytest.raises(ConnectionRefusedError):
        services.send_digest(digest.pk)
    digest.refresh_from_db()
    assert digest.status == DigestStatus.PENDING
    assert (digest.attempts, digest.last_error) == (1, "ConnectionRefusedError: SMTP down")
    services.record_failure(digest.pk, ConnectionRefusedError("SMTP down"), final=True)
    digest.refresh_from_db()
    assert digest.status == DigestStatus.FAILED
    # Once SMTP is back, an operator's run sends it.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services.send_digest(digest.pk)
    digest.refresh_from_db()
    assert digest.status == DigestStatus.SENT and len(mail.outbox) == 1


def test_the_beat_task_sends_each_digest_once_after_commit(
    settings, staff, enrolled, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # The task runs here, as a worker would run it (apply), instead of going to the broker.
    monkeypatch.setattr(tasks.send_mail, "delay", lambda *args: tasks.send_mail.apply(args))
    pending = services.collect_due(ON)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tasks.queue_pending([d.pk for d in pending])
        tasks.queue_pending([d.pk for d in pending])  # two beat runs by mistake
        assert mail.outbox == []  # nothing before the commit
    assert len(callbacks) == 4
    assert len(mail.outbox) == 2


class BrokenBackend:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("SMTP down")


def test_monitors_get_a_weekly_digest_on_the_sites_monday(
    settings, staff, enrolled, people
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    monitor = people[Role.MONITOR]
    monitor.email = "mon01@example.org"
    monitor.save(update_fields=["email"])
    sunday, monday = ON, ON + dt.timedelta(days=1)
    assert (sunday.weekday(), monday.weekday()) == (6, 0)
    assert not [d for d in services.collect_due(sunday) if d.recipient == monitor]
    weekly = [d for d in services.collect_due(monday) if d.recipient == monitor]
    assert [d.kind for d in weekly] == ["monitor_weekly"]
    services.send_digest(weekly[0].pk)
    (message,) = [m for m in mail.outbox if m.to == ["mon01@example.org"]]
    assert message.subject == "EDC weekly monitoring digest 2026-03-09"
    assert f"{enrolled.label}: visit C2D1 is 7 days overdue" in message.body
    assert "forms missing" not in message.body.lower()
    awaiting = awaiting_sdv_by_site([enrolled.site_id])[enrolled.site_id]
    assert awaiting > 0  # the screening and enrolment forms, complete, not yet verified
    assert f"Site 01: {awaiting} complete forms awaiting source data verification" in message.body
    assert "/data-management/sdv/?site=01&amp;state=pending" in message.alternatives[0][0]


def test_nothing_about_a_subject_who_died(staff, enrolled) -> None:
    from study.models import SubjectStatus

    enrolled.status = SubjectStatus.DIED
    enrolled.save(update_fields=["status"])
    assert services.collect_due(ON) == []
    assert not Notification.objects.filter(subject=enrolled, kind__startswith="visit").exists()


def test_study_coordinators_get_a_weekly_compliance_summary_on_monday(
    settings, staff, enrolled, people
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    coordinator = people[Role.STUDY_COORDINATOR]
    coordinator.email = "studycoord@example.org"
    coordinator.save(update_fields=["email"])
    assert not [d for d in services.collect_due(ON) if d.recipient == coordinator]
    monday = ON + dt.timedelta(days=1)
    (digest,) = [d for d in services.collect_due(monday) if d.recipient == coordinator]
    services.send_digest(digest.pk)
    services.collect_due(monday)
    (message,) = [m for m in mail.outbox if m.to == ["studycoord@example.org"]]
    assert message.subject == "EDC weekly enrolment and visit compliance 2026-03-09"
    assert "Enrolled 1 of 28 planned" in message.body
    overdue = Notification.objects.filter(
        recipient=staff["inv01"], kind="visit_overdue", local_date=monday
    ).count()
    assert overdue > 1 and f"Site 01: {overdue} overdue visits" in message.body


def test_each_item_links_to_its_exact_page() -> None:
    """Issue 14: links to the exact page: the visit's section of the subject page, the AE
    form of an SAE report, a query's thread on its form."""
    from django.urls import reverse

    from notifications import due, selectors

    subject_page = reverse("crf:subject_detail", kwargs={"subject_pk": 5})
    overdue = due.DueItem("visit_overdue", "visit:1", 5, "01-005", code="C2D1", days=3)
    missing = due.DueItem("forms_missing", "visit:2", 5, "01-005", code="TA1", count=1)
    sae = due.DueItem("sae_due", "sae:3", 5, "01-005", days=-4, count=9)
    query = due.DueItem("query_old", "query:4", 5, "01-005", url="/somewhere/#query-4")
    assert selectors.item_url(overdue) == f"{subject_page}#visit-C2D1"
    assert selectors.item_url(missing) == f"{subject_page}#visit-TA1"
    assert selectors.item_url(sae) == reverse(
        "crf:log_record", kwargs={"subject_pk": 5, "form_code": "AE", "record_pk": 9}
    )
    assert selectors.item_url(query) == "/somewhere/#query-4"


def test_an_old_query_links_to_its_thread_on_the_form(staff, enrolled, people) -> None:
    from data_management.queries import raise_query
    from data_management.query_selectors import thread_url

    form = registry.get("ENR").model.objects.get(subject=enrolled)
    query = raise_query(
        actor=people[Role.MONITOR],
        subject=enrolled,
        form_code="ENR",
        instance=form,
        text="Please check the consent date against the signed form.",
    )
    Query.objects.filter(pk=query.pk).update(raised_at=dt.datetime(2026, 2, 20, tzinfo=dt.UTC))
    services.collect_due(ON)
    note = Notification.objects.get(recipient=staff["inv01"], kind="query_old")
    assert note.url == thread_url(query) and note.url.endswith(f"#query-{query.pk}")
