"""Serious adverse events: the 24-hour report clock and the safety mail.

After every save or soft-delete of an AE (inside crf.services' transaction) the
SAE report follows it: a serious AE starts its clock (adverse_events.sae_clock)
and queues the initial mail; each later version queues a follow-up; an AE that
stops being serious, or is deleted, closes its report (and says so by a
follow-up). Mail is a SafetyMail row, created in the same transaction and sent
by a Celery task queued on commit, so a rollback leaves neither. Sending locks
the row and sends only when it is not yet sent: a task run twice sends once.
The periodic scan (adverse_events.tasks.scan_sae_deadlines) escalates overdue
reports once, and resends mail whose task was lost or failed, oldest first. A mail
that fails (whatever the error) is recorded on its row and never stops the others.

Mail carries the subject ID, never a name or initials (the EDC stores none),
and never the narrative (free text that could).
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from adverse_events import sae_clock
from adverse_events.models import AdverseEvent, SaeReport, SafetyMail, SafetyMailKind
from crf import registry
from crf.models import AuditAction, AuditEntry, FormStatus
from crf.selectors import form_url
from notifications import outbox
from study import home_panels, protocol
from study.models import Role, Site, Subject
from study.roles import VIEW, perm
from study.timezones import site_zone

logger = logging.getLogger(__name__)

OUTBOX = "safety"  # its name in notifications.outbox

TIME_FORMAT = "%Y-%m-%d %H:%M"
OVERDUE_PANEL_LIMIT = 20  # rows on the home page; the heading gives the total


def local_time(value: dt.datetime, site: Site) -> str:
    """``value`` in the site's time zone, as YYYY-MM-DD HH:MM."""
    return value.astimezone(site_zone(site)).strftime(TIME_FORMAT)


# --- The clock, after every AE save ---------------------------------------------------------


def after_adverse_event_saved(instance: Any, actor: Any) -> None:
    """Start or follow the SAE clock of a serious AE; queue its mail on commit.

    Runs inside crf.services' transaction after each AE save or soft-delete.
    - Serious and active, no open report: a new SaeReport (its clock per
      adverse_events.sae_clock, from this save and the awareness date) and an
      INITIAL mail. A report closed earlier is reopened with a new clock.
    - Serious and active, open report: the clock is recomputed (the awareness
      date may have been corrected; the first serious save stays), and a
      FOLLOW_UP mail for this AE version.
    - The form saved complete marks the report complete; that is kept if the
      form is later reopened (the deadline was met; changes are follow-ups).
    - No longer serious, or deleted: an open report is closed (no escalation
      after that) and a FOLLOW_UP mail says so.
    """
    ae: AdverseEvent = instance
    now = ae.modified_at
    report = SaeReport.objects.select_for_update().filter(adverse_event=ae).first()
    if not ae.is_serious:
        if report is not None and report.closed_at is None:
            report.closed_at = now
            report.save(update_fields=["closed_at"])
            _queue_mail(ae=ae, kind=SafetyMailKind.FOLLOW_UP, actor=actor, now=now)
        return

    complete = ae.status == FormStatus.COMPLETE
    if report is None or report.closed_at is not None:
        kind = SafetyMailKind.INITIAL
        report = report or SaeReport(adverse_event=ae, subject_id=ae.subject_id)
        report.serious_since = now
        report.completed_at = now if complete else None
        report.closed_at = None
    else:
        kind = SafetyMailKind.FOLLOW_UP
        if complete and report.completed_at is None:
            report.completed_at = now
    clock = sae_clock.start_clock(
        serious_since=report.serious_since, aware_on=ae.aware_on, zone=site_zone(ae.subject.site)
    )
    report.clock_started_at, report.due_at = clock.started_at, clock.due_at
    report.save()
    if kind == SafetyMailKind.FOLLOW_UP and _only_derived_change(ae):
        return  # e.g. TEAE recomputed after Day 1 moved: nothing new to report
    _queue_mail(ae=ae, kind=kind, actor=actor, now=now)


def _only_derived_change(ae: AdverseEvent) -> bool:
    """This version changed nothing but derived values, recomputed by the system."""
    from crf.models import AuditEntry, ChangeReason

    changes = AuditEntry.objects.filter(
        object_model=ae._meta.label, object_id=ae.pk, at=ae.modified_at
    )
    return not changes.exclude(reason_code=ChangeReason.DERIVATION).exists()


