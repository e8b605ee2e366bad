"""Subject pages and the generic page of every registered case report form."""

from __future__ import annotations

import zoneinfo
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.forms.utils import ErrorDict
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crf import page_cache, registry, selectors
from crf.audit_filters import AuditFilterForm
from crf.display import ShownValue, variable_text
from crf.forms import (
    SYSTEM_REASONS,
    WEB_REASONS,
    form_class_for,
    formset_class_for,
    readonly_groups,
    readonly_sections,
)
from crf.models import CaseReportForm, ChangeReason, Visit
from crf.registry import FormSpec
from crf.services import CheckError, Reason, StaleFormError, delete_form, save_form
from study.models import Subject, SubjectStatus
from study.roles import AUDIT, ENTER, VIEW, perm
from study.scoping import require_perm, subject_view

# More rows than any repeating group holds (5 targets, a few dozen lesions): a posted count
# above it is damaged or hostile input, not data.
MAX_ROWS = 1000

SORTS = {
    "subject": ("subject_id", "screening_id"),
    "screening": ("screening_id",),
    "site": ("site__number", "screening_id"),
    "status": ("status", "screening_id"),
    "enrolled": ("enrolled_at", "screening_id"),
}


@require_perm(VIEW)
def subject_list(request: HttpRequest) -> HttpResponse:
    """Subjects of the user's sites: search by subject or screening ID, filter, sort, pages."""
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    sort = request.GET.get("sort", "site")
    key = sort.removeprefix("-")
    if key not in SORTS:
        sort, key = "site", "site"
    order = [f"-{f}" if sort.startswith("-") else f for f in SORTS[key]]
    subjects = Subject.objects.for_user(request.user).select_related("site")
    if query:
        subjects = subjects.filter(
            Q(subject_id__icontains=query) | Q(screening_id__icontains=query)
        )
    if status in SubjectStatus.values:
        subjects = subjects.filter(status=status)
    page = Paginator(subjects.order_by(*order), 25).get_page(request.GET.get("page"))
    params = {"q": query, "status": status}
    labels = (
        ("subject", _("Subject")),
        ("screening", _("Screening number")),
        ("site", _("Site")),
        ("status", _("Status")),
        ("enrolled", _("Enrolled")),
    )
    context = {
        "page": page,
        "q": query,
        "status": status,
        "sort": sort,
        "statuses": SubjectStatus.choices,
        "columns": [(k, label, f"-{k}" if sort == k else k) for k, label in labels],
        "query_string": urlencode({k: v for k, v in params.items() if v}),
        "page_query": urlencode({k: v for k, v in {**params, "sort": sort}.items() if v}),
    }
    return render(request, "crf/subject_list.html", context)


@subject_view(VIEW)
def subject_detail(request: HttpRequest, subject: Subject) -> HttpResponse:
    """The subject's panels and visits, kept while the subject's data do not change
    (crf.page_cache: keyed by the audit chain's head), and its live parts."""

    def render_body() -> str:
        sections = selectors.subject_form_sections(subject)
        context = {
            "subject": subject,
            "sections": sections,
            "later_count": sum(section.later for section in sections),
            "panels": registry.subject_panels(request, subject, live=False),
        }
        return render_to_string("crf/_subject_body.html", context, request=request)

    version = page_cache.subject_version(subject.pk)
    body = page_cache.fragment(
        "subject-body", (subject.pk, version, page_cache.reader(request.user)), render_body
    )
    context = {
        "subject": subject,
        "actions": registry.subject_actions(subject, request.user),
        "live_panels": registry.subject_panels(request, subject, live=True),
        "body": body,
    }
    return render(request, "crf/subject_detail.html", context)


