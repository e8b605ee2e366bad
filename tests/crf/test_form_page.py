"""The CRF page as a user meets it: back at the visit after a save, read-only as text for
people who may not edit, labels instead of codes, and damaged posts refused with a message."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from crf import registry
from crf.models import AuditEntry, Visit
from crf.services import save_form
from enrollment.demo import screen_and_enrol
from study.models import Role
from tests.crftest.models import DemoLog, DemoVitals
from tests.factories import save_xx

pytestmark = pytest.mark.django_db


def xx_url(subject) -> str:
    return reverse(
        "crf:visit_form", kwargs={"subject_pk": subject.pk, "visit_code": "SCR", "form_code": "XX"}
    )


def post_data(**overrides) -> dict[str, str]:
    data = {
        "version": "0",
        "assessed_on": "2026-01-05",
        "systolic": "120",
        "diastolic": "80",
        "smoker": "N",
        "comment": "",
        "ls-TOTAL_FORMS": "0",
        "ls-INITIAL_FORMS": "0",
        "ls-MIN_NUM_FORMS": "0",
        "ls-MAX_NUM_FORMS": "1000",
    }
    return {**data, **overrides}


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_saved_visit_form_returns_to_its_visit_on_the_subject_page(
    client, investigator, subject01
) -> None:
    client.force_login(investigator)

    response = client.post(xx_url(subject01), post_data())

    assert response.status_code == 302
    detail = reverse("crf:subject_detail", kwargs={"subject_pk": subject01.pk})
    assert response["Location"] == f"{detail}#visit-SCR"
    page = client.get(detail).content.decode()
    assert 'id="visit-SCR"' in page


def test_a_saved_log_record_returns_to_its_log_on_the_subject_page(
    client, investigator, subject01
) -> None:
    client.force_login(investigator)
    url = reverse("crf:form", kwargs={"subject_pk": subject01.pk, "form_code": "XL"})

    response = client.post(url, {"version": "0", "logged_on": "2026-01-05", "term": "x"})

    detail = reverse("crf:subject_detail", kwargs={"subject_pk": subject01.pk})
    assert response["Location"] == f"{detail}#form-XL"
    assert 'id="form-XL"' in client.get(detail).content.decode()
    assert DemoLog.objects.count() == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"ls-TOTAL_FORMS": "abc"},
        {"ls-TOTAL_FORMS": "-1"},
        {"ls-TOTAL_FORMS": "99999999"},
        {"version": "abc"},
    ],
)
def test_a_damaged_form_post_is_refused_with_a_message(
    client, investigator, subject01, overrides
) -> None:
    client.force_login(investigator)

    response = client.post(xx_url(subject01), post_data(**overrides))

    assert response.status_code == 400
    assert "The form arrived damaged" in response.content.decode()
    assert DemoVitals.objects.count() == 0


def test_adding_a_row_with_a_damaged_row_count_is_refused_with_a_message(
    client, investigator, subject01
) -> None:
    client.force_login(investigator)

    response = client.post(xx_url(subject01), post_data(**{"ls-TOTAL_FORMS": "abc"}, add_row="LS"))

    assert response.status_code == 400
    assert "The form arrived damaged" in response.content.decode()


def test_deleting_with_a_damaged_version_is_refused_and_deletes_nothing(
    client, investigator, subject01
) -> None:
    form = save_xx(investigator, subject01)
    client.force_login(investigator)
    url = reverse(
        "crf:delete", kwargs={"subject_pk": subject01.pk, "form_code": "XX", "record_pk": form.pk}
    )

    response = client.post(url, {"version": "abc", "reason_code": "ENTERED_IN_ERROR"})

    assert response.status_code == 400
    assert "The form arrived damaged" in response.content.decode()
    assert DemoVitals.objects.get().is_deleted is False
    assert not AuditEntry.objects.filter(action="delete").exists()


def test_a_monitor_reads_the_form_as_text_not_as_greyed_out_inputs(
    client, people, investigator, subject01
) -> None:
    save_xx(investigator, subject01, smoker="Y", lesions=[{"lesion_id": "L1", "diameter": 12}])
    client.force_login(people[Role.MONITOR])

    response = client.get(xx_url(subject01))

    page = response.content.decode()
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    # The values are text; controls below the form are the monitor's own (queries, SDV).
    readonly = main.split('data-testid="readonly"', 1)[1].split("</div>\n{% endif %}", 1)[0]
    readonly = readonly.split("Back to the subject", 1)[0]
    assert re.search(r"<(input|select|textarea)(?![^>]*type=\"hidden\")", readonly) is None
    text = visible_text(main)
    assert "Systolic BP 120 mmHg" in text
    assert "Smoker Yes" in text  # the code's label, not "Y"
    assert "L1" in text and "12.0" in text
    assert "Save" not in text


def test_derived_values_show_labels_and_units(client, investigator, sites) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    day1 = Visit.objects.get(subject=subject, code="C1D1").planned_date
    ta = registry.get("TA")
    save_form(
        actor=investigator,
        spec=ta,
        subject=subject,
        visit=subject.visits.get(code="SCR"),
        values={"scanned_on": day1, "method": "CT"},
        groups={
            "TL": [
                {
                    "lesion_id": "T01",
                    "organ": "LIVER",
                    "is_node": "N",
                    "status": "MEASURED",
                    "diameter_mm": 40,
                }
            ],
            "NTL": [{"lesion_id": "NT01", "organ": "LUNG", "status": "PRESENT"}],
            "NL": [],
        },
        complete=True,
    )
    visit = Visit.objects.get(subject=subject, code="TA1")
    save_form(
        actor=investigator,
        spec=ta,
        subject=subject,
        visit=visit,
        values={"scanned_on": visit.planned_date, "method": "CT", "investigator_response": "SD"},
        groups={
            "TL": [
                {
                    "lesion_id": "T01",
                    "organ": "LIVER",
                    "is_node": "N",
                    "status": "MEASURED",
                    "diameter_mm": 38,
                }
            ],
            "NTL": [{"lesion_id": "NT01", "organ": "LUNG", "status": "PRESENT"}],
            "NL": [],
        },
        complete=True,
        today=visit.planned_date,
    )
    client.force_login(investigator)

    response = client.get(
        reverse(
            "crf:visit_form",
            kwargs={"subject_pk": subject.pk, "visit_code": "TA1", "form_code": "TA"},
        )
    )

    derived = response.content.decode().split('data-testid="derived"')[1].split("</section>")[0]
    text = visible_text(derived)
    assert "Non-CR/non-PD" in text and "NON_CR_NON_PD" not in text
    assert "Stable disease" in text
    assert "38.0 mm" in text
    headings = visible_text(response.content.decode())
    assert "Target lesions" in headings and "Non-target lesions" in headings


def test_a_reader_posting_the_eligibility_checklist_gets_the_styled_403_page(
    client, people, subject01
) -> None:
    client.force_login(people[Role.MONITOR])

    response = client.post(
        reverse("enrollment:eligibility", kwargs={"subject_pk": subject01.pk}), {"version": "0"}
    )

    assert response.status_code == 403
    assert "<main" in response.content.decode()


def _ta_post(visit, rows: dict[str, list[dict[str, str]]], **values: str) -> dict[str, str]:
    data = {"version": "0", "scanned_on": visit.planned_date.isoformat(), "method": "CT"}
    data |= values
    for group, entries in rows.items():
        prefix = group.lower()
        data |= {
            f"{prefix}-TOTAL_FORMS": str(len(entries)),
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
        for i, entry in enumerate(entries):
            data |= {f"{prefix}-{i}-{k}": v for k, v in entry.items()}
    return data


def test_a_finding_on_a_lesion_row_stands_in_that_row(client, investigator, sites) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    day1 = Visit.objects.get(subject=subject, code="C1D1").planned_date
    save_form(
        actor=investigator,
        spec=registry.get("TA"),
        subject=subject,
        visit=subject.visits.get(code="SCR"),
        values={"scanned_on": day1, "method": "CT"},
        groups={
            "TL": [
                {
                    "lesion_id": "T01",
                    "organ": "LIVER",
                    "is_node": "N",
                    "status": "MEASURED",
                    "diameter_mm": 40,
                }
            ],
            "NTL": [],
            "NL": [],
        },
    )
    visit = Visit.objects.get(subject=subject, code="TA1")
    client.force_login(investigator)
    url = reverse(
        "crf:visit_form", kwargs={"subject_pk": subject.pk, "visit_code": "TA1", "form_code": "TA"}
    )
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()

    response = client.post(
        url,
        _ta_post(
            visit,
            {
                "TL": [
                    {
                        "lesion_id": "T01",
                        "organ": "LIVER",
                        "is_node": "N",
                        "status": "MEASURED",
                        "diameter_mm": "41",
                    }
                ],
                "NTL": [],
                "NL": [
                    {"lesion_id": "N01", "organ": "LUNG", "unequivocal": "Y", "first_seen_on": ""},
                    {
                        "lesion_id": "N02",
                        "organ": "BONE",
                        "unequivocal": "Y",
                        "first_seen_on": tomorrow,
                    },
                ],
            },
            investigator_response="PD",
        ),
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="not-saved"' in page
    row = page.split('name="nl-1-lesion_id"')[1].split("</tr>")[0]
    assert "cannot be in the future" in row
    top = page.split('data-testid="not-saved"')[1].split("</div>")[0]
    assert "cannot be in the future" not in top


def test_a_recist_rule_about_one_lesion_stands_in_that_lesions_row(
    client, investigator, sites
) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=dt.date(2026, 3, 2))
    visit = Visit.objects.get(subject=subject, code="SCR")
    day1 = Visit.objects.get(subject=subject, code="C1D1").planned_date
    client.force_login(investigator)
    url = reverse(
        "crf:visit_form", kwargs={"subject_pk": subject.pk, "visit_code": "SCR", "form_code": "TA"}
    )
    target = {"organ": "LIVER", "is_node": "N", "status": "MEASURED"}
    data = _ta_post(
        visit,
        {
            "TL": [
                {**target, "lesion_id": "T01", "diameter_mm": "30"},
                {**target, "lesion_id": "T02", "diameter_mm": "8"},  # not measurable
            ],
            "NTL": [{"lesion_id": "NT01", "organ": "LUNG", "status": "ABSENT"}],
            "NL": [],
        },
    )
    data["scanned_on"] = day1.isoformat()

    page = client.post(url, data).content.decode()

    row = page.split('name="tl-1-lesion_id"')[1].split("</tr>")[0]
    assert "T02" in row and "10" in row  # the measurable size it needs, in T02's row
    ntl_row = page.split('name="ntl-0-lesion_id"')[1].split("</tr>")[0]
    assert "Present" in ntl_row and "Absent" in ntl_row  # labels, not PRESENT / ABSENT
    assert "ABSENT" not in visible_text(ntl_row)
