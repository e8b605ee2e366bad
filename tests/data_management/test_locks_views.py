"""Locks as people meet them: the locks page, the lock and unlock from a subject's and a
form's page, the Locked banners, a locked form read-only and its POST refused with the lock
named above the form, the other pages that write refusing with the lock's message."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import reverse

from crf import registry
from crf.models import Visit
from crf.services import save_form
from data_management import locks
from data_management.models import Lock, LockLevel
from study.models import Role, Subject
from tests.crf.test_datafile import _upload, counts, document
from tests.crf.test_form_page import post_data, visible_text, xx_url
from tests.crftest.models import DemoVitals

pytestmark = pytest.mark.django_db

VITALS = {"assessed_on": dt.date(2026, 1, 5), "systolic": 120, "diastolic": 80}


@pytest.fixture
def dm(people: dict[Role, Any]) -> Any:
    return people[Role.DATA_MANAGER]


@pytest.fixture
def inv(people: dict[Role, Any]) -> Any:
    return people[Role.INVESTIGATOR]


@pytest.fixture
def vitals(inv: Any, subject01: Subject) -> DemoVitals:
    scr = Visit.objects.get(subject=subject01, code="SCR")
    form = save_form(
        actor=inv, spec=registry.get("XX"), subject=subject01, visit=scr, values=VITALS
    )
    assert isinstance(form, DemoVitals)
    return form


def subject_url(subject: Subject) -> str:
    return reverse("crf:subject_detail", kwargs={"subject_pk": subject.pk})


def lock_form_url(form: DemoVitals) -> str:
    kwargs = {"subject_pk": form.subject_id, "form_code": "XX", "record_pk": form.pk}
    return reverse("data_management:lock_form", kwargs=kwargs)


def text(response: Any) -> str:
    return visible_text(response.content.decode())


# --- The locks page ---------------------------------------------------------------------------


def test_the_locks_page_locks_and_unlocks_the_study_with_a_reason(client, dm, subject01) -> None:
    client.force_login(dm)
    url = reverse("data_management:locks")
    assert "The study is not locked." in text(client.get(url))

    response = client.post(url, {"reason": "database lock for the final analysis"})

    assert response.status_code == 302
    page = text(client.get(url))
    assert "The study is locked: everything is read-only until it is unlocked." in page
    assert "The study was locked by dm on" in page
    assert locks.study_lock() is not None

    client.post(url, {"reason": "a late SAE follow-up"})

    assert locks.study_lock() is None
    page = text(client.get(url))
    assert "Past locks" in page and "a late SAE follow-up" in page


def test_the_locks_page_says_a_missing_reason_at_the_field(client, dm) -> None:
    client.force_login(dm)

    response = client.post(reverse("data_management:locks"), {"reason": " "})

    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'id="error_1_id_reason"[^>]*>\s*<strong>Give the reason.</strong>', html)
    assert not Lock.objects.exists()


def test_the_locks_page_lists_locks_in_force_and_past_with_links(
    client, dm, subject01, vitals
) -> None:
    locks.lock_form(actor=dm, spec=registry.get("XX"), instance=vitals, reason="verified")
    lock = locks.lock_subject(actor=dm, subject=subject01, reason="casebook complete")
    locks.unlock(actor=dm, lock=lock, reason="late lab")
    client.force_login(dm)

    html = client.get(reverse("data_management:locks")).content.decode()

    active = html.split('data-testid="active-locks"')[1].split("</table>")[0]
    past = html.split('data-testid="past-locks"')[1].split("</table>")[0]
    assert "Test vitals (XX) at SCR of subject S01-001" in active
    assert f'href="{xx_url(subject01)}"' in active
    assert "subject S01-001" in past and "late lab" in past and "casebook complete" in past


@pytest.mark.parametrize("role", [r for r in Role if r != Role.DATA_MANAGER])
def test_only_a_data_manager_opens_the_locks_page(client, people, role) -> None:
    client.force_login(people[role])

    assert client.get(reverse("data_management:locks")).status_code == 403


def test_the_locks_page_in_a_constant_number_of_queries(
    client, dm, inv, sites, django_assert_max_num_queries
) -> None:
    from enrollment.services import register_screening

    client.force_login(dm)

    def grow(n: int) -> None:
        for _ in range(n):
            subject = register_screening(actor=inv, site=sites["01"])
            lock = locks.lock_subject(actor=dm, subject=subject, reason="x")
            if subject.pk % 2:
                locks.unlock(actor=dm, lock=lock, reason="y")

    grow(2)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("data_management:locks")).status_code == 200
    grow(10)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("data_management:locks")).status_code == 200


# --- A form's page ----------------------------------------------------------------------------


def test_a_data_manager_locks_a_form_from_its_page_and_everyone_reads_it_locked(
    client, dm, inv, subject01, vitals
) -> None:
    client.force_login(dm)
    page = client.get(xx_url(subject01)).content.decode()
    assert 'data-testid="lock-form"' in page

    response = client.post(lock_form_url(vitals), {"action": "lock", "reason": "verified"})

    assert response.status_code == 302 and response["Location"] == xx_url(subject01)
    page = text(client.get(xx_url(subject01)))
    assert "Locked Test vitals (XX) at SCR of subject S01-001 was locked by dm on" in page
    assert "Unlock this form" in page
    client.force_login(inv)
    html = client.get(xx_url(subject01)).content.decode()
    assert 'data-testid="readonly"' in html and 'class="edc-crf"' not in html
    assert 'data-testid="locked-banner"' in html
    assert "Unlock this form" not in html and "Delete this record" not in html
    assert "your role does not enter data" not in html


def test_a_post_to_a_locked_form_is_refused_with_the_lock_above_the_form(
    client, dm, inv, subject01, vitals
) -> None:
    locks.lock_form(actor=dm, spec=registry.get("XX"), instance=vitals, reason="verified")
    client.force_login(inv)

    response = client.post(xx_url(subject01), post_data(version="1", systolic="150"))

    assert response.status_code == 200
    alert = response.content.decode().split('data-testid="not-saved"')[1].split("</div></div>")[0]
    assert "Locked: Test vitals (XX) at SCR of subject S01-001 was locked by dm" in alert
    vitals.refresh_from_db()
    assert (vitals.systolic, vitals.version) == (120, 1)


def test_adding_a_row_to_a_locked_form_saves_nothing_and_saving_it_is_refused(
    client, dm, inv, subject01, vitals
) -> None:
    locks.lock_visit(actor=dm, visit=vitals.visit, reason="visit cleaned")
    client.force_login(inv)

    added = client.post(
        xx_url(subject01), post_data(version="1", add_row="LS"), HTTP_HX_REQUEST="true"
    )
    saved = client.post(
        xx_url(subject01),
        post_data(**{"version": "1", "ls-TOTAL_FORMS": "1", "ls-0-lesion_id": "L1"}),
    )

    assert added.status_code == 200
    assert saved.status_code == 200
    assert "Locked: visit SCR of subject S01-001" in saved.content.decode()
    assert vitals.lesions.count() == 0
    vitals.refresh_from_db()
    assert vitals.version == 1


def test_deleting_a_locked_form_is_refused_with_the_lock(
    client, dm, inv, subject01, vitals
) -> None:
    locks.lock_subject(actor=dm, subject=subject01, reason="casebook complete")
    client.force_login(inv)
    url = reverse(
        "crf:delete", kwargs={"subject_pk": subject01.pk, "form_code": "XX", "record_pk": vitals.pk}
    )

    response = client.post(
        url, {"version": "1", "reason_code": "ENTERED_IN_ERROR", "reason_text": ""}, follow=True
    )

    assert "Locked: subject S01-001 was locked by dm" in text(response)
    vitals.refresh_from_db()
    assert not vitals.is_deleted


def test_unlocking_the_form_restores_editing(client, dm, inv, subject01, vitals) -> None:
    locks.lock_form(actor=dm, spec=registry.get("XX"), instance=vitals, reason="verified")
    client.force_login(dm)

    response = client.post(lock_form_url(vitals), {"action": "unlock", "reason": "query"})

    assert response.status_code == 302
    client.force_login(inv)
    assert 'class="edc-crf"' in client.get(xx_url(subject01)).content.decode()
    assert client.post(xx_url(subject01), post_data(version="1", systolic="150")).status_code == 302
    vitals.refresh_from_db()
    assert vitals.systolic == 150


def test_a_lock_without_a_reason_is_refused_with_a_message(client, dm, subject01, vitals) -> None:
    client.force_login(dm)

    response = client.post(lock_form_url(vitals), {"action": "lock", "reason": ""}, follow=True)

    assert "Give the reason for locking." in text(response)
    assert not Lock.objects.exists()


# --- A subject's page -------------------------------------------------------------------------


def test_a_data_manager_locks_a_subject_and_a_visit_from_the_subject_page(
    client, dm, inv, subject01
) -> None:
    client.force_login(dm)
    page = client.get(subject_url(subject01)).content.decode()
    assert 'data-testid="lock-subject"' in page and 'data-testid="lock-visit"' in page

    client.post(
        reverse("data_management:lock_visit", kwargs={"subject_pk": subject01.pk}),
        {"action": "lock", "visit": "SCR", "reason": "visit cleaned"},
    )
    client.post(
        reverse("data_management:lock_subject", kwargs={"subject_pk": subject01.pk}),
        {"action": "lock", "reason": "casebook complete"},
    )

    assert sorted(Lock.objects.values_list("level", flat=True)) == [
        LockLevel.SUBJECT,
        LockLevel.VISIT,
    ]
    client.force_login(inv)
    page = text(client.get(subject_url(subject01)))
    assert "Subject S01-001 was locked by dm" in page
    assert "Visit SCR of subject S01-001 was locked by dm" in page
    assert "Reason for unlocking" not in page


def test_the_subject_page_shows_a_study_lock_at_once(client, dm, inv, subject01) -> None:
    """The subject page is kept while the subject's trail does not change; a study lock is
    in the study's chain, so its banner is a live panel."""
    client.force_login(inv)
    assert 'data-testid="locked-banner"' not in client.get(subject_url(subject01)).content.decode()

    locks.lock_study(actor=dm, reason="final analysis")

    assert "The study was locked by dm" in text(client.get(subject_url(subject01)))


