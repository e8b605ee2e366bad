"""An SAE report completed after its 24-hour deadline says so, and by how much (issue 10,
item 9: "an SAE report completed eight months late with no late flag")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from adverse_events.models import SaeReport, lateness_text
from adverse_events.sae_clock import Lateness, completed_late
from adverse_events.safety import sae_status
from study.models import Role

from .conftest import DAY1, SERIOUS, save_ae

UTC = dt.UTC
DUE = dt.datetime(2026, 3, 16, 16, 0, tzinfo=UTC)


# --- the pure clock ---------------------------------------------------------------------------


def test_report_completed_before_its_deadline_is_not_late() -> None:
    assert completed_late(due_at=DUE, completed_at=DUE - dt.timedelta(hours=3)) is None


def test_report_completed_at_its_deadline_is_not_late() -> None:
    assert completed_late(due_at=DUE, completed_at=DUE) is None


def test_report_not_complete_is_not_late_but_may_be_overdue() -> None:
    assert completed_late(due_at=DUE, completed_at=None) is None


def test_report_completed_seconds_late_is_late_by_one_minute() -> None:
    assert completed_late(due_at=DUE, completed_at=DUE + dt.timedelta(seconds=20)) == Lateness(
        days=0, hours=0, minutes=1
    )


def test_report_completed_hours_late_says_the_hours_and_minutes() -> None:
    late = completed_late(due_at=DUE, completed_at=DUE + dt.timedelta(hours=5, minutes=30))

    assert late == Lateness(days=0, hours=5, minutes=30)


def test_report_completed_eight_months_late_says_the_days() -> None:
    completed = dt.datetime(2026, 11, 20, 19, 0, tzinfo=UTC)

    late = completed_late(due_at=DUE, completed_at=completed)

    assert late == Lateness(days=249, hours=3, minutes=0)


def test_lateness_is_the_same_instant_in_any_zone() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    completed = dt.datetime(2026, 3, 17, 1, 0, tzinfo=shanghai)  # 2026-03-16 17:00 UTC

    assert completed_late(due_at=DUE, completed_at=completed) == Lateness(0, 1, 0)


def test_lateness_reads_as_its_two_largest_units() -> None:
    assert lateness_text(Lateness(249, 3, 0)) == "249 days 3 hours"
    assert lateness_text(Lateness(1, 0, 59)) == "1 day"
    assert lateness_text(Lateness(0, 5, 30)) == "5 hours 30 minutes"
    assert lateness_text(Lateness(0, 1, 0)) == "1 hour"
    assert lateness_text(Lateness(0, 0, 1)) == "1 minute"


def test_sae_status_of_a_report_completed_late() -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=UTC)
    late = DUE + dt.timedelta(days=3)
    on_time = DUE - dt.timedelta(hours=1)

    assert sae_status(due_at=DUE, completed_at=late, closed_at=None, now=now) == "complete_late"
    assert sae_status(due_at=DUE, completed_at=on_time, closed_at=None, now=now) == "complete"


# --- the pages --------------------------------------------------------------------------------


AWARE = DAY1 + dt.timedelta(days=8)


@pytest.fixture
def late_sae(investigator, treated):
    """An SAE aware in March, its report completed now: months after its deadline."""
    ae = save_ae(
        investigator, treated, complete=True, **SERIOUS, aware_on=AWARE, narrative="Admitted."
    )
    report = SaeReport.objects.get(adverse_event=ae)
    assert report.completed_at > report.due_at
    return ae, report


def _late_text(report: SaeReport) -> str:
    late = completed_late(due_at=report.due_at, completed_at=report.completed_at)
    assert late is not None and late.days > 200
    hours = {0: "", 1: " 1 hour"}.get(late.hours, f" {late.hours} hours")
    return f"{late.days} days{hours} after the deadline"


@pytest.mark.django_db
def test_safety_page_flags_a_report_completed_late_with_how_late(client, people, late_sae) -> None:
    ae, report = late_sae
    client.force_login(people[Role.MEDICAL_MONITOR])

    html = client.get(reverse("adverse_events:safety")).content.decode()

    row = html[html.index(f'data-testid="sae-{ae.pk}"') :]
    status = row[row.index('data-testid="sae-status"') :]
    status = status[: status.index("</td>")]
    assert "Completed late" in status
    assert _late_text(report) in status


@pytest.mark.django_db
def test_subject_ae_panel_flags_a_report_completed_late(
    client, investigator, treated, late_sae
) -> None:
    ae, report = late_sae
    client.force_login(investigator)

    html = client.get(
        reverse("crf:subject_detail", kwargs={"subject_pk": treated.pk})
    ).content.decode()

    row = html[html.index(f'data-testid="ae-{ae.pk}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-testid="sae-late"' in row
    assert "report completed late" in row
    assert _late_text(report) in row


@pytest.mark.django_db
def test_subject_ae_panel_flags_an_overdue_report(client, investigator, treated) -> None:
    ae = save_ae(investigator, treated, complete=False, **SERIOUS, aware_on=AWARE)
    client.force_login(investigator)

    html = client.get(
        reverse("adverse_events:subject_log", kwargs={"subject_pk": treated.pk})
    ).content.decode()

    row = html[html.index(f'data-testid="ae-{ae.pk}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-testid="sae-overdue"' in row
    assert "report overdue" in row


@pytest.mark.django_db
def test_subject_ae_panel_costs_the_same_with_one_and_three_saes(
    client, investigator, treated, django_assert_max_num_queries
) -> None:
    url = reverse("adverse_events:subject_log", kwargs={"subject_pk": treated.pk})
    client.force_login(investigator)
    save_ae(investigator, treated, complete=True, **SERIOUS, aware_on=AWARE, narrative="A.")
    client.get(url)
    with django_assert_max_num_queries(40) as one:
        client.get(url)
    for _ in range(2):
        save_ae(investigator, treated, complete=True, **SERIOUS, aware_on=AWARE, narrative="B.")

    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(url)
