"""The subject casebook (issue 13): a real PDF/A-3b rendered by WeasyPrint and read back with
pypdf — the subject, a lesion measurement, an AE term, a query, the signature manifest, the
audit appendix, the chain head hash, the bookmarks and the embedded study data file; Chinese;
site scoping of the download; the ``casebook`` command."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pypdf
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from crf import registry
from crf.audit import chain_key
from crf.datafile import parse
from crf.models import AuditChain, AuditEntry
from data_management import signatures
from data_management.queries import raise_query
from enrollment.demo import screen_and_enrol
from reports.casebook import render_casebook
from reports.models import ExportKind, ExportRecord
from study.models import Role, Subject
from study.services import upsert_person
from tests.adverse_events.conftest import DAY1, START, save_ae
from tests.conftest import PASSWORD
from visits.demo import treat
from visits.models import TumourAssessment

pytestmark = pytest.mark.django_db

NARRATIVE = "患者血压升高，已给予降压治疗。"


@pytest.fixture
def pi(sites: dict[str, Any]) -> Any:
    return upsert_person(
        username="pi01",
        password=PASSWORD,
        role=Role.INVESTIGATOR,
        sites=[sites["01"]],
        first_name="Wei",
        last_name="Zhang",
        is_principal_investigator=True,
    )


@pytest.fixture
def subject(investigator: Any, sites: dict[str, Any], people: dict[Role, Any], pi: Any) -> Subject:
    """Enrolled at site 01, two cycles with its TAs (lesions), an AE with a Chinese
    narrative, the monitor's query on T01's diameter, the screening visit signed by the PI."""
    subject = screen_and_enrol(investigator, sites["01"], start=START)
    treat(investigator, subject, day1=DAY1, cycles=2, course="PD")
    save_ae(investigator, subject, narrative=NARRATIVE)
    ta = TumourAssessment.objects.get(subject=subject, visit__code="SCR", is_deleted=False)
    raise_query(
        actor=people[Role.MONITOR],
        subject=subject,
        form_code="TA",
        instance=ta,
        text="Please confirm the diameter of T01 against the CT report.",
        group="TL",
        row_key="T01",
        variable="TLDIAM",
    )
    signatures.sign(
        actor=type(pi).objects.get(pk=pi.pk),
        subject=subject,
        visit=subject.visits.get(code="SCR"),
        password=PASSWORD,
    )
    return subject


def _read(content: bytes) -> tuple[pypdf.PdfReader, str]:
    reader = pypdf.PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return reader, text


def _titles(outline: list[Any]) -> list[str]:
    found: list[str] = []
    for item in outline:
        if isinstance(item, list):
            found.extend(_titles(item))
        else:
            found.append(str(item.title))
    return found


def test_casebook_holds_the_subjects_data_trail_and_data_file(subject, people) -> None:
    monitor = people[Role.MONITOR]
    t01 = TumourAssessment.objects.get(subject=subject, visit__code="SCR").targets.get(
        lesion_id="T01"
    )

    content = render_casebook(subject, actor=monitor, language="en")

    reader, text = _read(content)
    flat = re.sub(r"\s+", "", text)
    assert "Subject casebook" in text
    assert subject.subject_id in text
    assert format(t01.diameter_mm, "f") in text  # a lesion measurement
    assert "Hypertension" in text  # the AE term
    assert "Please confirm the diameter of T01 against the CT report." in text
    assert "Signature manifest" in text and "Wei Zhang" in text  # printed name (§11.50)
    assert "Ihavereviewedthedataofvisit SCRofsubject".replace(" ", "") in flat  # meaning
    chain = AuditChain.objects.get(key=chain_key(subject.pk))
    assert chain.head_hash in flat  # the cover's chain head hash
    assert chain.length == AuditEntry.objects.filter(subject=subject).count()
    assert f"{chain.length} entries" in text
    assert "Audit trail" in text and "TLDIAM" in text  # the appendix names variables
    titles = _titles(reader.outline)
    assert {"Contents", "Visits and forms", "SCR · Screening / baseline", "Audit trail"} <= set(
        titles
    )
    assert "Adverse event" in titles
    assert reader.metadata is not None
    # The subject's part of the study data file, embedded (PDF/A-3b).
    attachments = reader.attachments
    name = f"{subject.subject_id}-study-data.json"
    assert list(attachments) == [name]
    document = parse(attachments[name][0].decode("utf-8"))
    assert [s["subject_id"] for s in document["subjects"]] == [subject.subject_id]
    forms = {f["form"] for f in document["subjects"][0]["forms"]}
    assert {"TA", "AE", "EX"} <= forms
    root: Any = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data()
    assert re.search(rb"pdfaid:part[^0-9]*3", xmp)  # PDF/A-3 (b) in the XMP metadata
    assert re.search(rb"pdfaid:conformance[^A-Z]*B", xmp)


def test_casebook_in_chinese_reads_back_chinese(subject, people) -> None:
    content = render_casebook(subject, actor=people[Role.MONITOR], language="zh-hans")

    _reader, text = _read(content)
    flat = re.sub(r"\s+", "", text)
    assert NARRATIVE in flat  # free text in Chinese
    with translation.override("zh-hans"):
        interface = str(registry.get("AE").title)
    assert interface != "Adverse event"  # the catalogue translates it
    assert interface in flat  # the zh-Hans interface


def test_monitor_downloads_a_casebook_of_their_site_and_it_is_recorded(
    client, subject, people
) -> None:
    monitor = people[Role.MONITOR]
    client.force_login(monitor)

    response = client.get(reverse("reports:casebook", kwargs={"subject_pk": subject.pk}))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="casebook-{subject.subject_id}.pdf"'
    )
    record = ExportRecord.objects.get()
    assert (record.kind, record.subject, record.actor, record.source) == (
        ExportKind.CASEBOOK,
        subject,
        monitor,
        "web",
    )
    assert len(record.file_sha256) == 64


def test_another_sites_casebook_is_not_found(client, subject02, make_person) -> None:
    client.force_login(make_person("sc01b", Role.SITE_COORDINATOR))

    response = client.get(reverse("reports:casebook", kwargs={"subject_pk": subject02.pk}))

    assert response.status_code == 404
    assert not ExportRecord.objects.exists()


def test_subject_page_links_the_casebook(client, subject01, people) -> None:
    client.force_login(people[Role.SITE_COORDINATOR])

    response = client.get(reverse("crf:subject_detail", kwargs={"subject_pk": subject01.pk}))

    url = reverse("reports:casebook", kwargs={"subject_pk": subject01.pk})
    assert f'href="{url}">Casebook (PDF)</a>' in response.content.decode()


def test_command_writes_the_casebook_and_records_it(subject, people, tmp_path: Path) -> None:
    path = tmp_path / "casebook.pdf"
    out = io.StringIO()

    call_command("casebook", subject.subject_id, "-o", str(path), "--user", "mon01", stdout=out)

    _reader, text = _read(path.read_bytes())
    assert subject.subject_id in text
    assert f"Wrote {path}: casebook of {subject.subject_id}" in out.getvalue()
    record = ExportRecord.objects.get()
    assert (record.kind, record.subject, record.actor, record.source) == (
        ExportKind.CASEBOOK,
        subject,
        people[Role.MONITOR],
        "command",
    )


def test_casebook_of_a_screened_subject_renders(subject01, people) -> None:
    """Before enrolment: no Day 1, no endpoints, the data file lists it under screening."""
    content = render_casebook(subject01, actor=None, language="en")

    reader, text = _read(content)
    assert subject01.screening_id in text
    assert "No dose yet" in text
    name = f"{subject01.screening_id}-study-data.json"
    document = parse(reader.attachments[name][0].decode("utf-8"))
    assert [s["screening_id"] for s in document["screening"]] == [subject01.screening_id]


def test_bench_prints_the_naive_and_the_optimised_render(subject01) -> None:
    out = io.StringIO()

    call_command("casebook", subject01.screening_id, "--bench", stdout=out)

    assert re.fullmatch(
        rf"Casebook of {subject01.screening_id}: naive [0-9.]+ s \(\d+ pages\), "
        r"optimised [0-9.]+ s \(\d+ pages\): [0-9.]+x faster\n",
        out.getvalue(),
    )
    assert not ExportRecord.objects.exists()  # a bench exports nothing
