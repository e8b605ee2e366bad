"""Screening and enrolment pages: register, eligibility, screen failure, enrol; the data
manager's criteria and target pages."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crf import registry
from crf.codelists import YN
from crf.forms import DateInput
from crf.services import Reason, StaleFormError, save_form
from enrollment import checks, selectors
from enrollment.models import CriterionKind, EligibilityCriterion, Enrolment
from enrollment.services import (
    enroll_subject,
    raise_enrolment_target,
    record_screen_failure,
    register_screening,
    save_criterion,
)
from study.models import Site, StudyParameters, Subject, SubjectStatus
from study.roles import ENTER, PROTOCOL, VIEW, perm
from study.scoping import require_perm, sites_for_user, subject_view


def _actor(request: HttpRequest) -> AbstractBaseUser:
    return cast(AbstractBaseUser, request.user)


def _errors_to_form(form: forms.BaseForm, error: ValidationError, fields: dict[str, str]) -> None:
    """Put service errors (keyed by model field or variable) on the form's fields."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, errors in error.error_dict.items():
        target = fields.get(key, key)
        form.add_error(target if target in form.fields else None, errors)


class RegisterForm(forms.Form):
    site: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=Site.objects.none(), label=gettext_lazy("Site")
    )
    screening_date = forms.DateField(label=gettext_lazy("Date of screening"), widget=DateInput())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sites = sites_for_user(user)
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]
        if sites.count() == 1:
            self.fields["site"].initial = sites.first()


@require_perm(ENTER)
def register(request: HttpRequest) -> HttpResponse:
    """Register a screened person; the screening number is assigned."""
    form = RegisterForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            subject = register_screening(
                actor=_actor(request),
                site=form.cleaned_data["site"],
                screening_date=form.cleaned_data["screening_date"],
            )
        except ValidationError as error:
            _errors_to_form(form, error, {"screening_date": "screening_date"})
        else:
            messages.success(
                request,
                _(
                    "Screening number %(id)s registered. Next: consent, demographics, history and eligibility."
                )
                % {"id": subject.screening_id},
            )
            return redirect("crf:subject_detail", subject_pk=subject.pk)
    return render(request, "enrollment/register.html", {"form": form})


def _eligibility_rows(
    criteria: list[EligibilityCriterion], answers: dict[str, str]
) -> list[dict[str, Any]]:
    return [
        {
            "criterion": c,
            "answer": answers.get(c.code, ""),
            "fails": bool(answers.get(c.code)) and answers.get(c.code) != c.required_answer,
        }
        for c in criteria
    ]


