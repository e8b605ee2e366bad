"""Data management: locks of a form, a visit, a subject or the whole study.

A data manager locks with a reason and unlocks with a reason (ICH E6(R3) database lock;
21 CFR Part 11 §11.10(e): each step audited). A lock is a ``Lock`` row, lifted by setting
its ``unlocked_*`` fields, never deleted. While a lock is active nothing it covers can
change by any path: one write guard (``refuse_locked_write``, registered with
crf.registry) is asked before every form save or deletion (the web form, the import's
SubjectBatch, the demo, any service) and by the services that write a subject or a visit
without a form (enrolment, a visit declared missed, the EOT visit opened, the study data
file), and refuses with a message naming the lock: level, who, when and why. Under a study
lock everything is read-only except the study's unlock; reading, exports and PDFs work.

Concurrency: a lock of a subject (or of its visit or form) holds the subject's row, as
every writer of the subject does before the guard is asked, so a write and a lock of the
same subject run one after the other; a study lock holds every subject's row.
"""

from __future__ import annotations

import importlib
import zoneinfo
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crf import audit, registry
from crf.models import AuditAction, CaseReportForm, ChangeReason, Visit
from crf.registry import FormSpec, WriteAttempt
from data_management.models import Lock, LockLevel
from study.models import Site, Subject
from study.roles import LOCK, perm
from study.timezones import site_zone

# The audit entry's form code of a lock that is not of one form.
AUDIT_FORM_CODES = {LockLevel.VISIT: "VISIT", LockLevel.SUBJECT: "SUBJ", LockLevel.STUDY: "STUDY"}


# --- Reading the locks in force --------------------------------------------------------------


def active_locks(subject: Subject | None) -> list[Lock]:
    """The active locks that may cover a write to ``subject`` (None: the study as a whole):
    the study's and the subject's own (of the subject, its visits and forms). One query."""
    active = Lock.objects.filter(unlocked_at__isnull=True)
    if subject is None:
        active = active.filter(level=LockLevel.STUDY)
    else:
        active = active.filter(Q(level=LockLevel.STUDY) | Q(subject_id=subject.pk))
    return list(active.select_related("locked_by", "subject__site", "visit"))


def study_lock() -> Lock | None:
    """The active study lock, if any."""
    return (
        Lock.objects.filter(unlocked_at__isnull=True, level=LockLevel.STUDY)
        .select_related("locked_by")
        .first()
    )


def covering_lock(
    locks: Sequence[Lock], *, visit: Visit | None = None, instance: Any = None
) -> Lock | None:
    """The lock among ``locks`` (``active_locks`` of the subject) that covers a write to
    ``visit`` or the form ``instance``: the study's, else the subject's, else the
    visit's, else the form's own."""
    by_level: dict[str, Lock] = {}
    for lock in locks:
        if lock.level == LockLevel.STUDY or lock.level == LockLevel.SUBJECT:
            by_level.setdefault(lock.level, lock)
        elif lock.level == LockLevel.VISIT:
            if visit is not None and lock.visit_id == visit.pk:
                by_level.setdefault(lock.level, lock)
        elif (
            instance is not None
            and instance.pk is not None
            and lock.object_model == instance._meta.label
            and lock.object_id == instance.pk
        ):
            by_level.setdefault(lock.level, lock)
    for level in (LockLevel.STUDY, LockLevel.SUBJECT, LockLevel.VISIT, LockLevel.FORM):
        if level in by_level:
            return by_level[level]
    return None


def _zone(site: Site | None) -> zoneinfo.ZoneInfo:
    return site_zone(site)


def local_day(moment: Any, site: Site | None) -> str:
    """A moment's date (YYYY-MM-DD) in the site's zone (the study's default zone)."""
    return str(moment.astimezone(_zone(site)).date().isoformat())


