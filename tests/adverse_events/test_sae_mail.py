"""SAE reports and safety mail through the services: clock, recipients, content, idempotence."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.core import mail as django_mail
from django.db import transaction
from django.utils import timezone

from adverse_events import sae, tasks
from adverse_events.models import SaeReport, SafetyMail
from crf import registry
from crf.selectors import form_url
from crf.services import Reason, delete_form
from study.models import Role
from study.services import upsert_person

from .conftest import DAY1, SERIOUS, save_ae

pytestmark = pytest.mark.django_db

AWARE = DAY1 + dt.timedelta(days=8)  # 2026-03-15: its day ends 2026-03-15 16:00 UTC (Shanghai)
CLOCK_START = dt.datetime(2026, 3, 15, 16, 0, tzinfo=dt.UTC)
DUE = dt.datetime(2026, 3, 16, 16, 0, tzinfo=dt.UTC)
PASSWORD = "correct-horse-battery-staple"
NARRATIVE = "Admitted for blood pressure control; amlodipine started."


@pytest.fixture
def team(people, sites):
    """Who should and should not get SAE mail of site 01."""
    return {
        "pi01": upsert_person(
            username="pi01",
            password=PASSWORD,
            role=Role.INVESTIGATOR,
            sites=[sites["01"]],
            email="pi01@example.org",
            is_principal_investigator=True,
        ),
        "pi02": upsert_person(
            username="pi02",
            password=PASSWORD,
            role=Role.INVESTIGATOR,
            sites=[sites["02"]],
            email="pi02@example.org",
            is_principal_investigator=True,
        ),
        "mm": upsert_person(
            username="mm", password=PASSWORD, role=Role.MEDICAL_MONITOR, email="mm@example.org"
        ),
        "sub01": upsert_person(
            username="sub01",
            password=PASSWORD,
            role=Role.INVESTIGATOR,
            sites=[sites["01"]],
            email="sub01@example.org",
        ),
    }


def serious_ae(actor, subject, *, complete=False, **values):
    narrative = NARRATIVE if complete else ""
    return save_ae(
        actor, subject, complete=complete, **SERIOUS, aware_on=AWARE, narrative=narrative, **values
    )


def mails():
    return list(SafetyMail.objects.order_by("id").values_list("key", flat=True))


def test_serious_ae_starts_the_clock_and_records_an_initial_mail(investigator, treated) -> None:
    ae = serious_ae(investigator, treated)

    report = SaeReport.objects.get(adverse_event=ae)
    assert (report.clock_started_at, report.due_at, report.completed_at, report.closed_at) == (
        CLOCK_START,
        DUE,
        None,
        None,
    )
    mail = SafetyMail.objects.get()
    assert (mail.key, mail.kind, mail.ae_version, mail.triggered_by, mail.sent_at) == (
        f"initial:{ae.pk}:1",
        "initial",
        1,
        investigator,
        None,
    )


def test_initial_mail_content(investigator, treated, team) -> None:
    ae = serious_ae(investigator, treated)

    sent = sae.send_safety_mail(mail_id=SafetyMail.objects.get().pk)

    [message] = django_mail.outbox
    link = "http://127.0.0.1:8000" + form_url(treated, registry.get("AE"), ae)
    assert message.subject == "[ANLO-HCC] SAE 01-001: Hypertension grade 3 (initial report)"
    assert message.body == (
        "ANLO-HCC · Initial SAE report\n"
        "\n"
        "Subject ID: 01-001\n"
        "Site: 01\n"
        "Term (CTCAE v5.0): Hypertension\n"
        "Grade: 3\n"
        "Onset: 2026-03-14\n"
        "Site aware on: 2026-03-15\n"
        "Seriousness criteria met: Requires or prolongs hospitalisation\n"
        "Relationship to anlotinib: Probably related\n"
        "Action taken with anlotinib: Dose not changed\n"
        "Outcome: Not recovered / not resolved\n"
        "Treatment-emergent: Yes\n"
        "AE version: 1\n"
        "SAE report due: 2026-03-17 00:00 (Asia/Shanghai), overdue\n"
        "SAE report complete: No\n"
        "\n"
        f"Open the AE form: {link}\n"
        "\n"
        "Sent by the ANLO-HCC EDC. This mail carries the subject ID only; "
        "see the EDC for the narrative.\n"
    )
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert f'<a href="{link}">Open the AE form</a>' in html
    assert '<th scope="row" align="left">Subject ID</th><td>01-001</td>' in html
    mail_pk = SafetyMail.objects.get(adverse_event=ae).pk
    assert message.extra_headers == {
        "X-EDC-Safety-Mail": f"initial:{ae.pk}:1",
        "Message-ID": f"<anlo-hcc.safety-{mail_pk}-0@localhost>",  # the same on every attempt
    }
    assert (sent.subject_line, sent.sent_at is not None) == (message.subject, True)


def test_mail_never_names_anyone(investigator, treated, team) -> None:
    investigator.first_name, investigator.last_name = "Wei", "Zhang"
    investigator.save()
    serious_ae(investigator, treated)

    sae.send_safety_mail(mail_id=SafetyMail.objects.get().pk)

    [message] = django_mail.outbox
    text = (message.subject + message.body + message.alternatives[0][0]).lower()
    assert [word for word in ("name", "initials", "wei", "zhang", "inv01") if word in text] == []


def test_mail_goes_to_the_site_pi_the_medical_monitor_and_the_safety_contacts(
    investigator, treated, team, settings
) -> None:
    settings.EDC_SAFETY_CONTACTS = ["pv@example.org", "MM@example.org"]
    left = upsert_person(
        username="mm-left", password=PASSWORD, role=Role.MEDICAL_MONITOR, email="left@example.org"
    )
    left.is_active = False
    left.save()
    upsert_person(username="mm-no-mail", password=PASSWORD, role=Role.MEDICAL_MONITOR)
    serious_ae(investigator, treated)

    mail = sae.send_safety_mail(mail_id=SafetyMail.objects.get().pk)

    expected = ["pi01@example.org", "mm@example.org", "pv@example.org"]
    assert django_mail.outbox[0].to == expected
    assert mail.recipients == ", ".join(expected)


def test_mail_sent_twice_is_sent_once(investigator, treated, team) -> None:
    serious_ae(investigator, treated)
    mail_id = SafetyMail.objects.get().pk

    first = sae.send_safety_mail(mail_id=mail_id)
    second = sae.send_safety_mail(mail_id=mail_id)

    assert len(django_mail.outbox) == 1
    assert second.sent_at == first.sent_at


def test_mail_without_recipients_is_recorded_as_sent_to_nobody(
    investigator, treated, caplog
) -> None:
    serious_ae(investigator, treated)

    with caplog.at_level(logging.WARNING, logger="notifications.outbox"):
        mail = sae.send_safety_mail(mail_id=SafetyMail.objects.get().pk)

    assert (django_mail.outbox, mail.recipients, mail.sent_at is not None) == ([], "", True)
    assert f"Safety mail {mail.key} has no recipients: recorded, not sent" in caplog.messages


def test_mail_that_does_not_exist_is_ignored(db) -> None:
    assert sae.send_safety_mail(mail_id=987654) is None
    assert django_mail.outbox == []


def test_mail_task_is_queued_on_commit_only(
    investigator, treated, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        serious_ae(investigator, treated)

    assert len(callbacks) == 1


def test_safety_mail_and_digests_share_one_outbox_and_one_sending_task(
    investigator, treated, team, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    """Issue 14: SAE mail moves onto the reminders' machinery (one outbox, one sending path)."""
    from notifications import tasks as notification_tasks

    queued = []
    monkeypatch.setattr(notification_tasks.send_mail, "delay", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        serious_ae(investigator, treated)

    assert queued == [("safety", SafetyMail.objects.get().pk)]
    notification_tasks.send_mail(*queued[0])
    notification_tasks.send_mail(*queued[0])  # delivered twice: sent once
    assert len(django_mail.outbox) == 1
    assert SafetyMail.objects.get().recipients == "pi01@example.org, mm@example.org"


def test_each_recipient_reads_the_safety_mail_in_their_own_language(
    investigator, treated, team, settings
) -> None:
    """Issue 14: every mail in the recipient's language (their profile); an address with no
    account (a safety contact) in the study's language. One message per language."""
    from notifications.models import Preference

    settings.EDC_SAFETY_CONTACTS = ["pv@example.org"]
    Preference.objects.create(user=team["mm"], language="zh-hans")
    serious_ae(investigator, treated)

    mail = sae.send_safety_mail(mail_id=SafetyMail.objects.get().pk)

    by_recipients = {tuple(m.to): m for m in django_mail.outbox}
    assert sorted(by_recipients) == [("mm@example.org",), ("pi01@example.org", "pv@example.org")]
    chinese = by_recipients[("mm@example.org",)]
    english = by_recipients[("pi01@example.org", "pv@example.org")]
    assert "首次报告" in chinese.subject
    assert "SAE 报告截止时间" in chinese.body
    assert "initial report" in english.subject
    assert mail.recipients == "pi01@example.org, pv@example.org, mm@example.org"


def test_rolled_back_save_leaves_no_report_and_no_mail(investigator, treated) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        serious_ae(investigator, treated)
        raise RuntimeError("the user's request failed after the save")

    assert (SaeReport.objects.count(), mails()) == (0, [])


def test_change_to_an_sae_sends_a_follow_up_saying_what_changed(
    investigator, treated, team
) -> None:
    ae = serious_ae(investigator, treated)
    ae = save_ae(
        investigator,
        treated,
        instance=ae,
        complete=False,
        grade=4,
        relationship="RELATED",
        narrative="Draft: admitted on day 8.",
    )

    follow_up = SafetyMail.objects.get(kind="follow_up")
    sae.send_safety_mail(mail_id=follow_up.pk)

    assert mails() == [f"initial:{ae.pk}:1", f"follow_up:{ae.pk}:2"]
    assert follow_up.ae_version == 2
    [message] = django_mail.outbox
    assert message.subject == "[ANLO-HCC] SAE 01-001: Hypertension grade 4 (follow-up report)"
    assert message.body.split("\n\n")[1] == (
        "Changed in AE version 2:\n"
        "- Worst CTCAE grade: 3 → 4\n"
        "- Relationship to anlotinib: Probably related → Related\n"
        "- SAE narrative: changed"
    )
    assert "Draft" not in message.body + message.alternatives[0][0]


def test_non_serious_ae_starts_no_clock_and_sends_nothing(investigator, treated) -> None:
    ae = save_ae(investigator, treated)
    save_ae(investigator, treated, instance=ae, grade=3)

    assert (SaeReport.objects.count(), mails()) == (0, [])


def test_ae_becoming_serious_later_sends_the_initial_mail(investigator, treated) -> None:
    ae = save_ae(investigator, treated, complete=False)
    ae = save_ae(investigator, treated, instance=ae, complete=False, **SERIOUS, aware_on=AWARE)

    assert mails() == [f"initial:{ae.pk}:2"]


def test_completing_the_form_completes_the_report_and_stays_complete(investigator, treated) -> None:
    ae = serious_ae(investigator, treated)
    ae = save_ae(investigator, treated, instance=ae, complete=True, narrative=NARRATIVE)
    completed_at = ae.modified_at
    save_ae(investigator, treated, instance=ae, complete=False, outcome="RECOVERING")

    assert SaeReport.objects.get().completed_at == completed_at


def test_serious_ae_saved_complete_is_complete_at_once(investigator, treated) -> None:
    ae = serious_ae(investigator, treated, complete=True)

    assert SaeReport.objects.get().completed_at == ae.modified_at


def test_corrected_awareness_date_moves_the_due_time(investigator, treated) -> None:
    ae = serious_ae(investigator, treated)
    save_ae(
        investigator, treated, instance=ae, complete=False, aware_on=AWARE - dt.timedelta(days=1)
    )

    report = SaeReport.objects.get()
    assert (report.clock_started_at, report.due_at) == (
        CLOCK_START - dt.timedelta(days=1),
        DUE - dt.timedelta(days=1),
    )


def test_ae_no_longer_serious_closes_its_report_and_says_so(investigator, treated, team) -> None:
    ae = serious_ae(investigator, treated)
    not_serious = {name: "" for name in SERIOUS if name not in ("grade", "serious")}
    ae = save_ae(investigator, treated, instance=ae, serious="N", aware_on=None, **not_serious)

    report = SaeReport.objects.get()
    sae.send_safety_mail(mail_id=SafetyMail.objects.get(kind="follow_up").pk)

    assert report.closed_at == ae.modified_at
    assert django_mail.outbox[0].subject == (
        "[ANLO-HCC] SAE 01-001: Hypertension grade 3 (follow-up report: no longer serious)"
    )
    assert "This adverse event is no longer serious: its SAE report is closed." in (
        django_mail.outbox[0].body
    )


def test_deleted_sae_closes_its_report(investigator, treated) -> None:
    ae = serious_ae(investigator, treated)
    ae = delete_form(
        actor=investigator,
        spec=registry.get("AE"),
        instance=ae,
        reason=Reason("OTHER", "Entered for the wrong subject."),
    )

    assert SaeReport.objects.get().closed_at == ae.deleted_at
    assert mails() == [f"initial:{ae.pk}:1", f"follow_up:{ae.pk}:2"]


def test_ae_serious_again_after_closing_starts_a_new_clock(investigator, treated) -> None:
    ae = serious_ae(investigator, treated)
    not_serious = {name: "" for name in SERIOUS if name not in ("grade", "serious")}
    ae = save_ae(investigator, treated, instance=ae, serious="N", aware_on=None, **not_serious)
    today = timezone.localdate()
    ae = save_ae(investigator, treated, instance=ae, complete=False, **SERIOUS, aware_on=today)

    report = SaeReport.objects.get()
    assert (report.serious_since, report.closed_at) == (ae.modified_at, None)
    assert mails()[-1] == f"initial:{ae.pk}:3"


def test_overdue_report_is_escalated_once_across_two_scans(investigator, treated, team) -> None:
    ae = serious_ae(investigator, treated)
    sae.send_safety_mail(mail_id=SafetyMail.objects.get().pk)

    first = sae.escalate_overdue_reports(now=DUE + dt.timedelta(minutes=5))
    second = sae.escalate_overdue_reports(now=DUE + dt.timedelta(minutes=10))

    assert ([m.key for m in first], second) == ([f"escalation:{ae.pk}"], [])
    assert [m.subject for m in django_mail.outbox] == [
        "[ANLO-HCC] SAE 01-001: Hypertension grade 3 (initial report)",
        "[ANLO-HCC] SAE 01-001: Hypertension grade 3 (report overdue)",
    ]
    assert django_mail.outbox[1].body.splitlines()[2] == (
        "The SAE report was due 2026-03-17 00:00 (Asia/Shanghai) (24 hours after the site "
        "became aware) and is not complete. Complete the AE form with its SAE narrative now."
    )
    escalation = SafetyMail.objects.get(kind="escalation")
    assert (escalation.triggered_by, escalation.recipients) == (
        None,
        "pi01@example.org, mm@example.org",
    )


def test_report_not_yet_due_is_not_escalated(investigator, treated, team) -> None:
    serious_ae(investigator, treated)

    assert sae.escalate_overdue_reports(now=DUE) == []


def test_complete_report_is_not_escalated(investigator, treated, team) -> None:
    serious_ae(investigator, treated, complete=True)

    assert sae.escalate_overdue_reports(now=DUE + dt.timedelta(days=1)) == []


def test_closed_report_is_not_escalated(investigator, treated, team) -> None:
    ae = serious_ae(investigator, treated)
    delete_form(
        actor=investigator, spec=registry.get("AE"), instance=ae, reason=Reason("OTHER", "Dup.")
    )

    assert sae.escalate_overdue_reports(now=DUE + dt.timedelta(days=1)) == []


def test_scan_sends_mail_whose_task_was_lost_and_only_after_one_interval(
    investigator, treated, team
) -> None:
    serious_ae(investigator, treated)
    mail = SafetyMail.objects.get()

    early = sae.send_pending_mails(now=mail.queued_at + dt.timedelta(seconds=10))
    late = sae.send_pending_mails(now=mail.queued_at + dt.timedelta(minutes=10))

    assert (early, [m.pk for m in late], len(django_mail.outbox)) == ([], [mail.pk], 1)


def test_deadline_scan_task_escalates_overdue_reports(investigator, treated, team) -> None:
    ae = serious_ae(investigator, treated)  # aware long ago: overdue at once

    tasks.scan_sae_deadlines()

    assert [m.extra_headers["X-EDC-Safety-Mail"] for m in django_mail.outbox] == [
        f"escalation:{ae.pk}"
    ]


def test_send_task_for_a_missing_mail_logs_and_returns(db, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="adverse_events"):
        tasks.send_safety_mail(987654)

    assert "send_safety_mail(987654): no such mail (stale task)" in caplog.messages


def test_a_recomputed_teae_flag_sends_no_follow_up(investigator, treated) -> None:
    from adverse_events.models import SafetyMail
    from crf import registry as crf_registry
    from crf.models import Visit
    from crf.services import Reason, save_form
    from visits.models import Exposure

    from .conftest import DAY1, SERIOUS, save_ae

    ae = save_ae(
        investigator,
        treated,
        **SERIOUS,
        onset_on=DAY1 + dt.timedelta(days=1),
        aware_on=DAY1 + dt.timedelta(days=1),
        narrative="Admitted.",
    )
    save_form(
        actor=investigator,
        spec=crf_registry.get("EX"),
        subject=treated,
        visit=Visit.objects.get(subject=treated, code="C1D1"),
        instance=Exposure.objects.get(subject=treated, visit__code="C1D1"),
        values={"first_dose_on": DAY1 + dt.timedelta(days=2)},
        complete=True,
        reason=Reason("TRANSCRIPTION_ERROR"),
    )

    ae.refresh_from_db()
    assert ae.treatment_emergent == "N"
    assert list(SafetyMail.objects.values_list("kind", flat=True)) == ["initial"]