def _queue_mail(
    *,
    ae: AdverseEvent,
    kind: SafetyMailKind,
    actor: Any,
    now: dt.datetime,
) -> SafetyMail | None:
    """Record a safety mail (once per key) and send it by a task once the transaction commits.

    Returns the new mail, or None when one with this key exists already. The task
    is queued with ``robust=True``: a broker that is down does not undo the saved
    data; the mail stays unsent and the deadline scan sends it.
    """
    mail, created = SafetyMail.objects.get_or_create(
        key=f"{kind}:{ae.pk}:{ae.version}",
        defaults={
            "kind": kind,
            "adverse_event": ae,
            "ae_version": ae.version,
            "triggered_by": actor,
            "queued_at": now,
        },
    )
    if not created:
        return None
    outbox.queue(OUTBOX, mail.pk)
    return mail


# --- Sending -------------------------------------------------------------------------------


def safety_recipients(subject: Subject) -> list[str]:
    """The site PI(s), the medical monitors and EDC_SAFETY_CONTACTS, each address once.

    Only active people with an e-mail address; protocol.md: the medical monitor
    receives SAE alerts.
    """
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    pis = users.filter(
        membership__role=Role.INVESTIGATOR,
        membership__is_principal_investigator=True,
        membership__sites=subject.site_id,
    )
    monitors = users.filter(membership__role=Role.MEDICAL_MONITOR)
    addresses = [
        *pis.order_by("username").values_list("email", flat=True),
        *monitors.order_by("username").values_list("email", flat=True),
        *settings.EDC_SAFETY_CONTACTS,
    ]
    seen: set[str] = set()
    unique = []
    for address in addresses:
        if address.lower() not in seen:
            seen.add(address.lower())
            unique.append(address)
    return unique


def single_line(text: str) -> str:
    """``text`` as one line of a mail header: control characters and line or paragraph
    separators become spaces, runs of whitespace one space. Whatever the database holds
    (a row written before the edit checks refused control characters), a header never
    carries a line break (RFC 5322 header injection; Django's BadHeaderError)."""
    spaced = "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text
    )
    return " ".join(spaced.split())


def _subject_line(mail: SafetyMail, ae: AdverseEvent, report: SaeReport | None) -> str:
    if mail.kind == SafetyMailKind.INITIAL:
        what = _("initial report")
    elif mail.kind == SafetyMailKind.ESCALATION:
        what = _("report overdue")
    elif ae.is_deleted:
        what = _("follow-up report: deleted")
    elif report is not None and report.closed_at is not None:
        what = _("follow-up report: no longer serious")
    else:
        what = _("follow-up report")
    values = {
        "study": protocol.STUDY_CODE,
        "subject": ae.subject.label,
        "term": ae.display_term,
        "grade": ae.grade,
        "what": what,
    }
    if ae.grade is None:
        line = _("[%(study)s] SAE %(subject)s: %(term)s (%(what)s)") % values
    else:
        line = _("[%(study)s] SAE %(subject)s: %(term)s grade %(grade)s (%(what)s)") % values
    return single_line(line)


def _criteria_met(ae: AdverseEvent) -> list[str]:
    fields = [AdverseEvent.VARIABLES[name] for name in AdverseEvent.SERIOUSNESS_CRITERIA]
    return [
        capfirst(str(AdverseEvent._meta.get_field(name).verbose_name))  # type: ignore[union-attr]
        for name in fields
        if getattr(ae, name) == "Y"
    ]


# Free text that could identify the patient: a follow-up says it changed, never what it says.
UNQUOTED_VARIABLES = frozenset({"SAENARR"})


def _changes(mail: SafetyMail, ae: AdverseEvent) -> list[str]:
    """What the version behind a follow-up changed, from its audit entries (same time stamp)."""
    if mail.kind != SafetyMailKind.FOLLOW_UP:
        return []
    spec = registry.get("AE")
    entries = AuditEntry.objects.filter(
        object_model=ae._meta.label, object_id=ae.pk, at=mail.queued_at, action=AuditAction.UPDATE
    ).order_by("id")
    changes = []
    for entry in entries:
        field = spec.variable(entry.variable).field
        label = capfirst(str(field.verbose_name))
        if entry.variable in UNQUOTED_VARIABLES:
            changes.append(_("%(field)s: changed") % {"field": label})
            continue
        shown = {str(code): str(text) for code, text in field.flatchoices}
        old, new = (shown.get(v, v) if v else "—" for v in (entry.old_value, entry.new_value))
        changes.append(_("%(field)s: %(old)s → %(new)s") % {"field": label, "old": old, "new": new})
    return changes


