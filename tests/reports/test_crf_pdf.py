"""Completed CRF PDFs (issue 13, "PDFs"): real PDFs rendered by WeasyPrint and read back
with pdftotext (poppler-utils): the header, values with units and code labels, a lesion
measurement, derived values, an open query at its field, page x of y; site scoping; the
export log; Chinese free text and interface with an embedded CJK font (pdffonts)."""

from __future__ import annotations

import hashlib
import subprocess
from typing import Any

import pytest
from django.urls import reverse

from crf import registry
from data_management.queries import raise_query
from reports.models import ExportKind, ExportRecord
from reports.pdf_context import form_sections
from study import protocol
from study.models import Role
from tests.factories import save_xx

pytestmark = pytest.mark.django_db

CHINESE = "患者诉右上腹隐痛，夜间加重"


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    )
    return " ".join(out.stdout.decode("utf-8").split())


def pdf_fonts(content: bytes, tmp_path: Any) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(content)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


@pytest.fixture
def monitor(people: dict[Role, Any]) -> Any:
    return people[Role.MONITOR]


@pytest.fixture
def form(investigator: Any, subject01: Any) -> Any:
    return save_xx(
        investigator,
        subject01,
        complete=True,
        smoker="Y",
        comment=CHINESE,
        lesions=[{"lesion_id": "L1", "diameter": "21.4"}, {"lesion_id": "L2", "diameter": "9.5"}],
    )


@pytest.fixture
def query(monitor: Any, subject01: Any, form: Any) -> Any:
    return raise_query(
        actor=monitor,
        subject=subject01,
        form_code="XX",
        instance=form,
        variable="SYSBP",
        text="Systolic 120 in the CRF, 210 in the source?",
    )


def form_url(subject: Any, form: Any) -> str:
    return reverse(
        "reports:crf_form_pdf",
        kwargs={"subject_pk": subject.pk, "form_code": "XX", "record_pk": form.pk},
    )


def visit_url(subject: Any, code: str = "SCR") -> str:
    return reverse("reports:crf_visit_pdf", kwargs={"subject_pk": subject.pk, "visit_code": code})


def test_form_sections_marks_values_queries_and_derived(
    subject01: Any, form: Any, query: Any
) -> None:
    shown = form_sections(registry.get("XX"), form)
    values = {v.name: v for s in shown.sections for v in s.values}
    assert values["SYSBP"].text == "120" and values["SYSBP"].unit == "mmHg"
    assert [q.number for q in values["SYSBP"].queries] == [query.pk]
    assert values["XXYN"].text == "Yes"  # the code's label, not Y
    assert values["XXPP"].derived and values["XXPP"].text == "40"
    assert values["XXDAT"].text == "2026-01-05"
    (lesions,) = shown.tables
    assert [row.key for row in lesions.rows] == ["L1", "L2"]
    assert lesions.rows[0].cells[1].text == "21.4"
    assert shown.status_label == "Complete"
    assert shown.signature == "Not signed"
    assert [q.number for q in shown.queries] == [query.pk]


def test_monitor_downloads_a_form_pdf_read_back_and_recorded(
    client: Any, monitor: Any, subject01: Any, form: Any, query: Any
) -> None:
    client.force_login(monitor)
    response = client.get(form_url(subject01, form))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    text = pdf_text(response.content)
    # Header: study, protocol version, site, subject, visit, form and its record version.
    assert protocol.STUDY_CODE in text and f"protocol {protocol.PROTOCOL_VERSION}" in text
    assert f"subject {subject01.label}" in text and "site 01" in text
    assert "Visit SCR" in text and "Test vitals" in text and f"v{form.version}" in text
    # Values with units and code labels, a lesion measurement, the derived value marked.
    assert "120 mmHg" in text
    assert "Yes" in text  # smoker: the label of code Y
    assert "21.4" in text and "9.5" in text
    assert "derived" in text
    # The open query at its field and in the list; status, SDV, signature.
    assert f"Q{query.pk} Open" in text
    assert "Systolic 120 in the CRF, 210 in the source?" in text
    assert "Status: Complete" in text and "0 of" in text and "Not signed" in text
    # Footer: page x of y, generated at (UTC and site time) by whom, data's last change.
    assert "Page 1 of 1" in text
    assert "UTC" in text and "Asia/Shanghai" in text and monitor.username in text
    assert "Data last changed" in text
    record = ExportRecord.objects.get()
    assert record.kind == ExportKind.CRF_FORM
    assert record.actor == monitor and record.subject == subject01
    assert record.form_code == "XX" and record.visit_code == "SCR"
    assert record.file_sha256 == hashlib.sha256(response.content).hexdigest()


