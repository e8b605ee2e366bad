"""Survival and response statistics of the study dashboard.

Pure Python, no Django: durations in days and event flags in, frozen dataclasses of plain
ints, floats and None out (``as_dict()`` gives JSON-ready dicts). Source: protocol.md,
"Statistics the study dashboard shows".

What comes from the libraries and what is added here
----------------------------------------------------
lifelines (``KaplanMeierFitter``) computes, at 0 and at every distinct observed time:

- the product-limit estimate S(t) (events before censorings at a tied time, so a subject
  censored at an event time is still in the risk set of that event: lifelines counts at
  risk at t everybody whose time is >= t);
- the pointwise 95 % interval ``confidence_interval_``: the "exponential Greenwood" interval,
  i.e. the log-log transform, ``exp(-exp(log(-log S) ∓ z·sqrt(V)/log S))`` with V the
  Greenwood sum of d/(n(n-d)) over the event times <= t. Written as powers this is
  ``[S ** exp(z·sqrt(V)/|log S|), S ** exp(-z·sqrt(V)/|log S|)]``, the interval of R survival's
  ``conf.type="log-log"`` and SAS PROC LIFETEST ``CONFTYPE=LOGLOG`` (the tests check it
  against a hand-computed Greenwood sum and against the published R output).

Added on top of the lifelines table:

- Where S is 1 or 0 the log-log interval is undefined (log(-log S) is infinite). lifelines
  fills it with 1 (S = 1) or returns 0 (S = 0); here both bounds are None there, as R
  survival does (NA). A plot draws no band there.
- The median with the midpoint convention (lifelines' ``median_survival_time_`` does not
  apply it): the smallest time at which S <= 0.5; where S equals 0.5 exactly from one event
  time to the next (to within sqrt(machine epsilon), R's tolerance: S is a product of
  floats), the midpoint of those two event times. Where S stays at exactly 0.5 to the end
  of follow-up there is no next event time and the median is the event time at which S
  reached 0.5 (the protocol's general rule; R survival gives the midpoint with the last
  follow-up time there, SAS reports no median).
- The median's 95 % CI by Brookmeyer-Crowley with the log-log transform: the set of times
  at which the pointwise log-log interval of S(t) contains 0.5. Its lower limit is the
  first time at which the *lower* pointwise bound is <= 0.5, its upper limit the first
  time at which the *upper* pointwise bound is <= 0.5, each with the same midpoint rule as
  the median and ignoring the times where the bound is undefined (S = 0), which is R
  survival's ``quantile.survfit`` on a ``conf.type="log-log"`` fit (its ``findq`` applied to
  ``lower`` and ``upper``). A limit whose bound never falls to 0.5 is None (not reached).
  For the 6-MP arm of Freireich et al. this gives 23 (13, not reached), the output reported
  for R's ``survfit(..., conf.type="log-log")`` (``median 23, 0.95LCL 13, 0.95UCL NA``; R is
  not installed here, the tests derive both limits from hand-computed bounds).
- Rates at 6 and 12 months: S and its pointwise interval at t = months x DAYS_PER_MONTH
  days exactly (182.625 and 365.25 days: with whole-day durations, an event on day 182
  counts for the 6-month rate, one on day 183 does not). Beyond the last follow-up time,
  with nobody at risk, the rate is not estimable (all None), also where the last subject
  had an event and S fell to 0: one event in the last subject at risk is no estimate of a
  rate at a time nobody was followed to (R survival's ``summary(fit, times=)`` likewise
  gives no row beyond the last follow-up time unless asked to ``extend``).
- Numbers at risk at 0, 3, 6, 9, 12, 18 and 24 months: subjects whose time is >= t, t as
  for the rates (a subject censored or with an event exactly at t is at risk at t).
- Event and censor counts and the censor times (for censor marks on the curve).

Proportions (ORR, DCR): n/N, % and the exact Clopper-Pearson 95 % interval, from
``scipy.stats.binomtest(...).proportion_ci(method="exact")``.

Values are not rounded except the probabilities (survival and its CI bounds), which are
rounded to 10 decimal places to drop floating-point noise (0.7500000000000001 → 0.75);
display rounding is the template's business.
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
from lifelines import KaplanMeierFitter
from scipy.stats import binomtest

from study.protocol import DAYS_PER_MONTH

CONFIDENCE_LEVEL = 0.95
AT_RISK_MONTHS = (0, 3, 6, 9, 12, 18, 24)
RATE_MONTHS = (6, 12)
MEDIAN_PROBABILITY = 0.5

# R survival's quantile.survfit tolerance for "the curve equals p exactly".
_TOLERANCE = math.sqrt(sys.float_info.epsilon)
_DIGITS = 10


def months_to_days(months: int | Decimal) -> float:
    """``months`` x DAYS_PER_MONTH (protocol.md: months = days / 30.4375), in days."""
    return float(Decimal(months) * DAYS_PER_MONTH)


def _probability(value: float | None) -> float | None:
    return None if value is None else round(float(value), _DIGITS)


@dataclass(frozen=True)
class SurvivalRate:
    """S(t) with its pointwise log-log 95 % CI at ``days`` (None: not estimable/undefined)."""

    days: float
    months: float
    survival: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class AtRisk:
    """Number of subjects at risk (time >= ``days``) at ``months``."""

    months: int
    days: float
    n: int


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier estimate with everything the dashboard shows.

    The step function: ``survival[i]``, ``ci_low[i]`` and ``ci_high[i]`` hold on
    [``times[i]``, ``times[i + 1]``), the last one up to ``last_follow_up``; ``times`` is 0
    and every distinct observed time (event or censoring), ``at_risk[i]`` the number of
    subjects whose time is >= ``times[i]``. The CI bounds are None where S is 0 or 1 (the
    log-log interval is undefined there). ``median`` and its CI are in days, None when not
    reached.
    """

    n: int
    events: int
    censored: int
    times: tuple[int, ...]
    survival: tuple[float, ...]
    ci_low: tuple[float | None, ...]
    ci_high: tuple[float | None, ...]
    at_risk: tuple[int, ...]
    censor_times: tuple[int, ...]
    last_follow_up: int | None
    median: float | None
    median_ci_low: float | None
    median_ci_high: float | None
    rates: tuple[SurvivalRate, ...]
    numbers_at_risk: tuple[AtRisk, ...]

    def _row(self, days: float) -> int | None:
        """Index of the step holding at ``days`` (None before 0 or with no subject)."""
        row = int(np.searchsorted(self.times, days, side="right")) - 1
        return row if row >= 0 else None

    def rate_at(self, days: float) -> SurvivalRate:
        """S(``days``) with its pointwise 95 % CI (log-log, Greenwood variance)."""
        months = float(days) / float(DAYS_PER_MONTH)
        row = self._row(days)
        if row is None or self.last_follow_up is None:
            return SurvivalRate(days, months, None, None, None)
        if days > self.last_follow_up:  # nobody at risk: not estimable, even where S fell to 0
            return SurvivalRate(days, months, None, None, None)
        return SurvivalRate(days, months, self.survival[row], self.ci_low[row], self.ci_high[row])

    def rate_at_months(self, months: int) -> SurvivalRate:
        """The rate at ``months`` x DAYS_PER_MONTH days."""
        return self.rate_at(months_to_days(months))

    def at_risk_at(self, days: float) -> int:
        """Subjects whose time is >= ``days``."""
        row = int(np.searchsorted(self.times, days, side="left"))
        return self.at_risk[row] if row < len(self.times) else 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: tuples become lists, None stays None."""
        return asdict(self)


def _validate(days: Sequence[int], events: Sequence[bool]) -> tuple[list[int], list[bool]]:
    if len(days) != len(events):
        raise ValueError(f"{len(days)} durations but {len(events)} event flags")
    durations = [operator.index(value) for value in days]
    if any(value < 0 for value in durations):
        raise ValueError("durations must be >= 0 days")
    return durations, [bool(flag) for flag in events]


def _loglog_defined(survival: np.ndarray, bound: np.ndarray) -> list[float | None]:
    """The lifelines bound, None where S is 0 or 1 (the log-log interval is undefined)."""
    return [
        None if (s <= 0.0 or s >= 1.0) else _probability(float(b))
        for s, b in zip(survival, bound, strict=True)
    ]


def _crossing(times: Sequence[int], curve: Sequence[float | None]) -> float | None:
    """First time at which the step ``curve`` is <= 0.5, with the midpoint rule.

    Where the curve equals 0.5 (within _TOLERANCE) from one of its steps to the next step
    down, the midpoint of the two times; if it never steps down again, the time it reached
    0.5. Times where the curve is None (undefined) are skipped. None if never <= 0.5.
    """
    defined = [(t, c) for t, c in zip(times, curve, strict=True) if c is not None]
    for index, (time, value) in enumerate(defined):
        if value > MEDIAN_PROBABILITY + _TOLERANCE:
            continue
        if value < MEDIAN_PROBABILITY - _TOLERANCE:
            return float(time)
        for later_time, later_value in defined[index + 1 :]:
            if later_value < MEDIAN_PROBABILITY - _TOLERANCE:
                return (time + later_time) / 2
        return float(time)
    return None


def _empty() -> KaplanMeier:
    return KaplanMeier(
        n=0,
        events=0,
        censored=0,
        times=(),
        survival=(),
        ci_low=(),
        ci_high=(),
        at_risk=(),
        censor_times=(),
        last_follow_up=None,
        median=None,
        median_ci_low=None,
        median_ci_high=None,
        rates=tuple(
            SurvivalRate(months_to_days(m), float(m), None, None, None) for m in RATE_MONTHS
        ),
        numbers_at_risk=tuple(AtRisk(m, months_to_days(m), 0) for m in AT_RISK_MONTHS),
    )


def kaplan_meier(days: Sequence[int], events: Sequence[bool]) -> KaplanMeier:
    """Kaplan-Meier estimate of ``days`` (one per subject) with ``events`` (True: event).

    See the module docstring for what lifelines computes and what is added here.
    """
    durations, flags = _validate(days, events)
    if not durations:
        return _empty()

    fitter = KaplanMeierFitter(alpha=1 - CONFIDENCE_LEVEL)
    # lifelines calls np.seterr inside fit(); errstate puts the global state back.
    with np.errstate(divide="ignore", invalid="ignore"):
        fitter.fit(durations, event_observed=flags)
    table = fitter.event_table
    times = [int(t) for t in table.index]
    survival = fitter.survival_function_.iloc[:, 0].to_numpy(dtype=float)
    bounds = fitter.confidence_interval_.to_numpy(dtype=float)
    if [int(t) for t in fitter.survival_function_.index] != times:
        raise AssertionError("lifelines timeline and event table disagree")

    raw_survival: list[float | None] = [float(s) for s in survival]
    ci_low = _loglog_defined(survival, bounds[:, 0])
    ci_high = _loglog_defined(survival, bounds[:, 1])
    # The median's limits are computed from unrounded bounds (rounding could make a bound
    # "exactly" 0.5); the tolerance makes them insensitive to floating-point noise anyway.
    raw_low = [None if c is None else float(b) for c, b in zip(ci_low, bounds[:, 0], strict=True)]
    raw_high = [None if c is None else float(b) for c, b in zip(ci_high, bounds[:, 1], strict=True)]

    n_events = sum(flags)
    estimate = KaplanMeier(
        n=len(durations),
        events=n_events,
        censored=len(durations) - n_events,
        times=tuple(times),
        survival=tuple(round(float(s), _DIGITS) for s in survival),
        ci_low=tuple(ci_low),
        ci_high=tuple(ci_high),
        at_risk=tuple(int(a) for a in table["at_risk"]),
        censor_times=tuple(sorted(d for d, e in zip(durations, flags, strict=True) if not e)),
        last_follow_up=max(durations),
        median=_crossing(times, raw_survival),
        median_ci_low=_crossing(times, raw_low),
        median_ci_high=_crossing(times, raw_high),
        rates=(),
        numbers_at_risk=(),
    )
    rates = tuple(estimate.rate_at_months(m) for m in RATE_MONTHS)
    at_risk = tuple(
        AtRisk(m, months_to_days(m), estimate.at_risk_at(months_to_days(m))) for m in AT_RISK_MONTHS
    )
    return replace(estimate, rates=rates, numbers_at_risk=at_risk)


@dataclass(frozen=True)
class Proportion:
    """n/total as a percentage with its exact (Clopper-Pearson) 95 % CI, in percent.

    ``pct``, ``ci_low`` and ``ci_high`` are None when ``total`` is 0.
    """

    n: int
    total: int
    pct: float | None
    ci_low: float | None
    ci_high: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def binomial_ci(n: int, total: int) -> Proportion:
    """ORR / DCR: ``n`` of ``total`` with the exact Clopper-Pearson 95 % CI (scipy)."""
    n, total = operator.index(n), operator.index(total)
    if total < 0 or not 0 <= n <= total:
        raise ValueError(f"need 0 <= n <= total, got {n}/{total}")
    if total == 0:
        return Proportion(n, total, None, None, None)
    interval = binomtest(n, total).proportion_ci(confidence_level=CONFIDENCE_LEVEL, method="exact")
    return Proportion(
        n=n,
        total=total,
        pct=100 * n / total,
        ci_low=100 * float(interval.low),
        ci_high=100 * float(interval.high),
    )
