"""What a person reads on the outcomes and treatment-and-response pages: numbers whose
estimate is undefined say so, responses show their labels, the target-sum chart has a
title and labelled axes, and no explanation cites a file name."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from enrollment.demo import screen_and_enrol
from outcomes import display
from outcomes.statistics import binomial_ci, kaplan_meier
from outcomes.study import StudySummary
from outcomes.views import outcomes_context
from study.models import Role
from visits.demo import treat

START = dt.date(2026, 3, 2)
DAY1 = START + dt.timedelta(days=5)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def cells(html: str, testid: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", c).strip()
        for c in re.findall(rf'<td data-testid="{testid}">(.*?)</td>', html, re.S)
    ]


def summary_page(summary: StudySummary) -> str:
    page = Paginator([], 50).get_page(1)
    return render_to_string("outcomes/_study_body.html", outcomes_context(summary, page, []))


def test_a_rate_nobody_was_followed_to_reads_not_estimable() -> None:
    # OS: one subject censored on day 100, the last one at risk dies on day 244, so the
    # curve falls to 0 there; nobody is followed to 12 months (365.25 days).
    summary = StudySummary(
        n=2,
        orr=binomial_ci(1, 2),
        dcr=binomial_ci(2, 2),
        pfs=kaplan_meier([40, 80, 120, 300, 400], [True, False, True, True, False]),
        os=kaplan_meier([100, 244], [False, True]),
    )

    html = summary_page(summary)

    assert cells(html, "km_os-rate") == ["100 % (95 % CI not estimable)", "not estimable"]
    assert cells(html, "km_pfs-rate") == ["53 % (7–86 %)", "27 % (1–69 %)"]
    assert "—" not in html.split('data-testid="km-summary"')[1].split("</table>")[0]


def test_medians_say_not_reached_and_not_estimable_where_each_applies() -> None:
    summary = StudySummary(
        n=3,
        orr=binomial_ci(0, 0),
        dcr=binomial_ci(0, 0),
        pfs=kaplan_meier([10, 20, 30], [False, False, False]),  # nobody progressed
        os=kaplan_meier([40, 80, 120, 300, 400], [True, False, True, True, False]),
    )

    html = summary_page(summary)

    assert cells(html, "km_pfs-median") == ["not reached (n.e.–n.e.)"]
    assert cells(html, "km_os-median") == ["300 (40–NR)"]
    assert display.median_text(kaplan_meier([], [])) == "not estimable"
    orr = html.split('data-testid="orr"')[1].split("</tr>")[0]
    assert re.findall(r"<td[^>]*>(.*?)</td>", orr) == ["0 / 0", "not estimable", "not estimable"]


def test_rate_and_median_sentences_are_single_catalogue_messages() -> None:
    """One msgid per sentence, so that Chinese can use full-width brackets and dashes."""
    from django.utils.translation import gettext

    assert gettext("%(rate)s %% (%(low)s–%(high)s %%)") == "%(rate)s %% (%(low)s–%(high)s %%)"
    assert display.rate_text(kaplan_meier([30, 60], [True, True]).rates[1]) == "not estimable"


def treated(actor, site, course: str):
    subject = screen_and_enrol(actor, site, start=START)
    treat(actor, subject, day1=DAY1, cycles=2, course=course)
    return subject


@pytest.fixture
def two(investigator, sites):
    return [treated(investigator, sites["01"], "PD"), treated(investigator, sites["01"], "PR")]


@pytest.mark.django_db
def test_the_outcomes_page_shows_response_labels_not_codes(client, people, two) -> None:
    client.force_login(people[Role.MEDICAL_MONITOR])

    html = client.get(reverse("outcomes:study")).content.decode()

    table = html.split('data-testid="outcome-subjects"')[1].split("</table>")[0]
    assert "<td>Progressive disease</td>" in table
    assert "<td>Partial response</td>" in table
    assert not re.search(r">(CR|PR|SD|PD|NE|NON_CR_NON_PD)<", table)
    assert '<th scope="col">Best overall response</th>' in table
    assert "last adequate assessment (Partial response)" in table


@pytest.mark.django_db
def test_the_endpoint_panel_shows_the_label_and_no_file_name(client, investigator, two) -> None:
    client.force_login(investigator)

    html = client.get(
        reverse("crf:subject_detail", kwargs={"subject_pk": two[1].pk})
    ).content.decode()

    panel = html.split('data-testid="endpoint-panel"')[1].split("</section>")[0]
    bor = re.search(r'data-testid="endpoint-bor">(.*?)</dd>', panel, re.S)
    assert bor is not None and bor.group(1).startswith("Partial response <span")
    assert "protocol.md" not in html
    assert "(protocol, " not in html
    pfs = re.search(r'data-testid="endpoint-pfs">(.*?)</dd>', panel, re.S)
    assert pfs is not None and re.match(r"\d+ days \(\d+\.\d\d months\), censored\. PFS ", pfs[1])


@pytest.mark.django_db
def test_treatment_and_response_shows_labels_and_a_chart_with_axes(
    client, investigator, sites
) -> None:
    subject = treated(investigator, sites["01"], "PR")
    client.force_login(investigator)

    html = client.get(reverse("visits:summary", kwargs={"subject_pk": subject.pk})).content.decode()

    assert "protocol.md" not in html
    assert "Best overall response: Partial response</strong>" in html
    lesions = html.split('data-testid="lesions"')[1].split("</table>")[0]
    responses = re.search(r"RECIST response</th><td></td>(.*?)</tr>", lesions, re.S)
    assert responses is not None
    assert re.findall(r"<td>(.*?)</td>", responses[1])[:2] == ["Partial response"] * 2
    figure = html.split('data-testid="sum-chart"')[1].split("</figure>")[0]
    assert "Sum of target lesion diameters over time</figcaption>" in figure
    svg = ET.fromstring(figure[figure.index("<svg") : figure.index("</svg>") + 6])
    texts = ["".join(t.itertext()) for t in svg.iter("text")]
    assert "Sum of diameters (mm)" in texts
    assert "Study day" in texts
    assert {"0", "20", "40", "60"} <= set(texts)  # mm ticks
    assert "1" in texts  # Day 1 on the study-day axis
    assert "Partial response threshold: 42.0 mm (−30 %)" in texts
    table = figure.split('data-testid="sum-table"')[1]
    # baseline 60 mm three days before Day 1, then the follow-up scans of the PR course
    assert re.findall(
        r'<td class="text-end">(-?\d+)</td><td class="text-end">([\d.]+)</td>', table
    )[:2] == [("-3", "60.0"), ("42", "40.0")]