def _mail_context(mail: SafetyMail, ae: AdverseEvent, report: SaeReport | None) -> dict[str, Any]:
    site = ae.subject.site
    zone = site_zone(site)
    due = f"{local_time(report.due_at, site)} ({zone.key})" if report is not None else ""
    overdue = report is not None and sae_clock.is_overdue(
        due_at=report.due_at,
        now=timezone.now(),
        completed_at=report.completed_at,
        closed_at=report.closed_at,
    )
    link = settings.EDC_BASE_URL + form_url(ae.subject, registry.get("AE"), ae)
    closed = report is not None and report.closed_at is not None
    rows = [
        (_("Subject ID"), ae.subject.label),
        (_("Site"), site.number),
        (_("Term (CTCAE v5.0)"), ae.display_term),
        (_("Grade"), ae.grade if ae.grade is not None else "—"),
        (_("Onset"), ae.onset_on.isoformat() if ae.onset_on else "—"),
        (_("Site aware on"), ae.aware_on.isoformat() if ae.aware_on else "—"),
        (_("Seriousness criteria met"), "; ".join(_criteria_met(ae)) or "—"),
        (_("Relationship to anlotinib"), ae.get_relationship_display() or "—"),
        (_("Action taken with anlotinib"), ae.get_action_display() or "—"),
        (_("Outcome"), ae.get_outcome_display() or "—"),
        (_("Treatment-emergent"), ae.get_treatment_emergent_display() or "—"),
        (_("AE version"), ae.version),
        (_("SAE report due"), _("%(due)s, overdue") % {"due": due} if overdue else due or "—"),
        (
            _("SAE report complete"),
            _("Yes") if report is not None and report.completed_at else _("No"),
        ),
    ]
    return {
        "mail": mail,
        "kind": SafetyMailKind(mail.kind).label,
        "study_code": protocol.STUDY_CODE,
        "rows": rows,
        "changes": _changes(mail, ae),
        "link": link,
        "due": due,
        "deleted": ae.is_deleted,
        "closed": closed,
        "escalation": mail.kind == SafetyMailKind.ESCALATION,
        "hours": protocol.SAE_REPORT_HOURS,
    }


def build_safety_messages(mail: SafetyMail) -> list[EmailMultiAlternatives]:
    """The mail (text and HTML) for ``mail`` to its recipients now: one message per
    recipient language (notifications.outbox.by_language); one message to nobody when
    there is no recipient (the subject line is still recorded)."""
    ae = AdverseEvent.objects.select_related("subject__site").get(pk=mail.adverse_event_id)
    report = SaeReport.objects.filter(adverse_event=ae).first()
    groups = outbox.by_language(safety_recipients(ae.subject)) or [(outbox.study_language(), [])]
    messages = []
    for language, addresses in groups:
        with translation.override(language):
            context = _mail_context(mail, ae, report)
            subject_line = _subject_line(mail, ae, report)[:255]
            text = render_to_string("adverse_events/mail/safety_mail.txt", context)
            html = render_to_string("adverse_events/mail/safety_mail.html", context)
        message = EmailMultiAlternatives(
            subject=subject_line,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=addresses,
            headers={"X-EDC-Safety-Mail": mail.key},
        )
        message.attach_alternative(html, "text/html")
        messages.append(message)
    return messages


def send_safety_mail(*, mail_id: int) -> SafetyMail | None:
    """Send one safety mail unless it was sent already; record recipients, subject, time.

    Through the one sending path of every mail (notifications.outbox.send): the row is
    locked and ``sent_at`` checked, so a task delivered twice sends once. A mail with
    no recipients is recorded as sent to nobody, with a warning. An id that does not
    exist (a stale task, or a transaction rolled back) is logged and ignored. Any error
    building or sending the mail (SMTP down, a bad header …) is recorded on the row
    (``attempts``, ``last_attempt_at``, ``last_error``) and raised again: the mail stays
    unsent, its task retries with back-off and the deadline scan tries again.
    """
    mail: SafetyMail | None = outbox.send(OUTBOX, mail_id)
    return mail


def register_outbox() -> None:
    outbox.register(OUTBOX, SafetyMail, build_safety_messages, label="Safety mail")


# --- The deadline scan ---------------------------------------------------------------------


