"""The protocol's reference data (crf-spec "The study data file"): present after every
migrate, also after a test database is flushed.

The eligibility criteria of protocol version 1.0, consent form version 2.0 approved for
every site, and the study parameters row (target enrolment, planned accrual) from
study/protocol.py. Idempotent: existing rows, possibly edited by a data manager, are kept.
"""

from __future__ import annotations

from typing import Any

from study import protocol

PROTOCOL_VERSION = "1.0"
CONSENT_FORM_VERSION = protocol.CONSENT_FORM_VERSION

# crf-spec IE seed list (inclusion criteria follow NCT04080154).
CRITERIA = [
    ("IN01", "IN", "Age 18 to 75 years."),
    (
        "IN02",
        "IN",
        "HCC confirmed by histology or cytology, or clinically by the Chinese guideline for primary liver cancer.",
    ),
    ("IN03", "IN", "BCLC stage C, or stage B not amenable to locoregional therapy."),
    (
        "IN04",
        "IN",
        "Radiological progression on prior lenvatinib by RECIST 1.1, with the last lenvatinib dose more than 2 and at most 10 weeks before the first anlotinib dose.",
    ),
    ("IN05", "IN", "At least one RECIST 1.1 measurable lesion."),
    ("IN06", "IN", "ECOG performance status 0-1."),
    ("IN07", "IN", "Child-Pugh A or B with at most 7 points."),
    (
        "IN08",
        "IN",
        "Haemoglobin ≥ 90 g/L, neutrophils ≥ 1.5 × 10⁹/L, platelets ≥ 60 × 10⁹/L, albumin ≥ 28 g/L, bilirubin ≤ 2 × ULN, ALT and AST ≤ 3 × ULN, creatinine ≤ 1.5 × ULN.",
    ),
    ("IN09", "IN", "HBV DNA < 1000 copies/mL."),
    ("IN10", "IN", "Life expectancy ≥ 3 months."),
    ("IN11", "IN", "Effective contraception where applicable."),
    ("IN12", "IN", "Signed informed consent."),
    ("EX01", "EX", "Prior anlotinib."),
    ("EX02", "EX", "Fibrolamellar or mixed HCC-cholangiocarcinoma."),
    ("EX03", "EX", "Uncontrolled hypertension (≥ 150/100 mmHg on treatment)."),
    ("EX04", "EX", "Variceal bleeding within 6 months."),
    ("EX05", "EX", "Tumour thrombus in the main portal vein (Vp4) or inferior vena cava."),
    ("EX06", "EX", "Symptomatic CNS metastases."),
    ("EX07", "EX", "Pregnancy or breast feeding."),
    ("EX08", "EX", "Other systemic anticancer therapy within 14 days."),
]


def seed_reference_data(apps: Any) -> None:
    """Create what is missing; ``apps`` is a migration's app registry or django.apps.apps."""
    from django.db import connection

    criterion = apps.get_model("enrollment", "EligibilityCriterion")
    parameters = apps.get_model("study", "StudyParameters")
    tables = set(connection.introspection.table_names())
    if not {criterion._meta.db_table, parameters._meta.db_table} <= tables:
        return  # a partial migrate: the tables come later
    if not criterion.objects.filter(protocol_version=PROTOCOL_VERSION).exists():
        for order, (code, kind, text) in enumerate(CRITERIA, start=1):
            criterion.objects.create(
                protocol_version=PROTOCOL_VERSION, code=code, kind=kind, text=text, order=order
            )
    consent = apps.get_model("enrollment", "ConsentFormVersion")
    consent.objects.get_or_create(version=CONSENT_FORM_VERSION, defaults={"all_sites": True})
    parameters.objects.get_or_create(
        pk=1,
        defaults={
            "target_enrolment": protocol.TARGET_ENROLMENT,
            "accrual_start": protocol.PLANNED_ACCRUAL_START,
            "accrual_months": protocol.PLANNED_ACCRUAL_MONTHS,
        },
    )