@subject_view(VIEW)
def eligibility(request: HttpRequest, subject: Subject) -> HttpResponse:
    """The eligibility checklist (IE): says at once which criteria fail."""
    spec = registry.get("IE")
    criteria = selectors.criteria_in_force()
    kinds = {c.code: c.kind for c in criteria}
    instance = spec.model.objects.filter(subject=subject, is_deleted=False).first()
    saved_answers = (
        {a.criterion_code: a.answer for a in instance.answers.filter(is_deleted=False)}  # type: ignore[attr-defined]
        if instance
        else {}
    )
    can_edit = request.user.has_perm(perm(ENTER)) and not subject.subject_id
    posted = request.method == "POST"
    answers = (
        {c.code: request.POST.get(f"answer-{c.code}", "") for c in criteria}
        if posted
        else saved_answers
    )
    confirmed_on = (
        request.POST.get("confirmed_on", "")
        if posted
        else (
            saved_day.isoformat() if (saved_day := getattr(instance, "confirmed_on", None)) else ""
        )
    )
    errors: list[str] = []
    stale = ""
    bad_version = False
    if posted and request.headers.get("HX-Request") and request.GET.get("check"):
        # Live verdict while answering: nothing is saved.
        return render(
            request,
            "enrollment/eligibility.html#verdict",
            _verdict_context(criteria, answers, kinds),
        )
    if posted:
        if not can_edit:
            raise PermissionDenied
        try:
            day = dt.date.fromisoformat(confirmed_on) if confirmed_on else None
        except ValueError:
            day = None
            errors.append(_("IEDAT must be a date as YYYY-MM-DD."))
        try:
            expected_version = int(request.POST.get("version") or 0)
        except ValueError:  # a tampered or truncated form: 400, not a server error
            bad_version = True
            errors.append(
                _(
                    "The page sent a form version that is not a number: reload the page and "
                    "enter your answers again."
                )
            )
        if not errors:
            try:
                save_form(
                    actor=_actor(request),
                    spec=spec,
                    subject=subject,
                    visit=subject.visits.get(code="SCR"),
                    instance=instance,
                    values={"confirmed_on": day},
                    groups={"IE": [{"criterion_code": c, "answer": a} for c, a in answers.items()]},
                    expected_version=expected_version,
                    complete=all(answers.values()) and day is not None,
                    reason=_reason_from(request),
                )
            except StaleFormError as error:
                stale = error.message
            except ValidationError as error:
                errors += [str(m) for m in error.messages]
            else:
                messages.success(request, _("Eligibility saved."))
                return redirect("enrollment:eligibility", subject_pk=subject.pk)
    context = {
        "subject": subject,
        "instance": instance,
        "rows": _eligibility_rows(criteria, answers),
        "confirmed_on": confirmed_on,
        "can_edit": can_edit,
        "errors": errors,
        "stale": stale,
        "needs_reason": bool(instance and instance.was_completed),
        "reasons": _web_reasons(),
        **_verdict_context(criteria, answers, kinds),
    }
    status = 409 if stale else 400 if bad_version else 200
    return render(request, "enrollment/eligibility.html", context, status=status)


def _verdict_context(
    criteria: list[EligibilityCriterion], answers: dict[str, str], kinds: dict[str, str]
) -> dict[str, Any]:
    rows = [{"IETESTCD": c, "IEORRES": a} for c, a in answers.items()]
    failing = checks.failing_criteria(rows, kinds)
    unanswered = [c.code for c in criteria if not answers.get(c.code)]
    texts = {c.code: c.display_text for c in criteria}
    return {
        "failing": [(code, texts[code]) for code in failing],
        "unanswered": unanswered,
        "eligible": not failing and not unanswered,
    }


def _web_reasons() -> list[tuple[str, Any]]:
    from crf.forms import WEB_REASONS

    return WEB_REASONS


def _reason_from(request: HttpRequest) -> Reason | None:
    code = request.POST.get("reason_code", "")
    if not code:
        return None
    try:
        return Reason(code=code, text=request.POST.get("reason_text", ""))
    except ValueError:
        return None


