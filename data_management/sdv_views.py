"""Source data verification pages: marks at each value of a form page, the monitor's panel
under the form (check boxes, "Verify selected", "Verify the rest of the form"; htmx partial,
and a plain form post without JavaScript), a form's SDV page (also for the forms with a page
of their own: IE, ENR), the subject page's panel and the progress page by site, subject and
form."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from crf import registry
from crf.registry import FormSpec
from data_management import sdv, sdv_selectors
from data_management.sdv_selectors import FormProgress, FormState, ValueState
from study.models import Subject
from study.roles import QUERIES, SDV, VIEW, perm
from study.scoping import require_perm, sites_for_user, subject_view

# --- One form's state, read once a request (the marks and the panel both need it) -------------


def _state(request: HttpRequest, spec: FormSpec, instance: Any) -> FormState:
    memo: dict[tuple[str, int, int], FormState] = request.__dict__.setdefault("_edc_sdv", {})
    key = (instance._meta.label, instance.pk, instance.version)
    if key not in memo:
        memo[key] = sdv_selectors.form_state(spec, instance)
    return memo[key]


def _person(user: Any) -> str:
    return str(user.get_full_name() or user.get_username()) if user is not None else _("system")


def _zone(subject: Subject) -> str:
    return str(subject.site.time_zone)


def _sentence(template: str, **parts: str) -> SafeString:
    """A translated sentence with its parts escaped and a time or date kept on one line."""
    shown = {
        name: format_html('<span class="text-nowrap">{}</span>', part)
        if name in ("time", "date")
        else conditional_escape(part)
        for name, part in parts.items()
    }
    return mark_safe(conditional_escape(template) % shown)  # noqa: S308 - every part escaped


def _verified_text(value: ValueState, subject: Subject) -> SafeString:
    verification = value.verification
    assert verification is not None
    return _sentence(
        _("Verified by %(person)s on %(time)s"),
        person=_person(verification.verified_by),
        time=sdv.site_time(verification.verified_at, _zone(subject)),
    )


def _reset_text(value: ValueState, subject: Subject) -> SafeString:
    reset = value.reset
    assert reset is not None and reset.reset_at is not None
    return _sentence(
        _("Verification reset: value changed by %(person)s on %(date)s"),
        person=_person(reset.reset_by),
        date=sdv.site_time(reset.reset_at, _zone(subject))[:10],
    )


def _mark_id(instance: Any, key: sdv.Key) -> str:
    digest = hashlib.sha256(f"{instance._meta.label}|{instance.pk}|{sdv.encode_key(key)}".encode())
    return f"sdv-mark-{digest.hexdigest()[:12]}"


def _badge(kind: str, text: str) -> SafeString:
    classes = {
        "verified": "text-bg-success",
        "critical": "text-bg-warning",
        "needs": "text-bg-light border",
        "reset": "text-bg-danger",
    }[kind]
    tick = mark_safe('<span aria-hidden="true">✓ </span>') if kind == "verified" else ""
    return format_html(
        '<span class="badge {} sdv-badge" data-sdv="{}">{}{}</span>', classes, kind, tick, text
    )


def _value_badges(value: ValueState, subject: Subject) -> SafeString:
    if value.verified:
        return _badge("verified", _("Verified"))
    parts = [
        _badge("critical", _("Critical: needs SDV"))
        if value.item.critical
        else _badge("needs", _("Needs SDV"))
    ]
    if value.reset is not None:
        parts.append(
            format_html('<span class="small d-block">{}</span>', _reset_text(value, subject))
        )
    return format_html_join(" ", "{}", ((p,) for p in parts))


def _row_badges(values: list[ValueState], subject: Subject) -> SafeString:
    open_values = [v for v in values if not v.verified]
    if not open_values:
        return _badge("verified", _("Verified"))
    parts = [
        _badge("critical", _("Critical: needs SDV"))
        if any(v.item.critical for v in open_values)
        else _badge("needs", _("Needs SDV")),
        format_html(
            '<span class="small">{}</span>',
            _("%(done)s of %(all)s verified")
            % {"done": len(values) - len(open_values), "all": len(values)},
        ),
    ]
    parts += [
        format_html('<span class="small d-block">{}: {}</span>', v.label, _reset_text(v, subject))
        for v in open_values
        if v.reset is not None
    ]
    return format_html_join(" ", "{}", ((p,) for p in parts))


def _form_badges(state: FormState) -> SafeString:
    if state.complete:
        return _badge("verified", _("Source data verified"))
    return format_html(
        "{} {}",
        _badge("critical" if state.open_critical else "needs", _("Needs SDV")),
        format_html(
            '<span class="small">{}</span>',
            _("%(done)s of %(all)s values verified; critical values %(cdone)s of %(call)s")
            % {
                "done": state.verified,
                "all": len(state.values),
                "cdone": state.critical_verified,
                "call": state.critical,
            },
        ),
    )


def _marks(state: FormState, subject: Subject, *, oob: bool = False) -> dict[sdv.Key, str]:
    """Badges only (no form): each form value's, each row's, and the whole form's."""
    instance = state.instance

    def wrap(key: sdv.Key, html: SafeString) -> str:
        extra = mark_safe(' hx-swap-oob="true"') if oob else ""
        return format_html(
            '<span class="sdv-mark me-1" id="{}" data-testid="sdv-mark"{}>{}</span>',
            _mark_id(instance, key),
            extra,
            html,
        )

    if not state.values:
        return {}
    marks: dict[sdv.Key, str] = {("", "", ""): wrap(("", "", ""), _form_badges(state))}
    rows: dict[tuple[str, str], list[ValueState]] = {}
    for value in state.values:
        group, row_key, _name = value.item.key
        if group:
            rows.setdefault((group, row_key), []).append(value)
        else:
            marks[value.item.key] = wrap(value.item.key, _value_badges(value, subject))
    for (group, row_key), values in rows.items():
        marks[(group, row_key, "")] = wrap((group, row_key, ""), _row_badges(values, subject))
    return marks


