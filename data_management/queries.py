"""Queries: a question on a form, one of its values or a repeating row, and its thread.

States (issue 12, "Queries"): open -> answered -> closed; re-open from answered or closed
back to open. A monitor or data manager (``manage_queries``) raises, closes and re-opens;
an investigator or site coordinator of the subject's site (``enter_clinical_data``)
answers. Anyone who may see the subject and holds one of those two permissions may add a
comment, which changes no state. Every step is a QueryMessage (who, when, text, the state
it left) and an entry in the subject's audit chain (crf.audit, action QUERY, record
data_management.Query and its id, with the form code, visit code, group, row key and
variable of the query; old/new value = the status before/after; reason text = the
step's text), so the subject page's cache (keyed on the chain head) follows.

Automatic queries (data_management.auto_queries) come from soft edit-check findings and
close themselves when the data no longer trigger the check.

A step is refused (ValidationError naming the lock) where the data it is about are locked:
the crf.registry write guards are asked with action "query". The services take ``actor=``
and check the permission and the site scope themselves: a subject of another site raises
PermissionDenied (a view turns it into its 404 by looking the subject up with
``Subject.objects.for_user`` first).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crf import audit, registry
from crf.models import AuditAction, AuditSource
from data_management.models import Query, QueryMessage, QueryOrigin, QueryStatus, QueryStep
from study.models import Subject
from study.roles import ENTER, QUERIES, VIEW, perm
from study.scoping import site_ids_for_user

if TYPE_CHECKING:
    from crf.registry import FormSpec

__all__ = [
    "answer_query",
    "close_query",
    "comment_query",
    "connect",
    "queries_for_user",
    "raise_query",
    "reopen_query",
]


# --- Reads ---------------------------------------------------------------------------------


def queries_for_user(user: Any) -> QuerySet[Query]:
    """Every query on a subject the user may see (site scoping of
    ``Subject.objects.for_user``), newest first, with subject and site joined.

    Nothing for a user without ``view_clinical_data``.
    """
    if not user.is_authenticated or not user.has_perm(perm(VIEW)):
        return Query.objects.none()
    queries = Query.objects.select_related("subject", "subject__site")
    site_ids = site_ids_for_user(user)
    if site_ids is None:
        return queries.all()
    return queries.filter(subject__site_id__in=site_ids)


def with_threads(queries: QuerySet[Query]) -> QuerySet[Query]:
    """The queries with what a listing of them reads (subject, site, raiser, closer, the
    thread and its authors) in a constant number of SQL queries."""
    return queries.select_related("subject__site", "raised_by", "closed_by").prefetch_related(
        Prefetch("messages", queryset=QueryMessage.objects.select_related("author"))
    )


def _utc(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds") if at is not None else None


def query_document(query: Query) -> dict[str, Any]:
    """One query as plain data (``manage.py queries --json``): where it is (subject ID,
    site number, visit, form, group, crf-spec variable, row key), origin, check, status,
    text, raised/answered/closed times in ISO 8601 UTC, and its thread (step, author's
    username or "system", time, text, status after the step). Reads ``with_threads``'
    joins."""
    return {
        "id": query.pk,
        "subject": query.subject.label,
        "site": query.subject.site.number,
        "visit": query.visit_code,
        "form": query.form_code,
        "group": query.group,
        "variable": query.variable,
        "row_key": query.row_key,
        "origin": query.origin,
        "check_code": query.check_code,
        "status": query.status,
        "text": query.text,
        "raised_by": query.raised_by.get_username() if query.raised_by else "system",
        "raised_at": _utc(query.raised_at),
        "answered_at": _utc(query.answered_at),
        "closed_at": _utc(query.closed_at),
        "thread": [
            {
                "step": message.step,
                "author": message.author.get_username() if message.author else "system",
                "at": _utc(message.at),
                "text": message.text,
                "status": message.status_after,
            }
            for message in query.messages.all()
        ],
    }


# --- Permission and scope ------------------------------------------------------------------


def _require(actor: Any, codename: str, subject_id: int) -> None:
    """PermissionDenied unless ``actor`` holds ``codename`` and may see the subject."""
    if actor is None or not actor.is_authenticated or not actor.has_perm(perm(codename)):
        raise PermissionDenied(_("You may not do this with queries."))
    if not Subject.objects.for_user(actor).filter(pk=subject_id).exists():
        raise PermissionDenied(_("This subject is not one of your sites' subjects."))


def _text(text: str, *, required: bool, message: str) -> str:
    cleaned = (text or "").strip()
    if required and not cleaned:
        raise ValidationError({"text": message})
    return cleaned


# --- Where a query points ------------------------------------------------------------------


def _spec(form_code: str) -> FormSpec:
    try:
        return registry.get(form_code)
    except KeyError:
        raise ValidationError(
            {"form_code": _("%(form)s is not a form of this study.") % {"form": form_code}}
        ) from None


def validate_target(
    *,
    subject: Subject,
    form_code: str,
    instance: Any,
    group: str = "",
    row_key: str = "",
    variable: str = "",
) -> FormSpec:
    """Check that a query's place exists: ``instance`` is the subject's (not deleted) form
    ``form_code``; ``group`` one of its repeating groups with ``row_key`` the key of one of
    its rows present on the form; ``variable`` a crf-spec variable of the form, or of the
    group when a group is given. ValidationError (by field) otherwise."""
    spec = _spec(form_code)
    if (
        instance is None
        or not isinstance(instance, spec.model)
        or instance.pk is None
        or instance.subject_id != subject.pk
        or getattr(instance, "is_deleted", False)
    ):
        raise ValidationError({"form_code": _("This form is not a saved form of this subject.")})
    if row_key and not group:
        raise ValidationError({"row_key": _("A row needs its group.")})
    if group:
        group_spec = next((g for g in spec.groups if g.name == group), None)
        if group_spec is None:
            raise ValidationError(
                {
                    "group": _("%(form)s has no group %(group)s.")
                    % {"form": spec.code, "group": group}
                }
            )
        if not row_key:
            raise ValidationError({"row_key": _("Choose the row the query is about.")})
        from crf.services import group_rows

        key_field = group_spec.variable(group_spec.key).field_name
        keys = {str(getattr(row, key_field)) for row in group_rows(spec, group_spec, instance)}
        if row_key not in keys:
            raise ValidationError(
                {
                    "row_key": _("%(group)s has no row %(row)s on this form.")
                    % {"group": group, "row": row_key}
                }
            )
        names = {v.name for v in group_spec.variables}
    else:
        names = {v.name for v in spec.variables}
    if variable and variable not in names:
        raise ValidationError(
            {
                "variable": _("%(form)s has no variable %(variable)s.")
                % {"form": ".".join(p for p in (spec.code, group) if p), "variable": variable}
            }
        )
    return spec


# --- Steps ---------------------------------------------------------------------------------


def _audit_rows(
    query: Query, steps: Sequence[tuple[Any, dt.datetime, str, str, str]]
) -> list[dict[str, Any]]:
    """Audit entries (crf.audit.append rows) for (actor, at, old status, new status, text)."""
    return [
        {
            "at": at,
            "actor": actor,
            "actor_username": actor.get_username() if actor is not None else "system",
            "subject_id": query.subject_id,
            "action": AuditAction.QUERY,
            "form_code": query.form_code,
            "visit_code": query.visit_code,
            # The query's own record (not the form's): the form's latest entries stay its
            # value changes (outcomes.services.status_after_form_saved reads the cause of
            # a change there; the field history lists values).
            "object_model": query._meta.label,
            "object_id": query.pk,
            "group": query.group,
            "row_key": query.row_key,
            "variable": query.variable,
            "old_value": old or None,
            "new_value": new,
            "reason_code": "",
            "reason_text": text,
            "source": AuditSource.WEB if actor is not None else AuditSource.SERVICE,
            "file_sha256": "",
        }
        for actor, at, old, new, text in steps
    ]


def _step(
    query: Query, *, actor: Any, step: str, text: str, old_status: str, at: dt.datetime
) -> QueryMessage:
    """Write one step of the thread and its audit entry (the caller saved the query)."""
    message = QueryMessage.objects.create(
        query=query, step=step, author=actor, at=at, text=text, status_after=query.status
    )
    audit.append(_audit_rows(query, [(actor, at, old_status, query.status, text)]))
    return message


def _locked(query: Query, *, actor: Any) -> Query:
    """The query re-read under a row lock (two people acting on it at once), once the
    write guards (a lock of its form, visit, subject or the study) let it change."""
    query = Query.objects.select_for_update(of=("self",)).select_related("subject").get(pk=query.pk)
    spec = registry.get(query.form_code)
    instance = spec.model.objects.select_related("visit").filter(pk=query.object_id).first()
    _check_write(actor, query.subject, spec, instance)
    return query


def _check_write(actor: Any, subject: Subject, spec: FormSpec, instance: Any) -> None:
    """A query step is refused where the data it is about are locked (crf.registry write
    guards, action "query"): the ValidationError names the lock."""
    registry.check_write(
        registry.WriteAttempt(
            actor,
            subject,
            spec,
            visit=getattr(instance, "visit", None),
            instance=instance,
            action="query",
        )
    )


@transaction.atomic
def raise_query(
    *,
    actor: Any,
    subject: Subject,
    form_code: str,
    instance: Any,
    text: str,
    group: str = "",
    row_key: str = "",
    variable: str = "",
) -> Query:
    """A monitor or data manager raises a query on a form (``instance``, the form row of
    ``form_code``), on one of its repeating rows (``group`` + ``row_key``), or on one value
    (``variable``, with ``group``/``row_key`` for a row's value).

    Needs ``manage_queries`` and the subject in the actor's sites (PermissionDenied);
    ``text`` required and the place must exist (ValidationError by field). Writes the
    query (open), its first message (step RAISE) and an audit entry (status "" -> open).
    """
    _require(actor, QUERIES, subject.pk)
    cleaned = _text(text, required=True, message=_("Write the question for the site."))
    spec = validate_target(
        subject=subject,
        form_code=form_code,
        instance=instance,
        group=group,
        row_key=row_key,
        variable=variable,
    )
    _check_write(actor, subject, spec, instance)
    now = timezone.now()
    query = Query.objects.create(
        subject=subject,
        form_code=spec.code,
        visit_code=instance.visit.code if getattr(instance, "visit", None) is not None else "",
        object_model=instance._meta.label,
        object_id=instance.pk,
        group=group,
        row_key=row_key,
        variable=variable,
        origin=QueryOrigin.MANUAL,
        status=QueryStatus.OPEN,
        text=cleaned,
        raised_by=actor,
        raised_at=now,
    )
    _step(query, actor=actor, step=QueryStep.RAISE, text=cleaned, old_status="", at=now)
    return query


@transaction.atomic
def answer_query(*, actor: Any, query: Query, text: str) -> Query:
    """An investigator or site coordinator of the subject's site answers an open query
    (usually after correcting the value through the form, with its reason for change).

    Needs ``enter_clinical_data`` and the subject in the actor's sites; ``text`` required;
    only an open query (ValidationError otherwise). Sets ``answered_at`` (the latest
    answer); writes the step ANSWER and its audit entry (open -> answered).
    """
    _require(actor, ENTER, query.subject_id)
    cleaned = _text(text, required=True, message=_("Write the answer for the monitor."))
    query = _locked(query, actor=actor)
    if query.status != QueryStatus.OPEN:
        raise ValidationError(
            _("Only an open query can be answered; this one is %(status)s.")
            % {"status": query.get_status_display().lower()}
        )
    now = timezone.now()
    query.status = QueryStatus.ANSWERED
    query.answered_at = now
    query.save(update_fields=["status", "answered_at"])
    _step(
        query, actor=actor, step=QueryStep.ANSWER, text=cleaned, old_status=QueryStatus.OPEN, at=now
    )
    return query


@transaction.atomic
def close_query(*, actor: Any, query: Query, text: str = "") -> Query:
    """A monitor or data manager closes a query: usually once answered; an open query may
    be closed too (raised in error, or the value confirmed from the source without an
    answer). ``text`` optional.

    Needs ``manage_queries`` and the subject in the actor's sites; a closed query cannot be
    closed again (ValidationError). Sets ``closed_at``/``closed_by``; step CLOSE and its
    audit entry (open|answered -> closed).
    """
    _require(actor, QUERIES, query.subject_id)
    cleaned = _text(text, required=False, message="")
    query = _locked(query, actor=actor)
    if query.status == QueryStatus.CLOSED:
        raise ValidationError(_("This query is already closed."))
    old = query.status
    now = timezone.now()
    query.status = QueryStatus.CLOSED
    query.closed_at = now
    query.closed_by = actor  # type: ignore[assignment]
    query.save(update_fields=["status", "closed_at", "closed_by"])
    _step(query, actor=actor, step=QueryStep.CLOSE, text=cleaned, old_status=old, at=now)
    return query


@transaction.atomic
def reopen_query(*, actor: Any, query: Query, text: str) -> Query:
    """A monitor or data manager re-opens an answered or closed query, saying why.

    Needs ``manage_queries`` and the subject in the actor's sites; ``text`` required; an
    open query cannot be re-opened (ValidationError). Clears ``closed_at``/``closed_by``
    (the query is no longer closed; the thread keeps the closure); step REOPEN and its
    audit entry (answered|closed -> open).
    """
    _require(actor, QUERIES, query.subject_id)
    cleaned = _text(text, required=True, message=_("Say why the query is re-opened."))
    query = _locked(query, actor=actor)
    if query.status == QueryStatus.OPEN:
        raise ValidationError(_("This query is already open."))
    return _reopen(query, actor=actor, text=cleaned)


def _reopen(query: Query, *, actor: Any, text: str) -> Query:
    old = query.status
    now = timezone.now()
    query.status = QueryStatus.OPEN
    query.closed_at = None
    query.closed_by = None
    query.save(update_fields=["status", "closed_at", "closed_by", "finding"])
    _step(query, actor=actor, step=QueryStep.REOPEN, text=text, old_status=old, at=now)
    return query


@transaction.atomic
def comment_query(*, actor: Any, query: Query, text: str) -> Query:
    """Add a comment to a query's thread without changing its state (either side).

    Needs ``manage_queries`` or ``enter_clinical_data`` and the subject in the actor's
    sites; ``text`` required; step COMMENT and its audit entry (status unchanged).
    """
    codename = QUERIES if actor is not None and actor.has_perm(perm(QUERIES)) else ENTER
    _require(actor, codename, query.subject_id)
    cleaned = _text(text, required=True, message=_("Write the comment."))
    query = _locked(query, actor=actor)
    now = timezone.now()
    _step(query, actor=actor, step=QueryStep.COMMENT, text=cleaned, old_status=query.status, at=now)
    return query


# --- Hooks ---------------------------------------------------------------------------------


def connect() -> None:
    """Register this concern's hooks (called from DataManagementConfig.ready): the finding
    listener that raises and closes automatic queries; then the query pages' own hooks
    (data_management.query_ui.connect) when that module exists."""
    from data_management import auto_queries

    registry.register_finding_listener(auto_queries.findings_changed)
    if importlib.util.find_spec("data_management.query_ui") is not None:
        from data_management import query_ui  # type: ignore[attr-defined,unused-ignore]

        query_ui.connect()
