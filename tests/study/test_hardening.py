"""What a security and fault probe found (issue 10): malformed input, browser caching of
patient data, abandoned import previews and the upload size limit.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from crf.datafile import DataFileError, parse
from enrollment.models import Eligibility
from enrollment.selectors import criteria_in_force
from study.models import Role

NESTED_TOO_DEEP = (
    "The file nests lists and objects more than 32 levels deep; a study data file has at most 32."
)


def deeply_nested(depth: int) -> str:
    return '{"format": "edc-study-data/1", "subjects": ' + "[" * depth + "]" * depth + "}"


@pytest.fixture
def dm(people: dict[Role, Any]) -> Any:
    return people[Role.DATA_MANAGER]


# --- Malformed input: a clear message and a 4xx, never a 500 ---------------------------------


@pytest.mark.django_db
def test_eligibility_with_a_version_that_is_not_a_number_is_a_400(
    client, investigator, subject01
) -> None:
    client.force_login(investigator)
    answers = {f"answer-{c.code}": ("Y" if c.kind == "IN" else "N") for c in criteria_in_force()}
    url = reverse("enrollment:eligibility", kwargs={"subject_pk": subject01.pk})

    response = client.post(url, {**answers, "confirmed_on": "2026-03-02", "version": "abc"})

    assert response.status_code == 400
    assert (
        "The page sent a form version that is not a number: reload the page and enter "
        "your answers again." in response.content.decode()
    )
    assert Eligibility.objects.count() == 0


@pytest.mark.parametrize("depth", [32, 200, sys.getrecursionlimit() * 2])
def test_parse_refuses_a_file_nested_too_deep(depth: int) -> None:
    with pytest.raises(DataFileError) as raised:
        parse(deeply_nested(depth))

    assert str(raised.value) == NESTED_TOO_DEEP


def test_parse_reads_a_file_nested_as_deep_as_allowed() -> None:
    # the document is one level, the lists 31 more
    assert parse(deeply_nested(31))["format"] == "edc-study-data/1"


@pytest.mark.django_db
def test_uploading_a_file_nested_deeper_than_the_recursion_limit_is_a_400(
    client, dm, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    client.force_login(dm)
    text = deeply_nested(sys.getrecursionlimit() * 2)
    upload = SimpleUploadedFile("study.json", text.encode(), "application/json")

    response = client.post(reverse("crf:data_import"), {"file": upload})

    assert response.status_code == 400
    assert NESTED_TOO_DEEP in response.content.decode()
    assert not (tmp_path / "imports").exists()


@pytest.mark.django_db
def test_the_import_command_refuses_a_file_nested_too_deep(dm, tmp_path: Path) -> None:
    source = tmp_path / "deep.json"
    source.write_text(deeply_nested(sys.getrecursionlimit() * 2))

    with pytest.raises(CommandError) as raised:
        call_command("import_study_data", str(source), "--reason", "test", stdout=io.StringIO())

    assert str(raised.value) == f"{source}: {NESTED_TOO_DEEP}"


def test_the_import_command_exits_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    source = tmp_path / "deep.json"
    source.write_text(deeply_nested(sys.getrecursionlimit() * 2))
    env = {**os.environ, "EDC_VAR_DIR": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)  # the file is refused before any database is opened

    result = subprocess.run(
        [sys.executable, "manage.py", "import_study_data", str(source), "--reason", "test"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert result.stderr.strip() == f"CommandError: {source}: {NESTED_TOO_DEEP}"


# --- Patient data is never kept by the browser ---------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "url_name"),
    [
        (Role.INVESTIGATOR, "crf:subject_list"),
        (Role.INVESTIGATOR, "adverse_events:deviations_csv"),
        (Role.MONITOR, "crf:data_export"),
    ],
)
def test_clinical_pages_csvs_and_exports_are_not_stored_by_the_browser(
    client, people, subject01, role, url_name
) -> None:
    client.force_login(people[role])

    response = client.get(reverse(url_name))

    assert response.status_code == 200
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert "no-store" in directives
    assert "private" in directives


@pytest.mark.django_db
def test_static_files_keep_their_caching(client, investigator) -> None:
    client.force_login(investigator)

    response = client.get("/static/css/edc.css")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


# --- Abandoned import previews ----------------------------------------------------------------


def _preview(folder: Path, name: str, age: timedelta) -> Path:
    path = folder / name
    path.write_text("{}")
    stamp = time.time() - age.total_seconds()
    os.utime(path, (stamp, stamp))
    return path


def test_previews_older_than_a_day_are_removed_and_newer_ones_kept(settings, tmp_path) -> None:
    from crf.tasks import remove_stale_import_previews

    settings.MEDIA_ROOT = tmp_path
    imports = tmp_path / "imports"
    imports.mkdir()
    old = _preview(imports, "a" * 64 + ".json", timedelta(hours=25))
    fresh = _preview(imports, "b" * 64 + ".json", timedelta(hours=23))
    elsewhere = _preview(tmp_path, "c" * 64 + ".json", timedelta(days=30))

    removed = remove_stale_import_previews()

    assert removed == 1
    assert not old.exists()
    assert fresh.exists()
    assert elsewhere.exists()  # only MEDIA_ROOT/imports/ is swept


def test_the_age_of_a_stale_preview_is_a_parameter(settings, tmp_path) -> None:
    from crf.import_previews import PREVIEW_MAX_AGE, remove_stale_previews

    settings.MEDIA_ROOT = tmp_path
    imports = tmp_path / "imports"
    imports.mkdir()
    two_hours = _preview(imports, "a" * 64 + ".json", timedelta(hours=2))
    half_hour = _preview(imports, "b" * 64 + ".json", timedelta(minutes=30))

    removed = remove_stale_previews(max_age=timedelta(hours=1))

    assert removed == [two_hours]
    assert half_hour.exists()
    assert timedelta(days=1) == PREVIEW_MAX_AGE


def test_no_imports_folder_is_nothing_to_remove(settings, tmp_path) -> None:
    from crf.import_previews import remove_stale_previews

    settings.MEDIA_ROOT = tmp_path

    assert remove_stale_previews() == []


def test_beat_runs_the_preview_sweep() -> None:
    from trial_edc.celery import app

    app.loader.import_default_modules()
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert "crf.tasks.remove_stale_import_previews" in tasks
    assert "crf.tasks.remove_stale_import_previews" in app.tasks


# --- The upload size limit, before the body is read ----------------------------------------


@pytest.mark.django_db
def test_a_request_larger_than_the_limit_is_refused_before_its_body_is_read(
    dm, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    client = Client(enforce_csrf_checks=True)  # no token: a read body would answer 403
    client.force_login(dm)
    upload = SimpleUploadedFile("study.json", b"{}", "application/json")
    declared = (settings.EDC_MAX_UPLOAD_MB + 1) * 1024 * 1024

    response = client.post(
        reverse("crf:data_import"), {"file": upload}, CONTENT_LENGTH=str(declared)
    )

    assert response.status_code == 413
    page = response.content.decode()
    assert "<title>Too large · Trial EDC</title>" in page
    assert "The site accepts at most 50 MB in one upload, and it did not read this one." in page
    assert not (tmp_path / "imports").exists()


@pytest.mark.django_db
def test_a_file_just_over_the_limit_is_refused_on_the_field(client, dm, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.EDC_MAX_UPLOAD_MB = 1
    client.force_login(dm)
    upload = SimpleUploadedFile("study.json", b" " * (1024 * 1024 + 1), "application/json")

    response = client.post(reverse("crf:data_import"), {"file": upload})

    assert response.status_code == 413
    assert "The file is larger than 1 MB." in response.content.decode()
    assert not (tmp_path / "imports").exists()


def test_the_proxy_limit_in_the_deploy_guide_matches_the_setting() -> None:
    guide = (Path(settings.BASE_DIR) / "docs" / "deploy.md").read_text()

    assert f"client_max_body_size {settings.EDC_MAX_UPLOAD_MB + 1}m;" in guide
