"""The bench's statistics (benchmarks/stats.py): pure, no database."""

from __future__ import annotations

import math

import pytest

from benchmarks.stats import Round, Sample, percentile, ratio, summarise


def test_percentile_interpolates_between_closest_ranks() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([float(v) for v in range(1, 101)], 95) == pytest.approx(95.05)
    assert percentile([float(v) for v in range(1, 101)], 99) == pytest.approx(99.01)


def test_percentile_of_one_value_is_that_value() -> None:
    assert [percentile([7.0], q) for q in (0, 50, 95, 100)] == [7.0, 7.0, 7.0, 7.0]


def test_percentile_ends_are_the_minimum_and_maximum() -> None:
    assert (percentile([3.0, 9.0, 1.0], 0), percentile([3.0, 9.0, 1.0], 100)) == (1.0, 9.0)


def test_percentile_of_nothing_or_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summarise_pools_the_rounds_and_leaves_failures_out_of_the_latencies() -> None:
    rounds = [
        Round((Sample(0.010, 200, True), Sample(0.030, 200, True)), wall_seconds=0.5),
        Round((Sample(0.020, 200, True), Sample(5.0, 409, False, "stale")), wall_seconds=0.5),
    ]

    summary = summarise(rounds)

    assert (summary.requests, summary.errors, summary.per_second) == (3, 1, 3.0)
    assert summary.p50_ms == pytest.approx(20.0)
    assert summary.max_ms == pytest.approx(30.0)
    assert summary.round_p95_ms == pytest.approx((29.0, 20.0))


def test_summarise_with_no_successful_request_has_no_latencies() -> None:
    summary = summarise([Round((Sample(0.0, 500, False),), wall_seconds=1.0)])

    assert (summary.requests, summary.errors, summary.per_second) == (0, 1, 0.0)
    assert math.isnan(summary.p95_ms)


def test_ratio_is_none_without_a_baseline() -> None:
    assert ratio(30.0, 10.0) == 3.0
    assert ratio(30.0, 0.0) is None
    assert ratio(float("nan"), 10.0) is None
    assert ratio(30.0, float("nan")) is None
