"""Values as the crf-spec writes them (``YYYY-MM-DD``, ``Y``/``N``, codes, lists)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any


def audit_text(value: Any) -> str | None:
    """The text the audit trail keeps for a value; ``None`` for an empty value."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)
    return str(value)


def spec_value(value: Any) -> Any:
    """A JSON-ready value in the crf-spec's terms (dates as strings, exact decimals)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
