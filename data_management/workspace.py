"""The monitor's workspace: the day's work of each assigned site on the monitor's home page
(study.home_panels), each count a link to where to act."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from data_management.matrix_selectors import StatusFilter
from data_management.workspace_selectors import QUERY_AGE_BANDS, SiteWork, site_work
from study.roles import SDV, perm


@dataclass(frozen=True)
class Link:
    count: int
    url: str


def _matrix(site: str, status: StatusFilter) -> str:
    return f"{reverse('data_management:matrix')}?{urlencode({'site': site, 'status': status})}"


def links(work: SiteWork) -> dict[str, Any]:
    """Where each count of a site leads: the queries page filtered to those queries (state,
    site, age), the status matrix filtered to the subjects concerned (forms awaiting SDV,
    casebooks awaiting signature), the worklist's overdue visits of the site, the overdue
    SAE reports listed on the same home page."""
    number = work.site.number
    worklist = reverse("visits:worklist")
    queries = reverse("data_management:queries")
    return {
        "open": [
            Link(
                work.open_by_age[band.value],
                f"{queries}?{urlencode({'status': 'open', 'site': number, 'age': band.value})}",
            )
            for band in QUERY_AGE_BANDS
        ],
        "answered": Link(
            work.answered, f"{queries}?{urlencode({'status': 'answered', 'site': number})}"
        ),
        "sdv": Link(work.awaiting_sdv, _matrix(number, StatusFilter.AWAITING_SDV)),
        "signature": Link(
            work.awaiting_signature, _matrix(number, StatusFilter.AWAITING_SIGNATURE)
        ),
        "overdue": Link(
            work.overdue_visits, f"{worklist}?{urlencode({'kind': 'overdue', 'site': number})}"
        ),
        "sae": Link(work.overdue_saes, "#overdue-sae-h"),
    }


def monitor_panel(request: Any) -> str:
    """The monitor's sites and their work, on the home page; "" for anyone who does not
    verify source data (the monitor's permission)."""
    if not request.user.has_perm(perm(SDV)):
        return ""
    work = site_work(request.user, now=timezone.now(), today=timezone.localdate())
    context = {
        "sites": [(site, links(site)) for site in work],
        "bands": QUERY_AGE_BANDS,
        "matrix_url": reverse("data_management:matrix"),
    }
    return render_to_string(
        "data_management/workspace/_monitor_panel.html", context, request=request
    )