@subject_view(VIEW, AUDIT)
def subject_audit(request: HttpRequest, subject: Subject) -> HttpResponse:
    """The subject's whole audit trail, newest first, filtered by form, visit, user, action
    and dates; times in the subject's site's zone."""
    with timezone.override(zoneinfo.ZoneInfo(subject.site.time_zone)):
        trail = subject.audit_entries.all()
        filters = AuditFilterForm(
            request.GET or None,
            visits=subject.visits.values_list("code", flat=True),
            users=trail.order_by("actor_username")
            .values_list("actor_username", flat=True)
            .distinct(),
        )
        entries = filters.apply(trail).order_by("-id")
        page = Paginator(entries, 100).get_page(request.GET.get("page"))
        context = {
            "subject": subject,
            "page": page,
            "filters": filters,
            "page_query": filters.query_string(),
            "zone": subject.site.time_zone,
        }
        return render(request, "crf/subject_audit.html", context)


def _spec_or_404(form_code: str) -> FormSpec:
    try:
        return registry.get(form_code)
    except KeyError:
        raise Http404(_("No such form.")) from None


def _locate(
    subject: Subject, spec: FormSpec, visit_code: str | None, record_pk: int | None
) -> tuple[Visit | None, CaseReportForm | None]:
    visit = None
    if visit_code is not None:
        if spec.is_log:
            raise Http404
        visit = get_object_or_404(Visit, subject=subject, code=visit_code)
        if visit.kind not in spec.visit_kinds:
            raise Http404
    elif not spec.is_log and not spec.once_per_subject:
        raise Http404
    active = spec.model.objects.filter(subject=subject, is_deleted=False)
    if record_pk is not None:
        return visit, get_object_or_404(active, pk=record_pk)
    if spec.is_log and not spec.once_per_subject:
        return visit, None  # a new log record
    if visit is not None:
        active = active.filter(visit=visit)
    return visit, active.first()


