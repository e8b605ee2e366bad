"""CSV exports (issue 13, "CSV exports"): per form and per repeating group, codes and labels,
the data dictionary, the ZIP with the study data file; UTF-8 with BOM, formula-safe, scoped to
the user's sites, recorded, and a constant number of queries whatever the number of subjects."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from typing import Any

import pytest
from django.urls import reverse

from crf import registry
from crf.datafile import parse
from crf.models import ChangeReason
from crf.services import Reason, save_form
from enrollment.demo import screen_and_enrol
from enrollment.models import History
from reports import csv_exports
from reports.models import ExportKind, ExportRecord
from study.models import Role
from visits.demo import record_screening
from visits.models import TargetLesion

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)
TODAY = dt.date(2026, 3, 20)


def enrolled(investigator: Any, site: Any, k: int = 0) -> Any:
    """Enrolled, with the screening visit's VS, LB, CP and the baseline TA (targets T01-T03)."""
    start = START + dt.timedelta(days=k)
    subject = screen_and_enrol(investigator, site, start=start)
    record_screening(
        investigator,
        subject,
        on=start + dt.timedelta(days=1),
        today=max(TODAY, start + dt.timedelta(days=18)),
    )
    return subject


@pytest.fixture
def subject(investigator: Any, sites: dict[str, Any]) -> Any:
    return enrolled(investigator, sites["01"])


