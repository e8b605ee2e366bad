"""Every URL of the URLconf, as every role: the allowed / denied / not-found matrix.

A URL not listed in MATRIX fails the test, and so does a view without one of
the guards of study.scoping, so no page can be added without deciding who may
open it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from crf import registry
from crf.models import CheckFinding
from crf.services import save_form
from data_management.models import Query
from enrollment.models import EligibilityCriterion
from study.models import Role

pytestmark = pytest.mark.django_db

R = Role
EVERY_ROLE = frozenset(Role)
CLINICAL = EVERY_ROLE - {R.ADMINISTRATOR}
ENTRY = frozenset({R.INVESTIGATOR, R.SITE_COORDINATOR})
DASHBOARD = frozenset({R.STUDY_COORDINATOR, R.DATA_MANAGER})
DATA_MANAGER = frozenset({R.DATA_MANAGER})
SAFETY = frozenset({R.STUDY_COORDINATOR, R.DATA_MANAGER, R.MEDICAL_MONITOR})
# Site casebook ZIPs: monitors and data managers, and site staff for their own site.
CASEBOOK_ZIPS = frozenset({R.MONITOR, R.DATA_MANAGER, R.INVESTIGATOR, R.SITE_COORDINATOR})

# url name -> (method, roles allowed, is a subject page)
MATRIX: dict[str, tuple[str, frozenset[Role], bool]] = {
    "study:home": ("GET", EVERY_ROLE, False),
    "study:login": ("GET", EVERY_ROLE, False),
    "study:logout": ("POST", EVERY_ROLE, False),
    "study:access_changes": ("GET", DATA_MANAGER, False),
    "set_language": ("POST", EVERY_ROLE, False),
    "crf:subject_list": ("GET", CLINICAL, False),
    "crf:subject_detail": ("GET", CLINICAL, True),
    "crf:subject_audit": ("GET", CLINICAL, True),
    "crf:visit_form": ("GET", CLINICAL, True),
    "crf:form": ("GET", CLINICAL, True),
    "crf:log_record": ("GET", CLINICAL, True),
    "reports:crf_form_pdf": ("GET", CLINICAL, True),
    "reports:crf_visit_pdf": ("GET", CLINICAL, True),
    "reports:blank_crf_pdf": ("GET", CLINICAL, False),
    "reports:casebook": ("GET", CLINICAL, True),
    # (before crf:delete, which deletes the record they show)
    "data_management:sdv_progress": ("GET", frozenset({R.MONITOR, R.DATA_MANAGER}), False),
    "data_management:sdv_form": ("GET", CLINICAL, True),
    "data_management:sdv_verify": ("POST", frozenset({R.MONITOR}), True),
    "crf:delete": ("POST", ENTRY, True),
    "crf:data_export": ("GET", frozenset({R.MONITOR, R.DATA_MANAGER}), False),
    "crf:data_import": ("GET", DATA_MANAGER, False),
    "crf:data_import_confirm": ("POST", DATA_MANAGER, False),
    "enrollment:dashboard": ("GET", DASHBOARD, False),
    "visits:worklist": ("GET", CLINICAL, False),
    "visits:summary": ("GET", CLINICAL, True),
    "visits:declare_missed": ("POST", ENTRY, True),
    "enrollment:dashboard_csv": ("GET", DASHBOARD, False),
    "enrollment:register": ("GET", ENTRY, False),
    "enrollment:eligibility": ("GET", CLINICAL, True),
    "enrollment:screen_failure": ("POST", ENTRY, True),
    "enrollment:enrol": ("GET", ENTRY, True),
    "enrollment:criteria": ("GET", DATA_MANAGER, False),
    "enrollment:criterion_edit": ("GET", DATA_MANAGER, False),
    "enrollment:target": ("GET", DATA_MANAGER, False),
    "adverse_events:term_search": ("GET", CLINICAL, False),
    "adverse_events:grades": ("GET", CLINICAL, False),
    "adverse_events:safety": ("GET", SAFETY, False),
    "adverse_events:safety_csv": ("GET", SAFETY, False),
    "adverse_events:safety_events": ("GET", SAFETY, False),
    "adverse_events:mail_log": ("GET", SAFETY, False),
    "adverse_events:subject_log": ("GET", CLINICAL, True),
    "adverse_events:deviations": ("GET", CLINICAL, False),
    "adverse_events:deviations_csv": ("GET", CLINICAL, False),
    "adverse_events:decide_suggestion": ("POST", DATA_MANAGER, False),
    "data_management:queries": ("GET", CLINICAL, False),
    "data_management:query_metrics": ("GET", frozenset({R.MONITOR, R.DATA_MANAGER}), False),
    "data_management:queries_csv": ("GET", frozenset({R.MONITOR, R.DATA_MANAGER}), False),
    "data_management:query_raise": ("POST", frozenset({R.MONITOR, R.DATA_MANAGER}), True),
    "data_management:query_answer": ("POST", ENTRY, True),
    "data_management:query_close": ("POST", frozenset({R.MONITOR, R.DATA_MANAGER}), True),
    "data_management:query_reopen": ("POST", frozenset({R.MONITOR, R.DATA_MANAGER}), True),
    "data_management:query_comment": ("POST", ENTRY | {R.MONITOR, R.DATA_MANAGER}, True),
    "outcomes:end_treatment": ("POST", ENTRY, True),
    "outcomes:study": ("GET", SAFETY, False),
    "outcomes:figure": ("GET", SAFETY, False),
    "outcomes:csv": ("GET", SAFETY, False),
    "data_management:matrix": ("GET", CLINICAL, False),
    "data_management:locks": ("GET", DATA_MANAGER, False),
    "data_management:lock_subject": ("POST", DATA_MANAGER, True),
    "data_management:lock_visit": ("POST", DATA_MANAGER, True),
    "data_management:lock_form": ("POST", DATA_MANAGER, True),
    "data_management:signature_queue": ("GET", CLINICAL, False),
    "data_management:sign_casebook": ("GET", CLINICAL, True),
    "data_management:sign_visit": ("GET", CLINICAL, True),
    "data_management:audit_search": ("GET", DATA_MANAGER, False),
    "data_management:audit_csv": ("GET", DATA_MANAGER, False),
    "data_management:audit_check_run": ("POST", DATA_MANAGER, False),
    "reports:csv_index": ("GET", frozenset({R.MONITOR, R.DATA_MANAGER}), False),
    "reports:csv_form": ("GET", frozenset({R.MONITOR, R.DATA_MANAGER}), False),
    "reports:csv_group": ("GET", frozenset({R.MONITOR, R.DATA_MANAGER}), False),
    "reports:csv_dictionary": ("GET", frozenset({R.MONITOR, R.DATA_MANAGER}), False),
    "reports:csv_zip": ("GET", frozenset({R.MONITOR, R.DATA_MANAGER}), False),
    "reports:csv_study_data": ("GET", frozenset({R.MONITOR, R.DATA_MANAGER}), False),
    "reports:casebooks": ("GET", CASEBOOK_ZIPS, False),
    "reports:casebooks_job": ("GET", CASEBOOK_ZIPS, False),  # the role's own job
    "reports:casebooks_progress": ("GET", CASEBOOK_ZIPS, False),
    "reports:casebooks_download": ("GET", CASEBOOK_ZIPS, False),
    "reports:casebooks_retry": ("POST", CASEBOOK_ZIPS, False),
    "notifications:center": ("GET", EVERY_ROLE, False),
    "notifications:open": ("POST", EVERY_ROLE, False),  # the role's own notification
    "notifications:mark_all_read": ("POST", EVERY_ROLE, False),
    "notifications:preferences": ("GET", EVERY_ROLE, False),
}
PUBLIC = {"study:login", "set_language"}
QUERY_STEPS = {f"data_management:query_{step}" for step in ("answer", "close", "reopen", "comment")}


def _walk(patterns: list[Any], namespace: str = "") -> list[tuple[str, Any]]:
    found = []
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.namespace == "admin":
                continue  # the admin's own staff guard; see test_admin_*
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            found += _walk(p.url_patterns, ns)
        elif isinstance(p, URLPattern) and p.name:
            found.append((f"{namespace}{p.name}", p.callback))
    return found


def test_every_url_is_in_the_matrix_and_guarded() -> None:
    urls = dict(_walk(get_resolver().url_patterns))

    assert sorted(urls) == sorted(MATRIX)
    unguarded = [
        name for name, view in urls.items() if name not in PUBLIC and not hasattr(view, "edc_guard")
    ]
    assert unguarded == []


def _kwargs(name: str, subject: Any, record: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"subject_pk": subject.pk} if MATRIX[name][2] else {}
    if name == "crf:visit_form":
        kwargs |= {"visit_code": "SCR", "form_code": "XX"}
    if name == "crf:form":
        kwargs |= {"form_code": "XL"}
    if name in ("crf:log_record", "crf:delete"):
        kwargs |= {"form_code": "XL", "record_pk": record.pk}
    if name == "data_management:lock_form":
        kwargs |= {"form_code": "XL", "record_pk": record.pk}
    if name in ("data_management:sdv_form", "data_management:sdv_verify"):
        kwargs |= {"form_code": "XL", "record_pk": record.pk}
    if name == "data_management:sign_visit":
        kwargs |= {"visit_code": "SCR"}
    if name == "reports:crf_form_pdf":
        kwargs |= {"form_code": "XL", "record_pk": record.pk}
    if name == "reports:crf_visit_pdf":
        kwargs |= {"visit_code": "SCR"}
    if name == "visits:declare_missed":
        kwargs |= {"visit_code": "SCR"}
    if name == "enrollment:dashboard_csv":
        kwargs |= {"table": "sites"}
    if name == "outcomes:figure":
        kwargs |= {"name": "km_pfs", "fmt": "svg"}
    if name == "outcomes:csv":
        kwargs |= {"name": "subjects"}
    if name == "data_management:query_raise":
        kwargs |= {"form_code": "XL", "record_pk": record.pk}
    if name in QUERY_STEPS:
        kwargs |= {"query_pk": record.query_pk}
    if name == "adverse_events:decide_suggestion":
        kwargs |= {"finding_pk": record.suggestion_pk}
    if name == "reports:csv_form":
        kwargs |= {"form_code": "XL"}
    if name == "reports:csv_group":
        kwargs |= {"form_code": "TA", "group_name": "TL"}
    if name.startswith("reports:casebooks_"):
        kwargs |= {"job_pk": record.bulk_job[0]}
    if name == "reports:casebooks_retry":
        kwargs |= {"item_pk": record.bulk_job[1]}
    if name == "notifications:open":
        kwargs |= {"pk": record.notification_pk}
    if name == "enrollment:criterion_edit":
        kwargs |= {"pk": EligibilityCriterion.objects.first().pk}
    return kwargs


@pytest.fixture
def records(people, subject01, subject02) -> dict[str, Any]:
    def log(subject: Any) -> Any:
        return save_form(
            actor=people[R.INVESTIGATOR],
            spec=registry.get("XL"),
            subject=subject,
            values={"logged_on": dt.date(2026, 1, 5), "term": "x"},
        )

    records = {"01": log(subject01), "02": log(subject02)}
    for number, record in records.items():
        # A suggested deviation (as the schedule raises for an out-of-window visit).
        record.suggestion_pk = CheckFinding.objects.create(
            subject=record.subject,
            form_code="XL",
            object_model=record._meta.label,
            object_id=record.pk,
            variable="XLDAT",
            check_code="XLDAT_window_deviation",
            message=f"Suggested protocol deviation {number}",
        ).pk
        record.query_pk = Query.objects.create(  # a query on the record (its steps' URLs)
            subject=record.subject,
            form_code="XL",
            object_model=record._meta.label,
            object_id=record.pk,
            text=f"Matrix query {number}",
            raised_at=record.modified_at,
        ).pk
    records["01"].bulk_job = _bulk_job(people[R.DATA_MANAGER], subject01)
    records["01"].notification_pk = _notification(people[R.DATA_MANAGER])
    return records


def _notification(user: Any) -> int:
    """A notification of ``user`` (another person's is 404 to everyone)."""
    from notifications.models import Kind, Notification

    return Notification.objects.create(
        recipient=user,
        kind=Kind.VISIT_DUE,
        object_key=f"matrix:{user.pk}:{Notification.objects.count()}",
        local_date=dt.date(2026, 1, 5),
        title="Matrix reminder",
        url="/",
    ).pk


def _bulk_job(user: Any, subject: Any) -> tuple[int, int]:
    """A finished casebook ZIP job of ``user`` (others' jobs are 404 but to data managers)
    with one failed casebook: (job id, item id)."""
    import zipfile

    from django.conf import settings
    from django.utils import timezone

    from reports.models import ExportJob, ExportJobItem, ExportKind, JobStatus

    now = timezone.now()
    job = ExportJob.objects.create(
        kind=ExportKind.SITE_ZIP, created_by=user, created_at=now, site=subject.site
    )
    path = settings.VAR_DIR / "exports" / str(job.pk) / "casebooks.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    zipfile.ZipFile(path, "w").close()
    ExportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED, zip_path=str(path), finished_at=now, expires_at=now
    )
    item = ExportJobItem.objects.create(
        job=job, subject=subject, status=JobStatus.FAILED, error="matrix"
    )
    return job.pk, item.pk


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_role_matrix_on_own_site(client, people, subject01, records, role) -> None:
    client.force_login(people[role])
    records["01"].bulk_job = _bulk_job(people[role], subject01)  # the role's own job
    records["01"].notification_pk = _notification(people[role])  # the role's own
    outcomes = {}
    for name, (method, _allowed, _) in MATRIX.items():
        url = reverse(name, kwargs=_kwargs(name, subject01, records["01"]))
        data = {"reason_code": "OTHER", "reason_text": "matrix", "language": "en"}
        response = client.post(url, data) if method == "POST" else client.get(url)
        outcomes[name] = "allowed" if response.status_code in (200, 302) else response.status_code
        if name == "study:logout":
            client.force_login(people[role])
    expected = {
        name: (
            "allowed"
            if role in allowed
            else (404 if is_subject and role == R.ADMINISTRATOR else 403)
        )
        for name, (_, allowed, is_subject) in MATRIX.items()
    }
    assert outcomes == expected


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_another_sites_subject_is_not_found(client, people, subject02, records, role) -> None:
    """Site-bound roles (of site 01) get 404 for a site-02 subject on every subject URL."""
    client.force_login(people[role])
    study_wide = role in (R.STUDY_COORDINATOR, R.DATA_MANAGER, R.MEDICAL_MONITOR)
    for name, (method, _allowed, is_subject) in MATRIX.items():
        if not is_subject:
            continue
        url = reverse(name, kwargs=_kwargs(name, subject02, records["02"]))
        response = (
            client.post(url, {"reason_code": "OTHER", "reason_text": "x"})
            if method == "POST"
            else client.get(url)
        )
        if study_wide:
            assert response.status_code in (200, 302, 403), name
        else:
            assert response.status_code == 404, (name, role)


def test_anonymous_is_sent_to_sign_in_everywhere_but_public(client, subject01, records) -> None:
    for name, (method, _, _) in MATRIX.items():
        if name in PUBLIC or name == "study:logout":
            continue
        url = reverse(name, kwargs=_kwargs(name, subject01, records["01"]))
        response = client.post(url) if method == "POST" else client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("study:login")), name


def test_admin_opens_only_to_the_administrator(client, people) -> None:
    for role, user in people.items():
        client.force_login(user)
        response = client.get(reverse("admin:index"))
        assert (response.status_code == 200) == (role == R.ADMINISTRATOR), role


def test_admin_offers_no_clinical_data(client, people) -> None:
    from django.contrib import admin

    registered = {m._meta.app_label + "." + m.__name__ for m in admin.site._registry}
    assert registered == {
        "auth.User",
        "study.Site",
        "study.AuthEvent",
        "axes.AccessAttempt",  # unlocking a locked account
        "axes.AccessLog",
        "axes.AccessFailureLog",
        "notifications.Digest",  # reminder mails that failed after their last retry
    }
    client.force_login(people[R.ADMINISTRATOR])
    page = client.get(reverse("admin:index")).content.decode()
    assert "Subject" not in page and "Audit" not in page
