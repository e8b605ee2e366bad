"""The study data import honours the enrolment cap and carries the target (issue 10 item 3).

crf-spec ENR: "enrolment cap not reached" on every path; crf-spec "The study data file":
all or nothing, every error as ``subject / visit / form / variable: message``; export →
import into an empty database → export gives the same document (apart from ``created``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from crf.datafile import dumps, export_document, parse
from crf.models import AuditEntry
from enrollment.demo import screen
from enrollment.services import EnrolmentCapReached, enroll_subject, raise_enrolment_target
from study import protocol
from study.models import Role, StudyParameters, Subject
from study.services import upsert_person
from tests.crf.test_datafile import (
    CRITERIA,
    REASON,
    _empty_database,
    counts,
    run_import,
    screening_forms,
    sha,
)
from tests.enrollment.conftest import fill_enrolled

pytestmark = pytest.mark.django_db

TARGET = protocol.TARGET_ENROLMENT  # 28
CLOSED = (
    "Enrolment is closed: the study has reached its target of {target} subjects. "
    "A data manager may raise the target."
)


@pytest.fixture
def dm(people: dict[Role, Any]) -> Any:
    return people[Role.DATA_MANAGER]


def enrolled_subject(n: int) -> dict[str, Any]:
    """Subject 01-<n>: screened, consented, eligible and enrolled (SL, IC, DM, IE, ENR)."""
    return {
        "site": "01",
        "subject_id": f"01-{n:03d}",
        "screening_id": f"S01-{n:03d}",
        "forms": [
            *screening_forms(),
            {
                "form": "IE",
                "visit": "SCR",
                "data": {
                    "IEDAT": "2026-03-04",
                    "IE": [
                        {"IETESTCD": c, "IEORRES": "Y" if c.startswith("IN") else "N"}
                        for c in CRITERIA
                    ],
                },
            },
            {
                "form": "ENR",
                "visit": "SCR",
                "data": {"ENRDAT": "2026-03-05", "PLDAY1": "2026-03-07"},
            },
        ],
    }


def study_file(enrolled: int, **parameters: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": "edc-study-data/1",
        "study": "ANLO-HCC",
        "created": "2026-11-23T10:00:00Z",
        "sites": [{"site": "01", "name": "Site 01"}],
        "subjects": [enrolled_subject(n) for n in range(1, enrolled + 1)],
    }
    if parameters:
        doc["parameters"] = parameters
    return doc


def target() -> int:
    return StudyParameters.objects.current().target_enrolment


def test_a_file_enrolling_one_more_than_the_target_is_refused_and_writes_nothing(dm, sites):
    before = counts()

    report = run_import(dm, study_file(TARGET + 1))

    assert [str(e) for e in report.errors] == [
        f"01-029 / SCR / ENR / ENRDAT: {CLOSED.format(target=TARGET)}"
    ]
    assert counts() == before
    assert report.imported is False


def test_a_file_enrolling_exactly_the_target_is_imported(dm, sites):
    report = run_import(dm, study_file(TARGET))

    assert report.errors == []
    assert Subject.objects.filter(subject_id__isnull=False).count() == TARGET


def test_the_cap_counts_subjects_already_in_the_database(dm, sites):
    fill_enrolled(sites["02"], TARGET - 1)
    before = counts()

    report = run_import(dm, study_file(2))

    assert [str(e) for e in report.errors] == [
        f"01-002 / SCR / ENR / ENRDAT: {CLOSED.format(target=TARGET)}"
    ]
    assert counts() == before


def test_a_subject_id_without_its_enr_form_counts_too(dm, sites):
    fill_enrolled(sites["02"], TARGET)
    doc = study_file(1)
    doc["subjects"][0]["forms"] = screening_forms()  # no IE, no ENR: a subject ID alone

    report = run_import(dm, doc)

    assert [str(e) for e in report.errors] == [
        f"01-001 / - / - / -: {CLOSED.format(target=TARGET)}"
    ]


def test_the_file_target_is_read_before_the_cap_and_audited(dm, sites):
    doc = study_file(TARGET + 1, target_enrolment=TARGET + 2)
    text = dumps(doc)

    report = run_import(dm, doc, reason="sponsor amendment 2")

    assert report.errors == []
    assert target() == TARGET + 2
    assert Subject.objects.filter(subject_id__isnull=False).count() == TARGET + 1
    entry = AuditEntry.objects.get(form_code="PARAM")
    assert (
        entry.variable,
        entry.old_value,
        entry.new_value,
        entry.actor_username,
        entry.source,
        entry.reason_code,
        entry.reason_text,
        entry.file_sha256,
    ) == (
        "TARGET_ENROLMENT",
        str(TARGET),
        str(TARGET + 2),
        "dm",
        "import",
        "DATA_IMPORT",
        "sponsor amendment 2",
        sha(text),
    )


def test_a_file_target_too_low_for_its_own_subjects_is_refused(dm, sites):
    before = counts()

    report = run_import(dm, study_file(3, target_enrolment=2))

    assert [str(e) for e in report.errors] == [
        f"01-003 / SCR / ENR / ENRDAT: {CLOSED.format(target=2)}"
    ]
    assert counts() == before
    assert target() == TARGET


def test_a_file_may_not_lower_the_target_below_the_subjects_enrolled(dm, sites):
    fill_enrolled(sites["02"], 5)
    before = counts()

    report = run_import(dm, study_file(0, target_enrolment=4))

    assert [str(e) for e in report.errors] == [
        "- / - / - / parameters.target_enrolment: "
        "The target enrolment cannot be 4: 5 subjects are already enrolled."
    ]
    assert counts() == before
    assert target() == TARGET


def test_a_file_may_lower_the_target_to_the_subjects_enrolled(dm, sites):
    fill_enrolled(sites["02"], 5)

    report = run_import(dm, study_file(0, target_enrolment=5))

    assert report.errors == []
    assert target() == 5
    assert AuditEntry.objects.get(form_code="PARAM").new_value == "5"


@pytest.mark.parametrize(
    ("parameters", "error"),
    [
        (
            {"target_enrolment": "30"},
            "parameters.target_enrolment: The target enrolment must be a whole number of at least 1.",
        ),
        (
            {"target_enrolment": 0},
            "parameters.target_enrolment: The target enrolment must be a whole number of at least 1.",
        ),
        (
            {"target_enrolment": True},
            "parameters.target_enrolment: The target enrolment must be a whole number of at least 1.",
        ),
        (
            {"target_enrolment": 40000},
            "parameters.target_enrolment: The target enrolment must be at most 32767.",
        ),
        ({"target": 30}, "parameters.target: Unknown study parameter."),
    ],
)
def test_a_bad_study_parameter_is_listed(dm, sites, parameters, error):
    report = run_import(dm, study_file(1, **parameters))

    assert [str(e) for e in report.errors] == [f"- / - / - / {error}"]
    assert target() == TARGET


def test_a_file_without_the_target_keeps_the_database_target(dm, sites):
    raise_enrolment_target(actor=dm, target=TARGET + 2, reason="amendment")

    report = run_import(dm, study_file(2))

    assert report.errors == []
    assert target() == TARGET + 2
    assert AuditEntry.objects.filter(form_code="PARAM", source="import").count() == 0


def test_a_dry_run_shows_the_target_change_and_writes_nothing(dm, sites):
    report = run_import(dm, study_file(1, target_enrolment=30), dry_run=True)

    assert report.errors == []
    assert [(c.form, c.variables) for c in report.changed_forms] == [
        ("PARAM", ("TARGET_ENROLMENT 28 → 30",))
    ]
    assert target() == TARGET


def test_the_export_writes_the_target(dm, sites):
    raise_enrolment_target(actor=dm, target=TARGET + 2, reason="amendment")

    assert export_document()["parameters"] == {"target_enrolment": TARGET + 2}


def test_the_web_enrolment_is_still_refused_at_the_cap(investigator, sites):
    fill_enrolled(sites["02"], TARGET)
    waiting = screen(investigator, sites["01"], start=dt.date(2026, 3, 2))

    with pytest.raises(EnrolmentCapReached) as refused:
        enroll_subject(
            actor=investigator,
            subject=waiting,
            enrolled_on=dt.date(2026, 3, 5),
            planned_day1=dt.date(2026, 3, 7),
        )

    assert refused.value.message_dict == {"enrolled_on": [CLOSED.format(target=TARGET)]}


def test_the_import_preview_lists_the_cap_error(client, dm, sites, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(dm)
    text = dumps(study_file(TARGET + 1))

    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("study.json", text.encode(), content_type="application/json")
    response = client.post(reverse("crf:data_import"), {"file": upload})

    page = response.content.decode()
    assert response.status_code == 200
    assert f"<li>01-029 / SCR / ENR / ENRDAT: {CLOSED.format(target=TARGET)}</li>" in page
    assert Subject.objects.count() == 0


def test_a_raised_target_round_trips_through_an_empty_database(dm, sites, investigator):
    run_import(dm, study_file(TARGET))
    raise_enrolment_target(actor=dm, target=TARGET + 2, reason="sponsor amendment 2")
    for _ in range(2):
        subject = screen(investigator, sites["02"], start=dt.date(2026, 4, 6))
        enroll_subject(
            actor=investigator,
            subject=subject,
            enrolled_on=dt.date(2026, 4, 9),
            planned_day1=dt.date(2026, 4, 10),
        )
    assert Subject.objects.filter(subject_id__isnull=False).count() == TARGET + 2
    first = dumps(export_document())
    assert parse(first)["parameters"] == {"target_enrolment": TARGET + 2}
    try:
        _empty_database()
        actor = upsert_person(
            username="dm", password="correct-horse-battery", role=Role.DATA_MANAGER
        )
        assert (Subject.objects.count(), target()) == (0, TARGET)

        report = run_import(actor, parse(first), reason=REASON)
        second = dumps(export_document())
    finally:
        ContentType.objects.clear_cache()

    assert report.errors == []
    assert target() == TARGET + 2
    drop_created = re.compile(r'^  "created": ".*",$', re.MULTILINE)
    assert drop_created.sub("", second) == drop_created.sub("", first)
    assert AuditEntry.objects.get(form_code="PARAM").new_value == str(TARGET + 2)