def escalate_overdue_reports(*, now: dt.datetime) -> list[SafetyMail]:
    """Queue and send an ESCALATION mail for every overdue SAE report, once per AE ever.

    Side effects: one SafetyMail (key ``escalation:<ae id>``) per newly escalated
    report, sent at once (this runs on the worker). Running it again finds the
    key and sends nothing; a report completed or closed is not overdue.
    """
    reports = (
        SaeReport.objects.overdue(now)
        .exclude(adverse_event__safety_mails__kind=SafetyMailKind.ESCALATION)
        .select_related("adverse_event")
        .order_by("due_at")
    )
    queued = []
    for report in reports:
        with transaction.atomic():
            mail = _queue_escalation(report, now)
        if mail is not None:
            queued.append(mail)
    return _send_each(queued)


def _queue_escalation(report: SaeReport, now: dt.datetime) -> SafetyMail | None:
    mail, created = SafetyMail.objects.get_or_create(
        key=f"{SafetyMailKind.ESCALATION}:{report.adverse_event_id}",
        defaults={
            "kind": SafetyMailKind.ESCALATION,
            "adverse_event": report.adverse_event,
            "ae_version": report.adverse_event.version,
            "triggered_by": None,
            "queued_at": now,
        },
    )
    return mail if created else None


def send_pending_mails(*, now: dt.datetime) -> list[SafetyMail]:
    """Send safety mail queued more than one scan interval ago and still unsent.

    Its task was lost (broker down at commit) or failed (SMTP error); sending is
    idempotent, so a task that is merely late finds the mail sent and does nothing.
    """
    before = now - dt.timedelta(seconds=protocol.SAE_DEADLINE_SCAN_SECONDS)
    pending = list(
        SafetyMail.objects.filter(sent_at__isnull=True, queued_at__lt=before).order_by(
            "queued_at", "id"
        )
    )
    return _send_each(pending)


def _send_each(mails: list[SafetyMail]) -> list[SafetyMail]:
    """Try each mail in turn and return them as they are now (sent or not).

    One that fails, whatever the error (SMTP down, a bad header …), is recorded on
    its row and tried again at the next scan; the others still go out.
    """
    for mail in mails:
        try:
            send_safety_mail(mail_id=mail.pk)
        except Exception:
            logger.exception("Safety mail %s not sent; the next scan tries again", mail.key)
    if not mails:
        return []
    order = {mail.pk: n for n, mail in enumerate(mails)}
    current = SafetyMail.objects.filter(pk__in=order)
    return sorted(current, key=lambda mail: order[mail.pk])


# --- Overdue reports on the home pages -----------------------------------------------------


@dataclass(frozen=True)
class OverdueReport:
    subject_label: str
    site_number: str
    term: str
    grade: int | None
    due: str  # YYYY-MM-DD HH:MM in the site's time zone
    zone: str
    url: str


def overdue_reports_for(
    user: AbstractBaseUser | AnonymousUser, *, now: dt.datetime, limit: int = OVERDUE_PANEL_LIMIT
) -> tuple[list[OverdueReport], int]:
    """The user's sites' overdue SAE reports, most overdue first (at most ``limit``), and
    how many there are. Two queries, whatever the number."""
    reports = SaeReport.objects.overdue(now).filter(subject__in=Subject.objects.for_user(user))
    total = reports.count()
    if not total:
        return [], 0
    spec = registry.get("AE")
    rows = [
        OverdueReport(
            subject_label=report.subject.label,
            site_number=report.subject.site.number,
            term=report.adverse_event.display_term,
            grade=report.adverse_event.grade,
            due=local_time(report.due_at, report.subject.site),
            zone=site_zone(report.subject.site).key,
            url=form_url(report.subject, spec, report.adverse_event),
        )
        for report in reports.select_related("adverse_event", "subject__site").order_by(
            "due_at", "pk"
        )[:limit]
    ]
    return rows, total


def overdue_panel(request: Any) -> str:
    """The red panel of overdue SAE reports (home pages); "" when none or no VIEW permission."""
    if not request.user.has_perm(perm(VIEW)):
        return ""
    rows, total = overdue_reports_for(request.user, now=timezone.now())
    if not total:
        return ""
    context = {"rows": rows, "total": total, "hours": protocol.SAE_REPORT_HOURS}
    return render_to_string("adverse_events/_overdue_sae_panel.html", context, request=request)


def register_panels() -> None:
    """Overdue SAE reports on the home pages."""
    home_panels.register(overdue_panel, order=10)