def what_is_locked(lock: Lock) -> str:
    """What the lock covers, as a sentence's subject: "the study", "subject 01-003",
    "visit C2D1 of subject 01-003", "Vital signs (VS) at C2D1 of subject 01-003"."""
    if lock.level == LockLevel.STUDY:
        return _("the study")
    assert lock.subject is not None
    subject = lock.subject.label
    if lock.level == LockLevel.SUBJECT:
        return _("subject %(subject)s") % {"subject": subject}
    if lock.level == LockLevel.VISIT:
        code = lock.visit.code if lock.visit is not None else ""
        return _("visit %(visit)s of subject %(subject)s") % {"visit": code, "subject": subject}
    try:
        title = str(registry.get(lock.form_code).title)
    except KeyError:
        title = lock.form_code
    if lock.visit is not None:
        return _("%(form)s (%(code)s) at %(visit)s of subject %(subject)s") % {
            "form": title,
            "code": lock.form_code,
            "visit": lock.visit.code,
            "subject": subject,
        }
    return _("%(form)s (%(code)s) of subject %(subject)s") % {
        "form": title,
        "code": lock.form_code,
        "subject": subject,
    }


def lock_sentence(lock: Lock) -> str:
    """What is locked, by whom, when and why: "The study was locked by dm on 2026-12-01
    (database lock for the final analysis)" (under a "Locked" heading)."""
    return capfirst(
        _("%(what)s was locked by %(who)s on %(day)s (%(reason)s)")
        % {
            "what": what_is_locked(lock),
            "who": lock.locked_by.get_username(),
            "day": local_day(lock.locked_at, lock.subject.site if lock.subject else None),
            "reason": lock.reason,
        }
    )


def lock_message(lock: Lock) -> str:
    """Why a write is refused: "Locked: the study was locked by dm on 2026-12-01
    (database lock for the final analysis)"."""
    return _("Locked: %(what)s was locked by %(who)s on %(day)s (%(reason)s)") % {
        "what": what_is_locked(lock),
        "who": lock.locked_by.get_username(),
        "day": local_day(lock.locked_at, lock.subject.site if lock.subject else None),
        "reason": lock.reason,
    }


# --- The one guard --------------------------------------------------------------------------


def refuse_locked_write(attempt: WriteAttempt) -> None:
    """crf.registry write guard: refuse a write an active lock covers, naming the lock.

    The locks of a SubjectBatch's subject are read once for the batch (an import saves tens
    of forms a subject): no lock of the subject can come or go while the batch holds it.
    """
    if attempt.batch is not None and attempt.subject is not None:
        kept: dict[int, list[Lock]] = attempt.batch.__dict__.setdefault("_edc_locks", {})
        if attempt.subject.pk not in kept:
            kept[attempt.subject.pk] = active_locks(attempt.subject)
        locks = kept[attempt.subject.pk]
    else:
        locks = active_locks(attempt.subject)
    if not locks:
        return
    lock = covering_lock(locks, visit=attempt.visit, instance=attempt.instance)
    if lock is not None:
        raise ValidationError(lock_message(lock), code="locked")


def _request_locks(request: Any, subject: Subject) -> list[Lock]:
    """``active_locks`` of the subject, read once per request (the form page asks twice)."""
    kept: dict[int, list[Lock]] = request.__dict__.setdefault("_edc_locks", {})
    if subject.pk not in kept:
        kept[subject.pk] = active_locks(subject)
    return kept[subject.pk]


def form_blocked(request: Any, spec: FormSpec, subject: Subject, visit: Any, instance: Any) -> str:
    """crf.registry edit blocker: a locked form is shown read-only to everyone."""
    lock = covering_lock(_request_locks(request, subject), visit=visit, instance=instance)
    return lock_message(lock) if lock is not None else ""


# --- Locking and unlocking (services) -------------------------------------------------------


def _may_lock(actor: Any) -> None:
    if actor is None or not actor.has_perm(perm(LOCK)):
        raise PermissionDenied(_("Only a data manager may lock or unlock data."))


