"""Site casebook ZIPs (reports.bulk): one task per casebook, the last to finish writes the ZIP.

The item tasks run here synchronously (``.apply()``), in turn, as a worker would run them; a
real worker runs them in test_bulk_worker.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from enrollment.demo import screen_and_enrol
from reports import bulk, tasks
from reports.models import ExportJob, ExportKind, ExportRecord, JobStatus
from study.models import Role

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _var_dir(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Item ids queued on commit (instead of the broker); run them with run_queued."""
    found: list[int] = []
    monkeypatch.setattr(bulk, "_queue", found.extend)
    return found


def run_queued(queued: list[int]) -> None:
    while queued:
        tasks.build_casebook.apply(args=(queued.pop(0),))


@pytest.fixture
def study(people: dict[Role, Any], sites: dict[str, Any]) -> dict[str, Any]:
    investigator = people[Role.INVESTIGATOR]
    inv02 = people[Role.INVESTIGATOR]
    one = screen_and_enrol(investigator, sites["01"], start=START)
    two = screen_and_enrol(investigator, sites["01"], start=START + dt.timedelta(days=1))
    other = screen_and_enrol(inv02, sites["02"], start=START + dt.timedelta(days=2))
    return {"one": one, "two": two, "other": other}


def zip_names(job: ExportJob) -> list[str]:
    with zipfile.ZipFile(job.zip_path) as archive:
        names = archive.namelist()
        assert all(archive.read(n).startswith(b"%PDF") for n in names)
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
    return sorted(names)


def test_the_zip_holds_one_casebook_per_subject_of_the_site(people, sites, study, queued):
    monitor = people[Role.MONITOR]
    job = bulk.start_site_export(monitor, sites["01"], language="en")

    assert job.items.count() == 2 and len(queued) == 2
    run_queued(queued)

    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert zip_names(job) == sorted(f"{s.subject_id}.pdf" for s in (study["one"], study["two"]))
    assert study["other"].subject_id not in " ".join(zip_names(job))
    assert job.expires_at and job.finished_at
    assert job.expires_at - job.finished_at == dt.timedelta(days=7)
    record = ExportRecord.objects.get(kind=ExportKind.SITE_ZIP)
    assert (record.actor, record.site, record.source) == (monitor, sites["01"], "task")
    assert (
        record.file_sha256
        == job.zip_sha256
        == hashlib.sha256(Path(job.zip_path).read_bytes()).hexdigest()
    )


def test_all_sites_of_a_data_manager_are_in_folders_per_site(people, study, queued):
    job = bulk.start_site_export(people[Role.DATA_MANAGER], None)
    run_queued(queued)
    job.refresh_from_db()
    assert [n.split("/")[0] for n in zip_names(job)] == ["site-01", "site-01", "site-02"]


def test_a_failed_casebook_is_named_and_a_retry_fixes_it(people, sites, study, queued, monkeypatch):
    real = bulk.render_casebook_pdf
    broken = study["two"].pk

    def flaky(subject, **kwargs):  # a renderer that fails for one subject
        if subject.pk == broken:
            raise RuntimeError("the font cache is locked")
        return real(subject, **kwargs)

    monkeypatch.setattr(bulk, "render_casebook_pdf", flaky)
    monitor = people[Role.MONITOR]
    job = bulk.start_site_export(monitor, sites["01"])
    run_queued(queued)
    job.refresh_from_db()

    assert job.status == JobStatus.FAILED
    assert zip_names(job) == [f"{study['one'].subject_id}.pdf"]  # the other one still built
    client_page = _client(people[Role.MONITOR])
    page = client_page.get(reverse("reports:casebooks_job", kwargs={"job_pk": job.pk}))
    text = page.content.decode()
    assert study["two"].subject_id in text and "RuntimeError: the font cache is locked" in text
    assert f"Retry {study['two'].subject_id}" in text

    monkeypatch.setattr(bulk, "render_casebook_pdf", real)
    item = job.items.get(subject=study["two"])
    response = client_page.post(
        reverse("reports:casebooks_retry", kwargs={"job_pk": job.pk, "item_pk": item.pk})
    )
    assert response.status_code == 302 and queued == [item.pk]
    run_queued(queued)
    job.refresh_from_db()
    item.refresh_from_db()
    assert (job.status, item.status, item.attempts, item.error) == (JobStatus.DONE, "done", 2, "")
    assert len(zip_names(job)) == 2
    assert ExportRecord.objects.filter(kind=ExportKind.SITE_ZIP).count() == 2  # each ZIP written


def test_expiry_removes_the_files_and_keeps_the_row(people, sites, study, queued):
    job = bulk.start_site_export(people[Role.MONITOR], sites["01"])
    run_queued(queued)
    job.refresh_from_db()
    folder = bulk.job_dir(job)
    assert Path(job.zip_path).exists() and len(list(folder.rglob("*.pdf"))) == 2

    assert bulk.expire_old_exports(now=timezone.now() + dt.timedelta(days=6)) == []
    tasks.expire_casebook_zips.apply()  # the periodic task: nothing is old enough yet
    assert Path(job.zip_path).exists()
    assert bulk.expire_old_exports(now=timezone.now() + dt.timedelta(days=7, minutes=1)) == [job.pk]

    job.refresh_from_db()
    assert (job.status, job.zip_path, folder.exists()) == (JobStatus.EXPIRED, "", False)
    client = _client(people[Role.MONITOR])
    url = reverse("reports:casebooks_download", kwargs={"job_pk": job.pk})
    assert client.get(url).status_code == 404
    from django.conf import settings

    assert (
        settings.CELERY_BEAT_SCHEDULE["casebook-zips"]["task"]
        == "reports.tasks.expire_casebook_zips"
    )