# --- Hooks of the form page and the subject page (crf.registry) ------------------------------


def form_marks(
    request: HttpRequest, spec: FormSpec, subject: Subject, instance: Any
) -> dict[sdv.Key, str]:
    """Verified / needs SDV / reset at each value and row, for everyone who reads the form."""
    if instance is None or instance.pk is None:
        return {}
    return _marks(_state(request, spec, instance), subject)


def form_panel(
    request: HttpRequest, spec: FormSpec, subject: Subject, visit: Any, instance: Any
) -> str:
    """The monitor's SDV panel under the form (others see the marks)."""
    if instance is None or instance.pk is None or not request.user.has_perm(perm(SDV)):
        return ""
    state = _state(request, spec, instance)
    if not state.values:
        return ""
    return _panel_html(request, subject, state, next_url=request.get_full_path(), oob=True)


def _panel_html(
    request: HttpRequest,
    subject: Subject,
    state: FormState,
    *,
    next_url: str,
    oob: bool,
    status: str = "",
    error: str = "",
) -> str:
    instance = state.instance
    context = {
        "subject": subject,
        "state": state,
        "rows": [
            (value, sdv.encode_key(value.item.key), _panel_state(value, subject))
            for value in state.values
        ],
        "can_verify": request.user.has_perm(perm(SDV)),
        "verify_url": _verify_url(subject, state.spec, instance),
        "next_url": next_url,
        "oob": oob,
        "status": status,
        "error": error,
    }
    return render_to_string("data_management/sdv/_panel.html", context, request=request)


def _panel_state(value: ValueState, subject: Subject) -> SafeString | str:
    if value.verified:
        return _verified_text(value, subject)
    if value.reset is not None:
        return _reset_text(value, subject)
    return _("Not verified")


def _verify_url(subject: Subject, spec: FormSpec, instance: Any) -> str:
    from django.urls import reverse

    return reverse(
        "data_management:sdv_verify",
        kwargs={"subject_pk": subject.pk, "form_code": spec.code, "record_pk": instance.pk},
    )


