"""Sentences of the RECIST engine and the endpoints name responses by their labels
("Partial response on 2026-05-10 confirmed by Partial response …"), not by codes (PR)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from enrollment.demo import screen_and_enrol
from visits.demo import treat
from visits.recist import NTLStatus, Response
from visits.tumour import code_label

pytestmark = pytest.mark.django_db


def test_code_label_names_the_engines_codes_and_leaves_other_values() -> None:
    assert code_label(Response.PR) == "Partial response"
    assert code_label(NTLStatus.UNEQUIVOCAL_PD) == "Unequivocal progression"
    assert code_label("PR") == "PR"  # a plain string is not known to be a code
    assert code_label(42) == 42


def test_the_best_response_reason_on_the_subject_page_reads_labels(
    client, investigator, sites
) -> None:
    start = dt.date(2026, 3, 2)
    subject = screen_and_enrol(investigator, sites["01"], start=start)
    treat(investigator, subject, day1=start + dt.timedelta(days=5), cycles=2, course="PR")
    client.force_login(investigator)

    page = client.get(reverse("crf:subject_detail", kwargs={"subject_pk": subject.pk}))

    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.content.decode()))
    assert "Partial response on " in text and "confirmed by Partial response on" in text
    assert not re.search(r"\bPR on \d{4}", text)
