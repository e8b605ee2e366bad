"""Kaplan-Meier, median CI, rates, numbers at risk and Clopper-Pearson of outcomes.statistics.

No database. The expected values are computed independently of the code under test:

- published values of the Freireich et al. (1963) 6-MP arm (remission weeks), the classic
  worked example: Kaplan-Meier estimates (Cox & Oakes 1984, Kleinbaum & Klein), Greenwood
  standard errors as printed by R survival's ``summary(survfit(...))``, median 23 weeks;
- a Kaplan-Meier written here with exact fractions (risk sets counted directly), the
  Greenwood sum of d/(n(n-d)) and the log-log interval written as powers of S
  (S ** exp(±z·sqrt(V)/|log S|)) where the code uses lifelines' exp(-exp(...)) form;
- Clopper-Pearson limits from the closed forms for 0/N and N/N and by bisection on the
  binomial distribution function (math.comb) otherwise, where the code uses scipy.

Tolerances: 1e-9 against the exact hand computation (the code rounds probabilities to 10
decimal places), 5e-4 against published 3-decimal values, 5e-5 against 4-decimal ones.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from statistics import NormalDist

import numpy as np
import pytest

from outcomes.statistics import (
    AT_RISK_MONTHS,
    KaplanMeier,
    binomial_ci,
    kaplan_meier,
)

Z = NormalDist().inv_cdf(0.975)
EXACT = 1e-9

# Freireich 6-MP arm, weeks; False = censored ("+" in the publication).
SIX_MP = [
    (6, True),
    (6, True),
    (6, True),
    (6, False),
    (7, True),
    (9, False),
    (10, True),
    (10, False),
    (11, False),
    (13, True),
    (16, True),
    (17, False),
    (19, False),
    (20, False),
    (22, True),
    (23, True),
    (25, False),
    (32, False),
    (32, False),
    (34, False),
    (35, False),
]
# Published: event time -> (S(t), Greenwood SE of S(t)).
SIX_MP_PUBLISHED = {
    6: (0.857, 0.0764),
    7: (0.807, 0.0869),
    10: (0.753, 0.0963),
    13: (0.690, 0.1068),
    16: (0.627, 0.1141),
    22: (0.538, 0.1282),
    23: (0.448, 0.1346),
}


def _fit(data: list[tuple[int, bool]]) -> KaplanMeier:
    return kaplan_meier([d for d, _ in data], [e for _, e in data])


def _by_hand(data: list[tuple[int, bool]]) -> dict[int, tuple[Fraction, Fraction]]:
    """Event time -> (S, Greenwood sum), risk sets counted directly, exact fractions."""
    survival, greenwood = Fraction(1), Fraction(0)
    result = {}
    for time in sorted({d for d, e in data if e}):
        at_risk = sum(1 for d, _ in data if d >= time)  # censored at `time` still at risk
        deaths = sum(1 for d, e in data if d == time and e)
        survival *= Fraction(at_risk - deaths, at_risk)
        if at_risk > deaths:
            greenwood += Fraction(deaths, at_risk * (at_risk - deaths))
        result[time] = (survival, greenwood)
    return result


def _loglog_by_hand(survival: Fraction, greenwood: Fraction) -> tuple[float, float]:
    """Log-log 95 % interval of S as powers: [S^exp(+c), S^exp(-c)], c = z·sqrt(V)/|ln S|."""
    s = float(survival)
    c = Z * math.sqrt(greenwood) / abs(math.log(s))
    return s ** math.exp(c), s ** math.exp(-c)


def _row(estimate: KaplanMeier, time: int) -> int:
    return estimate.times.index(time)


# --- Kaplan-Meier on the published 6-MP example --------------------------------------------


def test_6mp_survival_matches_the_published_estimates_and_the_exact_product() -> None:
    estimate = _fit(SIX_MP)
    hand = _by_hand(SIX_MP)
    for time, (published, _) in SIX_MP_PUBLISHED.items():
        s = estimate.survival[_row(estimate, time)]
        assert s == pytest.approx(published, abs=5e-4)
        assert s == pytest.approx(float(hand[time][0]), abs=EXACT)
    # Between event times the estimate is flat (censor times 9, 11, 17, ...).
    assert estimate.survival[_row(estimate, 9)] == estimate.survival[_row(estimate, 7)]
    assert estimate.survival[_row(estimate, 35)] == pytest.approx(float(hand[23][0]), abs=EXACT)
    assert estimate.times[0] == 0 and estimate.survival[0] == 1.0


def test_6mp_greenwood_by_hand_reproduces_the_published_standard_errors() -> None:
    # Guards the hand computation the CI tests rely on: SE = S·sqrt(sum d/(n(n-d))).
    hand = _by_hand(SIX_MP)
    for time, (_, published_se) in SIX_MP_PUBLISHED.items():
        s, v = hand[time]
        assert float(s) * math.sqrt(v) == pytest.approx(published_se, abs=5e-5)
    # S(23) written out: 3/(21·18) + 1/(17·16) + 1/(15·14) + 1/(12·11) + 1/(11·10)
    # + 1/(7·6) + 1/(6·5) = 0.0901844; SE = 0.448179 × 0.300307 = 0.134591.
    v23 = (
        Fraction(3, 21 * 18)
        + Fraction(1, 17 * 16)
        + Fraction(1, 15 * 14)
        + Fraction(1, 12 * 11)
        + Fraction(1, 11 * 10)
        + Fraction(1, 7 * 6)
        + Fraction(1, 6 * 5)
    )
    assert hand[23][1] == v23
    assert float(hand[23][0]) * math.sqrt(v23) == pytest.approx(0.134591, abs=1e-6)


def test_6mp_pointwise_ci_is_the_log_log_greenwood_interval() -> None:
    estimate = _fit(SIX_MP)
    hand = _by_hand(SIX_MP)
    for time in SIX_MP_PUBLISHED:
        low, high = _loglog_by_hand(*hand[time])
        row = _row(estimate, time)
        assert estimate.ci_low[row] == pytest.approx(low, abs=EXACT)
        assert estimate.ci_high[row] == pytest.approx(high, abs=EXACT)
    # R survival, conf.type="log-log": 6 -> (0.620, 0.952), 23 -> (0.188, 0.680).
    assert estimate.ci_low[_row(estimate, 6)] == pytest.approx(0.620, abs=5e-4)
    assert estimate.ci_high[_row(estimate, 6)] == pytest.approx(0.952, abs=5e-4)
    assert estimate.ci_low[_row(estimate, 23)] == pytest.approx(0.188, abs=5e-4)
    assert estimate.ci_high[_row(estimate, 23)] == pytest.approx(0.680, abs=5e-4)


def test_6mp_median_and_brookmeyer_crowley_log_log_ci() -> None:
    estimate = _fit(SIX_MP)
    hand = _by_hand(SIX_MP)
    # By hand: S drops below 0.5 first at 23 (0.538 at 22, 0.448 at 23).
    assert estimate.median == 23.0
    # CI = times whose pointwise interval contains 0.5: the lower bound first falls to
    # <= 0.5 at 13 (0.5032 at 10, 0.4316 at 13); the upper bound never does (0.680 at 23,
    # flat to the end of follow-up): R prints "median 23, 0.95LCL 13, 0.95UCL NA".
    lows = {t: _loglog_by_hand(*hand[t])[0] for t in hand}
    highs = {t: _loglog_by_hand(*hand[t])[1] for t in hand}
    assert min(t for t, low in lows.items() if low <= 0.5) == 13
    assert all(high > 0.5 for high in highs.values())
    assert estimate.median_ci_low == 13.0
    assert estimate.median_ci_high is None


def test_6mp_counts_censor_times_and_risk_sets() -> None:
    estimate = _fit(SIX_MP)
    assert (estimate.n, estimate.events, estimate.censored) == (21, 9, 12)
    assert estimate.censor_times == (6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35)
    assert estimate.last_follow_up == 35
    # At risk at t = subjects with time >= t (the one censored at 6 is at risk at 6).
    for time in (6, 10, 23, 32):
        assert estimate.at_risk[_row(estimate, time)] == sum(1 for d, _ in SIX_MP if d >= time)
    assert estimate.at_risk[_row(estimate, 6)] == 21


# --- Ties, the median's midpoint rule, not reached -------------------------------------------


def test_a_subject_censored_at_an_event_time_stays_in_that_risk_set() -> None:
    data = [(50, True), (50, False), (80, True), (120, False)]
    estimate = _fit(data)
    # 1 event among 4 at risk at 50 (not 3): S(50) = 3/4; then 1 of 2 at 80: S = 3/8.
    assert estimate.survival[_row(estimate, 50)] == pytest.approx(0.75, abs=EXACT)
    assert estimate.survival[_row(estimate, 80)] == pytest.approx(0.375, abs=EXACT)
    assert estimate.at_risk[_row(estimate, 50)] == 4
    assert estimate.at_risk_at(50) == 4
    assert estimate.at_risk_at(51) == 2


def test_median_is_the_midpoint_where_the_estimate_is_exactly_one_half() -> None:
    estimate = _fit([(1, True), (2, True), (3, True), (4, True)])
    # S = 3/4, 1/2, 1/4, 0: S = 0.5 exactly on [2, 3) -> median (2 + 3) / 2.
    assert estimate.survival == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0], abs=EXACT)
    assert estimate.median == 2.5
    # Lower limit: log-log lower bound at t=1 (S=3/4, V=1/12) is 0.128 <= 0.5 -> 1.
    low_1, _ = _loglog_by_hand(Fraction(3, 4), Fraction(1, 12))
    assert low_1 == pytest.approx(0.1279, abs=1e-4)
    assert estimate.median_ci_low == 1.0
    # Upper limit: upper bound 0.961, 0.845, 0.665 at 1..3 (> 0.5), undefined at S = 0:
    # not reached (R: NA).
    _, high_3 = _loglog_by_hand(Fraction(1, 4), Fraction(1, 12) + Fraction(1, 6) + Fraction(1, 2))
    assert high_3 == pytest.approx(0.6653, abs=1e-4)
    assert estimate.median_ci_high is None


def test_median_ci_with_both_limits_reached() -> None:
    # 20 subjects, events on days 10, 20, ..., 200: S(10k) = 1 - k/20.
    data = [(10 * k, True) for k in range(1, 21)]
    estimate = _fit(data)
    hand = _by_hand(data)
    bounds = {t: _loglog_by_hand(s, v) for t, (s, v) in hand.items() if 0 < s < 1}
    # S = 0.5 exactly on [100, 110): median 105.
    assert estimate.median == 105.0
    # Lower limit: lower bound 0.5511 at 40, 0.49994 at 50 -> 50 (a close call).
    assert bounds[40][0] == pytest.approx(0.5511, abs=1e-4)
    assert bounds[50][0] == pytest.approx(0.49994, abs=1e-5)
    assert estimate.median_ci_low == 50.0 == min(t for t, b in bounds.items() if b[0] <= 0.5)
    # Upper limit: upper bound 0.5014 at 140, 0.4485 at 150 -> 150.
    assert bounds[140][1] == pytest.approx(0.5014, abs=1e-4)
    assert bounds[150][1] == pytest.approx(0.4485, abs=1e-4)
    assert estimate.median_ci_high == 150.0 == min(t for t, b in bounds.items() if b[1] <= 0.5)


def test_median_midpoint_runs_to_the_next_event_time_not_to_a_censor_time() -> None:
    # S = 3/4 at 10, 1/2 at 20, still 1/2 at the censoring at 25, 0 at 30.
    estimate = _fit([(10, True), (20, True), (25, False), (30, True)])
    assert estimate.survival[_row(estimate, 25)] == pytest.approx(0.5, abs=EXACT)
    assert estimate.median == 25.0  # (20 + 30) / 2; lifelines alone would say 20


def test_median_when_one_half_lasts_to_the_end_of_follow_up() -> None:
    # S = 1/2 from 20 to the last follow-up (30, censored): no next event time, so the
    # protocol's general rule: the smallest time at which S <= 0.5.
    estimate = _fit([(10, True), (20, True), (25, False), (30, False)])
    assert estimate.median == 20.0


def test_median_not_reached() -> None:
    data = [(30, True), (60, True)] + [(d, False) for d in (90, 120, 150, 180, 210, 240)]
    estimate = _fit(data)
    hand = _by_hand(data)
    assert float(hand[60][0]) == pytest.approx(0.75)  # never <= 0.5
    assert estimate.median is None
    assert estimate.median_ci_high is None
    # Lower limit: already at the first event (S = 7/8, V = 1/56) the log-log lower bound
    # 0.875 ** exp(1.96 · 0.1336 / 0.1335) = 0.387 is below 0.5.
    assert _loglog_by_hand(*hand[30])[0] == pytest.approx(0.387, abs=1e-3)
    assert estimate.median_ci_low == 30.0
    assert json.loads(json.dumps(estimate.as_dict()))["median"] is None


def test_the_ci_is_undefined_where_the_estimate_is_one_or_zero() -> None:
    estimate = _fit([(5, False), (10, True), (20, True)])
    assert estimate.times == (0, 5, 10, 20)
    assert estimate.ci_low[:2] == (None, None) and estimate.ci_high[:2] == (None, None)
    assert estimate.survival[-1] == 0.0
    assert estimate.ci_low[-1] is None and estimate.ci_high[-1] is None
    assert estimate.ci_low[2] is not None


# --- Rates and numbers at risk in months (days / 30.4375) ------------------------------------

RATE_DATA = [
    (40, True),
    (91, False),
    (92, True),
    (182, True),
    (183, True),
    (200, False),
    (300, True),
    (365, True),
    (366, False),
    (500, True),
    (600, False),
    (731, False),
]


def test_rates_at_6_and_12_months_evaluate_the_step_function_at_months_times_30_4375() -> None:
    estimate = _fit(RATE_DATA)
    hand = _by_hand(RATE_DATA)
    six, twelve = estimate.rates
    assert (six.days, six.months) == (182.625, 6.0)
    assert (twelve.days, twelve.months) == (365.25, 12.0)
    # 6 months = 182.625 days: the event on day 182 counts, the one on day 183 does not.
    s_182, v_182 = hand[182]
    assert float(s_182) == pytest.approx(11 / 12 * 9 / 10 * 8 / 9, abs=EXACT)
    assert six.survival == pytest.approx(float(s_182), abs=EXACT)
    low, high = _loglog_by_hand(s_182, v_182)
    assert (six.ci_low, six.ci_high) == (
        pytest.approx(low, abs=EXACT),
        pytest.approx(high, abs=EXACT),
    )
    # 12 months = 365.25 days: the event on day 365 counts.
    s_365, v_365 = hand[365]
    assert twelve.survival == pytest.approx(float(s_365), abs=EXACT)
    low, high = _loglog_by_hand(s_365, v_365)
    assert twelve.ci_low == pytest.approx(low, abs=EXACT)
    assert twelve.ci_high == pytest.approx(high, abs=EXACT)
    assert estimate.rate_at(182.625) == six


def test_a_rate_beyond_the_last_follow_up_is_not_estimable() -> None:
    estimate = _fit([(30, True), (100, False), (150, False)])
    six, twelve = estimate.rates
    assert six.survival is None and six.ci_low is None and six.ci_high is None
    assert twelve.survival is None
    assert estimate.rate_at(150).survival == pytest.approx(2 / 3, abs=EXACT)
    # Where the last subject had an event S falls to 0, at that time (its log-log
    # interval undefined); later, with nobody at risk, the rate is not estimable.
    ended = _fit([(30, True), (60, True)])
    assert (ended.rate_at(60).survival, ended.rate_at(60).ci_low) == (0.0, None)
    assert ended.rates[1].survival is None
    assert ended.rates[1].ci_low is None and ended.rates[1].ci_high is None


def test_numbers_at_risk_at_0_3_6_9_12_18_24_months() -> None:
    estimate = _fit(RATE_DATA)
    assert (
        tuple(a.months for a in estimate.numbers_at_risk)
        == AT_RISK_MONTHS
        == (
            0,
            3,
            6,
            9,
            12,
            18,
            24,
        )
    )
    by_hand = {
        months: sum(1 for d, _ in RATE_DATA if d >= months * 30.4375) for months in AT_RISK_MONTHS
    }
    assert {a.months: a.n for a in estimate.numbers_at_risk} == by_hand
    # Spelled out: 3 months = 91.3125 days (the censoring on day 91 is out, the event on
    # day 92 in); 24 months = 730.5 days (only the subject followed to day 731).
    assert by_hand == {0: 12, 3: 10, 6: 8, 9: 6, 12: 4, 18: 2, 24: 1}
    assert estimate.numbers_at_risk[1].days == 91.3125


# --- Inputs and output form -------------------------------------------------------------------


def test_output_is_json_ready_and_numpy_error_state_is_left_alone() -> None:
    before = np.geterr()
    estimate = _fit(SIX_MP)
    assert np.geterr() == before
    data = estimate.as_dict()
    assert json.loads(json.dumps(data)) == json.loads(json.dumps(data, allow_nan=False))

    def plain(value: object) -> bool:
        if isinstance(value, dict):
            return all(plain(v) for v in value.values())
        if isinstance(value, list | tuple):
            return all(plain(v) for v in value)
        return value is None or type(value) in (int, float, bool)

    assert plain(data)


def test_no_subjects_gives_an_empty_estimate() -> None:
    estimate = kaplan_meier([], [])
    assert (estimate.n, estimate.events, estimate.median, estimate.times) == (0, 0, None, ())
    assert all(a.n == 0 for a in estimate.numbers_at_risk)
    assert all(r.survival is None for r in estimate.rates)


@pytest.mark.parametrize(
    ("days", "events"),
    [([1, 2], [True]), ([-1], [True]), ([1.5], [True])],
)
def test_bad_input_is_refused(days: list, events: list) -> None:
    with pytest.raises((ValueError, TypeError)):
        kaplan_meier(days, events)


# --- Clopper-Pearson ----------------------------------------------------------------------


def _binomial_cdf(k: int, total: int, p: float) -> float:
    return sum(math.comb(total, i) * p**i * (1 - p) ** (total - i) for i in range(k + 1))


def _bisect(function, target: float) -> float:
    """p in (0, 1) with function(p) == target, function decreasing in p."""
    low, high = 0.0, 1.0
    for _ in range(200):
        middle = (low + high) / 2
        if function(middle) > target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _clopper_pearson_by_hand(n: int, total: int) -> tuple[float, float]:
    # Lower: P(X >= n | p) = 0.025; upper: P(X <= n | p) = 0.025.
    low = 0.0 if n == 0 else 1 - _bisect(lambda p: 1 - _binomial_cdf(n - 1, total, 1 - p), 0.025)
    high = 1.0 if n == total else _bisect(lambda p: _binomial_cdf(n, total, p), 0.025)
    return low, high


def test_clopper_pearson_7_of_28() -> None:
    result = binomial_ci(7, 28)
    assert (result.n, result.total, result.pct) == (7, 28, 25.0)
    assert round(result.ci_low, 1) == 10.7 and round(result.ci_high, 1) == 44.9
    low, high = _clopper_pearson_by_hand(7, 28)
    assert result.ci_low == pytest.approx(100 * low, abs=1e-7)
    assert result.ci_high == pytest.approx(100 * high, abs=1e-7)


def test_clopper_pearson_none_and_all_use_the_closed_forms() -> None:
    none = binomial_ci(0, 28)
    assert (none.pct, none.ci_low) == (0.0, 0.0)
    assert none.ci_high == pytest.approx(100 * (1 - 0.025 ** (1 / 28)), abs=1e-9)
    assert round(none.ci_high, 1) == 12.3
    every = binomial_ci(28, 28)
    assert (every.pct, every.ci_high) == (100.0, 100.0)
    assert every.ci_low == pytest.approx(100 * 0.025 ** (1 / 28), abs=1e-9)
    assert round(every.ci_low, 1) == 87.7


@pytest.mark.parametrize(("n", "total"), [(1, 28), (14, 28), (20, 28), (3, 5)])
def test_clopper_pearson_matches_the_binomial_distribution(n: int, total: int) -> None:
    result = binomial_ci(n, total)
    low, high = _clopper_pearson_by_hand(n, total)
    assert result.pct == pytest.approx(100 * n / total)
    assert result.ci_low == pytest.approx(100 * low, abs=1e-7)
    assert result.ci_high == pytest.approx(100 * high, abs=1e-7)


def test_proportion_of_nobody_and_bad_counts() -> None:
    assert binomial_ci(0, 0).as_dict() == {
        "n": 0,
        "total": 0,
        "pct": None,
        "ci_low": None,
        "ci_high": None,
    }
    with pytest.raises(ValueError):
        binomial_ci(5, 4)
    with pytest.raises(ValueError):
        binomial_ci(-1, 4)
