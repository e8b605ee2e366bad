"""`manage.py endpoints --json` on subjects built through the services."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command

from enrollment.demo import screen_and_enrol
from visits.demo import treat

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)
DAY1 = START + dt.timedelta(days=5)


def endpoints_json(cutoff: dt.date) -> dict:
    out = io.StringIO()
    call_command("endpoints", "--json", "--cutoff", cutoff.isoformat(), stdout=out)
    return json.loads(out.getvalue())


def test_endpoints_json_for_a_progression_and_a_confirmed_response(investigator, sites):
    pd = screen_and_enrol(investigator, sites["01"], start=START)
    treat(investigator, pd, day1=DAY1, cycles=2, course="PD")
    pr = screen_and_enrol(investigator, sites["01"], start=START)
    treat(investigator, pr, day1=DAY1, cycles=2, course="PR")
    waiting = screen_and_enrol(investigator, sites["01"], start=START)  # never dosed

    document = endpoints_json(dt.date(2026, 11, 1))

    rows = {row["subject_id"]: row for row in document["subjects"]}
    assert rows[pd.subject_id]["day1"] == DAY1.isoformat()
    assert rows[pd.subject_id]["bor"] == "PD"
    # TA1 is on study day 42 (first dose + 41): a PD there is 42 days.
    assert rows[pd.subject_id]["pfs"] == {
        "days": 42,
        "event": True,
        "date": (DAY1 + dt.timedelta(days=41)).isoformat(),
        "reason": "progression",
    }
    assert rows[pr.subject_id]["bor"] == "PR"
    assert rows[pr.subject_id]["pfs"]["event"] is False
    assert rows[pr.subject_id]["os"]["event"] is False
    assert rows[waiting.subject_id]["day1"] is None
    assert rows[waiting.subject_id]["pfs"]["days"] is None
    summary = document["summary"]
    assert summary["n"] == 2
    assert (summary["orr"]["n"], summary["orr"]["pct"]) == (1, 50.0)
    assert (summary["dcr"]["n"], summary["dcr"]["pct"]) == (1, 50.0)
    assert (summary["pfs"]["events"], summary["pfs"]["censored"]) == (1, 1)
    assert (summary["os"]["events"], summary["os"]["censored"]) == (0, 2)
    assert summary["os"]["median_days"] is None  # not reached
    assert set(summary["orr"]) == {"n", "pct", "ci_low", "ci_high"}
    assert set(summary["pfs"]) == {
        "median_days",
        "ci_low_days",
        "ci_high_days",
        "events",
        "censored",
    }
