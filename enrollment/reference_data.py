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

# crf-spec IE seed list (inclusion criteria follow NCT04080154): code, kind, English text,
# Simplified Chinese text. The Chinese is the protocol's wording as Chinese investigators read it
# (中国《原发性肝癌诊疗规范》 terms; ULN = 正常值上限); both are data a data manager may edit.
CRITERIA = [
    ("IN01", "IN", "Age 18 to 75 years.", "年龄 18～75 周岁。"),
    (
        "IN02",
        "IN",
        "HCC confirmed by histology or cytology, or clinically by the Chinese guideline for primary liver cancer.",
        "经组织学或细胞学确诊，或符合中国《原发性肝癌诊疗规范》临床诊断标准的肝细胞癌（HCC）。",
    ),
    (
        "IN03",
        "IN",
        "BCLC stage C, or stage B not amenable to locoregional therapy.",
        "BCLC 分期为 C 期，或为不适合局部区域治疗的 B 期。",
    ),
    (
        "IN04",
        "IN",
        "Radiological progression on prior lenvatinib by RECIST 1.1, with the last lenvatinib dose more than 2 and at most 10 weeks before the first anlotinib dose.",
        "既往仑伐替尼治疗期间经 RECIST 1.1 评估为影像学进展，且末次仑伐替尼给药距首次安罗替尼给药超过 2 周、不超过 10 周。",
    ),
    (
        "IN05",
        "IN",
        "At least one RECIST 1.1 measurable lesion.",
        "根据 RECIST 1.1，至少有一个可测量病灶。",
    ),
    ("IN06", "IN", "ECOG performance status 0-1.", "ECOG 体能状态评分 0～1 分。"),
    (
        "IN07",
        "IN",
        "Child-Pugh A or B with at most 7 points.",
        "Child-Pugh 肝功能分级 A 级或 B 级，评分 ≤ 7 分。",
    ),
    (
        "IN08",
        "IN",
        "Haemoglobin ≥ 90 g/L, neutrophils ≥ 1.5 × 10⁹/L, platelets ≥ 60 × 10⁹/L, albumin ≥ 28 g/L, bilirubin ≤ 2 × ULN, ALT and AST ≤ 3 × ULN, creatinine ≤ 1.5 × ULN.",
        "血红蛋白 ≥ 90 g/L，中性粒细胞计数 ≥ 1.5 × 10⁹/L，血小板计数 ≥ 60 × 10⁹/L，白蛋白 ≥ 28 g/L，"
        "总胆红素 ≤ 2 × 正常值上限（ULN），ALT 和 AST ≤ 3 × ULN，肌酐 ≤ 1.5 × ULN。",
    ),
    ("IN09", "IN", "HBV DNA < 1000 copies/mL.", "HBV DNA < 1000 拷贝/mL。"),
    ("IN10", "IN", "Life expectancy ≥ 3 months.", "预计生存期 ≥ 3 个月。"),
    (
        "IN11",
        "IN",
        "Effective contraception where applicable.",
        "如适用（有生育可能者），采取有效的避孕措施。",
    ),
    ("IN12", "IN", "Signed informed consent.", "已签署知情同意书。"),
    ("EX01", "EX", "Prior anlotinib.", "既往接受过安罗替尼治疗。"),
    (
        "EX02",
        "EX",
        "Fibrolamellar or mixed HCC-cholangiocarcinoma.",
        "纤维板层型肝细胞癌，或混合型肝细胞癌-胆管癌。",
    ),
    (
        "EX03",
        "EX",
        "Uncontrolled hypertension (≥ 150/100 mmHg on treatment).",
        "未控制的高血压（经降压治疗后血压仍 ≥ 150/100 mmHg）。",
    ),
    (
        "EX04",
        "EX",
        "Variceal bleeding within 6 months.",
        "6 个月内发生过食管胃静脉曲张破裂出血。",
    ),
    (
        "EX05",
        "EX",
        "Tumour thrombus in the main portal vein (Vp4) or inferior vena cava.",
        "门静脉主干癌栓（Vp4）或下腔静脉癌栓。",
    ),
    ("EX06", "EX", "Symptomatic CNS metastases.", "有症状的中枢神经系统（CNS）转移。"),
    ("EX07", "EX", "Pregnancy or breast feeding.", "妊娠期或哺乳期。"),
    (
        "EX08",
        "EX",
        "Other systemic anticancer therapy within 14 days.",
        "14 天内接受过其他全身抗肿瘤治疗。",
    ),
]


def seed_reference_data(apps: Any) -> None:
    """Create what is missing; ``apps`` is a migration's app registry or django.apps.apps."""
    from django.db import connection

    criterion = apps.get_model("enrollment", "EligibilityCriterion")
    parameters = apps.get_model("study", "StudyParameters")
    tables = set(connection.introspection.table_names())
    if not {criterion._meta.db_table, parameters._meta.db_table} <= tables:
        return  # a partial migrate: the tables come later
    # Migration 0002 runs before the Chinese column exists (0003); 0004 fills it then.
    chinese = _has_field(criterion, "text_zh_hans")
    if not criterion.objects.filter(protocol_version=PROTOCOL_VERSION).exists():
        for order, (code, kind, text, text_zh_hans) in enumerate(CRITERIA, start=1):
            criterion.objects.create(
                protocol_version=PROTOCOL_VERSION,
                code=code,
                kind=kind,
                text=text,
                order=order,
                **({"text_zh_hans": text_zh_hans} if chinese else {}),
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


def fill_chinese_texts(apps: Any) -> int:
    """Give the seed criteria their Chinese text where it is empty (migration 0004).

    Only a criterion whose English text is still the seed's: a text a data manager has
    changed would no longer match its translation, so it is left for them to translate.
    Returns the number of criteria filled.
    """
    criterion = apps.get_model("enrollment", "EligibilityCriterion")
    filled = 0
    for code, _kind, text, text_zh_hans in CRITERIA:
        filled += criterion.objects.filter(
            protocol_version=PROTOCOL_VERSION, code=code, text=text, text_zh_hans=""
        ).update(text_zh_hans=text_zh_hans)
    return filled


def _has_field(model: Any, name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())
