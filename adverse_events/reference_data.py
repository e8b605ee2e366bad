"""The CTCAE v5.0 term list (NCI, 2017-11-27, public domain), shipped with the product in
adverse_events/data/ctcae_v5.0.csv; present after every migrate (and after a test flush)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

CSV = Path(__file__).resolve().parent / "data" / "ctcae_v5.0.csv"


def load_ctcae_terms(apps: Any) -> None:
    from django.db import connection

    term = apps.get_model("adverse_events", "CtcaeTerm")
    if term._meta.db_table not in connection.introspection.table_names() or term.objects.exists():
        return
    with CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    term.objects.bulk_create(
        term(
            meddra_code=row["meddra_code"].strip(),
            soc=row["meddra_soc"].strip(),
            term=row["ctcae_term"].strip(),
            grade1=row["grade1"].strip(),
            grade2=row["grade2"].strip(),
            grade3=row["grade3"].strip(),
            grade4=row["grade4"].strip(),
            grade5=row["grade5"].strip(),
            definition=row["definition"].strip(),
        )
        for row in rows
    )
