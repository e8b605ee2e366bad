"""Protocol deviations: DV log checks, the study list, suggested deviations decided."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from adverse_events.models import ProtocolDeviation, SuggestedDeviation
from crf import registry
from crf.models import AuditEntry, CheckFinding, Visit
from crf.services import CheckError, save_form
from enrollment.demo import screen_and_enrol
from study.models import Role

from .conftest import START

pytestmark = pytest.mark.django_db


def save_dv(actor, subject, **values):
    data = {
        "occurred_on": START + dt.timedelta(days=10),
        "category": "DOSING",
        "severity": "MINOR",
        "description": "Took 13 of 14 doses.",
        "action": "Retrained.",
    }
    data.update(values)
    return save_form(
        actor=actor, spec=registry.get("DV"), subject=subject, values=data, complete=True
    )


def late_vitals(actor, subject):
    """Vital signs one day after C2D1's window closes: a suggested deviation."""
    c2 = Visit.objects.get(subject=subject, code="C2D1")
    save_form(
        actor=actor,
        spec=registry.get("VS"),
        subject=subject,
        visit=c2,
        values={
            "assessed_on": c2.window_end + dt.timedelta(days=1),
            "systolic_bp": 120,
            "diastolic_bp": 80,
            "weight_kg": Decimal("60.0"),
            "ecog": 1,
        },
        complete=True,
    )
    return CheckFinding.objects.get(subject=subject, check_code="VSDAT_window_deviation")


@pytest.fixture
def enrolled(investigator, sites):
    return screen_and_enrol(investigator, sites["01"], start=START)


def test_dv_needs_its_required_fields_to_be_complete(investigator, enrolled) -> None:
    with pytest.raises(CheckError) as error:
        save_dv(investigator, enrolled, category="", description="")

    assert {f.check for f in error.value.findings} == {"DVCAT_required", "DVTERM_required"}


def test_dv_date_cannot_be_in_the_future(investigator, enrolled) -> None:
    with pytest.raises(CheckError) as error:
        save_dv(investigator, enrolled, occurred_on=dt.date.today() + dt.timedelta(days=2))

    assert {f.check for f in error.value.findings} == {"DVDAT_not_future"}


def test_study_list_counts_by_category_and_site(client, people, investigator, sites, enrolled):
    other = screen_and_enrol(people[Role.INVESTIGATOR], sites["01"], start=START)
    save_dv(investigator, enrolled)
    save_dv(investigator, other, category="CONSENT", severity="MAJOR")
    client.force_login(people[Role.STUDY_COORDINATOR])

    response = client.get(reverse("adverse_events:deviations"))

    counts = response.context["counts"]
    rows = {code: (cells, total, major) for code, _label, cells, total, major in counts.rows}
    site_index = counts.sites.index("01")
    assert rows["DOSING"][1:] == (1, 0)
    assert rows["CONSENT"][1:] == (1, 1)
    assert rows["DOSING"][0][site_index] == 1
    assert counts.total == 2
    assert "Took 13 of 14 doses." in response.content.decode()


def test_another_sites_deviations_are_not_listed(client, make_person, investigator, enrolled):
    save_dv(investigator, enrolled, description="Visible only at site 01")
    outsider = make_person("inv02", Role.INVESTIGATOR, ("02",))
    client.force_login(outsider)

    page = client.get(reverse("adverse_events:deviations")).content.decode()
    csv = client.get(reverse("adverse_events:deviations_csv")).content.decode()

    assert "Visible only at site 01" not in page
    assert "Visible only at site 01" not in csv


def test_csv_lists_the_deviations_with_variable_names(client, people, investigator, enrolled):
    save_dv(investigator, enrolled, description="=cmd")
    client.force_login(people[Role.DATA_MANAGER])

    text = client.get(reverse("adverse_events:deviations_csv")).content.decode("utf-8-sig")

    lines = text.strip().splitlines()
    assert lines[0] == "SITE,SUBJID,DVDAT,DVCAT,DVSEV,DVTERM,DVACT"
    assert lines[1] == f"01,{enrolled.subject_id},2026-03-12,DOSING,MINOR,'=cmd,Retrained."


