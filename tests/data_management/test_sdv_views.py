"""Source data verification pages: the monitor's panel under the form (plain post and htmx),
the marks everyone sees, the reset shown after a change, the form's SDV page, the subject
panel and the progress page by site, subject and form with a constant number of queries."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crf import registry
from crf.models import ChangeReason
from crf.services import Reason, save_form
from data_management import sdv
from data_management.models import SourceVerification
from enrollment.demo import screen_and_enrol
from enrollment.models import Eligibility, InformedConsent
from study.models import Role
from visits.demo import record_screening
from visits.models import TumourAssessment

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)
TODAY = dt.date(2026, 3, 20)


@pytest.fixture
def monitor(people: dict[Role, Any]) -> Any:
    return people[Role.MONITOR]


def enrolled(investigator: Any, site: Any, start: dt.date = START) -> Any:
    subject = screen_and_enrol(investigator, site, start=start)
    record_screening(investigator, subject, on=start + dt.timedelta(days=1), today=TODAY)
    return subject


@pytest.fixture
def subject(investigator: Any, sites: dict[str, Any]) -> Any:
    return enrolled(investigator, sites["01"])


def baseline(subject: Any) -> TumourAssessment:
    return TumourAssessment.objects.get(subject=subject, visit__code="SCR", is_deleted=False)


def ta_url(subject: Any) -> str:
    return reverse(
        "crf:visit_form",
        kwargs={"subject_pk": subject.pk, "visit_code": "SCR", "form_code": "TA"},
    )


def verify_url(subject: Any, code: str, pk: int) -> str:
    return reverse(
        "data_management:sdv_verify",
        kwargs={"subject_pk": subject.pk, "form_code": code, "record_pk": pk},
    )


def keys_offered(html: str) -> list[str]:
    return re.findall(r'name="key" value="([^"]+)"', html)


def test_the_monitor_sees_a_check_box_for_every_value_and_the_critical_ones_flagged(
    client, subject, monitor
) -> None:
    client.force_login(monitor)

    html = client.get(ta_url(subject)).content.decode()

    offered = keys_offered(html)
    assert offered[:2] == ["||TADAT", "||TAMETH"]
    assert "TL|T01|TLDIAM" in offered and "NTL|NT01|NTLSTAT" in offered
    assert len(offered) == 2 + 3 * 4 + 2
    assert html.count('data-testid="critical"') == len(offered) - 1  # all but TAMETH
    assert "Verify selected" in html and "Verify the rest of the form" in html
    assert "Critical: needs SDV" in html  # the marks at the fields and rows


def test_verify_selected_without_javascript_verifies_and_returns_to_the_form(
    client, subject, monitor
) -> None:
    client.force_login(monitor)
    ta = baseline(subject)

    response = client.post(
        verify_url(subject, "TA", ta.pk),
        {
            "action": "selected",
            "key": ["TL|T01|TLDIAM", "||TADAT"],
            "version": ta.version,
            "next": ta_url(subject),
        },
        follow=True,
    )

    assert response.redirect_chain == [(ta_url(subject), 302)]
    assert "2 values verified." in response.content.decode()
    assert set(SourceVerification.objects.values_list("variable", flat=True)) == {
        "TLDIAM",
        "TADAT",
    }
    assert keys_offered(response.content.decode())[:1] == ["||TAMETH"]


def test_verify_the_rest_with_htmx_returns_the_panel_and_the_marks(
    client, subject, monitor
) -> None:
    client.force_login(monitor)
    ta = baseline(subject)

    response = client.post(
        verify_url(subject, "TA", ta.pk),
        {"action": "form", "version": ta.version, "next": ta_url(subject), "marks": "1"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="sdv-panel"' in html
    assert "1 value verified. 15 critical values are left to verify one by one." in html
    assert html.count('hx-swap-oob="true"') == 1 + 1 + 1 + 3 + 1  # form, TADAT, TAMETH, rows
    assert list(SourceVerification.objects.values_list("variable", flat=True)) == ["TAMETH"]


def test_nothing_ticked_is_said_and_nothing_verified(client, subject, monitor) -> None:
    client.force_login(monitor)
    ta = baseline(subject)

    response = client.post(
        verify_url(subject, "TA", ta.pk),
        {"action": "selected", "version": ta.version},
        HTTP_HX_REQUEST="true",
    )

    assert "Tick the values you have checked" in response.content.decode()
    assert SourceVerification.objects.count() == 0


def test_a_stale_version_is_refused_with_the_reason(client, subject, monitor) -> None:
    client.force_login(monitor)
    ta = baseline(subject)

    response = client.post(
        verify_url(subject, "TA", ta.pk),
        {"action": "form", "version": ta.version + 5, "next": ta_url(subject)},
        follow=True,
    )

    assert "The form changed since you opened it" in response.content.decode()
    assert SourceVerification.objects.count() == 0


def test_the_investigator_sees_what_is_verified_but_cannot_verify(
    client, subject, monitor, investigator
) -> None:
    ta = baseline(subject)
    sdv.verify_values(actor=monitor, instance=ta, keys=[("", "", "TADAT")])
    client.force_login(investigator)

    html = client.get(ta_url(subject)).content.decode()
    refused = client.post(verify_url(subject, "TA", ta.pk), {"action": "form"})

    assert keys_offered(html) == [] and 'id="sdv-panel"' not in html
    assert "✓ </span>Verified" in html
    assert refused.status_code == 403
    assert SourceVerification.objects.count() == 1


def test_another_sites_subject_is_not_found(client, investigator, sites, monitor) -> None:
    other = enrolled(investigator, sites["02"])
    ta = baseline(other)
    client.force_login(monitor)  # monitor of site 01 only

    response = client.post(verify_url(other, "TA", ta.pk), {"action": "form"})
    page = client.get(
        reverse(
            "data_management:sdv_form",
            kwargs={"subject_pk": other.pk, "form_code": "TA", "record_pk": ta.pk},
        )
    )

    assert (response.status_code, page.status_code) == (404, 404)
    assert SourceVerification.objects.count() == 0


def test_a_change_shows_the_reset_of_that_value(client, subject, monitor, investigator) -> None:
    consent = InformedConsent.objects.get(subject=subject)
    sdv.verify_values(actor=monitor, instance=consent, keys=[("", "", "ICDAT"), ("", "", "ICVER")])
    save_form(
        actor=investigator,
        spec=registry.get("IC"),
        subject=subject,
        visit=consent.visit,
        instance=consent,
        values={"consent_date": START - dt.timedelta(days=1), "consent_version": "2.0"},
        complete=True,
        reason=Reason(ChangeReason.TRANSCRIPTION_ERROR, ""),
        today=TODAY,
    )
    client.force_login(monitor)
    url = reverse(
        "crf:visit_form", kwargs={"subject_pk": subject.pk, "visit_code": "SCR", "form_code": "IC"}
    )

    html = client.get(url).content.decode()

    day = SourceVerification.objects.get(reset_at__isnull=False, variable="ICDAT").reset_at
    local = day.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    text = re.sub(r"<[^>]+>", "", html)
    assert f"Verification reset: value changed by inv01 on {local}" in text
    assert keys_offered(html) == ["||ICDAT"]  # ICVER stays verified


def test_the_eligibility_answers_are_verified_on_the_forms_sdv_page(
    client, subject, monitor
) -> None:
    client.force_login(monitor)
    eligibility = Eligibility.objects.get(subject=subject)
    url = reverse(
        "data_management:sdv_form",
        kwargs={"subject_pk": subject.pk, "form_code": "IE", "record_pk": eligibility.pk},
    )

    html = client.get(url).content.decode()
    client.post(
        verify_url(subject, "IE", eligibility.pk),
        {"action": "selected", "key": ["IE|IN01|IEORRES"], "next": url},
    )

    offered = keys_offered(html)
    assert offered[0] == "||IEDAT" and "IE|EX08|IEORRES" in offered
    assert html.count('data-testid="critical"') == len(offered) - 1
    assert SourceVerification.objects.get().row_key == "IN01"


def test_the_subject_panel_follows_verification(client, subject, monitor) -> None:
    client.force_login(monitor)
    url = reverse("crf:subject_detail", kwargs={"subject_pk": subject.pk})
    before = client.get(url).content.decode()
    consent = InformedConsent.objects.get(subject=subject)

    sdv.verify_values(actor=monitor, instance=consent, keys=[("", "", "ICDAT"), ("", "", "ICVER")])
    after = client.get(url).content.decode()

    assert 'data-testid="sdv-subject-panel"' in before
    forms = len(re.findall(r'class="badge [^"]*sdv-form-badge" data-form=', before))
    assert f"0 of {forms} forms verified" in before
    assert f"1 of {forms} forms verified" in after  # the page's cache moved with the trail


def _progress(client: Any, **params: str) -> str:
    return client.get(reverse("data_management:sdv_progress"), params).content.decode()


def _cell(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">([^<]+)<', html)
    assert found is not None, testid
    return found.group(1)


def test_progress_counts_by_site_subject_and_form(
    client, subject, monitor, investigator, sites
) -> None:
    enrolled(investigator, sites["02"], start=START + dt.timedelta(days=2))
    consent = InformedConsent.objects.get(subject=subject)
    sdv.verify_values(actor=monitor, instance=consent, keys=[("", "", "ICDAT"), ("", "", "ICVER")])
    sdv.verify_form(actor=monitor, instance=baseline(subject))
    client.force_login(monitor)  # site 01 only

    by_site = _progress(client)
    by_form = _progress(client, by="form", state="verified")
    pending_ta = _progress(client, by="form", form="TA", state="pending")

    forms = int(_cell(by_site, "sdv-forms").split("/")[1])
    assert _cell(by_site, "sdv-forms") == f"1 / {forms}"
    assert 'data-site="01"' in by_site and 'data-site="02"' not in by_site
    assert _cell(by_site, "sdv-critical").startswith("1 / ")
    assert re.findall(r'data-form="(\w+)" data-subject', by_form) == ["IC"]
    assert re.findall(r'data-form="(\w+)" data-subject', pending_ta) == ["TA"]
    assert _cell(pending_ta, "sdv-values") == "1 / 16"
    assert 'data-subject="' in _progress(client, by="subject")


def test_progress_reads_a_constant_number_of_queries(client, monitor, investigator, sites) -> None:
    client.force_login(monitor)
    counts = []
    for start in (START, START + dt.timedelta(days=3)):
        subject = enrolled(investigator, sites["01"], start=start)
        sdv.verify_form(actor=monitor, instance=baseline(subject))
        for by in ("site", "subject", "form"):
            client.get(reverse("data_management:sdv_progress"), {"by": by})  # warm the session
            with CaptureQueriesContext(connection) as queries:
                response = client.get(reverse("data_management:sdv_progress"), {"by": by})
            assert response.status_code == 200
            counts.append((by, len(queries)))
    assert counts[:3] == counts[3:]
    assert max(n for _by, n in counts) <= 40


def test_the_data_manager_reads_progress_and_the_investigator_may_not(
    client, subject, people
) -> None:
    client.force_login(people[Role.DATA_MANAGER])
    assert client.get(reverse("data_management:sdv_progress")).status_code == 200
    client.force_login(people[Role.INVESTIGATOR])
    assert client.get(reverse("data_management:sdv_progress")).status_code == 403
