"""A subject's AE log: the timeline geometry, the subject-page panel, the full log page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from adverse_events.timeline import CycleSpan, EventSpan, Tick, build_timeline
from crf import registry
from crf.models import ChangeReason
from crf.services import Reason, delete_form
from enrollment.demo import screen_and_enrol
from study.models import Role

from .conftest import DAY1, SERIOUS, START, save_ae

MAX_QUERIES = 16  # session, user, membership, permissions, time zone ... and the page's own

C1 = CycleSpan("C1", 12, dt.date(2026, 3, 7), dt.date(2026, 3, 20))
C2 = CycleSpan("C2", 10, dt.date(2026, 3, 28), dt.date(2026, 4, 10))
RESOLVED = EventSpan(1, "Hypertension", dt.date(2026, 3, 14), dt.date(2026, 3, 20), 2, False, True)
ONGOING_SAE = EventSpan(2, "Diarrhea", dt.date(2026, 3, 16), None, 3, True, True)
TODAY = dt.date(2026, 4, 17)


# --- the timeline geometry (pure) ---------------------------------------------------------
# 2026-03-07 .. 2026-04-17 is 42 days over the 756 units from x = 180 to 936: 18 a day.


def test_timeline_draws_a_band_per_cycle_with_its_dosing_days() -> None:
    timeline = build_timeline(day1=C1.first_dose_on, cycles=[C2, C1], events=[], today=TODAY)

    assert timeline is not None
    assert [(b.label, b.dose_mg, b.x, b.width, b.dose_x, b.dose_width) for b in timeline.bands] == [
        ("C1", 12, 180.0, 378.0, 180.0, 252.0),  # to the day before C2, dosed 14 days
        ("C2", 10, 558.0, 378.0, 558.0, 252.0),  # the last cycle runs its 21 days
    ]
    assert [b.label_mode for b in timeline.bands] == ["full", "full"]


def test_narrow_cycle_bands_write_their_dose_only() -> None:
    long_ago = EventSpan(6, "Anemia", dt.date(2026, 3, 8), dt.date(2026, 11, 20), 1, False, True)

    timeline = build_timeline(day1=C1.first_dose_on, cycles=[C1], events=[long_ago], today=TODAY)

    assert timeline is not None
    # 259 days over 756 units: the 21-day cycle is 61.3 units wide
    assert [(b.width, b.label_mode) for b in timeline.bands] == [(61.3, "dose")]


def test_timeline_draws_each_ae_from_onset_to_resolution_or_today() -> None:
    timeline = build_timeline(
        day1=C1.first_dose_on, cycles=[C1, C2], events=[ONGOING_SAE, RESOLVED], today=TODAY
    )

    assert timeline is not None
    resolved, ongoing = timeline.bars
    assert (resolved.key, resolved.x, resolved.width, resolved.y) == (1, 306.0, 126.0, 48.0)
    assert (resolved.arrow, resolved.marker, resolved.grade_class) == ("", "", "ae-grade-2")
    assert (ongoing.key, ongoing.x, ongoing.width, ongoing.y) == (2, 342.0, 594.0, 70.0)
    assert ongoing.end == TODAY
    assert ongoing.arrow == "936.0,68.0 945.0,77.0 936.0,86.0"
    assert ongoing.marker == "342.0,69.0 348.0,77.0 342.0,85.0 336.0,77.0"
    assert ongoing.grade_class == "ae-grade-3"
    assert (timeline.axis_y, timeline.height, timeline.today_x) == (92, 136, 927.0)


def test_timeline_ticks_are_study_days_from_day1() -> None:
    timeline = build_timeline(day1=C1.first_dose_on, cycles=[C1, C2], events=[], today=TODAY)

    assert timeline is not None
    assert timeline.study_days is True
    assert timeline.ticks == (
        Tick(189.0, "1"),
        Tick(315.0, "8"),
        Tick(441.0, "15"),
        Tick(567.0, "22"),
        Tick(693.0, "29"),
        Tick(819.0, "36"),
    )


def test_timeline_counts_days_before_day1_without_a_day_0() -> None:
    before = EventSpan(3, "Fatigue", dt.date(2026, 2, 28), dt.date(2026, 3, 1), 1, False, False)

    timeline = build_timeline(day1=C1.first_dose_on, cycles=[C1, C2], events=[before], today=TODAY)

    assert timeline is not None
    assert timeline.start == dt.date(2026, 2, 28)
    assert [t.label for t in timeline.ticks][:2] == ["-7", "1"]


def test_timeline_without_a_dose_runs_in_dates() -> None:
    timeline = build_timeline(day1=None, cycles=[], events=[RESOLVED], today=TODAY)

    assert timeline is not None
    assert timeline.study_days is False
    assert timeline.ticks[0].label == "2026-03-14"
    assert timeline.bands == ()


def test_timeline_has_nothing_to_draw_without_dates() -> None:
    undated = EventSpan(4, "Nausea", None, None, 1, False, False)

    assert build_timeline(day1=None, cycles=[], events=[undated], today=TODAY) is None


def test_timeline_shortens_long_terms_but_keeps_them_whole_in_the_tooltip() -> None:
    term = "Vascular disorders - Other, specify: Varicose veins of the leg"
    event = EventSpan(5, term, dt.date(2026, 3, 9), None, 1, False, True)

    timeline = build_timeline(day1=C1.first_dose_on, cycles=[C1], events=[event], today=TODAY)

    assert timeline is not None
    assert (timeline.bars[0].term, timeline.bars[0].short_term) == (
        term,
        "Vascular disorders - Othe…",
    )


# --- the subject page panel and the log page -----------------------------------------------


def _page(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_subject_page_panel_shows_the_ae_and_the_timeline(client, investigator, treated) -> None:
    ae = save_ae(investigator, treated)
    client.force_login(investigator)

    page = _page(client, reverse("crf:subject_detail", kwargs={"subject_pk": treated.pk}))

    panel = page[page.index('data-testid="ae-panel"') :]
    form_url = reverse(
        "crf:log_record", kwargs={"subject_pk": treated.pk, "form_code": "AE", "record_pk": ae.pk}
    )
    assert f'<a href="{form_url}">Hypertension</a>' in panel
    assert 'data-testid="ae-timeline"' in panel
    assert f'data-testid="ae-bar-{ae.pk}"' in panel
    assert re.search(r"<title>Hypertension: grade 2, \d{4}-\d\d-\d\d – ongoing</title>", panel)
    assert (
        f"<title>C1: 12 mg daily, dosed {DAY1.isoformat()} to "
        f"{(DAY1 + dt.timedelta(days=13)).isoformat()}</title>"
    ) in panel
    new_url = reverse("crf:form", kwargs={"subject_pk": treated.pk, "form_code": "AE"})
    assert f'href="{new_url}" data-testid="record-ae">Record an adverse event</a>' in panel
    log_url = reverse("adverse_events:subject_log", kwargs={"subject_pk": treated.pk})
    assert f'href="{log_url}"' in panel


@pytest.mark.django_db
def test_panel_offers_recording_only_to_those_who_enter_data(client, people, treated) -> None:
    save_ae(people[Role.INVESTIGATOR], treated)
    client.force_login(people[Role.MONITOR])

    page = _page(client, reverse("crf:subject_detail", kwargs={"subject_pk": treated.pk}))

    assert 'data-testid="ae-panel"' in page
    assert "Record an adverse event" not in page


@pytest.mark.django_db
def test_no_panel_before_enrolment(client, investigator, subject01) -> None:
    client.force_login(investigator)

    page = _page(client, reverse("crf:subject_detail", kwargs={"subject_pk": subject01.pk}))

    assert 'data-testid="ae-panel"' not in page


@pytest.mark.django_db
def test_enrolled_subject_without_aes_shows_an_empty_log(client, investigator, sites) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=START)
    client.force_login(investigator)

    page = _page(client, reverse("crf:subject_detail", kwargs={"subject_pk": subject.pk}))

    assert 'data-testid="no-ae"' in page
    assert 'data-testid="ae-timeline"' not in page  # no dose, no AE: nothing dated


@pytest.mark.django_db
def test_log_page_lists_active_aes_in_onset_order_with_their_marks(
    client, investigator, treated
) -> None:
    later = save_ae(investigator, treated, onset_on=DAY1 + dt.timedelta(days=12))
    serious = save_ae(
        investigator,
        treated,
        **SERIOUS,
        term="Diarrhea",
        onset_on=DAY1 + dt.timedelta(days=3),
        aware_on=DAY1 + dt.timedelta(days=3),
        narrative="Admitted for rehydration.",
        ongoing="N",
        resolved_on=DAY1 + dt.timedelta(days=6),
        outcome="RECOVERED",
    )
    before = save_ae(
        investigator, treated, term="Fatigue", grade=1, onset_on=DAY1 - dt.timedelta(days=1)
    )
    deleted = save_ae(investigator, treated, term="Nausea", grade=1)
    delete_form(
        actor=investigator,
        spec=registry.get("AE"),
        instance=deleted,
        reason=Reason(ChangeReason.OTHER, "Entered twice."),
    )
    client.force_login(investigator)

    page = _page(client, reverse("adverse_events:subject_log", kwargs={"subject_pk": treated.pk}))

    rows = re.findall(r'<tr data-testid="ae-(\d+)">(.*?)</tr>', page, re.S)
    assert [int(pk) for pk, _row in rows] == [before.pk, serious.pk, later.pk]
    cells = dict(rows)
    assert 'data-testid="serious">SAE<' in cells[str(serious.pk)]
    assert "ae-grade-3" in cells[str(serious.pk)]
    assert (DAY1 + dt.timedelta(days=6)).isoformat() in cells[str(serious.pk)]
    assert ">TEAE<" not in cells[str(before.pk)]
    assert ">TEAE<" in cells[str(later.pk)]
    assert "Ongoing" in cells[str(later.pk)]
    assert f'data-testid="ae-bar-{deleted.pk}"' not in page
    assert page.count('class="ae-bar ') == 3
    assert page.count('class="sae-mark"') == 1


@pytest.mark.django_db
def test_log_page_of_another_sites_subject_does_not_exist(
    client, people, sites, make_person
) -> None:
    inv02 = make_person("inv02", Role.INVESTIGATOR, ("02",))
    other = screen_and_enrol(inv02, sites["02"], start=START)
    client.force_login(people[Role.MONITOR])  # of site 01

    url = reverse("adverse_events:subject_log", kwargs={"subject_pk": other.pk})

    assert client.get(url).status_code == 404
    detail = reverse("crf:subject_detail", kwargs={"subject_pk": other.pk})
    assert client.get(detail).status_code == 404


def _queries(client: Any, url: str) -> int:
    cache.clear()  # the whole cost (crf.page_cache keeps the subject page's parts)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["adverse_events:subject_log", "crf:subject_detail"])
def test_log_pages_cost_the_same_with_2_and_8_aes(
    client, investigator, treated, django_assert_max_num_queries, url_name
) -> None:
    client.force_login(investigator)
    url = reverse(url_name, kwargs={"subject_pk": treated.pk})
    for day in (3, 5):
        save_ae(investigator, treated, onset_on=DAY1 + dt.timedelta(days=day))
    _queries(client, url)  # warm the session
    small = _queries(client, url)

    for day in range(6, 12):
        save_ae(
            investigator, treated, term="Diarrhea", grade=1, onset_on=DAY1 + dt.timedelta(days=day)
        )
    cache.clear()
    with django_assert_max_num_queries(small):
        page = _page(client, url)

    assert page.count('class="ae-bar ') == 8
    if url_name == "adverse_events:subject_log":
        assert small <= MAX_QUERIES
