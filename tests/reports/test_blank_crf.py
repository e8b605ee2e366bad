"""The blank annotated CRF (issue 13, "PDFs"): every registered form blank, each field with its
crf-spec variable name, type and code list, and the visits of each form, generated from the
registry; the URL for every role that reads data, the ``blank_crf`` command, the export log."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from crf import registry
from crf.codelists import Organ, Response
from reports.crf_pdf import blank_forms
from reports.models import ExportKind, ExportRecord
from study.models import Role

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    )
    return " ".join(out.stdout.decode("utf-8").split())


def test_blank_forms_come_from_the_registry() -> None:
    forms = {f.code: f for f in blank_forms()}
    assert set(forms) == {spec.code for spec in registry.all_forms()}
    ta = forms["TA"]
    assert ta.visits == "Screening / baseline, Tumour assessment, Unscheduled"
    tl = next(g for g in ta.groups if g.name == "TL")
    fields = {f.name: f for f in tl.fields}
    assert fields["TLDIAM"].unit == "mm" and fields["TLDIAM"].type.startswith("decimal")
    assert ("LIVER", "Liver") in fields["TLLOC"].codes
    assert next(f for f in ta.fields if f.name == "TASUM").derived
    assert forms["AE"].visits.startswith("Log form")


def test_command_writes_the_acrf_with_names_types_and_code_lists(tmp_path: Path) -> None:
    target = tmp_path / "acrf.pdf"
    call_command("blank_crf", "-o", str(target))
    text = pdf_text(target.read_bytes())
    assert "Blank annotated CRF" in text
    for spec in registry.all_forms():
        assert f"{spec.code} — {spec.title}" in text  # every form, with its title
    # Variable names with their types, units and code lists (label = code).
    assert "TADAT · date" in text
    assert "TLDIAM · decimal" in text and "· mm" in text
    assert f"{Organ.LIVER.label} = LIVER" in text
    assert f"{Response.PR.label} = PR" in text
    assert "Visits: Screening / baseline, Tumour assessment, Unscheduled" in text
    assert "Page 1 of" in text
    record = ExportRecord.objects.get()
    assert (record.kind, record.source, record.actor) == (ExportKind.BLANK_CRF, "command", None)
    assert len(record.file_sha256) == 64


@pytest.mark.parametrize("role", [Role.SITE_COORDINATOR, Role.MEDICAL_MONITOR])
def test_every_role_reading_data_downloads_it_and_it_is_recorded(
    client: Any, people: dict[Role, Any], role: Role
) -> None:
    client.force_login(people[role])
    response = client.get(reverse("reports:blank_crf_pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    record = ExportRecord.objects.get()
    assert (record.kind, record.actor) == (ExportKind.BLANK_CRF, people[role])


def test_the_administrator_may_not(client: Any, people: dict[Role, Any]) -> None:
    client.force_login(people[Role.ADMINISTRATOR])
    assert client.get(reverse("reports:blank_crf_pdf")).status_code == 403
    assert not ExportRecord.objects.exists()