def _add_errors(form: Any, error: ValidationError) -> None:
    """Put each message next to its field; the reason's on the reason picker."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, errors in error.error_dict.items():
        target = "reason_code" if key == "reason" else key
        form.add_error(target if target in form.fields else None, errors)


def _add_check_errors(spec: FormSpec, form: Any, formsets: dict[str, Any], error: Any) -> None:
    """Each finding at its field: a group row's in that row of the table, the others as
    ``_add_errors`` places them."""
    rest = []
    for finding in error.findings:
        formset = formsets.get(finding.group) if finding.group else None
        kept = formset.kept_forms() if formset is not None else []
        if finding.row is not None and 0 < finding.row <= len(kept):
            group = spec.group(finding.group)
            # A variable of the row, else the row as a whole: at its key (the lesion ID).
            named = (
                finding.variable
                if finding.variable in {v.name for v in group.variables}
                else group.key
            )
            field = group.variable(named).field_name
            kept[finding.row - 1].add_error(field, str(finding.message))
        else:
            rest.append(finding)
    if rest:
        _add_errors(form, CheckError(spec, rest))


@subject_view(VIEW)
def form_page(
    request: HttpRequest,
    subject: Subject,
    form_code: str,
    visit_code: str | None = None,
    record_pk: int | None = None,
) -> HttpResponse:
    """Show a form; on POST save it through crf.services (checks, lock, reason, audit)."""
    spec = _spec_or_404(form_code)
    visit, instance = _locate(subject, spec, visit_code, record_pk)
    return _form_page(request, subject, spec, visit, instance)


def _form_page(
    request: HttpRequest,
    subject: Subject,
    spec: FormSpec,
    visit: Visit | None,
    instance: CaseReportForm | None,
    *,
    damaged: bool = False,
) -> HttpResponse:
    """The form page; ``damaged``: a POST's hidden bookkeeping (row counts, version) was not
    what the page sent, so nothing is saved and the stored form is shown (HTTP 400)."""
    may_enter = request.user.has_perm(perm(ENTER))
    # A lock (data_management) shows the form read-only to everyone; a POST still goes to
    # save_form, whose write guard refuses it and names the lock above the form.
    blocked = registry.edit_blocked(request, spec, subject, visit, instance)
    can_edit = may_enter and not (blocked and request.method != "POST")
    needs_reason = instance is not None and instance.was_completed
    form_class = form_class_for(spec)
    # A new form may start with rows carried forward (e.g. the baseline's target lesions).
    # (Not on a POST: the rows posted are the rows; reading the baseline would be wasted.)
    initial_rows = (
        spec.group_initial(subject, visit)
        if spec.group_initial and instance is None and request.method != "POST"
        else {}
    )
    formset_classes = {
        g.name: formset_class_for(g, extra=len(initial_rows.get(g.name, [])) + 1)
        for g in spec.groups
    }
    stale_message = ""

    def build(
        data: Any = None, obj: CaseReportForm | None = instance
    ) -> tuple[Any, dict[str, Any]]:
        form = form_class(data, instance=obj, needs_reason=obj is not None and obj.was_completed)
        formsets = {
            name: cls(
                data,
                instance=obj,
                prefix=name.lower(),
                queryset=spec.group(name).model.objects.filter(is_deleted=False).order_by("id"),
                initial=initial_rows.get(name) if obj is None else None,
            )
            for name, cls in formset_classes.items()
        }
        return form, formsets

    posted = request.method == "POST" and not damaged
    adding = request.POST.get("add_row", "") if posted else ""
    if posted and not may_enter:
        raise PermissionDenied
    if posted and not _bookkeeping_intact(request.POST, formset_classes):
        return _form_page(request, subject, spec, visit, instance, damaged=True)
    if damaged:
        messages.error(
            request,
            _(
                "The form arrived damaged (its hidden row counts or version were not those the "
                "page sent), so nothing was saved. The form is shown as stored: enter your "
                "change again."
            ),
        )
        form, formsets = build()
    elif adding in formset_classes:
        # One more empty row in a repeating group: nothing is saved. Works as a plain
        # form submit; with htmx only the group's fieldset is swapped.
        data = request.POST.copy()
        total = f"{adding.lower()}-TOTAL_FORMS"
        data[total] = str(int(data.get(total) or 0) + 1)
        form, formsets = build(data)
        form._errors = ErrorDict()  # the rows are being entered: no errors yet
        for formset in formsets.values():
            for row in formset.forms:
                row._errors = ErrorDict()
            formset._errors = [row._errors for row in formset.forms]  # type: ignore[attr-defined]
            formset._non_form_errors = formset.error_class()  # type: ignore[attr-defined]
    elif posted:
        form, formsets = build(request.POST)
        if form.is_valid() and all(fs.is_valid() for fs in formsets.values()):
            try:
                save_form(
                    actor=cast(AbstractBaseUser, request.user),
                    spec=spec,
                    subject=subject,
                    visit=visit,
                    instance=instance,
                    values=form.cleaned_data,
                    groups={name: fs.rows() for name, fs in formsets.items()} or None,
                    expected_version=form.cleaned_data.get("version") or 0,
                    complete=bool(form.cleaned_data.get("mark_complete")),
                    reason=form.reason(),
                )
            except StaleFormError as stale:
                stale_message = stale.message
                form, formsets = build(obj=stale.current)
                needs_reason = stale.current.was_completed
                instance = stale.current
            except CheckError as error:  # hard edit checks
                _add_check_errors(spec, form, formsets, error)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("%(form)s saved.") % {"form": spec.title})
                return redirect(_back_to(subject, spec, visit))
    else:
        form, formsets = build()
    context = {
        "subject": subject,
        "spec": spec,
        "visit": visit,
        "instance": instance,
        "form": form,
        "formsets": formsets,
        "can_edit": can_edit,
        "edit_blocked": blocked,
        "needs_reason": needs_reason,
        "stale_message": stale_message,
        "reasons": WEB_REASONS,
        # Derived variables (scores, sums, responses) as computed at the last save.
        "derived": [
            ShownValue(
                v.label, variable_text(v, getattr(instance, v.field_name)), str(v.unit), v.name
            )
            for v in spec.variables
            if v.derived and instance is not None
        ],
        "back_url": _back_to(subject, spec, visit),
        "not_saved": request.method == "POST"
        and not adding
        and (bool(form.errors) or any(fs.total_error_count() for fs in formsets.values())),
        "groups": [(g.name, g.title, formsets[g.name]) for g in spec.groups],
    }
    marks = registry.form_marks(request, spec, subject, instance) if instance else {}
    _place_marks(spec, form, formsets, marks)
    context["form_mark"] = marks.get(("", "", ""), "")
    context["has_marks"] = bool(marks)
    panels = registry.form_panels(request, spec, subject, visit, instance)
    context["panels_top"] = [html for order, html in panels if order < 50]
    context["panels_bottom"] = [html for order, html in panels if order >= 50]
    if not can_edit:
        context["readonly"] = readonly_sections(form, spec, marks)
        context["readonly_groups"] = readonly_groups(spec, formsets, marks)
    status = 400 if damaged else 409 if stale_message else 200
    return render(request, "crf/form_page.html", context, status=status)


def _place_marks(
    spec: FormSpec, form: Any, formsets: dict[str, Any], marks: dict[registry.MarkKey, str]
) -> None:
    """Put each field's marks (query badges, SDV ticks: registry.form_marks) where a person
    looks: after the field's help text, and at the end of each repeating row."""
    if not marks:
        return
    for name, field in form.fields.items():
        variable = spec.variable_for_field(name)
        mark = marks.get(("", "", variable.name)) if variable is not None else None
        if mark:
            field.help_text = format_html(
                '{}<span class="edc-marks d-block">{}</span>', field.help_text or "", mark
            )
    for group in spec.groups:
        key_field = group.variable(group.key).field_name
        for row in formsets[group.name].forms:
            if not row.instance.pk:
                continue
            key = str(getattr(row.instance, key_field))
            row.edc_marks = format_html_join(
                "",
                "{}",
                ((mark,) for k, mark in marks.items() if k[0] == group.name and k[1] == key),
            )


