"""Write notifications and digests, and send digests once.

``collect_due`` is idempotent: Notification and Digest rows are got-or-created on their
natural keys, so a run repeated, or two runs at once, add nothing. ``send_digest`` locks
the digest row (select_for_update) and sends only a pending digest, then marks it sent in
the same transaction: a digest is mailed once; a rolled-back transaction sends none.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications import due, outbox, selectors, texts
from notifications.models import (
    Digest,
    DigestKind,
    DigestStatus,
    Kind,
    Notification,
    Preference,
)
from study.models import Site
from study.scoping import sites_for_user

logger = logging.getLogger(__name__)

DIGEST_AT = dt.time(7, 30)  # local time of the daily digest (issue 14)
DAILY_KINDS = tuple(kind for kind in due.KIND_ORDER if kind != "sdv_waiting")  # site staff
# Monitors: weekly, on the site's local Monday (issue 14: open queries by age, forms
# awaiting SDV, casebooks awaiting signature, overdue visits).
MONITOR_KINDS = ("visit_overdue", "query_old", "sdv_waiting", "signature_waiting")
WEEKLY_ON = 0  # Monday
COORDINATOR_KINDS = ("coordinator_digest",)


def kinds_for(role: str | None) -> tuple[str, ...]:
    """The reminder kinds a person of ``role`` receives (the others never reach them)."""
    from study.models import Role

    if role in (Role.INVESTIGATOR, Role.SITE_COORDINATOR):
        return DAILY_KINDS
    if role == Role.MONITOR:
        return MONITOR_KINDS
    if role == Role.STUDY_COORDINATOR:
        return COORDINATOR_KINDS
    return ()


def base_url() -> str:
    return str(getattr(settings, "EDC_BASE_URL", "http://127.0.0.1:8000")).rstrip("/")


def preference(user: Any) -> Preference:
    pref = Preference.objects.filter(user=user).first()
    return pref if pref is not None else Preference(user=user)


def local_now(site: Site, now: dt.datetime) -> dt.datetime:
    return now.astimezone(selectors.site_zone(site))


def digest_due_sites(now: dt.datetime) -> list[tuple[Site, dt.date]]:
    """Active sites whose local 07:30 has passed, with their local date."""
    out = []
    for site in Site.objects.filter(is_active=True).order_by("number"):
        local = local_now(site, now)
        if local.time() >= DIGEST_AT:
            out.append((site, local.date()))
    return out


def collect_for(
    user: Any,
    *,
    site: Site | None,
    today: dt.date,
    now: dt.datetime,
    digest_kind: str = DigestKind.DAILY,
    kinds: tuple[str, ...] = DAILY_KINDS,
) -> Digest | None:
    """Notifications of ``user`` for ``today`` and, when any is mailed, their digest."""
    pref = preference(user)
    items = due.due_for_person(
        **selectors.facts_for(user, today=today, now=now), today=today, now=now, kinds=kinds
    )
    mailed = False
    with translation.override(pref.language):
        for item in items:
            Notification.objects.get_or_create(
                recipient=user,
                kind=item.kind,
                object_key=item.object_key,
                local_date=today,
                defaults={
                    "subject_id": item.subject_pk,
                    "params": texts.params_of(item),
                    "title": texts.text(item.kind, texts.params_of(item)),
                    "url": selectors.item_url(item),
                },
            )
            mailed = mailed or pref.mails(item.kind)
    if not mailed or not user.email:
        return None
    try:
        digest, _created = Digest.objects.get_or_create(
            recipient=user, kind=digest_kind, local_date=today, defaults={"site": site}
        )
    except IntegrityError:  # another run created it at the same moment
        digest = Digest.objects.get(recipient=user, kind=digest_kind, local_date=today)
    return digest


def collect_due(date: dt.date | None = None, *, now: dt.datetime | None = None) -> list[Digest]:
    """Create the notifications and daily digests due: for each site whose local 07:30 has
    passed (or every active site on ``date`` when given), for each of its staff. Returns
    the digests still pending."""
    now = now or timezone.now()
    if date is not None:
        sites = [(site, date) for site in Site.objects.filter(is_active=True).order_by("number")]
    else:
        sites = digest_due_sites(now)
    seen: set[tuple[int, str, dt.date]] = set()
    for site, today in sites:
        rounds: list[tuple[list[Any], str, tuple[str, ...]]] = [
            (selectors.site_staff(site), DigestKind.DAILY, DAILY_KINDS)
        ]
        if today.weekday() == WEEKLY_ON:
            rounds.append((selectors.site_monitors(site), DigestKind.MONITOR_WEEKLY, MONITOR_KINDS))
        for memberships, digest_kind, kinds in rounds:
            for membership in memberships:
                key = (membership.user_id, digest_kind, today)
                if key in seen:
                    continue
                seen.add(key)
                if Digest.objects.filter(
                    recipient_id=membership.user_id, kind=digest_kind, local_date=today
                ).exists():
                    continue  # collected already (its items are in the digest)
                collect_for(
                    membership.user,
                    site=site,
                    today=today,
                    now=now,
                    digest_kind=digest_kind,
                    kinds=kinds,
                )
    for today in sorted({today for _site, today in sites}):
        if today.weekday() == WEEKLY_ON:
            collect_coordinators(today)
    return list(Digest.objects.filter(status=DigestStatus.PENDING).order_by("pk"))


def collect_coordinators(today: dt.date) -> None:
    """Study coordinators' weekly summary: enrolled against plan, visits held in window,
    overdue visits by site; one notification per line, one digest per coordinator."""
    members = [
        m
        for m in selectors.study_coordinators()
        if not Digest.objects.filter(
            recipient_id=m.user_id, kind=DigestKind.COORDINATOR_WEEKLY, local_date=today
        ).exists()
    ]
    if not members:
        return
    summary = selectors.compliance_summary(today)
    for membership in members:
        user = membership.user
        pref = preference(user)
        lines: list[tuple[str, dict[str, Any]]] = [
            (
                "enrolment",
                {"line": "enrolment", "enrolled": summary["enrolled"], "target": summary["target"]},
            )
        ]
        if summary["in_window_percent"] is not None:
            lines.append(
                ("compliance", {"line": "compliance", "percent": summary["in_window_percent"]})
            )
        lines += [
            (f"overdue:{number}", {"line": "overdue", "site": number, "count": n})
            for number, n in summary["overdue"]
        ]
        with translation.override(pref.language):
            for key, params in lines:
                Notification.objects.get_or_create(
                    recipient=user,
                    kind=Kind.COORDINATOR_DIGEST,
                    object_key=key,
                    local_date=today,
                    defaults={
                        "params": params,
                        "title": texts.text(Kind.COORDINATOR_DIGEST, params),
                        "url": "/",
                    },
                )
        if pref.mails(Kind.COORDINATOR_DIGEST) and user.email:
            Digest.objects.get_or_create(
                recipient=user, kind=DigestKind.COORDINATOR_WEEKLY, local_date=today
            )


def build_messages(digest: Digest) -> list[EmailMultiAlternatives]:
    """The digest's one message, in its recipient's language (their profile)."""
    user = digest.recipient
    pref = preference(user)
    wanted = set(
        {
            DigestKind.MONITOR_WEEKLY: MONITOR_KINDS,
            DigestKind.COORDINATOR_WEEKLY: COORDINATOR_KINDS,
        }.get(DigestKind(digest.kind), DAILY_KINDS)
    )
    notifications = [
        n
        for n in Notification.objects.filter(recipient=user, local_date=digest.local_date)
        if pref.mails(n.kind) and n.kind in wanted
    ]
    order = {kind: i for i, kind in enumerate(due.KIND_ORDER)}
    notifications.sort(key=lambda n: (order.get(n.kind, 99), n.pk))
    with translation.override(pref.language):
        groups: list[dict[str, Any]] = []
        for n in notifications:
            if not groups or groups[-1]["kind"] != n.kind:
                groups.append({"kind": n.kind, "label": Kind(n.kind).label, "items": []})
            groups[-1]["items"].append({"title": n.text, "url": base_url() + n.url})
        context = {
            "digest": digest,
            "groups": groups,
            "date": digest.local_date.isoformat(),
            "site": digest.site,
            "sites": ", ".join(f"{site.number} {site.name}" for site in sites_for_user(user)),
            "centre_url": base_url() + "/notifications/",
            "language": pref.language,
        }
        if digest.kind == DigestKind.COORDINATOR_WEEKLY:
            subject = _("EDC weekly enrolment and visit compliance %(date)s") % {
                "date": context["date"]
            }
        elif digest.kind == DigestKind.MONITOR_WEEKLY:
            subject = _("EDC weekly monitoring digest %(date)s") % {"date": context["date"]}
        else:
            subject = _("EDC daily reminders %(date)s") % {"date": context["date"]}
        text = render_to_string("notifications/mail/digest.txt", context)
        html = render_to_string("notifications/mail/digest.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
    message.attach_alternative(html, "text/html")
    return [message]


OUTBOX = "digest"  # its name in notifications.outbox


def register_outbox() -> None:
    outbox.register(OUTBOX, Digest, build_messages, label="Digest")


def send_digest(digest_id: int) -> Digest | None:
    """Send a pending digest once, through the one sending path of every mail
    (notifications.outbox.send). Raises on a mail error (the task retries) after
    recording it on the digest."""
    digest: Digest | None = outbox.send(OUTBOX, digest_id)
    return digest


def record_failure(digest_id: int, error: Exception, *, final: bool = False) -> None:
    outbox.record_failure(OUTBOX, digest_id, error, final=final)
