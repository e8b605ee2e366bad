"""Latency statistics of a bench run: pure functions, no Django, no HTTP."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks
    (NumPy's default, ``statistics.quantiles(..., method="inclusive")``): p50 of
    [1, 2, 3, 4] is 2.5; the maximum at 100. Raises ValueError on no values."""
    if not values:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not within 0-100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Sample:
    """One timed request (or one timed step: a page and its figures)."""

    seconds: float
    status: int
    ok: bool
    note: str = ""  # why a request failed
    queries: int | None = None  # SQL queries of the timed requests (in-process count only)


@dataclass(frozen=True)
class Round:
    """The samples of one run of a scenario and its wall time (first start to last end)."""

    samples: tuple[Sample, ...]
    wall_seconds: float


@dataclass(frozen=True)
class Summary:
    requests: int
    errors: int
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    # each round's p95: the spread between runs, as the ranges show it
    round_p95_ms: tuple[float, ...]


def summarise(rounds: Sequence[Round]) -> Summary:
    """Percentiles of every successful request of every round pooled; requests per second
    = successful requests / the rounds' wall time. A failed request (error status, or a
    save that did not save) counts in ``errors`` and not in the latencies."""
    ok = [s.seconds for r in rounds for s in r.samples if s.ok]
    errors = sum(1 for r in rounds for s in r.samples if not s.ok)
    wall = sum(r.wall_seconds for r in rounds)
    if not ok:
        nan = float("nan")
        return Summary(0, errors, 0.0, nan, nan, nan, nan, ())
    round_p95 = tuple(
        percentile([s.seconds for s in r.samples if s.ok], 95) * 1000
        for r in rounds
        if any(s.ok for s in r.samples)
    )
    return Summary(
        requests=len(ok),
        errors=errors,
        per_second=len(ok) / wall if wall > 0 else 0.0,
        p50_ms=percentile(ok, 50) * 1000,
        p95_ms=percentile(ok, 95) * 1000,
        p99_ms=percentile(ok, 99) * 1000,
        max_ms=max(ok) * 1000,
        round_p95_ms=round_p95,
    )


def ratio(value: float, baseline: float) -> float | None:
    """``value / baseline``; None when either is missing (NaN) or the baseline is 0."""
    if math.isnan(value) or math.isnan(baseline) or baseline <= 0:
        return None
    return value / baseline