def _bookkeeping_intact(data: Any, groups: Any) -> bool:
    """The hidden fields a form page posts (each group's row count, the form's version)
    are whole numbers in range; anything else was damaged or forged on the way."""
    counts = [data.get(f"{name.lower()}-TOTAL_FORMS") for name in groups]
    if any(_whole_number(count, maximum=MAX_ROWS) is None for count in counts):
        return False
    return _whole_number(data.get("version")) is not None


def _whole_number(raw: str | None, *, maximum: int | None = None) -> int | None:
    """A posted count or version; None when it is not a whole number in range."""
    try:
        value = int(raw or 0)
    except (TypeError, ValueError):
        return None
    if value < 0 or (maximum is not None and value > maximum):
        return None
    return value


def _back_to(subject: Subject, spec: FormSpec, visit: Visit | None) -> str:
    """The subject page at the visit (or the log) the form belongs to."""
    anchor = f"visit-{visit.code}" if visit is not None else f"form-{spec.code}"
    return f"{reverse('crf:subject_detail', kwargs={'subject_pk': subject.pk})}#{anchor}"


@subject_view(VIEW, ENTER)
@require_POST
def form_delete(
    request: HttpRequest, subject: Subject, form_code: str, record_pk: int
) -> HttpResponse:
    """Soft-delete a form record with a reason; it stays in the audit trail."""
    spec = _spec_or_404(form_code)
    instance = get_object_or_404(
        spec.model.objects.filter(subject=subject, is_deleted=False), pk=record_pk
    )
    code = request.POST.get("reason_code", "")
    text = request.POST.get("reason_text", "").strip()
    if code not in ChangeReason.values or code in SYSTEM_REASONS:
        messages.error(request, _("Choose a reason for deleting the record."))
        return redirect(selectors.form_url(subject, spec, instance))
    version = _whole_number(request.POST.get("version", str(instance.version)))
    if version is None:
        return _form_page(request, subject, spec, instance.visit, instance, damaged=True)
    try:
        delete_form(
            actor=cast(AbstractBaseUser, request.user),
            spec=spec,
            instance=instance,
            reason=Reason(code=code, text=text),
            expected_version=version,
        )
    except StaleFormError as stale:
        messages.error(request, stale.message)
        return redirect(selectors.form_url(subject, spec, stale.current))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(selectors.form_url(subject, spec, instance))
    messages.success(request, _("The record was deleted; it remains in the audit trail."))
    return redirect(_back_to(subject, spec, instance.visit))