def _reason(reason: str, *, unlocking: bool = False) -> str:
    text = (reason or "").strip()
    if not text:
        message = (
            _("Give the reason for unlocking.") if unlocking else _("Give the reason for locking.")
        )
        raise ValidationError({"reason": message})
    return text


def _refuse_under_study_lock() -> None:
    """Under a study lock only the study's unlock is allowed."""
    lock = study_lock()
    if lock is not None:
        raise ValidationError(lock_message(lock), code="locked")


def _active_of(**target: Any) -> Lock | None:
    return (
        Lock.objects.select_for_update(of=("self",))
        .filter(unlocked_at__isnull=True, **target)
        .select_related("locked_by", "subject__site", "visit")
        .first()
    )


def _audit(lock: Lock, *, actor: Any, locking: bool, reason: str) -> None:
    """The step in the subject's audit chain (the study's chain for a study lock)."""
    audit.record(
        actor=actor,
        action=AuditAction.LOCK if locking else AuditAction.UNLOCK,
        form_code=lock.form_code or AUDIT_FORM_CODES[LockLevel(lock.level)],
        obj=lock,
        subject_id=lock.subject_id,
        visit_code=lock.visit.code if lock.visit is not None else "",
        changes=[("LOCK", None, lock.level) if locking else ("LOCK", lock.level, None)],
        reason_code=ChangeReason.OTHER,
        reason_text=reason,
    )


def _create(actor: Any, reason: str, **target: Any) -> Lock:
    if _active_of(**target) is not None:
        raise ValidationError(_("This is locked already."), code="already_locked")
    lock = Lock.objects.create(**target, reason=reason, locked_by=actor, locked_at=timezone.now())
    _audit(lock, actor=actor, locking=True, reason=reason)
    return lock


def lock_form(*, actor: Any, spec: FormSpec, instance: CaseReportForm, reason: str) -> Lock:
    """Lock one form (and its repeating rows): no change or deletion until unlocked.

    Side effects: a Lock row and a LOCK entry in the subject's audit chain. Raises
    PermissionDenied for anyone but a data manager, ValidationError without a reason,
    when the form is locked already, or under a study lock.
    """
    _may_lock(actor)
    text = _reason(reason)
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=instance.subject_id)
        _refuse_under_study_lock()
        if instance.is_deleted:
            raise ValidationError(_("A deleted form cannot be locked."))
        return _create(
            actor,
            text,
            level=LockLevel.FORM,
            subject=subject,
            visit=instance.visit,
            form_code=spec.code,
            object_model=instance._meta.label,
            object_id=instance.pk,
        )


def lock_visit(*, actor: Any, visit: Visit, reason: str) -> Lock:
    """Lock a visit: none of its forms may be added, changed or deleted, nor the visit
    declared missed. Side effects and errors as ``lock_form``."""
    _may_lock(actor)
    text = _reason(reason)
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=visit.subject_id)
        _refuse_under_study_lock()
        return _create(actor, text, level=LockLevel.VISIT, subject=subject, visit=visit)


def lock_subject(*, actor: Any, subject: Subject, reason: str) -> Lock:
    """Lock a subject: nothing of the subject may change (forms, visits, enrolment).
    Side effects and errors as ``lock_form``."""
    _may_lock(actor)
    text = _reason(reason)
    with transaction.atomic():
        locked = (
            Subject.objects.select_for_update(of=("self",))
            .select_related("site")
            .get(pk=subject.pk)
        )
        _refuse_under_study_lock()
        return _create(actor, text, level=LockLevel.SUBJECT, subject=locked)


