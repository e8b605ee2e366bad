"""Protocol parameters: every number of ../shared/protocol.md, in one place.

Pure Python, no Django import: the clinical core and the tests read the named
parameters from here, never a literal copy. Source: protocol.md, "Parameters".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

STUDY_CODE = "ANLO-HCC"
STUDY_TITLE = "Anlotinib after lenvatinib in hepatocellular carcinoma"
PROTOCOL_VERSION = "1.0"
CONSENT_FORM_VERSION = "2.0"

# Enrolment (protocol.md: target enrolment; the cap can be raised by a data manager).
TARGET_ENROLMENT = 28
DEFAULT_SITE_TIME_ZONE = "Asia/Shanghai"

# Screening window: Day -28 .. Day -1 (baseline TA may be on Day 1 before dosing).
SCREENING_WINDOW_FIRST_DAY = -28
SCREENING_WINDOW_LAST_DAY = -1

# Treatment: anlotinib 12 mg once daily on days 1-14 of each 21-day cycle.
CYCLE_LENGTH_DAYS = 21
DOSING_DAYS_PER_CYCLE = 14
DOSE_LEVELS_MG = (12, 10, 8)  # start -> first reduction -> second reduction
STARTING_DOSE_MG = DOSE_LEVELS_MG[0]
MINIMUM_DOSE_MG = DOSE_LEVELS_MG[-1]  # below this the drug is stopped
CYCLE_VISIT_WINDOW_DAYS = 3  # CnD1 at study day 1 + 21*(n-1) +/- 3 (C1D1 exact)

# Tumour assessments every 42 days +/- 7 for as long as 42*k <= 730.
TA_INTERVAL_DAYS = 42
TA_WINDOW_DAYS = 7
STUDY_DURATION_DAYS = 730  # 24 months after Day 1
MAX_TUMOUR_ASSESSMENTS = STUDY_DURATION_DAYS // TA_INTERVAL_DAYS  # 17

# End of treatment and follow-up.
EOT_WITHIN_DAYS = 7
SAFETY_FOLLOW_UP_DAYS = 30  # after the last dose
SAFETY_FOLLOW_UP_WINDOW_AFTER_DAYS = 7

# Adverse events (protocol.md "Endpoints": TEAE incidence; crf-spec AE SAEAWDAT)
SAE_REPORT_HOURS = 24  # the SAE report (narrative) is due within 24 h of awareness
SAE_DEADLINE_SCAN_SECONDS = 300  # how often the beat checks SAE deadlines
HIGH_GRADE_THRESHOLD = 3  # "grade >= 3" row of the TEAE tables
SURVIVAL_FOLLOW_UP_INTERVAL_DAYS = 84
SURVIVAL_FOLLOW_UP_WINDOW_DAYS = 14

# Enrolment form: planned Day 1 within 7 days of enrolment (crf-spec ENR).
PLANNED_DAY1_MAX_DAYS_AFTER_ENROLMENT = 7

# Eligibility (crf-spec IE / HX).
MIN_AGE_YEARS = 18
MAX_AGE_YEARS = 75
LENVATINIB_LAST_DOSE_MIN_DAYS_BEFORE_DAY1 = 15  # more than 2 weeks
LENVATINIB_LAST_DOSE_MAX_DAYS_BEFORE_DAY1 = 70  # at most 10 weeks

# RECIST 1.1 (Eisenhauer 2009).
RECIST_MAX_TARGETS = 5
RECIST_MAX_TARGETS_PER_ORGAN = 2
RECIST_MIN_MEASURABLE_MM = Decimal("10")
RECIST_MIN_MEASURABLE_NODE_MM = Decimal("15")
RECIST_NORMAL_NODE_MM = Decimal("10")
RECIST_TOO_SMALL_DEFAULT_MM = Decimal("5")
RECIST_PR_DECREASE_PERCENT = Decimal("30")
RECIST_PD_INCREASE_PERCENT = Decimal("20")
RECIST_PD_MIN_ABSOLUTE_MM = Decimal("5")
RECIST_CONFIRMATION_MIN_DAYS = 28
RECIST_SD_MIN_STUDY_DAY = TA_INTERVAL_DAYS - TA_WINDOW_DAYS  # 35

# PFS censoring (protocol.md: two or more missed TAs = gap > 2*42 + 7 days).
PFS_MISSED_TA_GAP_DAYS = 2 * TA_INTERVAL_DAYS + TA_WINDOW_DAYS

# Analysis (protocol.md: durations in months = days / 30.4375).
DAYS_PER_MONTH = Decimal("30.4375")

# Planned accrual for the enrolment dashboard: linear from the start date to the target
# after this many months.
PLANNED_ACCRUAL_START = date(2026, 1, 5)
PLANNED_ACCRUAL_MONTHS = 18


@dataclass(frozen=True)
class SessionPolicy:
    """Security parameters of the user sessions (issue: foundation)."""

    min_password_length: int = 12
    failed_logins_before_lock: int = 5
    lock_minutes: int = 15
    idle_timeout_minutes: int = 30


SESSION_POLICY = SessionPolicy()