def test_unlocking_a_subject_from_its_page(client, dm, subject01) -> None:
    locks.lock_subject(actor=dm, subject=subject01, reason="casebook complete")
    client.force_login(dm)
    url = reverse("data_management:lock_subject", kwargs={"subject_pk": subject01.pk})

    response = client.post(
        url, {"action": "unlock", "reason": "late lab", "next": subject_url(subject01)}
    )

    assert response["Location"] == subject_url(subject01)
    assert not Lock.objects.filter(unlocked_at__isnull=True).exists()


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.SITE_COORDINATOR, Role.MONITOR])
def test_another_sites_subject_lock_urls_are_not_found(client, people, subject02, role) -> None:
    client.force_login(people[role])
    form = save_form(
        actor=people[Role.INVESTIGATOR],
        spec=registry.get("XL"),
        subject=subject02,
        values={"logged_on": dt.date(2026, 1, 5)},
    )
    kwargs = {"subject_pk": subject02.pk}
    for url in (
        reverse("data_management:lock_subject", kwargs=kwargs),
        reverse("data_management:lock_visit", kwargs=kwargs),
        reverse(
            "data_management:lock_form", kwargs={**kwargs, "form_code": "XL", "record_pk": form.pk}
        ),
    ):
        response = client.post(url, {"action": "lock", "reason": "x", "visit": "SCR"})
        assert response.status_code == 404, url
    assert not Lock.objects.exists()


