"""The site's time zone, with the study's default zone when a zone is blank or unknown."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from django.conf import settings

from study.timezones import local_text, site_zone, zone_named


def test_a_known_zone_is_used_and_an_unknown_or_blank_one_falls_back() -> None:
    assert str(zone_named("Europe/Berlin")) == "Europe/Berlin"
    assert str(zone_named("Mars/Olympus")) == settings.EDC_DEFAULT_SITE_TIME_ZONE
    assert str(zone_named("")) == settings.EDC_DEFAULT_SITE_TIME_ZONE
    assert str(site_zone(None)) == settings.EDC_DEFAULT_SITE_TIME_ZONE
    assert str(site_zone(SimpleNamespace(time_zone="Asia/Shanghai"))) == "Asia/Shanghai"


def test_a_utc_time_reads_in_the_sites_zone() -> None:
    at = dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC)
    assert local_text(at, zone_named("Asia/Shanghai")) == "2026-03-29 07:30"
    assert local_text(None, zone_named("Asia/Shanghai")) == ""
