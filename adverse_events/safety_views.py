"""The safety page: TEAE tables of protocol.md, the AEs behind each number, CSV, SAE reports.

Every page takes ``?site=<number>`` (one of the user's sites; another is 404) and reads
through ``adverse_events.safety``'s selectors, so its cost does not grow with the data.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from adverse_events.models import AdverseEvent
from adverse_events.safety import (
    MISSING,
    OVERVIEW,
    Selection,
    load_events,
    load_population,
    load_sae_rows,
    parse_selection,
    scoped_subjects,
    select_events,
    tables,
)
from adverse_events.safety import csv_rows as safety_csv_rows
from crf import registry
from crf.selectors import form_url
from study import protocol
from study.downloads import csv_response
from study.models import Site
from study.roles import SAFETY
from study.scoping import require_perm, sites_for_user


def _sites(request: HttpRequest) -> tuple[list[Site], Site | None]:
    """The user's sites, and the one ``?site=`` chooses (None: all of them)."""
    sites = list(sites_for_user(request.user).order_by("number"))
    number = request.GET.get("site", "")
    if not number:
        return sites, None
    chosen = next((site for site in sites if site.number == number), None)
    if chosen is None:
        raise Http404(_("No such site."))
    return sites, chosen


def _site_query(site: Site | None) -> str:
    return "&" + urlencode({"site": site.number}) if site is not None else ""


@require_perm(SAFETY)
def safety(request: HttpRequest) -> HttpResponse:
    sites, site = _sites(request)
    subjects = scoped_subjects(request.user, site)
    spec = registry.get("AE")
    saes = load_sae_rows(subjects, now=timezone.now())
    context = {
        "tables": tables(load_events(subjects), load_population(subjects)),
        "saes": [(row, form_url(row.event.subject, spec, row.event)) for row in saes],
        "sae_report_hours": protocol.SAE_REPORT_HOURS,
        "sites": sites,
        "site": site,
        "site_query": _site_query(site),
        "csv_query": urlencode({"site": site.number}) if site is not None else "",
        "today": timezone.localdate(),
    }
    return render(request, "adverse_events/safety.html", context)


@require_perm(SAFETY)
def safety_csv(request: HttpRequest) -> HttpResponse:
    """Both TEAE tables in one CSV (column ``section``: overview, soc_term); UTF-8 with a BOM."""
    _all, site = _sites(request)
    subjects = scoped_subjects(request.user, site)
    header, rows = safety_csv_rows(tables(load_events(subjects), load_population(subjects)))
    scope = f"site-{site.number}" if site is not None else "all-sites"
    filename = f"{protocol.STUDY_CODE}-teae-{scope}-{timezone.localdate():%Y-%m-%d}.csv"
    return csv_response(filename, header, rows)


@require_perm(SAFETY)
def safety_events(request: HttpRequest) -> HttpResponse:
    """The AEs behind one number of the tables (``?row=`` or ``?soc=&term=&grade=``)."""
    sites, site = _sites(request)
    try:
        selection = parse_selection(request.GET)
    except ValueError:
        raise Http404(_("No such table cell.")) from None
    subjects = scoped_subjects(request.user, site)
    chosen = select_events(load_events(subjects), load_population(subjects), selection)
    events = list(
        AdverseEvent.objects.filter(pk__in=[ae.pk for ae in chosen])
        .select_related("subject")
        .order_by("subject__subject_id", "onset_on", "pk")
    )
    spec = registry.get("AE")
    context = {
        "rows": [(ae, form_url(ae.subject, spec, ae)) for ae in events],
        "subject_count": len({ae.subject_id for ae in events}),
        "selection": selection,
        "heading": _describe(selection),
        "site": site,
        "sites": sites,
        "back_query": urlencode({"site": site.number}) if site is not None else "",
    }
    return render(request, "adverse_events/safety_events.html", context)


def _describe(selection: Selection) -> str:
    if selection.row is not None:
        return str(OVERVIEW[selection.row][0])
    if selection.soc is None:
        return str(OVERVIEW["any"][0])
    parts = [selection.soc or _("System organ class not coded")]
    if selection.term is not None:
        parts.append(selection.term or _("No term"))
    if selection.grade == MISSING:
        parts.append(_("subjects whose AEs have no grade"))
    elif selection.grade is not None:
        parts.append(_("subjects at worst grade %(grade)s") % {"grade": selection.grade})
    return " › ".join(parts)