def test_out_of_window_visit_arrives_as_a_suggestion(client, people, investigator, enrolled):
    finding = late_vitals(investigator, enrolled)
    client.force_login(people[Role.DATA_MANAGER])

    response = client.get(reverse("adverse_events:deviations"))

    assert [f.pk for f, _url, _sentence in response.context["suggestions"]] == [finding.pk]
    assert f'data-testid="suggestion-{finding.pk}"' in response.content.decode()


def test_data_manager_confirms_a_suggestion_into_a_dv_record(
    client, people, investigator, enrolled
) -> None:
    finding = late_vitals(investigator, enrolled)
    client.force_login(people[Role.DATA_MANAGER])

    response = client.post(
        reverse("adverse_events:decide_suggestion", kwargs={"finding_pk": finding.pk}),
        {"decision": "confirm", "severity": "MINOR", "description": "C2D1 one day late."},
    )

    assert response.status_code == 302
    deviation = ProtocolDeviation.objects.get(subject=enrolled)
    c2 = Visit.objects.get(subject=enrolled, code="C2D1")
    assert (deviation.category, deviation.severity, deviation.occurred_on) == (
        "VISIT_WINDOW",
        "MINOR",
        c2.held_on,
    )
    assert SuggestedDeviation.objects.get(finding=finding).deviation == deviation
    assert client.get(reverse("adverse_events:deviations")).context["suggestions"] == []
    assert AuditEntry.objects.filter(form_code="DV", variable="DVCAT").count() == 1
    assert AuditEntry.objects.filter(form_code="DV", variable="DVDECISION").count() == 1


def test_dismissing_needs_a_note_and_is_kept(client, people, investigator, enrolled) -> None:
    finding = late_vitals(investigator, enrolled)
    client.force_login(people[Role.DATA_MANAGER])
    url = reverse("adverse_events:decide_suggestion", kwargs={"finding_pk": finding.pk})

    client.post(url, {"decision": "dismiss", "note": ""})
    assert not SuggestedDeviation.objects.exists()

    client.post(url, {"decision": "dismiss", "note": "Window extended by the sponsor."})
    decision = SuggestedDeviation.objects.get(finding=finding)
    assert (decision.decision, decision.note, decision.deviation) == (
        "dismissed",
        "Window extended by the sponsor.",
        None,
    )
    assert ProtocolDeviation.objects.count() == 0


def test_a_suggestion_is_decided_once(client, people, investigator, enrolled) -> None:
    finding = late_vitals(investigator, enrolled)
    client.force_login(people[Role.DATA_MANAGER])
    url = reverse("adverse_events:decide_suggestion", kwargs={"finding_pk": finding.pk})
    confirm = {"decision": "confirm", "severity": "MINOR", "description": "Late."}

    client.post(url, confirm)
    client.post(url, confirm)

    assert ProtocolDeviation.objects.count() == 1


def test_investigator_may_not_decide(client, investigator, enrolled) -> None:
    finding = late_vitals(investigator, enrolled)
    client.force_login(investigator)

    response = client.post(
        reverse("adverse_events:decide_suggestion", kwargs={"finding_pk": finding.pk}),
        {"decision": "dismiss", "note": "no"},
    )

    assert response.status_code == 403
    assert not SuggestedDeviation.objects.exists()


@pytest.mark.parametrize("extra", [1, 6])
def test_deviation_page_queries_do_not_grow(
    client, people, investigator, sites, extra, django_assert_max_num_queries
) -> None:
    for _ in range(extra):
        subject = screen_and_enrol(investigator, sites["01"], start=START)
        save_dv(investigator, subject)
        late_vitals(investigator, subject)
    client.force_login(people[Role.DATA_MANAGER])

    # 14: the suggestions read the dates their forms hold (one query per form checked).
    with django_assert_max_num_queries(14):
        response = client.get(reverse("adverse_events:deviations"))

    assert len(response.context["suggestions"]) == extra


def test_subject_page_lists_dv_records_and_offers_to_add_one(
    client, people, investigator, enrolled
) -> None:
    save_dv(investigator, enrolled)
    add = reverse("crf:form", kwargs={"subject_pk": enrolled.pk, "form_code": "DV"})
    page = reverse("crf:subject_detail", kwargs={"subject_pk": enrolled.pk})

    client.force_login(investigator)
    html = client.get(page).content.decode()
    assert f'href="{add}"' in html
    assert "DV · 2026-03-12 · Study drug dosing" in html

    client.force_login(people[Role.MONITOR])
    assert f'href="{add}"' not in client.get(page).content.decode()