def _client(user: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_scoping(people, make_person, sites, study, queued):
    monitor = people[Role.MONITOR]  # site 01 only
    with pytest.raises(ValidationError, match="may not export the casebooks of this site"):
        bulk.start_site_export(monitor, sites["02"])
    assert queued == []
    job = bulk.start_site_export(monitor, None)  # "all my sites": site 01 only
    assert set(job.items.values_list("subject_id", flat=True)) == {
        study["one"].pk,
        study["two"].pk,
    }
    run_queued(queued)
    job_url = reverse("reports:casebooks_job", kwargs={"job_pk": job.pk})
    zip_url = reverse("reports:casebooks_download", kwargs={"job_pk": job.pk})

    owner = _client(monitor)
    download = owner.get(zip_url)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    body = b"".join(download.streaming_content)
    assert len(zipfile.ZipFile(io.BytesIO(body)).namelist()) == 2
    assert ExportRecord.objects.filter(source="web", actor=monitor).count() == 1

    other_monitor = make_person("mon01b", Role.MONITOR, ("01",))
    investigator = people[Role.INVESTIGATOR]
    for user in (other_monitor, investigator):
        client = _client(user)
        assert client.get(job_url).status_code == 404, user
        assert client.get(zip_url).status_code == 404, user
    dm = _client(people[Role.DATA_MANAGER])
    assert dm.get(job_url).status_code == 200 and dm.get(zip_url).status_code == 200
    for role in (Role.STUDY_COORDINATOR, Role.MEDICAL_MONITOR, Role.ADMINISTRATOR):
        assert _client(people[role]).get(reverse("reports:casebooks")).status_code == 403

    # Site staff export their own site from the start page; another site is not offered.
    staff = _client(people[Role.SITE_COORDINATOR])
    page = staff.get(reverse("reports:casebooks")).content.decode()
    assert f'value="{sites["01"].pk}"' in page and f'value="{sites["02"].pk}"' not in page
    response = staff.post(reverse("reports:casebooks"), {"site": sites["02"].pk})
    assert response.status_code == 200 and "Pick a site" in response.content.decode()
    response = staff.post(reverse("reports:casebooks"), {"site": sites["01"].pk})
    mine = ExportJob.objects.filter(created_by=people[Role.SITE_COORDINATOR]).get()
    assert response["Location"] == reverse("reports:casebooks_job", kwargs={"job_pk": mine.pk})


def test_the_progress_fragment_counts_and_stops_polling_when_done(people, sites, study, queued):
    monitor = people[Role.MONITOR]
    client = _client(monitor)
    client.post(reverse("reports:casebooks"), {"site": sites["01"].pk})
    job = ExportJob.objects.get()
    url = reverse("reports:casebooks_progress", kwargs={"job_pk": job.pk})

    def fragment() -> str:
        return client.get(url).content.decode()

    first = fragment()
    assert 'aria-valuenow="0"' in first and 'aria-valuemax="2"' in first
    assert 'hx-trigger="every 1s"' in first and f'hx-get="{url}"' in first
    assert "0 of 2 casebooks done" in first and "Download the ZIP" not in first

    tasks.build_casebook.apply(args=(queued.pop(0),))
    middle = fragment()
    assert 'aria-valuenow="1"' in middle and "bulk-pct-50" in middle and "hx-trigger" in middle

    tasks.build_casebook.apply(args=(queued.pop(0),))
    done = fragment()
    assert 'aria-valuenow="2"' in done and "bulk-pct-100" in done
    assert "hx-trigger" not in done and "Download the ZIP" in done
    page = client.get(reverse("reports:casebooks_job", kwargs={"job_pk": job.pk})).content
    assert b"2 of 2 casebooks done" in page


def test_the_start_page_lists_the_jobs_and_the_menu_names_it(people, sites, study, queued):
    client = _client(people[Role.MONITOR])
    home = client.get(reverse("study:home")).content.decode()
    assert "Casebooks (ZIP)" in home
    bulk.start_site_export(people[Role.MONITOR], sites["01"])
    page = client.get(reverse("reports:casebooks")).content.decode()
    assert "Recent exports" in page and "Running" in page
    staff_home = _client(people[Role.INVESTIGATOR]).get(reverse("study:home")).content.decode()
    assert "Casebooks of your site" in staff_home and reverse("reports:casebooks") in staff_home
    assert "Casebooks of your site" not in home


def test_a_site_without_enrolled_subjects_is_refused(people, sites, queued):
    with pytest.raises(ValidationError, match="No enrolled subject"):
        bulk.start_site_export(people[Role.MONITOR], sites["01"])
    assert ExportJob.objects.count() == 0
