"""A reminder's text, rendered from its parameters in the reader's language (issue 14)."""

from __future__ import annotations

from django.utils import translation

from notifications import texts
from notifications.models import Kind


def test_a_few_visits_awaiting_signature_are_named() -> None:
    params = {"subject": "01-004", "code": "C1D1, C2D1", "days": 0, "count": 0}
    with translation.override("en"):
        line = texts.text(Kind.SIGNATURE_WAITING, params)
    assert line == "01-004: visits C1D1, C2D1 awaiting the PI's signature"


def test_many_visits_awaiting_signature_are_counted_first_to_last() -> None:
    codes = ", ".join(["SCR", "C1D1", "C2D1", "TA1", "C3D1"])
    params = {"subject": "01-002", "code": codes, "days": 0, "count": 0}
    with translation.override("en"):
        english = texts.text(Kind.SIGNATURE_WAITING, params)
    with translation.override("zh-hans"):
        chinese = texts.text(Kind.SIGNATURE_WAITING, params)
    assert english == "01-002: 5 visits awaiting the PI's signature (SCR to C3D1)"
    assert chinese == "01-002：5 次访视待主要研究者签名（SCR 至 C3D1）"


def test_the_casebook_awaiting_signature() -> None:
    params = {"subject": "01-007", "code": "", "days": 1, "count": 0}
    with translation.override("en"):
        assert texts.text(Kind.SIGNATURE_WAITING, params) == (
            "01-007: casebook awaiting the PI's signature"
        )
