"""Outcomes at 2,000 synthetic subjects (`make bench`): the endpoint rules, the statistics
and the figures of the study outcomes page, timed and printed (not asserted).

The subjects are built in memory (2,000 subjects through the services would take half an
hour); the page's SQL is bounded separately (tests/outcomes/test_outcome_views.py counts
its queries at two sizes), so what grows with the study is what is measured here.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal

import pytest

from outcomes import charts, endpoints
from outcomes.study import SubjectOutcome, study_summary
from visits import recist

N = 2000


def _timepoint(on: dt.date, overall: recist.Response, pct: Decimal) -> recist.TimepointResult:
    return recist.TimepointResult(
        assessed_on=on,
        sum_mm=None,
        change_from_baseline_pct=pct,
        change_from_nadir_pct=None,
        nadir_mm=None,
        target=overall,
        non_target=recist.NonTargetResponse.NON_CR_NON_PD,
        new_lesion=False,
        overall=overall,
        pd_date=None,
    )


def _synthetic(rng: random.Random, i: int) -> SubjectOutcome:
    day1 = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(0, 400))
    tas = []
    for k in range(1, rng.randrange(2, 13)):
        on = day1 + dt.timedelta(days=42 * k - 1 + rng.randrange(-5, 6))
        overall = rng.choice([recist.Response.PR, recist.Response.SD, recist.Response.SD])
        if k > 2 and rng.random() < 0.25:
            overall = recist.Response.PD
        tas.append(_timepoint(on, overall, Decimal(rng.randrange(-80, 40))))
        if overall is recist.Response.PD:
            break
    death = tas[-1].assessed_on + dt.timedelta(days=60) if rng.random() < 0.4 else None
    record = endpoints.SubjectRecord(
        day1=day1,
        has_baseline_ta=True,
        timepoints=tuple(tas),
        death_on=death,
        new_therapy_on=None,
        last_known_alive=death or tas[-1].assessed_on + dt.timedelta(days=30),
        last_dose_on=tas[-1].assessed_on,
        data_cutoff=dt.date(2026, 11, 23),
    )
    days1 = [
        (endpoints.duration_days(day1, t.assessed_on), t.change_from_baseline_pct) for t in tas
    ]
    return SubjectOutcome(
        pk=i,
        subject_id=f"{i // 100:02d}-{i % 100:03d}",
        site=f"{i // 100:02d}",
        record=record,
        result=endpoints.compute_endpoints(record),
        changes=tuple((d, p) for d, p in days1 if p is not None),
    )


@pytest.mark.parametrize("n", [28, N])
def test_outcomes_at_size(n: int) -> None:
    rng = random.Random(5)
    started = time.perf_counter()
    outcomes = [_synthetic(rng, i) for i in range(n)]
    derived = time.perf_counter()
    summary = study_summary(outcomes)
    summarised = time.perf_counter()
    print(
        f"\n{n} subjects: endpoints {derived - started:.3f} s, "
        f"KM/ORR/DCR {summarised - derived:.3f} s"
    )
    from outcomes import figures

    for name in charts.FIGURES:
        begun = time.perf_counter()
        svg = figures.render(charts.figure(name, outcomes, summary), "svg")
        print(f"  {name:<10} SVG {time.perf_counter() - begun:.3f} s ({len(svg) // 1024} KiB)")
    assert summary.n == n


@pytest.mark.django_db
def test_outcomes_page_html_at_2000_subjects(rf) -> None:  # type: ignore[no-untyped-def]
    """The page's HTML (summary, at-risk tables, the subject table) from 2,000 outcomes."""
    from django.contrib.auth.models import AnonymousUser
    from django.core.paginator import Paginator
    from django.template.loader import render_to_string

    from outcomes.figure_cache import fingerprint
    from outcomes.views import SUBJECTS_PER_PAGE, outcomes_context

    rng = random.Random(5)
    outcomes = [_synthetic(rng, i) for i in range(N)]
    request = rf.get("/outcomes/")
    request.user = AnonymousUser()
    study_summary(outcomes[:28])  # a running server has imported and warmed lifelines
    started = time.perf_counter()
    summary = study_summary(outcomes)
    # what the page adds for its figures: each one's inputs and their fingerprint
    figures_list = [
        (
            name,
            charts.FIGURE_TITLES[name](),
            fingerprint(charts.figure_spec(name, outcomes, summary)),
        )
        for name in charts.FIGURES
    ]
    page = Paginator(outcomes, SUBJECTS_PER_PAGE).get_page(1)
    html = render_to_string(
        "outcomes/study.html", outcomes_context(summary, page, figures_list), request=request
    )
    print(
        f"\n{N} subjects: page HTML with the figures' fingerprints "
        f"{time.perf_counter() - started:.3f} s ({len(html) // 1024} KiB)"
    )
    assert "outcome-subjects" in html


@pytest.mark.parametrize("n", [28, N])
def test_outcomes_figures_cold_and_warm_at_size(n: int, settings) -> None:  # type: ignore[no-untyped-def]
    """The page's five figures through the figure cache (outcomes.figure_cache): cold (drawn)
    and warm (the fingerprint of each figure's inputs, then a cache hit)."""

    from outcomes import figure_cache, figures

    # the figures in this process's memory, as on make run (a shared Redis is not flushed)
    settings.CACHES = {
        **settings.CACHES,
        "figures": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "bench",
        },
    }
    rng = random.Random(5)
    outcomes = [_synthetic(rng, i) for i in range(n)]
    summary = study_summary(outcomes)
    figure_cache.cache().clear()
    print()
    for label in ("cold", "warm", "warm", "warm"):
        drawn = figures.DRAWN["svg"]
        started = time.perf_counter()
        parts = []
        for name in charts.FIGURES:
            begun = time.perf_counter()
            spec = charts.figure_spec(name, outcomes, summary)
            figure_cache.get_or_draw(scope="bench", spec=spec, fmt="svg")
            parts.append(f"{name} {(time.perf_counter() - begun) * 1000:.0f}")
        print(
            f"{n} subjects, 5 figures {label}: {time.perf_counter() - started:.3f} s "
            f"({figures.DRAWN['svg'] - drawn} drawn; ms: {', '.join(parts)})"
        )
    assert summary.n == n