def subject_panel(request: HttpRequest, subject: Subject) -> str:
    """The subject's SDV progress per visit and form (kept with the page: every
    verification and every change appends to the subject's audit chain)."""
    forms = sdv_selectors.progress(Subject.objects.filter(pk=subject.pk))
    if not forms:
        return ""
    visits: dict[str, list[FormProgress]] = {}
    for form in sdv_selectors.in_order(forms):
        visits.setdefault(form.visit_code, []).append(form)
    rows = [(code, items, sdv_selectors.total(items)) for code, items in visits.items()]
    context = {
        "subject": subject,
        "rows": rows,
        "total": sdv_selectors.total(forms),
        "open": request.user.has_perm(perm(SDV)),  # the monitor's work list; a summary to others
    }
    return render_to_string("data_management/sdv/_subject_panel.html", context, request=request)


# --- Pages -------------------------------------------------------------------------------------


def _form_or_404(subject: Subject, form_code: str, record_pk: int) -> tuple[FormSpec, Any]:
    try:
        spec = registry.get(form_code)
    except KeyError:
        raise Http404 from None
    instance = get_object_or_404(
        spec.model.objects.filter(subject=subject, is_deleted=False).select_related("visit"),
        pk=record_pk,
    )
    return spec, instance


@subject_view(VIEW)
def sdv_form(
    request: HttpRequest, subject: Subject, form_code: str, record_pk: int
) -> HttpResponse:
    """A form's values with their verification: check boxes for a monitor, read-only for
    the others (the forms with a page of their own, IE and ENR, are verified here)."""
    spec, instance = _form_or_404(subject, form_code, record_pk)
    state = _state(request, spec, instance)
    form = FormProgress(
        subject.pk,
        spec,
        instance.visit.code if instance.visit else "",
        instance.pk,
        instance.status,
    )
    panel = _panel_html(request, subject, state, next_url=request.get_full_path(), oob=False)
    context = {"subject": subject, "spec": spec, "instance": instance, "form": form, "panel": panel}
    return render(request, "data_management/sdv/form.html", context)


@subject_view(VIEW, SDV)
@require_POST
def sdv_verify(
    request: HttpRequest, subject: Subject, form_code: str, record_pk: int
) -> HttpResponse:
    """Verify the values ticked ("selected") or the rest of the form ("form"); with htmx
    the panel (and the form page's marks, out of band) come back, else a redirect."""
    spec, instance = _form_or_404(subject, form_code, record_pk)
    action = request.POST.get("action", "")
    keys = [k for raw in request.POST.getlist("key") if (k := sdv.decode_key(raw)) is not None]
    version = request.POST.get("version", "")
    expected = int(version) if version.isdigit() else None
    status = error = ""
    try:
        if action == "form":
            done = sdv.verify_form(actor=request.user, instance=instance, expected_version=expected)
        elif action == "selected" and keys:
            done = sdv.verify_values(
                actor=request.user, instance=instance, keys=keys, expected_version=expected
            )
        else:
            done = None
            error = _("Tick the values you have checked against the source, then verify them.")
    except ValidationError as refused:
        error = " ".join(refused.messages)
    except PermissionDenied:
        raise
    else:
        if done is not None:
            status = _summary(done)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = sdv_selectors.sdv_form_url(subject.pk, spec.code, instance.pk)
    if request.headers.get("HX-Request"):
        instance = spec.model.objects.select_related("visit").get(pk=instance.pk)
        state = sdv_selectors.form_state(spec, instance)
        oob = request.POST.get("marks") == "1"
        html = _panel_html(
            request, subject, state, next_url=next_url, oob=oob, status=status, error=error
        )
        if oob:
            html += "".join(_marks(state, subject, oob=True).values())
        return HttpResponse(html)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, status)
    return redirect(next_url)


