"""Laboratory normal ranges (protocol data, editable by the administrator; present after
every migrate). Adult reference intervals in the units of crf-spec LB; a site whose
laboratory uses other intervals changes them in the admin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

NORMAL_RANGES: list[tuple[str, str, str | None, str | None]] = [
    ("HGB", "g/L", "115", "175"),
    ("WBC", "10⁹/L", "3.5", "9.5"),
    ("ANC", "10⁹/L", "1.8", "6.3"),
    ("PLT", "10⁹/L", "125", "350"),
    ("ALT", "U/L", "7", "40"),
    ("AST", "U/L", "13", "35"),
    ("TBIL", "µmol/L", "0", "21"),
    ("ALB", "g/L", "40", "55"),
    ("CREAT", "µmol/L", "41", "111"),
    ("INR", "", "0.8", "1.2"),
    ("AFP", "ng/mL", "0", "7"),
    ("TSH", "mIU/L", "0.27", "4.2"),
    ("UPROT24", "g/24 h", "0", "0.15"),
]


def seed_normal_ranges(apps: Any) -> None:
    from django.db import connection

    model = apps.get_model("visits", "LabNormalRange")
    if model._meta.db_table not in connection.introspection.table_names():
        return
    for test, unit, low, high in NORMAL_RANGES:
        model.objects.get_or_create(
            test=test,
            defaults={
                "unit": unit,
                "low": Decimal(low) if low else None,
                "high": Decimal(high) if high else None,
            },
        )
