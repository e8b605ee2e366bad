"""A site's time zone: times are stored in UTC and shown in the site's zone (Site.time_zone),
the study's default zone (settings.EDC_DEFAULT_SITE_TIME_ZONE) when a zone is unknown.

The one place this fallback is written; pages, PDFs, mails and services ask here."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.conf import settings


def zone_named(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone ``name``; the study's default zone when it is blank or unknown."""
    try:
        return zoneinfo.ZoneInfo(name or settings.EDC_DEFAULT_SITE_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.EDC_DEFAULT_SITE_TIME_ZONE)


def site_zone(site: Any) -> zoneinfo.ZoneInfo:
    """The zone of ``site`` (a Site or None)."""
    return zone_named(getattr(site, "time_zone", None))


def local_text(
    value: dt.datetime | None, zone: zoneinfo.ZoneInfo, fmt: str = "%Y-%m-%d %H:%M"
) -> str:
    """``value`` in ``zone`` as YYYY-MM-DD HH:MM (or ``fmt``); "" for none."""
    return value.astimezone(zone).strftime(fmt) if value is not None else ""