def read(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM"
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def get(client: Any, user: Any, url: str) -> bytes:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_form_csv_headers_are_the_crf_spec_names_after_the_keys(client, people, subject) -> None:
    rows = read(get(client, people[Role.MONITOR], reverse("reports:csv_form", args=["VS"])))
    header = list(rows[0])

    assert header == [*csv_exports.KEY_COLUMNS, *(v.name for v in registry.get("VS").variables)]
    assert rows[0]["SUBJID"] == subject.subject_id
    assert rows[0]["SITEID"] == "01"
    assert rows[0]["VISIT"] == "SCR"
    assert rows[0]["VSDAT"] == str(START + dt.timedelta(days=1))


def test_a_lesion_is_a_row_of_the_tl_csv_with_its_diameter(client, people, subject) -> None:
    lesion = TargetLesion.objects.filter(form__subject=subject, lesion_id="T01").get()
    url = reverse("reports:csv_group", args=["TA", "TL"])

    rows = read(get(client, people[Role.MONITOR], url))

    assert list(rows[0]) == [
        *csv_exports.KEY_COLUMNS,
        "TLID",
        "TLLOC",
        "TLNODE",
        "TLSTAT",
        "TLDIAM",
    ]
    t01 = next(r for r in rows if r["TLID"] == "T01")
    assert t01["SUBJID"] == subject.subject_id and t01["VISIT"] == "SCR"
    assert t01["RECID"] == str(lesion.form_id)
    assert t01["TLDIAM"] == format(lesion.diameter_mm, "f")
    assert len(rows) == 3


def test_labels_variant_shows_code_labels(client, people, subject) -> None:
    monitor = people[Role.MONITOR]
    codes = read(get(client, monitor, reverse("reports:csv_form", args=["DM"])))
    labels = read(get(client, monitor, reverse("reports:csv_form", args=["DM"]) + "?labels=1"))

    assert codes[0]["SEX"] in ("M", "F")
    assert labels[0]["SEX"] == {"M": "Male", "F": "Female"}[codes[0]["SEX"]]
    assert codes[0]["RECSTAT"] == "complete" and labels[0]["RECSTAT"] == "Complete"
    ta = read(get(client, monitor, reverse("reports:csv_group", args=["TA", "TL"]) + "?labels=1"))
    assert ta[0]["TLNODE"] in ("Yes", "No")


def test_labels_follow_the_language(client, people, subject) -> None:
    client.cookies["django_language"] = "zh-hans"
    url = reverse("reports:csv_form", args=["DM"]) + "?labels=1"
    rows = read(get(client, people[Role.MONITOR], url))
    assert rows[0]["SEX"] in ("男", "女")


def test_a_value_starting_with_a_formula_sign_is_neutralised(client, people, subject) -> None:
    save_form(
        actor=people[Role.INVESTIGATOR],
        spec=registry.get("CM"),
        subject=subject,
        values={"medication": '=HYPERLINK("http://x")', "indication": "-pain"},
    )
    rows = read(get(client, people[Role.MONITOR], reverse("reports:csv_form", args=["CM"])))
    assert rows[0]["CMTRT"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["CMINDC"] == "'-pain"
    assert rows[0]["VISIT"] == ""


def test_another_sites_subject_is_absent_for_a_monitor_of_one_site(
    client, people, investigator, sites, subject
) -> None:
    other = enrolled(investigator, sites["02"], k=1)
    monitor, manager = people[Role.MONITOR], people[Role.DATA_MANAGER]  # mon01: site 01 only

    for url in (
        reverse("reports:csv_form", args=["VS"]),
        reverse("reports:csv_group", args=["TA", "TL"]),
    ):
        seen = {r["SCRID"] for r in read(get(client, monitor, url))}
        assert seen == {subject.screening_id}, url
        assert other.screening_id in {r["SCRID"] for r in read(get(client, manager, url))}
    archive = zipfile.ZipFile(io.BytesIO(get(client, monitor, reverse("reports:csv_zip"))))
    for name in archive.namelist():
        assert other.screening_id.encode() not in archive.read(name), name


def test_deleted_records_are_left_out(client, people, subject) -> None:
    from crf.services import delete_form

    cm = save_form(
        actor=people[Role.INVESTIGATOR],
        spec=registry.get("CM"),
        subject=subject,
        values={"medication": "Paracetamol"},
    )
    delete_form(
        actor=people[Role.INVESTIGATOR],
        spec=registry.get("CM"),
        instance=cm,
        reason=Reason(ChangeReason.ENTERED_IN_ERROR, ""),
    )
    rows = read(get(client, people[Role.MONITOR], reverse("reports:csv_form", args=["CM"])))
    assert rows == []


def test_zip_holds_every_csv_the_dictionary_and_a_study_data_file(client, people, subject) -> None:
    content = get(client, people[Role.DATA_MANAGER], reverse("reports:csv_zip"))
    archive = zipfile.ZipFile(io.BytesIO(content))

    names = archive.namelist()
    assert names == csv_exports.zip_names()
    assert {"forms_codes/TA.csv", "forms_labels/TA.csv", "groups_codes/TA_TL.csv"} <= set(names)
    assert {"groups_labels/IE_IE.csv", "data_dictionary.csv", "study-data.json"} <= set(names)
    tl = read(archive.read("groups_codes/TA_TL.csv"))
    assert {r["TLID"] for r in tl} == {"T01", "T02", "T03"}
    document = parse(archive.read("study-data.json").decode("utf-8"))
    assert [s["subject_id"] for s in document["subjects"]] == [subject.subject_id]
    record = ExportRecord.objects.get(kind=ExportKind.CSV_ZIP)
    assert record.actor_username == "dm" and record.detail == "CSV ZIP · all sites"
    import hashlib

    assert record.file_sha256 == hashlib.sha256(content).hexdigest()


def test_the_dictionary_lists_every_variable_of_the_registry(client, people) -> None:
    rows = read(get(client, people[Role.MONITOR], reverse("reports:csv_dictionary")))

    listed = {(r["FORM"], r["GROUP"], r["VARIABLE"]) for r in rows}
    expected = {
        (spec.code, group, v.name)
        for spec in registry.all_forms()
        for group, variables in [
            ("", spec.variables),
            *((g.name, g.variables) for g in spec.groups),
        ]
        for v in variables
    }
    assert listed == expected and len(rows) == len(expected)
    sex = next(r for r in rows if r["VARIABLE"] == "SEX")
    assert sex["LABEL_EN"] == "Sex" and sex["LABEL_ZH"] == "性别"
    assert sex["TYPE"] == "code" and "M=Male" in sex["CODELIST"] and "M=男" in sex["CODELIST_ZH"]
    assert sex["REQUIRED"] == "Y" and sex["VISITS"] == "SCR"
    etiol = next(r for r in rows if r["VARIABLE"] == "ETIOL")
    assert etiol["TYPE"] == "codes" and "HBV=Hepatitis B" in etiol["CODELIST"]
    assert next(r for r in rows if r["VARIABLE"] == "TLDIAM")["UNIT"] == "mm"
    assert next(r for r in rows if r["VARIABLE"] == "TASUM")["DERIVED"] == "Y"


def test_every_download_is_recorded(client, people, subject) -> None:
    monitor = people[Role.MONITOR]
    get(client, monitor, reverse("reports:csv_form", args=["TA"]) + "?labels=1")
    get(client, monitor, reverse("reports:csv_group", args=["TA", "TL"]))
    get(client, monitor, reverse("reports:csv_dictionary"))
    content = get(client, monitor, reverse("reports:csv_study_data"))
    parse(content.decode("utf-8"))

    logged = [
        (r.kind, r.form_code, r.detail, r.actor_username)
        for r in ExportRecord.objects.order_by("id")
    ]
    assert logged == [
        (ExportKind.CSV, "TA", "labels · sites 01", "mon01"),
        (ExportKind.CSV, "TA", "TL codes · sites 01", "mon01"),
        (ExportKind.CSV, "", "data dictionary", "mon01"),
        (ExportKind.STUDY_DATA, "", "JSON · sites 01", "mon01"),
    ]
    assert all(len(r.file_sha256) == 64 for r in ExportRecord.objects.all())


def test_the_page_links_every_form_and_group_for_exporters_only(client, people) -> None:
    client.force_login(people[Role.MONITOR])
    page = client.get(reverse("reports:csv_index")).content.decode()
    for spec in registry.all_forms():
        assert reverse("reports:csv_form", args=[spec.code]) + "?labels=1" in page
        for group in spec.groups:
            assert reverse("reports:csv_group", args=[spec.code, group.name]) in page
    assert reverse("reports:csv_zip") in page and reverse("reports:csv_study_data") in page
    home = client.get(reverse("study:home")).content.decode()
    assert reverse("reports:csv_index") in home  # the "Exports" menu item
    client.force_login(people[Role.INVESTIGATOR])
    assert client.get(reverse("reports:csv_index")).status_code == 403
    assert client.get(reverse("reports:csv_zip")).status_code == 403


def test_an_unknown_form_or_group_is_not_found(client, people) -> None:
    client.force_login(people[Role.MONITOR])
    assert client.get(reverse("reports:csv_form", args=["NOPE"])).status_code == 404
    assert client.get(reverse("reports:csv_group", args=["TA", "XX"])).status_code == 404


@pytest.mark.parametrize("url", [("csv_form", ["TA"]), ("csv_group", ["TA", "TL"])])
def test_queries_per_csv_do_not_grow_with_subjects(
    client, people, investigator, sites, django_assert_max_num_queries, url
) -> None:
    client.force_login(people[Role.MONITOR])
    path = reverse(f"reports:{url[0]}", args=url[1]) + "?labels=1"
    enrolled(investigator, sites["01"])
    client.get(path)  # warm the session
    with django_assert_max_num_queries(8) as one:
        assert len(read(client.get(path).content)) >= 1
    for k in (1, 2):
        enrolled(investigator, sites["01"], k=k * 9)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(read(client.get(path).content)) >= 3


def test_a_list_of_codes_is_joined_codes_then_labels(client, people, subject) -> None:
    monitor = people[Role.MONITOR]
    hx = History.objects.get(subject=subject, is_deleted=False)
    assert hx.aetiology, "the demo's history names an aetiology"
    codes = read(get(client, monitor, reverse("reports:csv_form", args=["HX"])))
    labels = read(get(client, monitor, reverse("reports:csv_form", args=["HX"]) + "?labels=1"))

    assert codes[0]["ETIOL"] == ";".join(hx.aetiology)
    names = {"HBV": "Hepatitis B", "HCV": "Hepatitis C", "ALCOHOL": "Alcohol"}
    assert labels[0]["ETIOL"] == ", ".join(names.get(c, c) for c in hx.aetiology)