def _summary(done: sdv.Verified) -> str:
    text = ngettext("%(n)s value verified.", "%(n)s values verified.", done.verified) % {
        "n": done.verified
    }
    if done.form_verified:
        return f"{text} {_('Every value of the form is verified.')}"
    if done.critical_left:
        return "{} {}".format(
            text,
            ngettext(
                "%(n)s critical value is left to verify one by one.",
                "%(n)s critical values are left to verify one by one.",
                done.critical_left,
            )
            % {"n": done.critical_left},
        )
    return text


BY = ("site", "subject", "form")
STATES = ("", "pending", "verified")


@require_perm(QUERIES)
def sdv_progress(request: HttpRequest) -> HttpResponse:
    """SDV progress of the user's sites: by site, by subject or by form, filtered by site,
    subject, form and state; a constant number of queries whatever the data."""
    by = request.GET.get("by", "site")
    by = by if by in BY else "site"
    sites = list(sites_for_user(request.user).order_by("number"))
    site = next((s for s in sites if s.number == request.GET.get("site")), None)
    form_code = request.GET.get("form", "")
    specs = registry.all_forms()
    if form_code not in {s.code for s in specs}:
        form_code = ""
    state = request.GET.get("state", "")
    state = state if state in STATES else ""
    subjects = Subject.objects.for_user(request.user)
    if site is not None:
        subjects = subjects.filter(site=site)
    subject_param = request.GET.get("subject", "")
    subject = None
    if subject_param.isdigit():
        subject = subjects.select_related("site").filter(pk=int(subject_param)).first()
        if subject is not None:
            subjects = subjects.filter(pk=subject.pk)
    forms = sdv_selectors.progress(subjects, form_code=form_code)
    if state == "pending":
        forms = [f for f in forms if not f.verified]
    elif state == "verified":
        forms = [f for f in forms if f.verified]
    people = {
        s.pk: s
        for s in subjects.select_related("site").only("id", "subject_id", "screening_id", "site")
    }
    site_of = {pk: s.site for pk, s in people.items()}
    params = {
        "site": site.number if site else "",
        "subject": str(subject.pk) if subject else "",
        "form": form_code,
        "state": state,
    }
    context: dict[str, Any] = {
        "by": by,
        "sites": sites,
        "site": site,
        "subject": subject,
        "specs": specs,
        "form_code": form_code,
        "state": state,
        "total": sdv_selectors.total(forms),
        "tabs": [
            (key, label, "?" + urlencode({k: v for k, v in {**params, "by": key}.items() if v}))
            for key, label in (
                ("site", _("By site")),
                ("subject", _("By subject")),
                ("form", _("By form")),
            )
        ],
        "page_query": urlencode({k: v for k, v in {**params, "by": by}.items() if v}),
    }
    if by == "site":
        tallies = sdv_selectors.by(forms, lambda f: site_of[f.subject_id].pk)
        subject_counts: dict[int, set[int]] = {}
        for f in forms:
            subject_counts.setdefault(site_of[f.subject_id].pk, set()).add(f.subject_id)
        context["rows"] = [
            (
                s,
                tallies[s.pk],
                len(subject_counts.get(s.pk, ())),
                _link(params, by="subject", site=s.number),
            )
            for s in sites
            if s.pk in tallies
        ]
    elif by == "subject":
        tallies = sdv_selectors.by(forms, lambda f: f.subject_id)
        ordered = sorted(tallies, key=lambda pk: (people[pk].site.number, people[pk].label))
        context["rows"] = [
            (people[pk], tallies[pk], _link(params, by="form", subject=str(pk))) for pk in ordered
        ]
    else:
        forms = sorted(
            sdv_selectors.in_order(forms),
            key=lambda f: (people[f.subject_id].site.number, people[f.subject_id].label),
        )
        page = Paginator(forms, 50).get_page(request.GET.get("page"))
        context["page"] = page
        context["rows"] = [(people[f.subject_id], f) for f in page]
    return render(request, "data_management/sdv/progress.html", context)


def _link(params: dict[str, str], **changes: str) -> str:
    merged = {**params, **changes}
    return "?" + urlencode({k: v for k, v in merged.items() if v})
