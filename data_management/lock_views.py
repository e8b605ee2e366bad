"""Pages and panels of locks: the data manager's locks page (the study lock), the lock of a
subject, a visit or a form from their pages, the "Locked" banners every reader sees."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crf import registry, selectors
from crf.models import Visit
from crf.registry import FormSpec
from data_management import locks
from data_management.models import Lock, LockLevel
from study.models import Subject
from study.roles import LOCK, VIEW, perm
from study.scoping import require_perm, subject_view

PAST_LOCKS_SHOWN = 50


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("Give the reason.")},
    )


def _lock_row(lock: Lock) -> dict[str, Any]:
    """A lock as the tables show it: what, who and when (site's zone), why, and where."""
    site = lock.subject.site if lock.subject is not None else None
    url = ""
    if lock.subject is not None:
        url = reverse("crf:subject_detail", kwargs={"subject_pk": lock.subject_id})
        if lock.level == LockLevel.FORM and lock.object_id is not None:
            try:
                spec = registry.get(lock.form_code)
            except KeyError:
                spec = None
            if spec is not None:
                url = _form_url(lock.subject, spec, lock.object_id, lock.visit)
    return {
        "lock": lock,
        "what": locks.what_is_locked(lock),
        "message": locks.lock_message(lock),
        "sentence": locks.lock_sentence(lock),
        "level": lock.get_level_display(),
        "locked_on": locks.local_day(lock.locked_at, site),
        "unlocked_on": locks.local_day(lock.unlocked_at, site) if lock.unlocked_at else "",
        "url": url,
    }


def _form_url(subject: Subject, spec: FormSpec, pk: int, visit: Visit | None) -> str:
    if spec.is_log and not spec.once_per_subject:
        kwargs: dict[str, Any] = {"subject_pk": subject.pk, "form_code": spec.code, "record_pk": pk}
        return reverse("crf:log_record", kwargs=kwargs)
    if visit is not None:
        kwargs = {"subject_pk": subject.pk, "visit_code": visit.code, "form_code": spec.code}
        return reverse("crf:visit_form", kwargs=kwargs)
    return reverse("crf:form", kwargs={"subject_pk": subject.pk, "form_code": spec.code})


def _rows(queryset: Any) -> list[dict[str, Any]]:
    related = queryset.select_related("locked_by", "unlocked_by", "subject__site", "visit")
    return [_lock_row(lock) for lock in related]


@require_perm(LOCK)
def locks_page(request: HttpRequest) -> HttpResponse:
    """Active and past locks of the study (of the data manager's sites: all), and the
    study's lock and unlock with a reason. Other levels are locked from their pages."""
    study_lock = locks.study_lock()
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            if study_lock is None:
                locks.lock_study(actor=request.user, reason=reason)
                done = _("The study is locked: nothing can be changed until it is unlocked.")
            else:
                locks.unlock_study(actor=request.user, reason=reason)
                done = _("The study is unlocked.")
        except ValidationError as error:
            form.add_error("reason" if hasattr(error, "error_dict") else None, error)
        else:
            messages.success(request, done)
            return redirect("data_management:locks")
    visible = Subject.objects.for_user(request.user)
    in_scope = Lock.objects.filter(subject__isnull=True) | Lock.objects.filter(subject__in=visible)
    context = {
        "study_lock": _lock_row(study_lock) if study_lock is not None else None,
        "form": form,
        "active": _rows(in_scope.filter(unlocked_at__isnull=True).order_by("-locked_at", "-id")),
        "past": _rows(
            in_scope.filter(unlocked_at__isnull=False).order_by("-unlocked_at", "-id")[
                :PAST_LOCKS_SHOWN
            ]
        ),
        "past_limit": PAST_LOCKS_SHOWN,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "data_management/locks/page.html", context, status=status)


# --- Lock and unlock from a subject's, visit's or form's page ---------------------------------


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _lock_or_unlock(request: HttpRequest, *, back: str, lock: Any, unlock: Any) -> HttpResponse:
    """POST action=lock|unlock with a reason: call the service, say what happened."""
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "").strip()
    back = _next_url(request, back)
    if action not in ("lock", "unlock"):
        messages.error(request, _("Choose to lock or to unlock."))
        return redirect(back)
    try:
        (lock if action == "lock" else unlock)(reason)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Locked.") if action == "lock" else _("Unlocked."))
    return redirect(back)


@subject_view(VIEW, LOCK)
@require_POST
def lock_subject(request: HttpRequest, subject: Subject) -> HttpResponse:
    """Lock or unlock the subject (data manager, with a reason)."""
    actor = request.user
    return _lock_or_unlock(
        request,
        back=reverse("crf:subject_detail", kwargs={"subject_pk": subject.pk}),
        lock=lambda reason: locks.lock_subject(actor=actor, subject=subject, reason=reason),
        unlock=lambda reason: locks.unlock_subject(actor=actor, subject=subject, reason=reason),
    )


