"""Outcome numbers and codes as a person reads them, in the user's language.

Every rate, median and interval whose estimate is undefined reads "not estimable", every
median or bound the curve never reaches reads "not reached" (NR), and a response shows its
label, never its code. Each sentence is one catalogue message with named values, so that a
translator can use the language's own punctuation (full-width brackets in Chinese).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from crf.codelists import Response


def not_estimable() -> str:
    return _("not estimable")


def response_label(code: Any) -> str:
    """The label of a RECIST response code (crf-spec code list RESP); "—" for none."""
    value = getattr(code, "value", code) or ""
    if not value:
        return "—"
    try:
        return str(Response(value).label)
    except ValueError:
        return str(value)


def _pct(probability: float) -> str:
    return f"{probability * 100:.0f}"


def rate_text(rate: Any) -> str:
    """A survival rate with its 95 % CI: "85 % (65–94 %)".

    Not estimable (statistics.KaplanMeier.rate_at: nobody followed up to that time) reads
    "not estimable"; an estimate of 0 or 1, where the log-log interval is undefined, keeps
    its estimate and says the interval is not estimable.
    """
    if rate.survival is None:
        return not_estimable()
    if rate.ci_low is None or rate.ci_high is None:
        return _("%(rate)s %% (95 %% CI not estimable)") % {"rate": _pct(rate.survival)}
    return _("%(rate)s %% (%(low)s–%(high)s %%)") % {
        "rate": _pct(rate.survival),
        "low": _pct(rate.ci_low),
        "high": _pct(rate.ci_high),
    }


def _days(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _bound(value: float | None, pointwise: Any) -> str:
    """A limit of the median's CI: the days; "NR" where the pointwise bound is defined but
    never falls to 0.5; "n.e." where it is defined nowhere (S only 1 or 0: the log-log
    interval is undefined there, outcomes.statistics)."""
    if value is not None:
        return _days(value)
    if any(bound is not None for bound in pointwise):
        return _("NR")
    return _("n.e.")


def median_text(km: Any) -> str:
    """A median in days with its Brookmeyer-Crowley 95 % CI: "244 (195–NR)".

    A median the curve never reaches reads "not reached", a CI limit never reached "NR", a
    limit that cannot be estimated "n.e."; with nobody analysed the median is not estimable.
    """
    if not km.n:
        return not_estimable()
    median = _("not reached") if km.median is None else _days(km.median)
    return _("%(median)s (%(low)s–%(high)s)") % {
        "median": median,
        "low": _bound(km.median_ci_low, km.ci_low),
        "high": _bound(km.median_ci_high, km.ci_high),
    }


def proportion_texts(proportion: Any) -> dict[str, str]:
    """n / N, the percentage and its Clopper-Pearson 95 % CI; "not estimable" when N = 0."""
    if not proportion.total or proportion.pct is None:
        return {
            "count": f"{proportion.n} / {proportion.total}",
            "pct": not_estimable(),
            "ci": not_estimable(),
        }
    return {
        "count": f"{proportion.n} / {proportion.total}",
        "pct": f"{proportion.pct:.1f}",
        "ci": _("%(low)s–%(high)s")
        % {
            "low": f"{proportion.ci_low:.1f}",
            "high": f"{proportion.ci_high:.1f}",
        },
    }
