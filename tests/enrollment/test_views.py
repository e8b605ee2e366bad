"""The investigator's screening path and the subject list, through the web pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from enrollment.demo import screen_and_enrol
from enrollment.models import Demographics, Eligibility
from study.models import Role, SubjectStatus
from tests.enrollment.conftest import START, TARGET, fill_enrolled

pytestmark = pytest.mark.django_db


def test_register_a_screened_person(client, investigator, sites) -> None:
    client.force_login(investigator)

    response = client.post(
        reverse("enrollment:register"),
        {"site": sites["01"].pk, "screening_date": "2026-11-20"},
        follow=True,
    )

    page = response.content.decode()
    assert "Screening number S01-001 registered." in page
    assert "SL · Screening log" in page and "IC · Informed consent" in page


def test_register_offers_only_the_users_sites(client, investigator, sites) -> None:
    client.force_login(investigator)

    response = client.post(
        reverse("enrollment:register"), {"site": sites["02"].pk, "screening_date": "2026-11-20"}
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_a_dm_error_stands_next_to_its_field(client, investigator, subject01) -> None:
    client.force_login(investigator)
    url = reverse(
        "crf:visit_form",
        kwargs={"subject_pk": subject01.pk, "visit_code": "SCR", "form_code": "DM"},
    )

    response = client.post(
        url,
        {
            "version": "0",
            "birth_date": "1960-05",
            "sex": "M",
            "ethnic_group": "HAN",
            "height_cm": "300",
        },
    )

    page = response.content.decode()
    block = page.split('id="div_id_height_cm"')[1].split("</div>")[0:3]
    assert "HEIGHT must be between 100 and 230 cm." in "".join(block)
    assert Demographics.objects.count() == 0


def _answers(**overrides: str) -> dict[str, str]:
    from enrollment.selectors import criteria_in_force

    data = {f"answer-{c.code}": ("Y" if c.kind == "IN" else "N") for c in criteria_in_force()}
    data.update({f"answer-{k}": v for k, v in overrides.items()})
    return data


def test_eligibility_says_at_once_which_criteria_fail(client, investigator, subject01) -> None:
    client.force_login(investigator)
    url = reverse("enrollment:eligibility", kwargs={"subject_pk": subject01.pk})

    verdict = client.post(
        url + "?check=1",
        {**_answers(IN06="N", EX03="Y"), "confirmed_on": ""},
        HTTP_HX_REQUEST="true",
    )

    html = verdict.content.decode()
    assert "Not eligible: these criteria fail" in html
    assert "<strong>IN06</strong> ECOG performance status 0-1." in html
    assert "<strong>EX03</strong>" in html
    assert "<strong>IN01</strong>" not in html
    assert Eligibility.objects.count() == 0  # the live verdict saves nothing


def test_saving_a_failing_checklist_offers_the_screen_failure(client, investigator, sites) -> None:
    from enrollment.services import register_screening

    subject01 = register_screening(
        actor=investigator, site=sites["01"], screening_date=dt.date(2026, 11, 19)
    )
    client.force_login(investigator)
    url = reverse("enrollment:eligibility", kwargs={"subject_pk": subject01.pk})
    client.post(url, {**_answers(IN06="N"), "confirmed_on": "2026-11-20", "version": "0"})

    page = client.get(url).content.decode()
    assert 'data-code="IN06" class' not in page  # class comes first in the rendered row
    assert '<tr class="table-danger" data-code="IN06">' in page
    assert "Record screen failure" in page

    client.post(
        reverse("enrollment:screen_failure", kwargs={"subject_pk": subject01.pk}),
        {"criteria": ["IN06"]},
    )
    subject01.refresh_from_db()
    assert subject01.status == SubjectStatus.SCREEN_FAILED


def test_the_enrol_page_names_the_target_at_the_cap(client, investigator, eligible, sites) -> None:
    fill_enrolled(sites["02"], TARGET)
    client.force_login(investigator)
    url = reverse("enrollment:enrol", kwargs={"subject_pk": eligible.pk})

    response = client.post(url, {"enrolled_on": "2026-03-05", "planned_day1": "2026-03-07"})

    page = response.content.decode()
    assert response.status_code == 200
    assert f"Enrolment is closed: the study has reached its target of {TARGET} subjects." in page
    eligible.refresh_from_db()
    assert eligible.subject_id is None


def test_enrolling_from_the_page(client, investigator, eligible) -> None:
    client.force_login(investigator)
    url = reverse("enrollment:enrol", kwargs={"subject_pk": eligible.pk})

    response = client.post(
        url, {"enrolled_on": "2026-03-05", "planned_day1": "2026-03-07"}, follow=True
    )

    assert "S01-001 is enrolled as subject 01-001." in response.content.decode()


def test_the_data_manager_raises_the_target_from_the_page(client, people) -> None:
    client.force_login(people[Role.DATA_MANAGER])

    response = client.post(
        reverse("enrollment:target"), {"target": TARGET + 4, "reason": "amendment"}, follow=True
    )

    assert f"The target enrolment is now {TARGET + 4}." in response.content.decode()


def _table(response) -> str:
    return response.content.decode().split('data-testid="subjects"')[1].split("</table>")[0]


def test_subject_list_search_filter_sort_and_scope(client, investigator, sites) -> None:
    a = screen_and_enrol(investigator, sites["01"], start=START)
    b = screen_and_enrol(investigator, sites["01"], start=START + dt.timedelta(days=1))
    other_site = screen_and_enrol(investigator, sites["02"], start=START)
    client.force_login(investigator)
    url = reverse("crf:subject_list")

    response = client.get(url)
    everything = _table(response)
    assert a.subject_id in everything and b.subject_id in everything
    assert other_site.screening_id not in response.content.decode()  # site 02: no trace
    assert "2 subjects" in response.content.decode()

    found = _table(client.get(url, {"q": "01-002"}))
    assert "01-002" in found and "01-001" not in found

    assert "No subjects match." in _table(client.get(url, {"status": SubjectStatus.SCREEN_FAILED}))
    descending = _table(client.get(url, {"sort": "-subject"}))
    assert descending.index("01-002") < descending.index("01-001")