def test_site_staff_print_their_visit(
    client: Any, investigator: Any, subject01: Any, form: Any
) -> None:
    client.force_login(investigator)
    response = client.get(visit_url(subject01))
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "Case report forms of visit SCR" in text or "Case report form" in text
    assert "Test vitals" in text and "L1" in text and "21.4" in text
    record = ExportRecord.objects.get()
    assert (record.kind, record.visit_code, record.actor) == (
        ExportKind.CRF_VISIT,
        "SCR",
        investigator,
    )


def test_another_sites_subject_is_not_found_and_not_recorded(
    client: Any, people: dict[Role, Any], subject02: Any, investigator: Any
) -> None:
    for role in (Role.MONITOR, Role.INVESTIGATOR, Role.SITE_COORDINATOR):
        client.force_login(people[role])
        assert client.get(visit_url(subject02)).status_code == 404
        url = reverse(
            "reports:crf_form_pdf",
            kwargs={"subject_pk": subject02.pk, "form_code": "XX", "record_pk": 1},
        )
        assert client.get(url).status_code == 404
    client.force_login(people[Role.ADMINISTRATOR])
    assert client.get(visit_url(subject02)).status_code == 404
    assert not ExportRecord.objects.exists()


def test_unknown_form_or_record_is_not_found(
    client: Any, monitor: Any, subject01: Any, form: Any
) -> None:
    client.force_login(monitor)
    kwargs = {"subject_pk": subject01.pk, "form_code": "ZZ", "record_pk": form.pk}
    assert client.get(reverse("reports:crf_form_pdf", kwargs=kwargs)).status_code == 404
    kwargs = {"subject_pk": subject01.pk, "form_code": "XX", "record_pk": form.pk + 999}
    assert client.get(reverse("reports:crf_form_pdf", kwargs=kwargs)).status_code == 404


def test_chinese_free_text_and_interface_render_with_an_embedded_cjk_font(
    client: Any, monitor: Any, subject01: Any, form: Any, tmp_path: Any
) -> None:
    client.force_login(monitor)
    client.cookies["django_language"] = "zh-hans"
    response = client.get(form_url(subject01, form))
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert CHINESE in text  # free text reads back
    assert "受试者编号" in text  # "Subject ID": the interface follows the user's language
    fonts = pdf_fonts(response.content, tmp_path)
    assert "WenQuanYi" in fonts
    cjk = [line for line in fonts.splitlines() if "WenQuanYi" in line]
    assert all(" yes yes " in line for line in cjk)  # embedded and subset


def test_links_on_the_form_page_and_the_subject_page(
    client: Any, monitor: Any, subject01: Any, form: Any
) -> None:
    client.force_login(monitor)
    page = client.get(
        reverse(
            "crf:visit_form",
            kwargs={"subject_pk": subject01.pk, "visit_code": "SCR", "form_code": "XX"},
        )
    )
    assert form_url(subject01, form) in page.content.decode()
    assert visit_url(subject01) in page.content.decode()
    subject_page = client.get(reverse("crf:subject_detail", kwargs={"subject_pk": subject01.pk}))
    body = subject_page.content.decode()
    assert 'data-testid="crf-pdf-panel"' in body
    assert visit_url(subject01) in body and reverse("reports:blank_crf_pdf") in body
