"""The study data file's shape: its format name, its top-level keys, its study parameters,
and what both directions share (an empty value, the order of visits)."""

from __future__ import annotations

from typing import Any

from crf.models import VisitKind, visit_kind_for_code

FORMAT = "edc-study-data/1"
LISTS = ("sites", "subjects", "screening")
PARAMETERS = "parameters"
TARGET_ENROLMENT = "target_enrolment"
# The largest value StudyParameters.target_enrolment holds (PositiveSmallIntegerField).
MAX_TARGET = 32767

_VISIT_KIND_RANK = {kind.value: rank for rank, kind in enumerate(VisitKind)}


def visit_sort_key(code: str) -> tuple[int, int, str]:
    """Visits in schedule order: SCR, C1D1, C2D1 …, TA1 …, EOT, SFU, SURV1 …, UNS1 …"""
    try:
        kind, number = visit_kind_for_code(code)
    except ValueError:
        return (len(_VISIT_KIND_RANK), 0, code)
    return (_VISIT_KIND_RANK[kind], number, code)


def is_empty(value: Any) -> bool:
    """No value: None, "", or an empty list (written as absent, read as empty)."""
    return value is None or value == "" or value == [] or value == ()
