"""Overdue SAE reports on the home pages, and the safety mail log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from adverse_events import sae
from adverse_events.models import SafetyMail
from crf import registry
from crf.selectors import form_url
from study.models import Role
from study.services import upsert_person

from .conftest import DAY1, SERIOUS, save_ae

pytestmark = pytest.mark.django_db

AWARE = DAY1 + dt.timedelta(days=8)  # long past: a serious AE saved now is overdue
PASSWORD = "correct-horse-battery-staple"


def overdue_sae(actor, subject, term="Hypertension"):
    return save_ae(actor, subject, complete=False, term=term, **SERIOUS, aware_on=AWARE)


def home(client, user):
    client.force_login(user)
    return client.get(reverse("study:home"))


def test_overdue_sae_shows_red_on_the_investigators_home_page(
    client, investigator, treated
) -> None:
    ae = overdue_sae(investigator, treated)

    html = home(client, investigator).content.decode()

    url = form_url(treated, registry.get("AE"), ae)
    assert 'class="alert alert-danger mb-4" role="alert"' in html
    assert "1 SAE report overdue" in html
    assert (
        f'<li><a class="alert-link" href="{url}">01-001</a> · Hypertension · grade 3 · due '
        '<time>2026-03-17 00:00</time> <span class="small">(Asia/Shanghai)</span></li>'
    ) in html


def test_overdue_sae_is_not_shown_to_a_user_of_another_site(
    client, investigator, treated, make_person
) -> None:
    overdue_sae(investigator, treated)
    other = make_person("inv02", Role.INVESTIGATOR, ("02",))

    html = home(client, other).content.decode()

    assert 'data-testid="overdue-sae"' not in html


def test_overdue_sae_is_shown_to_the_medical_monitor(client, people, investigator, treated):
    overdue_sae(investigator, treated)

    html = home(client, people[Role.MEDICAL_MONITOR]).content.decode()

    assert 'data-testid="overdue-sae"' in html


def test_overdue_sae_is_not_shown_without_clinical_access(client, people, investigator, treated):
    overdue_sae(investigator, treated)

    html = home(client, people[Role.ADMINISTRATOR]).content.decode()

    assert 'data-testid="overdue-sae"' not in html


def test_complete_sae_is_not_shown_as_overdue(client, investigator, treated) -> None:
    save_ae(investigator, treated, **SERIOUS, aware_on=AWARE, narrative="Admitted; recovered.")

    html = home(client, investigator).content.decode()

    assert 'data-testid="overdue-sae"' not in html


def _home_queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("study:home"))
    assert response.status_code == 200
    return len(queries)


def test_overdue_panel_queries_do_not_grow_with_the_reports(client, investigator, treated):
    overdue_sae(investigator, treated)
    one = _home_queries(client, investigator)
    overdue_sae(investigator, treated, term="Diarrhea")
    overdue_sae(investigator, treated, term="Fatigue")
    three = _home_queries(client, investigator)

    assert "3 SAE reports overdue" in client.get(reverse("study:home")).content.decode()
    assert three == one


# --- The mail log -------------------------------------------------------------------------


@pytest.fixture
def recipients(sites):
    upsert_person(
        username="pi01",
        password=PASSWORD,
        role=Role.INVESTIGATOR,
        sites=[sites["01"]],
        email="pi01@example.org",
        is_principal_investigator=True,
    )
    upsert_person(
        username="mm", password=PASSWORD, role=Role.MEDICAL_MONITOR, email="mm@example.org"
    )


def test_mail_log_lists_each_mail_with_recipients_and_site_times(
    client, people, investigator, treated, recipients
) -> None:
    ae = overdue_sae(investigator, treated)
    mail = SafetyMail.objects.get()
    sae.send_safety_mail(mail_id=mail.pk)
    save_ae(investigator, treated, instance=ae, complete=False, grade=4)  # follow-up, unsent
    mail.refresh_from_db()
    client.force_login(people[Role.MEDICAL_MONITOR])

    response = client.get(reverse("adverse_events:mail_log"))

    html = response.content.decode()
    rows = html.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    assert len(rows) == 2
    assert (
        "SAE follow-up" in rows[0]
        and '<span class="badge text-bg-warning">not sent yet</span>' in rows[0]
    )
    assert "Initial SAE report" in rows[1]
    assert "pi01@example.org<br>mm@example.org" in rows[1]
    assert f"<td><time>{sae.local_time(mail.sent_at, treated.site)}</time></td>" in rows[1]
    assert "<td>inv01</td>" in rows[1]


def test_mail_log_is_closed_to_the_site_investigator(client, investigator) -> None:
    client.force_login(investigator)

    assert client.get(reverse("adverse_events:mail_log")).status_code == 403


@pytest.mark.parametrize("count", [1, 60])
def test_mail_log_queries_do_not_grow_with_the_mails(
    client, people, investigator, treated, count, django_assert_max_num_queries
) -> None:
    ae = overdue_sae(investigator, treated)
    for version in range(count - 1):
        ae = save_ae(investigator, treated, instance=ae, complete=False, grade=4 - version % 2)
    client.force_login(people[Role.MEDICAL_MONITOR])
    client.get(reverse("adverse_events:mail_log"))  # warm the session and permission caches

    with django_assert_max_num_queries(10):
        response = client.get(reverse("adverse_events:mail_log"))

    assert response.status_code == 200
    assert SafetyMail.objects.count() == count
