"""Reference data present after migrate (crf-spec "The study data file"): the eligibility
criteria of protocol version 1.0, consent form version 2.0 approved for every site, and
the study parameters row (target enrolment, planned accrual) from study/protocol.py."""

from django.db import migrations

PROTOCOL_VERSION = "1.0"

# crf-spec IE seed list (inclusion criteria follow NCT04080154).
CRITERIA = [
    ("IN01", "IN", "Age 18 to 75 years."),
    ("IN02", "IN", "HCC confirmed by histology or cytology, or clinically by the Chinese guideline for primary liver cancer."),
    ("IN03", "IN", "BCLC stage C, or stage B not amenable to locoregional therapy."),
    ("IN04", "IN", "Radiological progression on prior lenvatinib by RECIST 1.1, with the last lenvatinib dose more than 2 and at most 10 weeks before the first anlotinib dose."),
    ("IN05", "IN", "At least one RECIST 1.1 measurable lesion."),
    ("IN06", "IN", "ECOG performance status 0-1."),
    ("IN07", "IN", "Child-Pugh A or B with at most 7 points."),
    ("IN08", "IN", "Haemoglobin ≥ 90 g/L, neutrophils ≥ 1.5 × 10⁹/L, platelets ≥ 60 × 10⁹/L, albumin ≥ 28 g/L, bilirubin ≤ 2 × ULN, ALT and AST ≤ 3 × ULN, creatinine ≤ 1.5 × ULN."),
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


def seed(apps, schema_editor):
    Criterion = apps.get_model("enrollment", "EligibilityCriterion")
    for order, (code, kind, text) in enumerate(CRITERIA, start=1):
        Criterion.objects.get_or_create(
            protocol_version=PROTOCOL_VERSION, code=code, defaults={"kind": kind, "text": text, "order": order}
        )
    Consent = apps.get_model("enrollment", "ConsentFormVersion")
    Consent.objects.get_or_create(version="2.0", defaults={"all_sites": True})
    Parameters = apps.get_model("study", "StudyParameters")
    from study import protocol

    Parameters.objects.get_or_create(
        pk=1,
        defaults={
            "target_enrolment": protocol.TARGET_ENROLMENT,
            "accrual_start": protocol.PLANNED_ACCRUAL_START,
            "accrual_months": protocol.PLANNED_ACCRUAL_MONTHS,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0001_initial"), ("study", "0002_studyparameters_subject_enrolled_at")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