def lock_study(*, actor: Any, reason: str) -> Lock:
    """Lock the whole study (the database lock): every write is refused until unlocked.

    Holds every subject's row first, so writes under way finish before it and later ones
    see it. Side effects: a Lock row, a LOCK entry in the study's audit chain, and an
    anchor of the audit trail (data_management.anchors, when present). Raises as
    ``lock_form`` (ValidationError when the study is locked already).
    """
    _may_lock(actor)
    text = _reason(reason)
    with transaction.atomic():
        list(Subject.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
        lock = _create(actor, text, level=LockLevel.STUDY)
        _write_anchor(actor)
        return lock


def _write_anchor(actor: Any) -> None:
    """Anchor the audit trail's heads outside the database at the lock (issue: "daily and at
    every lock"), when the anchors module is there."""
    try:
        write_anchor = importlib.import_module("data_management.anchors").write_anchor
    except (ImportError, AttributeError):
        return
    write_anchor(actor=actor, why="study lock")


def unlock(*, actor: Any, lock: Lock, reason: str) -> Lock:
    """Lift a lock with a reason: the row keeps who locked, when and why, and now who
    unlocked, when and why; an UNLOCK entry in the subject's (or the study's) audit chain.

    Raises PermissionDenied for anyone but a data manager, ValidationError without a
    reason, when the lock is lifted already, or (a lock other than the study's) under a
    study lock.
    """
    _may_lock(actor)
    text = _reason(reason, unlocking=True)
    with transaction.atomic():
        if lock.level == LockLevel.STUDY:
            list(Subject.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
        else:
            Subject.objects.select_for_update().filter(pk=lock.subject_id or 0).first()
            _refuse_under_study_lock()
        current = (
            Lock.objects.select_for_update(of=("self",))
            .select_related("locked_by", "subject__site", "visit")
            .get(pk=lock.pk)
        )
        if current.unlocked_at is not None:
            raise ValidationError(_("This is not locked."), code="not_locked")
        current.unlocked_at, current.unlocked_by = timezone.now(), actor
        current.unlock_reason = text
        current.save(update_fields=["unlocked_at", "unlocked_by", "unlock_reason"])
        _audit(current, actor=actor, locking=False, reason=text)
        return current


def _unlock_target(actor: Any, reason: str, **target: Any) -> Lock:
    lock = Lock.objects.filter(unlocked_at__isnull=True, **target).first()
    if lock is None:
        _may_lock(actor)
        raise ValidationError(_("This is not locked."), code="not_locked")
    return unlock(actor=actor, lock=lock, reason=reason)


def unlock_form(*, actor: Any, instance: CaseReportForm, reason: str) -> Lock:
    """Lift the form's own lock (see ``unlock``)."""
    return _unlock_target(
        actor,
        reason,
        level=LockLevel.FORM,
        object_model=instance._meta.label,
        object_id=instance.pk,
    )


def unlock_visit(*, actor: Any, visit: Visit, reason: str) -> Lock:
    """Lift the visit's lock (see ``unlock``)."""
    return _unlock_target(actor, reason, level=LockLevel.VISIT, visit=visit)


def unlock_subject(*, actor: Any, subject: Subject, reason: str) -> Lock:
    """Lift the subject's lock (see ``unlock``)."""
    return _unlock_target(actor, reason, level=LockLevel.SUBJECT, subject=subject)


def unlock_study(*, actor: Any, reason: str) -> Lock:
    """Lift the study lock (see ``unlock``)."""
    return _unlock_target(actor, reason, level=LockLevel.STUDY)


# --- Registration -----------------------------------------------------------------------------


def connect() -> None:
    """Register this concern's hooks and navigation (called from DataManagementConfig)."""
    from data_management import lock_views
    from study import home_panels, navigation

    registry.register_write_guard(refuse_locked_write)
    registry.register_edit_blocker(form_blocked)
    registry.register_form_panel(lock_views.form_panel, order=10)
    registry.register_subject_panel(lock_views.subject_panel, order=5, live=True)
    home_panels.register(lock_views.home_panel, order=5)
    navigation.register(
        navigation.NavItem(gettext_lazy("Locks"), "data_management:locks", LOCK, order=75)
    )
