"""A subject's status, told from the forms that decide it (issue 10 item 2; crf-spec forms).

Pure: plain facts in, a status code out (the codes of ``study.models.SubjectStatus``).
The subject's status follows the data, never a person's choice:

* no form yet beyond screening: ``screening``;
* SL with SCRFAIL = Y (crf-spec SL) and not enrolled: ``screen_failed``;
* enrolled (a subject ID, crf-spec ENR "the subject ID is assigned at enrolment", or an
  active ENR form): ``on_treatment``;
* an active end-of-treatment form (crf-spec EOT): ``follow_up`` (protocol.md: safety and
  survival follow-up start at EOT);
* an active end-of-study form (crf-spec DS) with any DSDECOD but DEATH: ``off_study``;
* an active death form (crf-spec DD): ``died``, whatever else the subject has.

Decided here: a DS with DSDECOD = DEATH and no DD gives ``off_study``, not ``died``.
crf-spec DS says "DSDECOD=DEATH requires a DD form": the death is recorded (and dated)
by DD, which the overall survival and the outcomes page count; until the DD is entered
the DS raises its query (outcomes.checks ``DSDECOD_death_needs_DD``) and the subject is
shown as off study, so the status never claims a death the study cannot date. A DS not
yet complete (no DSDECOD) still ends the subject's participation: ``off_study``.
Precedence, strongest first: died, off study, in follow-up, on treatment, screen failed,
screening.
"""

from __future__ import annotations

from dataclasses import dataclass

SCREENING = "screening"
SCREEN_FAILED = "screen_failed"
ON_TREATMENT = "on_treatment"
FOLLOW_UP = "follow_up"
OFF_STUDY = "off_study"
DIED = "died"

STATUSES = (SCREENING, SCREEN_FAILED, ON_TREATMENT, FOLLOW_UP, OFF_STUDY, DIED)

DEATH = "DEATH"  # crf-spec code list DSDECOD


@dataclass(frozen=True)
class StatusFacts:
    """What the status is told from: the subject's active (not deleted) forms."""

    screen_failed: bool = False  # SL SCRFAIL = Y
    enrolled: bool = False  # a subject ID or an ENR form
    end_of_treatment: bool = False  # an EOT form
    study_end: bool = False  # a DS form
    study_end_reason: str = ""  # its DSDECOD ("" when not entered)
    death: bool = False  # a DD form


def subject_status(facts: StatusFacts) -> str:
    """The subject's status code from ``facts`` (precedence in the module docstring)."""
    if facts.death:
        return DIED  # crf-spec DD: the death form wins over every other form
    if facts.study_end:
        # crf-spec DS; DSDECOD = DEATH without DD stays off study (decided above).
        return OFF_STUDY
    if facts.end_of_treatment:
        return FOLLOW_UP  # crf-spec EOT; protocol.md: safety and survival follow-up
    if facts.enrolled:
        return ON_TREATMENT  # crf-spec ENR
    if facts.screen_failed:
        return SCREEN_FAILED  # crf-spec SL SCRFAIL = Y
    return SCREENING