@subject_view(VIEW, LOCK)
@require_POST
def lock_visit(request: HttpRequest, subject: Subject) -> HttpResponse:
    """Lock or unlock one of the subject's visits, posted as ``visit`` (its code: a choice
    on the subject's page), by a data manager with a reason."""
    back = reverse("crf:subject_detail", kwargs={"subject_pk": subject.pk})
    visit = Visit.objects.filter(subject=subject, code=request.POST.get("visit", "")).first()
    if visit is None:
        messages.error(request, _("Choose the visit."))
        return redirect(_next_url(request, back))
    actor = request.user
    return _lock_or_unlock(
        request,
        back=f"{back}#visit-{visit.code}",
        lock=lambda reason: locks.lock_visit(actor=actor, visit=visit, reason=reason),
        unlock=lambda reason: locks.unlock_visit(actor=actor, visit=visit, reason=reason),
    )


@subject_view(VIEW, LOCK)
@require_POST
def lock_form(
    request: HttpRequest, subject: Subject, form_code: str, record_pk: int
) -> HttpResponse:
    """Lock or unlock one form of the subject (data manager, with a reason)."""
    try:
        spec = registry.get(form_code)
    except KeyError:
        return _not_found()
    instance = get_object_or_404(
        spec.model.objects.filter(subject=subject, is_deleted=False), pk=record_pk
    )
    actor = request.user
    return _lock_or_unlock(
        request,
        back=selectors.form_url(subject, spec, instance),
        lock=lambda reason: locks.lock_form(
            actor=actor, spec=spec, instance=instance, reason=reason
        ),
        unlock=lambda reason: locks.unlock_form(actor=actor, instance=instance, reason=reason),
    )


def _not_found() -> HttpResponse:
    from django.http import Http404

    raise Http404(_("No such form."))


# --- Panels -----------------------------------------------------------------------------------


def form_panel(
    request: HttpRequest, spec: FormSpec, subject: Subject, visit: Any, instance: Any
) -> str:
    """Above a form: a "Locked" banner for everyone while a lock covers it; for a data
    manager, the form's own lock or unlock (a saved form, outside a study lock)."""
    active = locks._request_locks(request, subject)
    covering = locks.covering_lock(active, visit=visit, instance=instance)
    may_lock = request.user.has_perm(perm(LOCK)) and instance is not None and instance.pk
    if covering is None and not may_lock:
        return ""
    own = None
    if instance is not None and instance.pk:
        own = next(
            (
                lock
                for lock in active
                if lock.level == LockLevel.FORM
                and lock.object_model == instance._meta.label
                and lock.object_id == instance.pk
            ),
            None,
        )
    study_locked = any(lock.level == LockLevel.STUDY for lock in active)
    context = {
        "message": locks.lock_sentence(covering) if covering is not None else "",
        "may_lock": may_lock and not study_locked,
        "own": own,
        "action_url": reverse(
            "data_management:lock_form",
            kwargs={"subject_pk": subject.pk, "form_code": spec.code, "record_pk": instance.pk},
        )
        if may_lock
        else "",
        "subject": subject,
    }
    return render_to_string("data_management/locks/_form_panel.html", context, request=request)


def subject_panel(request: HttpRequest, subject: Subject) -> str:
    """On the subject's page (live: a study lock is not in the subject's audit chain, and the
    data manager's forms carry a CSRF token): the locks in force on the subject, its visits
    and forms, and for a data manager the lock and unlock of the subject and its visits."""
    active = locks._request_locks(request, subject)
    may_lock = request.user.has_perm(perm(LOCK))
    if not active and not may_lock:
        return ""
    level_order: dict[str, int] = {
        LockLevel.STUDY: 0,
        LockLevel.SUBJECT: 1,
        LockLevel.VISIT: 2,
        LockLevel.FORM: 3,
    }
    rows = [_lock_row(lock) for lock in sorted(active, key=lambda lock: level_order[lock.level])]
    study_locked = any(lock.level == LockLevel.STUDY for lock in active)
    subject_lock = next((lock for lock in active if lock.level == LockLevel.SUBJECT), None)
    visits: list[str] = []
    if may_lock and not study_locked:
        locked_visits = {lock.visit_id for lock in active if lock.level == LockLevel.VISIT}
        visits = [
            code
            for pk, code in Visit.objects.filter(subject=subject)
            .order_by("planned_date", "number", "pk")
            .values_list("pk", "code")
            if pk not in locked_visits
        ]
    context = {
        "subject": subject,
        "rows": rows,
        "may_lock": may_lock and not study_locked,
        "subject_lock": subject_lock,
        "visits": visits,
        "next": request.get_full_path(),
    }
    return render_to_string("data_management/locks/_subject_panel.html", context, request=request)


def home_panel(request: HttpRequest) -> str:
    """The home page: the study lock for everyone who reads data; a data manager also sees
    how many locks are in force, with the way to the locks page."""
    if not request.user.has_perm(perm(VIEW)):
        return ""
    study_lock = locks.study_lock()
    is_manager = request.user.has_perm(perm(LOCK))
    count = Lock.objects.filter(unlocked_at__isnull=True).count() if is_manager else 0
    if study_lock is None and not count:
        return ""
    context = {
        "message": locks.lock_sentence(study_lock) if study_lock is not None else "",
        "count": count,
        "is_manager": is_manager,
    }
    return render_to_string("data_management/locks/_home_panel.html", context, request=request)
