"""The notification centre: the bell, the list, opening, mark all read, mail preferences."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Kind, Notification, Preference
from study.models import Role

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)


def _notify(user: Any, n: int, *, day: dt.date = DAY, read: bool = False, **kw: Any) -> list[Any]:
    return [
        Notification.objects.create(
            recipient=user,
            kind=kw.get("kind", Kind.VISIT_DUE),
            object_key=f"visit:{day}:{i}",
            local_date=day,
            title=kw.get("title", f"Visit C{i} of 01-{i:03d} due today"),
            body="",
            url=kw.get("url", "/visits/"),
            read_at=timezone.now() if read else None,
        )
        for i in range(n)
    ]


def test_the_bell_counts_ones_own_unread(client, people) -> None:
    me, other = people[Role.INVESTIGATOR], people[Role.MONITOR]
    _notify(me, 3)
    _notify(me, 2, day=DAY - dt.timedelta(days=1), read=True)
    _notify(other, 4)
    client.force_login(me)

    page = client.get(reverse("study:home")).content.decode()

    assert "Notifications: 3 unread" in page
    assert 'data-testid="bell-count">3<' in page


def test_no_unread_no_count_and_no_bell_signed_out(client, people) -> None:
    client.force_login(people[Role.MONITOR])
    page = client.get(reverse("study:home")).content.decode()
    assert "Notifications: 0 unread" in page and "bell-count" not in page
    client.logout()
    page = client.get(reverse("study:login")).content.decode()
    assert 'data-testid="bell"' not in page


def test_the_centre_lists_only_ones_own_newest_first_by_date(client, people) -> None:
    me, other = people[Role.SITE_COORDINATOR], people[Role.INVESTIGATOR]
    _notify(me, 1, day=DAY - dt.timedelta(days=2), title="Older reminder")
    _notify(me, 1, day=DAY, title="Newer reminder")
    _notify(other, 1, title="Someone else's reminder")
    client.force_login(me)

    page = client.get(reverse("notifications:center")).content.decode()

    assert "Someone else" not in page
    assert page.index("2026-03-02") < page.index("Newer reminder") < page.index("2026-02-28")
    assert page.index("2026-02-28") < page.index("Older reminder")
    assert "2 unread notifications" in page


def test_opening_marks_read_and_goes_to_its_page(client, people) -> None:
    me = people[Role.INVESTIGATOR]
    (item,) = _notify(me, 1, url="/visits/")
    client.force_login(me)

    response = client.post(reverse("notifications:open", kwargs={"pk": item.pk}))

    assert response.status_code == 302 and response["Location"] == "/visits/"
    item.refresh_from_db()
    first = item.read_at
    assert first is not None
    client.post(reverse("notifications:open", kwargs={"pk": item.pk}))  # again: no change
    item.refresh_from_db()
    assert item.read_at == first
    assert client.get(reverse("notifications:open", kwargs={"pk": item.pk})).status_code == 405


def test_an_outside_link_is_not_followed(client, people) -> None:
    me = people[Role.INVESTIGATOR]
    (item,) = _notify(me, 1, url="https://evil.example/")
    client.force_login(me)
    response = client.post(reverse("notifications:open", kwargs={"pk": item.pk}))
    assert response["Location"] == reverse("notifications:center")


def test_another_persons_notification_is_not_found(client, people) -> None:
    (theirs,) = _notify(people[Role.MONITOR], 1)
    client.force_login(people[Role.INVESTIGATOR])
    response = client.post(reverse("notifications:open", kwargs={"pk": theirs.pk}))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_reads_only_ones_own(client, people) -> None:
    me, other = people[Role.INVESTIGATOR], people[Role.MONITOR]
    _notify(me, 3)
    _notify(other, 2)
    client.force_login(me)

    response = client.post(reverse("notifications:mark_all_read"), follow=True)

    page = response.content.decode()
    assert "Notifications: 0 unread" in page and "0 unread notifications" in page
    assert Notification.objects.filter(recipient=me, read_at__isnull=True).count() == 0
    assert Notification.objects.filter(recipient=other, read_at__isnull=True).count() == 2


def test_preferences_are_saved(client, people) -> None:
    me = people[Role.SITE_COORDINATOR]
    client.force_login(me)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert "简体中文" in page and "Visit overdue" in page
    assert not Preference.objects.filter(user=me).exists()

    response = client.post(
        reverse("notifications:preferences"),
        {"language": "zh-hans", "mail_kinds": [Kind.VISIT_OVERDUE, Kind.QUERY_OLD]},
    )

    assert response.status_code == 302
    preference = Preference.objects.get(user=me)
    assert preference.language == "zh-hans"
    assert preference.mails(Kind.VISIT_OVERDUE) and preference.mails(Kind.QUERY_OLD)
    assert not preference.mails(Kind.VISIT_WINDOW)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert 'value="zh-hans" id="id_language_1" checked' in page or (
        'value="zh-hans"' in page and "checked" in page
    )


def test_sae_mail_cannot_be_switched_off(client, people) -> None:
    me = people[Role.INVESTIGATOR]
    client.force_login(me)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert 'data-testid="always-mailed"' in page and "cannot be switched off" in page
    assert f'name="mail_kinds" value="{Kind.SAE_DUE}"' not in page

    client.post(reverse("notifications:preferences"), {"language": "en"})  # every box cleared

    preference = Preference.objects.get(user=me)
    assert preference.mails(Kind.SAE_DUE)
    assert Kind.SAE_DUE.value in preference.mail_kinds
    assert not preference.mails(Kind.VISIT_DUE)


def test_sae_posted_anyway_is_not_duplicated(client, people) -> None:
    me = people[Role.INVESTIGATOR]
    client.force_login(me)
    response = client.post(
        reverse("notifications:preferences"), {"language": "en", "mail_kinds": [Kind.SAE_DUE]}
    )
    assert response.status_code == 200  # not a choice offered: the form says so
    assert not Preference.objects.filter(user=me).exists()


def _queries(client: Any, url: str, django_assert_max_num_queries: Any) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_centre_and_the_bell_run_constant_queries(
    client, people, subject01, django_assert_max_num_queries
) -> None:
    me = people[Role.INVESTIGATOR]
    client.force_login(me)
    _notify(me, 2)
    url = reverse("notifications:center")
    client.get(url)  # warm caches (sessions, membership)
    small = _queries(client, url, django_assert_max_num_queries)
    for k in range(1, 15):
        _notify(me, 5, day=DAY - dt.timedelta(days=k))
    large = _queries(client, url, django_assert_max_num_queries)
    assert small == large
    with django_assert_max_num_queries(small):
        client.get(url)


def test_a_reminder_reads_in_the_language_of_the_page_that_shows_it(client, people) -> None:
    """Collected while the recipient's mail language was Chinese, it reads in English on an
    English page and in Chinese on a Chinese one (issue 14: the reader's language)."""
    from django.utils import translation

    from notifications import texts

    me = people[Role.SITE_COORDINATOR]
    params = {"subject": "01-003", "code": "C3", "days": 4, "count": 0}
    with translation.override("zh-hans"):
        Notification.objects.create(
            recipient=me,
            kind=Kind.VISIT_OVERDUE,
            object_key="visit:9",
            local_date=DAY,
            params=params,
            title=texts.text(Kind.VISIT_OVERDUE, params),
            url="/visits/",
        )
    client.force_login(me)

    english = client.get(reverse("notifications:center")).content.decode()
    client.cookies["django_language"] = "zh-hans"
    chinese = client.get(reverse("notifications:center")).content.decode()

    assert "01-003: visit C3 is 4 days overdue" in english
    assert "01-003: visit C3 is 4 days overdue" not in chinese
    assert "01-003" in chinese and "逾期" in chinese


def test_preferences_offer_only_the_reminders_ones_role_receives(client, people) -> None:
    client.force_login(people[Role.MONITOR])
    monitor = client.get(reverse("notifications:preferences")).content.decode()
    assert 'value="sdv_waiting"' in monitor and 'value="visit_due"' not in monitor
    assert 'data-testid="always-mailed"' not in monitor  # no SAE reminders in its digest

    client.force_login(people[Role.SITE_COORDINATOR])
    site = client.get(reverse("notifications:preferences")).content.decode()
    assert 'value="visit_due"' in site and 'value="sdv_waiting"' not in site
    assert 'data-testid="always-mailed"' in site

    client.force_login(people[Role.DATA_MANAGER])
    manager = client.get(reverse("notifications:preferences")).content.decode()
    assert 'data-testid="no-reminders"' in manager and 'name="mail_kinds"' not in manager
    assert 'name="language"' in manager
