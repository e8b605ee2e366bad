"""Outcomes pages: ending treatment from the subject page."""

from __future__ import annotations

from typing import Any, Literal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from outcomes import display
from outcomes.services import open_end_of_treatment
from study import protocol
from study.downloads import csv_response
from study.models import Subject
from study.roles import ENTER, OUTCOMES, VIEW, perm
from study.scoping import require_perm, subject_view
from visits.tumour import code_label


@subject_view(VIEW, ENTER)
@require_POST
def end_treatment(request: HttpRequest, subject: Subject) -> HttpResponse:
    """Open the EOT visit and go to its EOT form."""
    try:
        open_end_of_treatment(actor=request.user, subject=subject)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("crf:subject_detail", subject_pk=subject.pk)
    return redirect("crf:visit_form", subject_pk=subject.pk, visit_code="EOT", form_code="EOT")


def subject_actions(subject: Subject, user: object) -> list[tuple[str, str]]:
    """A link to end treatment is a POST form; offered as the page of the EOT form once open."""
    from crf.models import Visit

    if not subject.subject_id or not getattr(user, "has_perm", None):
        return []
    if not user.has_perm(perm(ENTER)):  # type: ignore[attr-defined]
        return []
    if Visit.objects.filter(subject=subject, code="EOT").exists():
        url = reverse(
            "crf:visit_form",
            kwargs={"subject_pk": subject.pk, "visit_code": "EOT", "form_code": "EOT"},
        )
        return [(str(_("End of treatment")), url)]
    return []


def end_treatment_panel(request: HttpRequest, subject: Subject) -> str:
    """On an enrolled subject's page: a button to end treatment (until the EOT visit exists)."""
    from django.template.loader import render_to_string

    from crf.models import Visit

    if not subject.subject_id or not request.user.has_perm(perm(ENTER)):
        return ""
    if Visit.objects.filter(subject=subject, code="EOT").exists():
        return ""
    return render_to_string("outcomes/_end_treatment.html", {"subject": subject}, request=request)


# --- The study outcomes page ------------------------------------------------------------


# How long a computed study is kept at most (it is recomputed as soon as any data change).
STUDY_CACHE_SECONDS = 600


def _study(request: HttpRequest) -> tuple[list[Any], Any]:
    """Every enrolled subject's endpoints and the summary, for the reader's sites.

    Computing them reads every subject's assessments (seconds at 2,000 subjects), so the
    result is kept while the study's data do not change: keyed by the study's version (its
    last audit entry: every change to clinical data and parameters appends one), the
    reader's scope, today and the language."""
    import hashlib

    from django.core.cache import caches
    from django.utils import timezone
    from django.utils.translation import get_language

    from crf.page_cache import CACHE_ALIAS, study_version
    from outcomes.figure_cache import scope_of
    from outcomes.study import enrolled_subjects, study_outcomes, study_summary

    today = timezone.localdate()
    raw = repr((study_version(), scope_of(request.user), today.isoformat(), get_language()))
    key = f"edc-study-outcomes:{hashlib.sha256(raw.encode()).hexdigest()}"
    cache = caches[CACHE_ALIAS]
    kept = cache.get(key)
    if kept is not None:
        return kept  # type: ignore[no-any-return]
    outcomes = study_outcomes(
        enrolled_subjects(Subject.objects.for_user(request.user)), today=today
    )
    computed = (outcomes, study_summary(outcomes))
    cache.set(key, computed, STUDY_CACHE_SECONDS)
    return computed


SUBJECTS_PER_PAGE = 50


@require_perm(OUTCOMES)
def study_outcomes_page(request: HttpRequest) -> HttpResponse:
    """KM curves of PFS and OS, the summary table, waterfall, swimmer and spider plots."""
    from django.template.loader import render_to_string

    from crf import page_cache
    from outcomes.figure_cache import scope_of

    def render_body() -> str:
        from django.core.paginator import Paginator

        from outcomes import charts
        from outcomes.figure_cache import fingerprint

        outcomes, summary = _study(request)
        # Each figure's URL carries the fingerprint of what it is drawn from
        # (outcomes.figure_cache): the image request then finds it in the cache without
        # reading the study again.
        figures_list = [
            (
                name,
                charts.FIGURE_TITLES[name](),
                fingerprint(charts.figure_spec(name, outcomes, summary)),
            )
            for name in charts.FIGURES
        ]
        page = Paginator(outcomes, SUBJECTS_PER_PAGE).get_page(request.GET.get("page"))
        context = outcomes_context(summary, page, figures_list)
        return render_to_string("outcomes/_study_body.html", context, request=request)

    # The page's body is kept while the study's data do not change (crf.page_cache: its
    # version is the last audit entry), for the reader's scope and the page asked.
    body = page_cache.fragment(
        "study-outcomes",
        (page_cache.study_version(), scope_of(request.user), request.GET.get("page", "")),
        render_body,
    )
    return render(request, "outcomes/study.html", {"body": mark_safe(body)})  # noqa: S308


