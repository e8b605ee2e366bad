"""The generic CRF page: errors on the fields, reason for change, optimistic lock."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from crf.models import AuditEntry
from study.models import Role
from tests.crftest.models import DemoVitals
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


def test_entering_a_new_form_saves_and_audits(client, investigator, subject01) -> None:
    client.force_login(investigator)

    response = client.post(xx_url(subject01), post_data(mark_complete="on"))

    assert response.status_code == 302
    form = DemoVitals.objects.get(subject=subject01)
    assert (form.systolic, form.status, form.version) == (120, "complete", 1)
    assert AuditEntry.objects.filter(subject=subject01, variable="SYSBP").count() == 1


def test_a_hard_check_message_stands_next_to_its_field(client, investigator, subject01) -> None:
    client.force_login(investigator)

    response = client.post(xx_url(subject01), post_data(systolic="300"))

    assert response.status_code == 200
    page = response.content.decode()
    field_block = page.split('id="div_id_systolic"')[1].split('id="div_id_diastolic"')[0]
    assert "SYSBP must be between 60 and 260 mmHg." in field_block
    assert DemoVitals.objects.count() == 0


def test_a_change_to_a_complete_form_asks_for_a_reason(client, investigator, subject01) -> None:
    form = save_xx(investigator, subject01, complete=True)
    client.force_login(investigator)

    response = client.post(
        xx_url(subject01), post_data(version=str(form.version), systolic="125", mark_complete="on")
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Reason for change" in page
    assert DemoVitals.objects.get().systolic == 120

    response = client.post(
        xx_url(subject01),
        post_data(
            version=str(form.version),
            systolic="125",
            mark_complete="on",
            reason_code="TRANSCRIPTION_ERROR",
            reason_text="source says 125",
        ),
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(variable="SYSBP", action="update")
    assert (entry.new_value, entry.reason_code, entry.reason_text) == (
        "125",
        "TRANSCRIPTION_ERROR",
        "source says 125",
    )


def test_two_people_save_the_same_form_the_second_is_refused(
    client, investigator, people, subject01
) -> None:
    from django.test import Client

    form = save_xx(investigator, subject01)
    first, second = client, Client()
    first.force_login(investigator)
    second.force_login(people[Role.SITE_COORDINATOR])
    opened_version = str(form.version)  # both opened the page at this version
    assert (
        f'name="version" value="{opened_version}"' in first.get(xx_url(subject01)).content.decode()
    )
    assert (
        f'name="version" value="{opened_version}"' in second.get(xx_url(subject01)).content.decode()
    )

    assert (
        second.post(
            xx_url(subject01), post_data(version=opened_version, systolic="131")
        ).status_code
        == 302
    )
    response = first.post(xx_url(subject01), post_data(version=opened_version, systolic="142"))

    assert response.status_code == 409
    page = response.content.decode()
    assert "This form was changed by sc01 at" in page
    assert 'name="systolic" value="131"' in page  # the new values are shown
    assert DemoVitals.objects.get().systolic == 131  # nothing overwritten
    assert list(
        AuditEntry.objects.filter(variable="SYSBP", action="update").values_list(
            "new_value", flat=True
        )
    ) == ["131"]


def test_readers_see_the_form_but_cannot_save(client, people, subject01, investigator) -> None:
    save_xx(investigator, subject01)
    client.force_login(people[Role.MONITOR])

    page = client.get(xx_url(subject01)).content.decode()
    assert 'data-testid="readonly"' in page and 'name="systolic"' not in page
    assert client.post(xx_url(subject01), post_data(systolic="150")).status_code == 403
    assert DemoVitals.objects.get().systolic == 120


def test_audit_page_lists_changes_with_reason(client, investigator, subject01) -> None:
    from crf.services import Reason

    form = save_xx(investigator, subject01, complete=True)
    save_xx(
        investigator,
        subject01,
        instance=form,
        systolic=118,
        complete=True,
        reason=Reason("QUERY_RESPONSE"),
    )
    client.force_login(investigator)

    page = client.get(
        reverse("crf:subject_audit", kwargs={"subject_pk": subject01.pk})
    ).content.decode()

    assert "Correction in response to a query" in page
    assert re.search(r"<td[^>]*>120</td><td[^>]*>118</td>", page)


def test_soft_delete_from_the_page_needs_a_reason(client, investigator, subject01) -> None:
    form = save_xx(investigator, subject01)
    client.force_login(investigator)
    url = reverse(
        "crf:delete", kwargs={"subject_pk": subject01.pk, "form_code": "XX", "record_pk": form.pk}
    )

    client.post(url, {"reason_code": "", "version": form.version})
    assert not DemoVitals.objects.get().is_deleted

    client.post(
        url,
        {"reason_code": "ENTERED_IN_ERROR", "reason_text": "wrong visit", "version": form.version},
    )
    assert DemoVitals.objects.get().is_deleted
