"""Pages of PI signatures: the signing queue, the signing page of a visit or a casebook, and
the panels on the subject page and the form page (data_management.signatures does the work).

Everyone who reads clinical data may open these pages (a sub-investigator or a coordinator
sees what awaits the PI; monitors and data managers follow it read-only); only a PI of the
subject's site is shown the password form, and a POST from anyone else is refused (403).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crf.models import FormStatus, Visit
from crf.registry import FormSpec
from crf.selectors import form_url
from data_management import signatures
from data_management.models import Signature, SignatureScope
from study.models import Subject
from study.roles import SIGN, VIEW, perm
from study.scoping import require_perm, subject_view


class SignForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I have read the statement above and sign it."),
        error_messages={"required": gettext_lazy("Confirm that you sign the statement.")},
    )
    data_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)


@require_perm(VIEW)
def signature_queue(request: HttpRequest) -> HttpResponse:
    """Subjects and visits awaiting a PI's signature in the reader's sites."""
    rows = signatures.signing_queue(Subject.objects.for_user(request.user))
    pi_sites = {
        row.subject.site_id for row in rows if signatures.can_sign(request.user, row.subject)
    }
    context = {
        "rows": rows,
        "pi_sites": pi_sites,
        "visit_count": sum(len(row.visits) for row in rows),
        "casebook_count": sum(row.casebook in ("awaiting", "invalidated") for row in rows),
    }
    return render(request, "data_management/signatures/queue.html", context)


@subject_view(VIEW)
def sign_visit(request: HttpRequest, subject: Subject, visit_code: str) -> HttpResponse:
    visit = get_object_or_404(Visit, subject=subject, code=visit_code)
    return _sign_page(request, subject, visit)


@subject_view(VIEW)
def sign_casebook(request: HttpRequest, subject: Subject) -> HttpResponse:
    return _sign_page(request, subject, None)


def _sign_page(request: HttpRequest, subject: Subject, visit: Visit | None) -> HttpResponse:
    """GET: what is signed, its signatures, and for a PI the statement and the password.
    POST (a PI only, else 403): sign, then back to this page."""
    may_sign = signatures.can_sign(request.user, subject)
    if request.method == "POST" and not may_sign:
        raise PermissionDenied
    forms_signed = signatures.signed_forms(subject, visit)
    digest = signatures.data_sha256(subject, visit, forms_signed)
    form = SignForm(initial={"data_sha256": digest})
    if request.method == "POST":
        form = SignForm(request.POST)
        if form.is_valid():
            try:
                signatures.sign(
                    actor=request.user,
                    subject=subject,
                    visit=visit,
                    password=form.cleaned_data["password"],
                    expected_sha256=form.cleaned_data["data_sha256"],
                    request=request,
                )
            except signatures.AccountLocked:
                # django-axes answers this request with its lockout page; the session ends
                # as a locked account's does not start.
                from study.views import lockout_response

                credentials = {"username": request.user.get_username()}
                logout(request)
                return lockout_response(request, None, credentials)
            except ValidationError as error:
                # Shown with the data as they are now; the page's hash is theirs (``digest``).
                _add_errors(form, error)
            else:
                messages.success(request, _("Signed. The signature is recorded below."))
                return redirect(request.path)
    return render(
        request,
        "data_management/signatures/sign.html",
        _page_context(request, subject, visit, forms_signed, digest, form, may_sign),
    )


def _add_errors(form: SignForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _page_context(
    request: HttpRequest,
    subject: Subject,
    visit: Visit | None,
    forms_signed: list[signatures.SignedForm],
    digest: str,
    form: SignForm,
    may_sign: bool,
) -> dict[str, Any]:
    scope = SignatureScope.VISIT if visit is not None else SignatureScope.CASEBOOK
    existing = [
        s
        for s in signatures.subject_signatures(subject)
        if s.scope == scope and (visit is None or s.visit_id == visit.pk)
    ]
    with timezone.override(signatures.site_zone(subject.site)):
        shown = _shown(existing, {s.pk: s.data_sha256 == digest for s in existing})
        summary = _summary(subject, forms_signed)
    in_progress = [f for f in forms_signed if f.instance.status != FormStatus.COMPLETE]
    return {
        "subject": subject,
        "visit": visit,
        "scope": scope,
        "summary": summary,
        "in_progress": in_progress,
        "digest": digest,
        "statement": signatures.statement(subject, visit),
        "form": form,
        "may_sign": may_sign,
        "signatures": shown,
        "valid": any(item["valid"] for item in shown),
        "site_zone": str(signatures.site_zone(subject.site)),
        "printed_name": signatures.printed_name(request.user),
        "is_pi_role": request.user.has_perm(perm(SIGN)),
    }


def _summary(subject: Subject, forms_signed: list[signatures.SignedForm]) -> list[dict[str, Any]]:
    """What is signed, one row per visit (then the log forms): its forms (links, with the
    status of those not complete), how many values are given, the repeating rows, and when
    its data last changed (in the active time zone: the site's)."""
    groups: dict[str, dict[str, Any]] = {}
    for signed in forms_signed:
        spec: FormSpec = signed.spec
        obj = signed.instance
        key = signed.visit_code or "-"
        group = groups.setdefault(
            key,
            {
                "visit": signed.visit_code,
                "forms": [],
                "values": 0,
                "rows": {},
                "last": obj.modified_at,
            },
        )
        url = (
            reverse(spec.page, kwargs={"subject_pk": subject.pk})
            if spec.page
            else form_url(subject, spec, obj)
        )
        group["forms"].append(
            {
                "code": spec.code,
                "title": spec.title,
                "url": url,
                "complete": obj.status == FormStatus.COMPLETE,
                "status": obj.get_status_display(),  # type: ignore[attr-defined]
            }
        )
        group["values"] += sum(
            getattr(obj, variable.field_name) not in (None, "", []) for variable in spec.variables
        )
        for name, found in signed.rows.items():
            title = str(spec.group(name).title)
            group["rows"][title] = group["rows"].get(title, 0) + len(found)
        group["last"] = max(group["last"], obj.modified_at)
    return [
        {**group, "rows": sorted(group["rows"].items()), "last": _when(group["last"])}
        for group in groups.values()
    ]


def _when(at: dt.datetime) -> str:
    """A time in the active time zone (the site's), named: 2026-05-01 14:03 CST."""
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M %Z")


def _shown(found: list[Signature], matches: dict[int, bool]) -> list[dict[str, Any]]:
    """Signatures as the pages show them (in the active time zone: the site's)."""
    return [
        {
            "signature": s,
            "valid": s.invalidated_at is None,
            "matches": matches.get(s.pk, True),
            "what": (
                _("Visit %(visit)s") % {"visit": s.visit.code}
                if s.visit is not None
                else _("Casebook")
            ),
            "local": _when(s.signed_at),
            "utc": s.signed_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "note": signatures.invalidation_text(s),
        }
        for s in found
    ]


def _signing_url(subject: Subject, visit: Visit | None) -> str:
    if visit is None:
        return reverse("data_management:sign_casebook", kwargs={"subject_pk": subject.pk})
    return reverse(
        "data_management:sign_visit", kwargs={"subject_pk": subject.pk, "visit_code": visit.code}
    )


# --- Panels --------------------------------------------------------------------------------


def pi_panel(request: HttpRequest, subject: Subject) -> str:
    """On the subject page, for a PI of its site only (live: the kept page is the same for
    every reader of a role): the way to sign the casebook. No query."""
    if not signatures.can_sign(request.user, subject):
        return ""
    return render_to_string(
        "data_management/signatures/_pi_panel.html",
        {"subject": subject, "casebook_url": _signing_url(subject, None)},
        request=request,
    )


def signatures_panel(request: HttpRequest, subject: Subject) -> str:
    """The subject's signatures (valid, not matching, invalidated with the sentence), kept
    with the subject page (a signature and its invalidation append to the audit chain)."""
    if not request.user.has_perm(perm(VIEW)):
        return ""
    found = signatures.subject_signatures(subject)
    if not found and not subject.subject_id:
        return ""
    with timezone.override(signatures.site_zone(subject.site)):
        shown = _shown(found, signatures.matching(subject, found))
    for item, signature in zip(shown, found, strict=True):
        item["url"] = _signing_url(subject, signature.visit)
    return render_to_string(
        "data_management/signatures/_subject_panel.html",
        {
            "subject": subject,
            "signatures": shown,
            "casebook_url": _signing_url(subject, None),
            "site_zone": str(signatures.site_zone(subject.site)),
        },
        request=request,
    )


def form_panel(
    request: HttpRequest, spec: FormSpec, subject: Subject, visit: Any, instance: Any
) -> str:
    """Above a form of signed data: who signed it, and that a change invalidates it."""
    visit_id = getattr(visit, "pk", None) if visit is not None else None
    valid = [
        s
        for s in Signature.objects.filter(subject=subject, invalidated_at=None).select_related(
            "visit"
        )
        if s.scope == SignatureScope.CASEBOOK or (visit_id is not None and s.visit_id == visit_id)
    ]
    if not valid:
        return ""
    with timezone.override(signatures.site_zone(subject.site)):
        shown = _shown(valid, {})
    return render_to_string(
        "data_management/signatures/_form_panel.html", {"signatures": shown}, request=request
    )


def home_panel(request: HttpRequest) -> str:
    """A PI's home page: how many casebooks and visits of their sites await their signature
    (the queue's four queries; nothing for anyone else)."""
    from study.scoping import membership_of

    membership = membership_of(request.user)
    if membership is None or not membership.is_principal_investigator:
        return ""
    if not request.user.has_perm(perm(SIGN)):
        return ""
    rows = signatures.signing_queue(Subject.objects.for_user(request.user))
    casebooks = sum(row.casebook in ("awaiting", "invalidated") for row in rows)
    visits = sum(len(row.visits) for row in rows)
    invalidated = sum(
        (row.casebook == "invalidated") + sum(v.state == "invalidated" for v in row.visits)
        for row in rows
    )
    if not casebooks and not visits:
        return ""
    context = {"casebooks": casebooks, "visits": visits, "invalidated": invalidated}
    return render_to_string("data_management/signatures/_home_panel.html", context, request=request)