def test_a_non_data_manager_may_not_lock_their_own_sites_subject(client, inv, subject01) -> None:
    client.force_login(inv)
    url = reverse("data_management:lock_subject", kwargs={"subject_pk": subject01.pk})

    assert client.post(url, {"action": "lock", "reason": "x"}).status_code == 403


# --- Other pages that write -------------------------------------------------------------------


def test_pages_that_write_without_a_form_show_the_study_lock(
    client, dm, inv, sites, subject01
) -> None:
    locks.lock_study(actor=dm, reason="final analysis")
    client.force_login(inv)
    expected = "Locked: the study was locked by dm"

    register = client.post(
        reverse("enrollment:register"), {"site": sites["01"].pk, "screening_date": "2026-03-02"}
    )
    missed = client.post(
        reverse("visits:declare_missed", kwargs={"subject_pk": subject01.pk, "visit_code": "SCR"}),
        {"reason": "no show"},
    )
    failure = client.post(
        reverse("enrollment:screen_failure", kwargs={"subject_pk": subject01.pk}),
        {"criteria": ["IN01"]},
        follow=True,
    )

    assert register.status_code == 200 and expected in text(register)
    assert missed.status_code == 200 and expected in text(missed)
    assert expected in text(failure)
    assert Subject.objects.count() == 1
    assert not Visit.objects.filter(missed=True).exists()
    client.force_login(dm)
    target = client.post(reverse("enrollment:target"), {"target": "99", "reason": "more"})
    assert target.status_code == 200 and expected in text(target)


def test_the_import_preview_shows_the_study_lock_as_an_error(
    client, dm, sites, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    locks.lock_study(actor=dm, reason="final analysis")
    client.force_login(dm)
    before = counts()

    response = _upload(client, document())

    assert "Locked: the study was locked by dm" in text(response)
    assert counts() == before


def test_the_export_download_works_under_a_study_lock(client, dm, subject01) -> None:
    locks.lock_study(actor=dm, reason="final analysis")
    client.force_login(dm)

    response = client.get(reverse("crf:data_export"))

    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"S01-001" in body


# --- Home and menu ----------------------------------------------------------------------------


def test_home_pages_show_the_study_lock_and_the_data_manager_the_locks(
    client, dm, inv, subject01
) -> None:
    locks.lock_subject(actor=dm, subject=subject01, reason="done")
    client.force_login(dm)
    home = client.get(reverse("study:home")).content.decode()
    assert "1 lock in force" in home
    assert f'href="{reverse("data_management:locks")}"' in home
    client.force_login(inv)
    assert 'data-testid="study-locked"' not in client.get(reverse("study:home")).content.decode()

    locks.lock_study(actor=dm, reason="final analysis")

    assert "The study is locked" in text(client.get(reverse("study:home")))


def test_the_locks_menu_entry_is_for_data_managers(client, dm, inv) -> None:
    url = reverse("data_management:locks")
    client.force_login(dm)
    assert f'href="{url}"' in client.get(reverse("study:home")).content.decode()
    client.force_login(inv)
    assert f'href="{url}"' not in client.get(reverse("study:home")).content.decode()