def outcomes_context(summary: Any, page: Any, figures_list: list[Any]) -> dict[str, Any]:
    """What the study outcomes page shows: numbers and codes as people read them
    (outcomes.display), each subject's endpoints explained in the user's language."""
    from outcomes import charts, display

    return {
        "rows": [
            (
                o,
                display.response_label(o.result.bor),
                o.result.pfs.explain(_, code_label),
                o.result.os.explain(_, code_label),
            )
            for o in page.object_list
        ],
        "page": page,
        "summary": summary,
        "proportions": [
            ("orr", _("Objective response rate (CR + PR)"), display.proportion_texts(summary.orr)),
            (
                "dcr",
                _("Disease control rate (CR + PR + SD)"),
                display.proportion_texts(summary.dcr),
            ),
        ],
        "figures": figures_list,
        "at_risk_months": charts.AT_RISK_MONTHS,
        "rate_months": [rate.months for rate in summary.pfs.rates],
        "km_rows": [
            (
                label,
                key,
                km,
                display.median_text(km),
                [display.rate_text(rate) for rate in km.rates],
            )
            for label, key, km in (
                (_("Progression-free survival"), "km_pfs", summary.pfs),
                (_("Overall survival"), "km_os", summary.os),
            )
        ],
    }


@require_perm(OUTCOMES)
def study_figure(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    """One figure as SVG (shown with <img>) or PNG (download), drawn once per content.

    ``?v=`` (the fingerprint the page computed) finds the figure in the cache without
    reading the study; otherwise, or on a miss, the current data is read and the figure is
    drawn only if no figure of exactly that data is cached (outcomes.figure_cache). The
    ETag is the fingerprint: a client holding the figure gets 304 Not Modified.
    """
    from django.utils.cache import get_conditional_response

    from outcomes import charts, figure_cache, figures

    if name not in charts.FIGURES or fmt not in ("svg", "png"):
        raise Http404
    kind: Literal["svg", "png"] = "svg" if fmt == "svg" else "png"
    scope = figure_cache.scope_of(request.user)
    drawn = figure_cache.cached(scope=scope, fmt=kind, version=request.GET.get("v", ""))
    if drawn is None:
        outcomes, summary = _study(request)
        spec = charts.figure_spec(name, outcomes, summary)
        drawn = figure_cache.get_or_draw(scope=scope, spec=spec, fmt=kind)
    etag = drawn.etag(kind)
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        not_modified["ETag"] = etag
        return not_modified  # type: ignore[return-value]
    response = HttpResponse(drawn.content, content_type=figures.CONTENT_TYPES[kind])
    response["ETag"] = etag
    if request.GET.get("download"):
        response["Content-Disposition"] = (
            f'attachment; filename="{protocol.STUDY_CODE}-{name}.{fmt}"'
        )
    return response


@require_perm(OUTCOMES)
def study_csv(request: HttpRequest, name: str) -> HttpResponse:
    """The data behind a figure, or the per-subject endpoints, as CSV (UTF-8 with a BOM)."""
    from outcomes import charts

    if name not in (*charts.FIGURES, "subjects"):
        raise Http404
    outcomes, summary = _study(request)
    header, rows = charts.csv_table(name, outcomes, summary)
    return csv_response(f"{protocol.STUDY_CODE}-{name}.csv", header, rows)


def endpoint_panel(request: HttpRequest, subject: Subject) -> str:
    """The subject's endpoints, with the derivation in words."""
    from django.template.loader import render_to_string
    from django.utils import timezone

    from outcomes.study import study_outcomes

    if not subject.subject_id:
        return ""
    outcome = study_outcomes([subject], today=timezone.localdate())[0]
    result = outcome.result
    context = {
        "o": outcome,
        "bor": display.response_label(result.bor),
        "pfs_text": _endpoint_sentence(result.pfs),
        "os_text": _endpoint_sentence(result.os),
        "bor_text": (
            result.best_response.explain_reason(_, code_label)
            if result.best_response is not None
            else ""
        ),
    }
    return render_to_string("outcomes/_endpoint_panel.html", context, request=request)


def _endpoint_sentence(endpoint: Any) -> str:
    """ "168 days (5.52 months), censored. PFS censored at …": one sentence per catalogue
    message, so that a translation uses its own punctuation."""
    values = {"days": endpoint.days, "months": endpoint.months}
    if endpoint.event:
        summary = _("%(days)s days (%(months)s months), event.") % values
    else:
        summary = _("%(days)s days (%(months)s months), censored.") % values
    return _("%(summary)s %(explanation)s") % {
        "summary": summary,
        "explanation": endpoint.explain(_, code_label),
    }
