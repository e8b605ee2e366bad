"""The study data file: export, all-or-nothing import, audit, scoping, commands and pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from crf import registry
from crf.datafile import (
    Error,
    FormChange,
    Summary,
    dumps,
    export_document,
    import_document,
    parse,
)
from crf.models import AuditEntry, CheckFinding, Visit
from enrollment.models import Demographics
from study.models import Role, Site, Subject
from study.roles import sync_roles
from study.services import upsert_person
from tests.crftest.models import DemoLog, DemoVitals

REASON = "Migration from the paper CRFs"
CRITERIA = [f"IN{n:02d}" for n in range(1, 13)] + [f"EX{n:02d}" for n in range(1, 9)]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def screening_forms(start: str = "2026-03-02") -> list[dict[str, Any]]:
    return [
        {"form": "SL", "visit": "SCR", "data": {"SCRDAT": start, "SCRFAIL": "N"}},
        {"form": "IC", "visit": "SCR", "data": {"ICDAT": start, "ICVER": "2.0"}},
        {
            "form": "DM",
            "visit": "SCR",
            "data": {"BRTHDAT": "1960-05", "SEX": "F", "ETHNIC": "HAN", "HEIGHT": Decimal("160.5")},
        },
    ]


def document() -> dict[str, Any]:
    """Site 03 (absent from the database), an enrolled subject and a screened person."""
    enrolled_forms = [
        *screening_forms(),
        {
            "form": "HX",
            "visit": "SCR",
            "data": {
                "DIAGDAT": "2024",
                "DIAGMTH": "CLINICAL",
                "ETIOL": ["HBV", "ALCOHOL"],
                "BCLC": "C",
                "MVI": "N",
                "EHS": "Y",
                "LENSTDAT": "2025-05",
                "LENENDAT": "2026-02-10",
                "LENDOSE": "8",
                "LENBOR": "PR",
                "LENSTOP": "PROGRESSION",
            },
        },
        {
            "form": "IE",
            "visit": "SCR",
            "data": {
                "IEDAT": "2026-03-04",
                "IEYN": "N",  # derived: ignored, recomputed as Y
                "IE": [
                    {"IETESTCD": c, "IEORRES": "Y" if c.startswith("IN") else "N"} for c in CRITERIA
                ],
            },
        },
        {"form": "ENR", "visit": "SCR", "data": {"ENRDAT": "2026-03-05", "PLDAY1": "2026-03-07"}},
        {
            "form": "XX",
            "visit": "C1D1",
            "data": {
                "XXDAT": "2026-03-07",
                "SYSBP": 170,
                "DIABP": 90,
                "LS": [{"LID": "L1", "LDIAM": Decimal("12.5")}, {"LID": "L2"}],
            },
        },
        {"form": "XL", "data": {"XLDAT": "2026-03-08", "XLTERM": "头痛"}},
        {"form": "XL", "data": {"XLDAT": "2026-03-09"}},
    ]
    return {
        "format": "edc-study-data/1",
        "study": "ANLO-HCC",
        "created": "2026-11-23T10:00:00Z",
        "sites": [{"site": "01", "name": "Site 01"}, {"site": "03", "name": "Site 03 (Wuhan)"}],
        "subjects": [
            {
                "site": "03",
                "subject_id": "03-001",
                "screening_id": "S03-001",
                "forms": enrolled_forms,
            }
        ],
        "screening": [
            {"site": "01", "screening_id": "S01-004", "forms": screening_forms("2026-03-03")}
        ],
    }


def run_import(actor: Any, doc: dict[str, Any], *, reason: str = REASON, **kwargs: Any) -> Any:
    text = dumps(doc)
    return import_document(
        document=parse(text), actor=actor, reason=reason, file_sha256=sha(text), **kwargs
    )


def counts() -> dict[str, int]:
    """Rows of everything an import may write."""
    rows = {
        "sites": Site.objects.count(),
        "subjects": Subject.objects.count(),
        "visits": Visit.objects.count(),
        "audit": AuditEntry.objects.count(),
        "findings": CheckFinding.objects.count(),
    }
    for spec in registry.all_forms():
        rows[spec.code] = spec.model.objects.count()
        for group in spec.groups:
            rows[f"{spec.code}.{group.name}"] = group.model.objects.count()
    return rows


@pytest.fixture
def dm(people: dict[Role, Any]) -> Any:
    return people[Role.DATA_MANAGER]


# --- The JSON text (pure) ---------------------------------------------------------------


def test_dumps_writes_decimals_exactly_and_reads_them_back() -> None:
    doc = {"a": Decimal("0.1"), "b": Decimal("168.0"), "c": Decimal("12345678901234567.25")}

    text = dumps(doc)

    assert text == '{\n  "a": 0.1,\n  "b": 168,\n  "c": 12345678901234567.25\n}\n'
    assert parse(text) == {"a": Decimal("0.1"), "b": 168, "c": Decimal("12345678901234567.25")}


def test_dumps_is_json_with_indent_2_and_characters_as_they_are() -> None:
    doc = {"name": "北京", "list": [1, "x", None, True], "empty": [], "nested": {"k": {}}}

    assert dumps(doc) == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def test_an_error_reads_subject_visit_form_variable_message() -> None:
    assert (
        str(Error("01-001", "", "AE", "AESTDAT", "AESTDAT …"))
        == "01-001 / - / AE / AESTDAT: AESTDAT …"
    )


# --- Import ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_creates_sites_subjects_and_forms(dm, sites) -> None:
    report = run_import(dm, document())

    assert report.errors == []
    assert report.summary == Summary(
        sites_created=1, subjects_created=2, forms_created=12, values_changed=81
    )
    assert Site.objects.get(number="03").name == "Site 03 (Wuhan)"
    enrolled = Subject.objects.get(screening_id="S03-001")
    assert (enrolled.subject_id, enrolled.status, enrolled.enrolled_at) == (
        "03-001",
        "on_treatment",
        dt.date(2026, 3, 5),
    )
    codes = set(enrolled.visits.values_list("code", flat=True))
    assert {"SCR", "C1D1", "C2D1", "TA1"} <= codes  # the schedule follows the imported ENR
    screened = Subject.objects.get(screening_id="S01-004")
    assert (screened.site.number, screened.subject_id, screened.status) == ("01", None, "screening")
    vitals = DemoVitals.objects.get(subject=enrolled)
    assert (vitals.visit.code, vitals.systolic, vitals.pulse_pressure, vitals.status) == (
        "C1D1",
        170,
        80,
        "complete",
    )
    assert [(r.lesion_id, r.diameter) for r in vitals.lesions.order_by("id")] == [
        ("L1", Decimal("12.5")),
        ("L2", None),
    ]
    assert [(r.logged_on, r.term, r.status) for r in DemoLog.objects.order_by("id")] == [
        (dt.date(2026, 3, 8), "头痛", "complete"),
        (dt.date(2026, 3, 9), "", "complete"),
    ]
    assert Demographics.objects.get(subject=enrolled).height_cm == Decimal("160.5")


@pytest.mark.django_db
def test_imported_values_are_audited_as_imported_with_the_reason_and_sha(dm, sites) -> None:
    doc = document()
    text = dumps(doc)

    run_import(dm, doc)

    subject = Subject.objects.get(screening_id="S03-001")
    height = AuditEntry.objects.get(subject=subject, form_code="DM", variable="HEIGHT")
    assert (
        height.action,
        height.old_value,
        height.new_value,
        height.source,
        height.reason_code,
        height.reason_text,
        height.file_sha256,
        height.actor_username,
    ) == ("create", None, "160.5", "import", "DATA_IMPORT", REASON, sha(text), "dm")
    identity = AuditEntry.objects.filter(subject=subject, form_code="SUBJ", action="create")
    assert [
        (e.variable, e.new_value, e.source, e.reason_code, e.file_sha256) for e in identity
    ] == [
        ("SITE", "03", "import", "DATA_IMPORT", sha(text)),
        ("SCREENING_ID", "S03-001", "import", "DATA_IMPORT", sha(text)),
        ("SUBJECT_ID", "03-001", "import", "DATA_IMPORT", sha(text)),
    ]
    form_codes = [spec.code for spec in registry.all_forms()]
    # Query steps (automatic queries of soft findings, issue 12) are the system's, not imported.
    form_entries = AuditEntry.objects.filter(form_code__in=form_codes).exclude(action="query")
    assert set(form_entries.values_list("source", "reason_code", "reason_text", "file_sha256")) == {
        ("import", "DATA_IMPORT", REASON, sha(text))
    }
    assert set(AuditEntry.objects.exclude(action="query").values_list("source", flat=True)) == {
        "import"
    }


@pytest.mark.django_db
def test_soft_check_findings_are_recorded_as_for_data_entered_by_hand(dm, sites) -> None:
    run_import(dm, document())

    findings = CheckFinding.objects.filter(status="open")
    assert [
        (f.subject.label, f.form_code, f.visit_code, f.variable, f.check_code) for f in findings
    ] == [("03-001", "XX", "C1D1", "SYSBP", "SYSBP_soft_high")]


@pytest.mark.django_db
def test_a_form_missing_a_required_value_is_imported_in_progress(dm, sites) -> None:
    doc = document()
    del doc["screening"][0]["forms"][2]["data"]["HEIGHT"]

    report = run_import(dm, doc)

    assert report.errors == []
    dm_form = Demographics.objects.get(subject__screening_id="S01-004")
    assert (dm_form.status, dm_form.height_cm) == ("in_progress", None)


@pytest.mark.django_db
def test_a_file_with_errors_writes_nothing_and_lists_every_error(dm, sites) -> None:
    doc = document()
    enrolled = doc["subjects"][0]["forms"]
    enrolled[0]["data"]["SCRDAT"] = "2026-02-30"  # SL: not a date
    enrolled[2]["data"]["SEX"] = "X"  # DM: unknown code
    enrolled[2]["data"]["HEIGHT"] = 300  # DM: hard range 100-230
    enrolled[3]["data"]["ETIOL"] = ["HBV", "SMOKING"]  # HX: unknown code in a list
    enrolled[6]["data"]["SYSBP"] = "high"  # XX: not a number
    enrolled[6]["data"]["LS"][0]["LDIAM"] = Decimal("12.55")  # two decimals, one allowed
    enrolled[7]["data"]["XLDAT"] = "08/03/2026"  # XL: not YYYY-MM-DD
    screened = doc["screening"][0]["forms"]
    screened[1]["data"]["ICDAT"] = "2030-01-01"  # IC: in the future
    screened.append({"form": "ZZ", "visit": "SCR", "data": {}})
    screened.append({"form": "XL", "visit": "SCR", "data": {"XLDAT": "2026-03-04", "XLX": 1}})
    before = counts()

    report = run_import(dm, doc)

    assert [str(e) for e in report.errors] == [
        "03-001 / SCR / SL / SCRDAT: SCRDAT must be a real date; 2026-02-30 is not.",
        "03-001 / SCR / DM / SEX: SEX has the unknown code X (expected one of: M, F).",
        "03-001 / SCR / HX / ETIOL: ETIOL has unknown codes SMOKING (expected some of: "
        "ALCOHOL, HBV, HCV, MASLD, OTHER, UNKNOWN).",
        "03-001 / C1D1 / XX / SYSBP: SYSBP must be a whole number.",
        "03-001 / C1D1 / XX / LS[L1].LDIAM: Ensure that there are no more than 1 decimal place.",
        "03-001 / - / XL / XLDAT: XLDAT must be a date as YYYY-MM-DD.",
        "03-001 / SCR / DM / HEIGHT: HEIGHT must be between 100 and 230 cm.",
        "S01-004 / SCR / ZZ / -: There is no form ZZ.",
        "S01-004 / SCR / XL / visit: A log form belongs to no visit.",
        "S01-004 / SCR / IC / ICDAT: Date consent signed (ICDAT) cannot be in the future: "
        f"2030-01-01 is after today ({timezone.localdate(timezone=ZoneInfo(sites['01'].time_zone))}).",
    ]
    assert report.imported is False
    assert counts() == before


@pytest.mark.django_db
def test_a_dry_run_reports_the_changes_and_writes_nothing(dm, sites) -> None:
    before = counts()

    report = run_import(dm, document(), dry_run=True)

    assert (report.errors, report.summary.subjects_created, report.summary.forms_created) == (
        [],
        2,
        12,
    )
    assert counts() == before


@pytest.mark.django_db
def test_importing_the_same_file_again_writes_nothing(dm, sites) -> None:
    run_import(dm, document())
    before = counts()

    report = run_import(dm, document(), reason="Second delivery")

    assert report.errors == []
    assert report.summary == Summary(forms_unchanged=12)
    assert counts() == before


@pytest.mark.django_db
def test_a_changed_value_changes_the_existing_form_with_the_reason(dm, sites) -> None:
    run_import(dm, document())
    doc = document()
    doc["subjects"][0]["forms"][2]["data"]["HEIGHT"] = 161
    doc["subjects"][0]["forms"][8]["data"]["XLTERM"] = "发热"  # the second XL record
    text = dumps(doc)

    report = run_import(dm, doc, reason="Corrected from the source")

    assert report.errors == []
    assert report.changed_forms == [
        FormChange("03-001", "", "XL", ("XLTERM",)),
        FormChange("03-001", "SCR", "DM", ("HEIGHT",)),
    ]
    assert report.summary == Summary(forms_changed=2, forms_unchanged=10, values_changed=2)
    latest = AuditEntry.objects.filter(file_sha256=sha(text)).order_by("id")
    assert [
        (e.form_code, e.variable, e.old_value, e.new_value, e.reason_code, e.reason_text)
        for e in latest
    ] == [
        ("XL", "XLTERM", None, "发热", "DATA_IMPORT", "Corrected from the source"),
        ("DM", "HEIGHT", "160.5", "161.0", "DATA_IMPORT", "Corrected from the source"),
    ]
    assert DemoLog.objects.count() == 2


@pytest.mark.django_db
def test_an_existing_subject_of_another_site_is_an_error(dm, sites) -> None:
    Subject.objects.create(site=sites["02"], screening_id="S01-004")
    before = counts()

    report = run_import(dm, document())

    assert [str(e) for e in report.errors] == [
        "S01-004 / - / - / screening_id: Screening number S01-004 belongs to a subject of "
        "another site."
    ]
    assert counts() == before


@pytest.mark.django_db
def test_a_different_subject_id_for_a_known_person_is_an_error(dm, sites) -> None:
    run_import(dm, document())
    doc = document()
    doc["subjects"][0]["subject_id"] = "03-002"

    report = run_import(dm, doc)

    assert [str(e) for e in report.errors] == [
        "03-002 / - / - / subject_id: The database has subject ID 03-001 for screening "
        "number S03-001."
    ]


@pytest.mark.django_db
def test_a_real_import_needs_a_reason(dm, sites) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        run_import(dm, document(), reason="  ")

    assert raised.value.message_dict == {"reason": ["Give a reason for the import."]}
    assert Subject.objects.count() == 0


# --- Export -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_export_writes_what_the_import_read(dm, sites) -> None:
    doc = document()
    run_import(dm, doc)

    exported = export_document()

    assert exported["sites"] == [
        {"site": "01", "name": "Site 01"},
        {"site": "02", "name": "Site 02"},
        {"site": "03", "name": "Site 03 (Wuhan)"},
    ]
    forms = exported["subjects"][0]["forms"]
    # Registry order (order, then code: the test forms XL and XX have order 0), then visit,
    # then record.
    assert [(f["form"], f.get("visit")) for f in forms] == [
        ("XL", None),
        ("XL", None),
        ("XX", "C1D1"),
        ("SL", "SCR"),
        ("IC", "SCR"),
        ("DM", "SCR"),
        ("HX", "SCR"),
        ("IE", "SCR"),
        ("ENR", "SCR"),
    ]
    assert forms[2]["data"] == {
        "XXDAT": "2026-03-07",
        "SYSBP": 170,
        "DIABP": 90,
        "XXPP": 80,
        "LS": [{"LID": "L1", "LDIAM": Decimal("12.5")}, {"LID": "L2"}],
    }
    assert forms[7]["data"]["IEYN"] == "Y"
    assert exported["screening"] == doc["screening"]


@pytest.mark.django_db
def test_a_monitors_export_holds_only_their_sites(people, subject01, subject02) -> None:
    monitor = people[Role.MONITOR]  # site 01 only

    exported = export_document(user=monitor)

    assert exported["sites"] == [{"site": "01", "name": "Site 01"}]
    assert exported["subjects"] == []
    assert exported["screening"] == [{"site": "01", "screening_id": "S01-001", "forms": []}]
    assert "S02" not in dumps(exported)
    assert [s["screening_id"] for s in export_document()["screening"]] == ["S01-001", "S02-001"]


# --- Commands -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_commands_export_and_import_a_file(dm, sites, tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.json"
    source.write_text(dumps(document()), encoding="utf-8")

    call_command("import_study_data", str(source), "--reason", REASON, "--dry-run")
    assert Subject.objects.count() == 0
    call_command("import_study_data", str(source), "--reason", REASON)
    call_command("export_study_data", str(tmp_path / "out.json"))

    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"Dry run, nothing written; the import would give (file SHA-256 "
        f"{sha(source.read_text())}): 1 sites, 2 subjects and 12 forms created; 0 subjects "
        "and 0 forms changed; 0 forms unchanged; 81 values written.",
        f"Imported (file SHA-256 {sha(source.read_text())}): 1 sites, 2 subjects and 12 forms "
        "created; 0 subjects and 0 forms changed; 0 forms unchanged; 81 values written.",
    ]
    assert [s["screening_id"] for s in parse((tmp_path / "out.json").read_text())["screening"]] == [
        "S01-004"
    ]
    assert AuditEntry.objects.filter(form_code="DM").first().actor_username == "dm"


@pytest.mark.django_db
def test_the_import_command_lists_every_error_and_fails(dm, sites, tmp_path: Path, capsys) -> None:
    doc = document()
    doc["subjects"][0]["forms"][2]["data"]["HEIGHT"] = 300
    doc["screening"][0]["forms"][2]["data"]["HEIGHT"] = 20
    source = tmp_path / "in.json"
    source.write_text(dumps(doc), encoding="utf-8")

    with pytest.raises(CommandError, match="^2 errors: nothing was imported.$"):
        call_command("import_study_data", str(source), "--reason", REASON)

    assert capsys.readouterr().err.splitlines() == [
        "03-001 / SCR / DM / HEIGHT: HEIGHT must be between 100 and 230 cm.",
        "S01-004 / SCR / DM / HEIGHT: HEIGHT must be between 100 and 230 cm.",
    ]
    assert Subject.objects.count() == 0


@pytest.mark.django_db
def test_the_import_command_needs_a_data_manager(people, tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_text(dumps(document()), encoding="utf-8")

    with pytest.raises(CommandError, match="^mon01 may not import data"):
        call_command("import_study_data", str(source), "--reason", REASON, "--user", "mon01")


@pytest.mark.django_db
def test_the_import_command_without_any_data_manager_fails_clearly(tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_text(dumps(document()), encoding="utf-8")

    with pytest.raises(CommandError, match="^No active data manager to import as"):
        call_command("import_study_data", str(source), "--reason", REASON)


# --- Pages --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_download_is_the_scoped_file_as_an_attachment(client, people, subject01, subject02):
    client.force_login(people[Role.MONITOR])

    response = client.get(reverse("crf:data_export"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="ANLO-HCC-study-data-\d{8}T\d{6}Z\.json"',
        response["Content-Disposition"],
    )
    assert [s["screening_id"] for s in parse(response.content.decode())["screening"]] == ["S01-001"]


def _upload(client: Any, doc: dict[str, Any]) -> Any:
    text = dumps(doc)
    upload = SimpleUploadedFile("study.json", text.encode("utf-8"), "application/json")
    return client.post(reverse("crf:data_import"), {"file": upload})


@pytest.mark.django_db
def test_the_upload_shows_a_preview_and_writes_nothing(client, dm, sites, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(dm)
    before = counts()

    response = _upload(client, document())

    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing has been written yet" in page
    assert '<th scope="row">Subjects created</th><td>2</td>' in page
    assert '<th scope="row">Forms created</th><td>12</td>' in page
    assert counts() == before
    assert (tmp_path / "imports" / f"{sha(dumps(document()))}.json").exists()


@pytest.mark.django_db
def test_the_confirm_step_imports_with_the_reason(client, dm, sites, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(dm)
    digest = sha(dumps(document()))
    _upload(client, document())

    response = client.post(reverse("crf:data_import_confirm"), {"sha256": digest, "reason": REASON})

    assert response.status_code == 302
    assert response["Location"] == reverse("crf:data_import")
    assert Subject.objects.count() == 2
    entry = AuditEntry.objects.get(form_code="DM", variable="HEIGHT", subject__subject_id="03-001")
    assert (entry.source, entry.reason_text, entry.file_sha256) == ("import", REASON, digest)
    assert not (tmp_path / "imports" / f"{digest}.json").exists()


@pytest.mark.django_db
def test_the_confirm_step_needs_a_reason(client, dm, sites, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(dm)
    digest = sha(dumps(document()))
    _upload(client, document())

    response = client.post(reverse("crf:data_import_confirm"), {"sha256": digest, "reason": " "})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert Subject.objects.count() == 0


@pytest.mark.django_db
def test_the_confirm_step_refuses_a_file_not_uploaded_by_this_session(
    client, dm, sites, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(dm)

    response = client.post(
        reverse("crf:data_import_confirm"), {"sha256": "0" * 64, "reason": REASON}
    )

    assert response.status_code == 302
    assert Subject.objects.count() == 0


@pytest.mark.django_db
def test_an_upload_with_errors_lists_them_and_offers_no_import(
    client, dm, sites, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(dm)
    doc = document()
    doc["subjects"][0]["forms"][2]["data"]["HEIGHT"] = 300

    response = _upload(client, doc)

    page = response.content.decode()
    assert "<li>03-001 / SCR / DM / HEIGHT: HEIGHT must be between 100 and 230 cm.</li>" in page
    assert 'data-testid="confirm-form"' not in page


@pytest.mark.django_db
def test_an_upload_that_is_not_json_is_refused_on_the_field(client, dm, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(dm)
    upload = SimpleUploadedFile("study.json", b"{not json", "application/json")

    response = client.post(reverse("crf:data_import"), {"file": upload})

    assert response.status_code == 400
    assert "The file is not valid JSON (line 1, column 2" in response.content.decode()


# --- Round trip on the demo study ---------------------------------------------------------


def _reference_data() -> None:
    """What migrate leaves in an empty database (crf-spec): criteria, consent, parameters, roles."""
    migration = importlib.import_module("enrollment.migrations.0002_reference_data")
    migration.seed(apps, None)
    sync_roles()


def _empty_database() -> None:
    """Empty every table inside the test's transaction, then add back what migrate adds.

    ``flush`` TRUNCATEs on PostgreSQL (the audit trail's trigger refuses DELETE, not
    TRUNCATE) and DELETEs on SQLite; both roll back with the test, so no later test
    loses the reference data (a transactional test's closing flush would remove it).
    PostgreSQL refuses to TRUNCATE a table with deferred foreign-key checks pending, so
    they are run first.
    """
    connection.check_constraints()
    call_command("flush", interactive=False, verbosity=0)
    ContentType.objects.clear_cache()
    _reference_data()


def _endpoints_json() -> dict:
    out = io.StringIO()
    call_command("endpoints", "--json", "--cutoff", "2026-11-23", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_export_import_into_an_empty_database_export_gives_the_same_document() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    first = dumps(export_document())
    endpoints_before = _endpoints_json()
    try:
        _empty_database()
        actor = upsert_person(
            username="dm", password="correct-horse-battery", role=Role.DATA_MANAGER
        )
        assert (Subject.objects.count(), Site.objects.count(), AuditEntry.objects.count()) == (
            0,
            0,
            0,
        )

        report = import_document(
            document=parse(first), actor=actor, reason=REASON, file_sha256=sha(first)
        )
        second = dumps(export_document())
        endpoints_after = _endpoints_json()
    finally:
        ContentType.objects.clear_cache()  # its ids die with the test's transaction

    assert report.errors == []
    assert (report.summary.sites_created, report.summary.subjects_created) == (3, 35)
    document = parse(first)
    in_file = sum(len(s["forms"]) for s in document["subjects"] + document.get("screening", []))
    assert report.summary.forms_created == in_file
    drop_created = re.compile(r'^  "created": ".*",$', re.MULTILINE)
    assert drop_created.sub("", second) == drop_created.sub("", first)
    without_created = [
        {k: v for k, v in parse(t).items() if k != "created"} for t in (first, second)
    ]
    assert without_created[0] == without_created[1]
    # `endpoints --json` works on a study loaded from its file, and gives the same result.
    assert endpoints_after == endpoints_before
    assert endpoints_after["summary"]["os"]["events"] == 2
    assert all(
        isinstance(v, int) for v in endpoints_after["summary"]["pfs"].values() if v is not None
    )
