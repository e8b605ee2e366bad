"""The text of a notification, rendered in the reader's language when it is read.

A notification stores its kind and parameters (subject ID, visit or form code, days,
counts), never a sentence: the bell, the notification centre and the mail each render
it in the language of the person reading (the page's language; the mail language of
the recipient's profile), so a reminder collected for a Chinese-reading coordinator
reads in English to the English-reading PI of the same site, and the other way round.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications.models import Kind

SIGNATURE_VISITS_NAMED = 3  # more visits awaiting a signature: their number, first and last


def text(kind: str, params: dict[str, Any]) -> str:
    """The line a person reads, in the active language; the subject ID only."""
    if kind == Kind.COORDINATOR_DIGEST:
        return _coordinator_text(params)
    return _due_text(kind, params)


def params_of(item: Any) -> dict[str, Any]:
    """The parameters of a due.DueItem that its text needs."""
    return {
        "subject": item.subject_label,
        "code": item.code,
        "days": item.days,
        "count": item.count,
    }


def _coordinator_text(params: dict[str, Any]) -> str:
    line = params.get("line")
    if line == "enrolment":
        return _("Enrolled %(enrolled)d of %(target)d planned") % {
            "enrolled": int(params["enrolled"]),
            "target": int(params["target"]),
        }
    if line == "compliance":
        return _("Visits held in window: %(percent)d%%") % {"percent": int(params["percent"])}
    count = int(params.get("count", 0))
    return ngettext(
        "Site %(site)s: %(count)d overdue visit",
        "Site %(site)s: %(count)d overdue visits",
        count,
    ) % {"site": params.get("site", ""), "count": count}


def _due_text(kind: str, params: dict[str, Any]) -> str:
    s = str(params.get("subject", ""))
    code = str(params.get("code", ""))
    days = int(params.get("days", 0))
    count = int(params.get("count", 0))
    if kind == Kind.VISIT_WINDOW:
        return ngettext(
            "%(subject)s: window of visit %(visit)s opens in %(days)d day",
            "%(subject)s: window of visit %(visit)s opens in %(days)d days",
            days,
        ) % {
            "subject": s,
            "visit": code,
            "days": days,
        }
    if kind == Kind.VISIT_DUE:
        return _("%(subject)s: visit %(visit)s is due today") % {"subject": s, "visit": code}
    if kind == Kind.VISIT_OVERDUE:
        return ngettext(
            "%(subject)s: visit %(visit)s is %(days)d day overdue",
            "%(subject)s: visit %(visit)s is %(days)d days overdue",
            days,
        ) % {
            "subject": s,
            "visit": code,
            "days": days,
        }
    if kind == Kind.FORMS_MISSING:
        return ngettext(
            "%(subject)s: %(count)d form missing for visit %(visit)s",
            "%(subject)s: %(count)d forms missing for visit %(visit)s",
            count,
        ) % {
            "subject": s,
            "count": count,
            "visit": code,
        }
    if kind == Kind.QUERY_OLD:
        return ngettext(
            "%(subject)s: query on %(form)s open for %(days)d day",
            "%(subject)s: query on %(form)s open for %(days)d days",
            days,
        ) % {
            "subject": s,
            "form": code,
            "days": days,
        }
    if kind == Kind.SAE_DUE:
        if days < 0:
            return ngettext(
                "%(subject)s: SAE report overdue by %(hours)d hour",
                "%(subject)s: SAE report overdue by %(hours)d hours",
                -days,
            ) % {
                "subject": s,
                "hours": -days,
            }
        return ngettext(
            "%(subject)s: SAE report due within %(hours)d hour",
            "%(subject)s: SAE report due within %(hours)d hours",
            max(days, 1),
        ) % {
            "subject": s,
            "hours": max(days, 1),
        }
    if kind == Kind.SDV_WAITING:
        return ngettext(
            "Site %(site)s: %(count)d complete form awaiting source data verification",
            "Site %(site)s: %(count)d complete forms awaiting source data verification",
            count,
        ) % {"site": s, "count": count}
    if kind == Kind.SIGNATURE_WAITING:
        if days:
            return _("%(subject)s: casebook awaiting the PI's signature") % {"subject": s}
        visits = [v.strip() for v in code.split(",") if v.strip()]
        if len(visits) > SIGNATURE_VISITS_NAMED:
            return ngettext(
                "%(subject)s: %(count)d visit awaiting the PI's signature (%(first)s to %(last)s)",
                "%(subject)s: %(count)d visits awaiting the PI's signature (%(first)s to %(last)s)",
                len(visits),
            ) % {"subject": s, "count": len(visits), "first": visits[0], "last": visits[-1]}
        return ngettext(
            "%(subject)s: visit %(visits)s awaiting the PI's signature",
            "%(subject)s: visits %(visits)s awaiting the PI's signature",
            len(visits),
        ) % {"subject": s, "visits": code}
    return s