@subject_view(VIEW, ENTER)
@require_POST
def screen_failure(request: HttpRequest, subject: Subject) -> HttpResponse:
    """Record the person as a screen failure with the criteria that failed."""
    criteria = request.POST.getlist("criteria")
    try:
        record_screen_failure(
            actor=_actor(request), subject=subject, criteria=criteria, reason=_reason_from(request)
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("enrollment:eligibility", subject_pk=subject.pk)
    messages.success(
        request,
        _("%(id)s recorded as a screen failure (%(criteria)s).")
        % {"id": subject.screening_id, "criteria": ", ".join(criteria)},
    )
    return redirect("crf:subject_detail", subject_pk=subject.pk)


class EnrolForm(forms.Form):
    enrolled_on = forms.DateField(label=gettext_lazy("Date enrolled (ENRDAT)"), widget=DateInput())
    planned_day1 = forms.DateField(label=gettext_lazy("Planned Day 1 (PLDAY1)"), widget=DateInput())


@subject_view(VIEW, ENTER)
def enrol(request: HttpRequest, subject: Subject) -> HttpResponse:
    """Enrol an eligible, consented person: the subject ID and planned Day 1."""
    enrolment = Enrolment.objects.filter(subject=subject, is_deleted=False).first()
    parameters = StudyParameters.objects.current()
    enrolled = selectors.enrolled_count()
    form = EnrolForm(request.POST or None, initial={"enrolled_on": timezone.localdate()})
    if request.method == "POST" and enrolment is None and form.is_valid():
        try:
            enroll_subject(actor=_actor(request), subject=subject, **form.cleaned_data)
        except ValidationError as error:
            _errors_to_form(form, error, {})
        else:
            subject.refresh_from_db()
            messages.success(
                request,
                _("%(screening)s is enrolled as subject %(id)s.")
                % {"screening": subject.screening_id, "id": subject.subject_id},
            )
            return redirect("crf:subject_detail", subject_pk=subject.pk)
    facts = registry.subject_facts(subject)
    context = {
        "subject": subject,
        "form": form,
        "enrolment": enrolment,
        "target": parameters.target_enrolment,
        "enrolled": enrolled,
        "cap_reached": enrolled >= parameters.target_enrolment,
        "eligible": facts.get("IEYN") == YN.Y,
        "consented": facts.get("IC_COMPLETE"),
    }
    return render(request, "enrollment/enrol.html", context)


def subject_actions(subject: Subject, user: Any) -> list[tuple[str, str]]:
    """The screening actions offered on a subject's page."""
    if subject.subject_id or subject.status != SubjectStatus.SCREENING:
        return []
    actions = [
        (
            str(_("Eligibility checklist")),
            reverse("enrollment:eligibility", kwargs={"subject_pk": subject.pk}),
        )
    ]
    if user.has_perm(perm(ENTER)):
        actions.append(
            (str(_("Enrol")), reverse("enrollment:enrol", kwargs={"subject_pk": subject.pk}))
        )
    return actions


class CriterionForm(forms.ModelForm):  # type: ignore[type-arg]
    reason = forms.CharField(
        label=gettext_lazy("Reason for change"), widget=forms.Textarea(attrs={"rows": 2})
    )

    class Meta:
        model = EligibilityCriterion
        fields = ["kind", "text", "text_zh_hans"]
        widgets = {
            "text": forms.Textarea(attrs={"rows": 3}),
            "text_zh_hans": forms.Textarea(attrs={"rows": 3, "lang": "zh-Hans"}),
        }


@require_perm(PROTOCOL)
def criteria(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "enrollment/criteria.html",
        {"criteria": selectors.criteria_in_force(), "kinds": CriterionKind},
    )


@require_perm(PROTOCOL)
def criterion_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A data manager edits a criterion, with a reason (audited)."""
    criterion = get_object_or_404(EligibilityCriterion, pk=pk)
    form = CriterionForm(request.POST or None, instance=EligibilityCriterion.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            save_criterion(
                actor=_actor(request),
                criterion=criterion,
                text=form.cleaned_data["text"],
                text_zh_hans=form.cleaned_data["text_zh_hans"],
                kind=form.cleaned_data["kind"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            _errors_to_form(form, error, {})
        else:
            messages.success(request, _("Criterion %(code)s saved.") % {"code": criterion.code})
            return redirect("enrollment:criteria")
    return render(request, "enrollment/criterion_edit.html", {"criterion": criterion, "form": form})


class TargetForm(forms.Form):
    target = forms.IntegerField(label=gettext_lazy("New target enrolment"), min_value=1)
    reason = forms.CharField(
        label=gettext_lazy("Reason for change"), widget=forms.Textarea(attrs={"rows": 2})
    )


@require_perm(PROTOCOL)
def target(request: HttpRequest) -> HttpResponse:
    """A data manager raises the target enrolment, with a reason (audited)."""
    parameters = StudyParameters.objects.current()
    form = TargetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            raise_enrolment_target(actor=_actor(request), **form.cleaned_data)
        except ValidationError as error:
            _errors_to_form(form, error, {})
        else:
            messages.success(
                request,
                _("The target enrolment is now %(n)d.") % {"n": form.cleaned_data["target"]},
            )
            return redirect("enrollment:target")
    context = {"parameters": parameters, "enrolled": selectors.enrolled_count(), "form": form}
    return render(request, "enrollment/target.html", context)
