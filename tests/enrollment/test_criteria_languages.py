"""Eligibility criteria are study content in two languages: stored, edited, shown (issue 10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from crf.models import AuditEntry
from enrollment.demo import screen_and_fail
from enrollment.models import EligibilityCriterion
from enrollment.reference_data import CRITERIA
from enrollment.services import save_criterion
from study.models import Role

pytestmark = pytest.mark.django_db

IN06_EN = "ECOG performance status 0-1."
IN06_ZH = "ECOG 体能状态评分 0～1 分。"


def _in_chinese(client: Any) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"


def _answers(**overrides: str) -> dict[str, str]:
    from enrollment.selectors import criteria_in_force

    data = {f"answer-{c.code}": ("Y" if c.kind == "IN" else "N") for c in criteria_in_force()}
    data.update({f"answer-{k}": v for k, v in overrides.items()})
    return data


def test_seed_criteria_have_their_chinese_text_after_migrate() -> None:
    texts = dict(
        EligibilityCriterion.objects.filter(protocol_version="1.0").values_list(
            "code", "text_zh_hans"
        )
    )

    assert len(texts) == 20 and all(texts.values())
    assert texts["IN06"] == IN06_ZH
    assert texts["EX05"] == "门静脉主干癌栓（Vp4）或下腔静脉癌栓。"
    assert [code for code, *_ in CRITERIA] == list(texts)


def test_criterion_text_follows_the_active_language() -> None:
    criterion = EligibilityCriterion.objects.get(code="IN06")

    with translation.override("zh-hans"):
        chinese = criterion.display_text
    with translation.override("en"):
        english = criterion.display_text

    assert (chinese, english) == (IN06_ZH, IN06_EN)


def test_criterion_text_falls_back_to_english_without_chinese() -> None:
    criterion = EligibilityCriterion.objects.get(code="IN06")
    criterion.text_zh_hans = "  "

    with translation.override("zh-hans"):
        assert criterion.display_text == IN06_EN


def test_the_checklist_in_chinese_shows_the_chinese_text(client, investigator, subject01) -> None:
    client.force_login(investigator)
    _in_chinese(client)
    url = reverse("enrollment:eligibility", kwargs={"subject_pk": subject01.pk})

    page = client.get(url).content.decode()
    verdict = client.post(
        url + "?check=1", {**_answers(IN06="N"), "confirmed_on": ""}, HTTP_HX_REQUEST="true"
    ).content.decode()

    assert f"<td><strong>IN06</strong> {IN06_ZH}</td>" in page
    assert IN06_EN not in page
    assert f"<li><strong>IN06</strong> {IN06_ZH}</li>" in verdict


def test_the_checklist_in_english_keeps_the_english_text(client, investigator, subject01) -> None:
    client.force_login(investigator)

    page = client.get(
        reverse("enrollment:eligibility", kwargs={"subject_pk": subject01.pk})
    ).content.decode()

    assert f"<td><strong>IN06</strong> {IN06_EN}</td>" in page
    assert IN06_ZH not in page


def test_the_checklist_falls_back_to_english_without_chinese(
    client, investigator, subject01
) -> None:
    EligibilityCriterion.objects.filter(code="IN06").update(text_zh_hans="")
    client.force_login(investigator)
    _in_chinese(client)

    page = client.get(
        reverse("enrollment:eligibility", kwargs={"subject_pk": subject01.pk})
    ).content.decode()

    assert f"<td><strong>IN06</strong> {IN06_EN}</td>" in page


def test_an_edit_of_the_chinese_text_is_audited(people) -> None:
    criterion = EligibilityCriterion.objects.get(code="IN06")

    save_criterion(
        actor=people[Role.DATA_MANAGER],
        criterion=criterion,
        text=IN06_EN,
        text_zh_hans="ECOG 体能状态评分 0～2 分。",
        kind="IN",
        reason="方案修订 1.1",
    )

    entry = AuditEntry.objects.get(form_code="IECRIT")
    assert (entry.variable, entry.old_value, entry.new_value, entry.reason_text) == (
        "IN06.TEXT_ZH",
        IN06_ZH,
        "ECOG 体能状态评分 0～2 分。",
        "方案修订 1.1",
    )
    criterion.refresh_from_db()
    assert (criterion.text, criterion.text_zh_hans) == (IN06_EN, "ECOG 体能状态评分 0～2 分。")


def test_the_criterion_page_edits_both_texts_with_a_reason(client, people) -> None:
    client.force_login(people[Role.DATA_MANAGER])
    criterion = EligibilityCriterion.objects.get(code="IN06")
    url = reverse("enrollment:criterion_edit", kwargs={"pk": criterion.pk})

    form_page = client.get(url).content.decode()
    response = client.post(
        url,
        {
            "kind": "IN",
            "text": "ECOG performance status 0-2.",
            "text_zh_hans": "ECOG 体能状态评分 0～2 分。",
            "reason": "amendment 1.1",
        },
    )

    assert 'name="text_zh_hans"' in form_page and IN06_ZH in form_page
    assert response.status_code == 302
    changes = list(
        AuditEntry.objects.filter(form_code="IECRIT")
        .order_by("variable")
        .values_list("variable", "old_value", "new_value", "reason_text")
    )
    assert changes == [
        ("IN06.TEXT", IN06_EN, "ECOG performance status 0-2.", "amendment 1.1"),
        ("IN06.TEXT_ZH", IN06_ZH, "ECOG 体能状态评分 0～2 分。", "amendment 1.1"),
    ]


def test_the_criteria_page_in_chinese_shows_the_chinese_text(client, people) -> None:
    EligibilityCriterion.objects.filter(code="EX08").update(text_zh_hans="")
    client.force_login(people[Role.DATA_MANAGER])
    _in_chinese(client)

    page = client.get(reverse("enrollment:criteria")).content.decode()

    assert f"<td>{IN06_ZH}</td>" in page
    assert "Other systemic anticancer therapy within 14 days." in page  # EX08 falls back
    assert IN06_EN not in page


def test_the_dashboard_in_chinese_names_the_failed_criterion_in_chinese(
    client, people, sites
) -> None:
    screen_and_fail(
        people[Role.INVESTIGATOR], sites["01"], start=dt.date(2026, 2, 16), failing=("IN06",)
    )
    client.force_login(people[Role.STUDY_COORDINATOR])
    _in_chinese(client)

    page = client.get(reverse("enrollment:dashboard")).content.decode()
    csv_text = (
        client.get(reverse("enrollment:dashboard_csv", kwargs={"table": "failures"}))
        .content.decode("utf-8-sig")
        .splitlines()
    )

    assert f'<th scope="row">IN06</th>\n              <td>{IN06_ZH}</td>' in page
    assert IN06_EN not in page
    assert csv_text[1] == f"IN06,{IN06_ZH},1"


def test_the_screening_log_offers_criteria_in_the_users_language() -> None:
    from enrollment.forms import ScreeningLogForm

    with translation.override("zh-hans"):
        choices = dict(ScreeningLogForm().fields["failed_criteria"].choices)

    assert choices["IN06"] == f"IN06 {IN06_ZH}"
