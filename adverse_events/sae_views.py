"""The safety mail log: every SAE mail sent, to whom, when, for which event."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from adverse_events.models import SafetyMail, SafetyMailKind
from adverse_events.sae import local_time, site_zone
from crf import registry
from crf.selectors import form_url
from study import protocol
from study.models import Subject
from study.roles import SAFETY
from study.scoping import require_perm

PAGE_SIZE = 50


@dataclass(frozen=True)
class MailLogRow:
    pk: int
    kind: str
    kind_label: str
    subject_label: str
    site_number: str
    zone: str
    term: str
    ae_version: int
    recipients: list[str]
    queued: str
    sent: str
    triggered_by: str
    url: str
    attempts: int
    last_attempt: str
    error: str  # why the last attempt failed, while the mail is not sent


def _row(mail: SafetyMail) -> MailLogRow:
    ae = mail.adverse_event
    site = ae.subject.site
    return MailLogRow(
        pk=mail.pk,
        kind=mail.kind,
        kind_label=str(SafetyMailKind(mail.kind).label),
        subject_label=ae.subject.label,
        site_number=site.number,
        zone=site_zone(site).key,
        term=ae.display_term,
        ae_version=mail.ae_version,
        recipients=[r for r in mail.recipients.split(", ") if r],
        queued=local_time(mail.queued_at, site),
        sent=local_time(mail.sent_at, site) if mail.sent_at else "",
        triggered_by=mail.triggered_by.get_username() if mail.triggered_by else "",
        url=form_url(ae.subject, registry.get("AE"), ae),
        attempts=mail.attempts,
        last_attempt=local_time(mail.last_attempt_at, site) if mail.last_attempt_at else "",
        error="" if mail.sent_at else mail.last_error,
    )


@require_perm(SAFETY)
def mail_log(request: HttpRequest) -> HttpResponse:
    """Safety mail of the user's sites, newest first, 50 a page (three queries a page)."""
    mails = (
        SafetyMail.objects.filter(adverse_event__subject__in=Subject.objects.for_user(request.user))
        .select_related("adverse_event__subject__site", "triggered_by")
        .order_by("-queued_at", "-id")
    )
    page = Paginator(mails, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": [_row(mail) for mail in page],
        "scan_minutes": protocol.SAE_DEADLINE_SCAN_SECONDS // 60,
    }
    return render(request, "adverse_events/mail_log.html", context)
