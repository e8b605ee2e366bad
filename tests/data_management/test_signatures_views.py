"""PI signatures, the pages: the signing page of a visit and of a casebook, the password as
at sign-in (five wrong ones lock the account), who sees the form and who is refused, the
signing queue, the subject page's panels and the note above a signed form."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from crf.models import Visit
from crf.services import Reason
from data_management import signatures
from data_management.models import Signature, SignatureScope
from study.models import AuthEvent, AuthEventKind, Role, Subject
from study.protocol import SESSION_POLICY
from tests.conftest import PASSWORD
from tests.data_management import test_signatures as services_tests
from tests.factories import save_xx

pytestmark = pytest.mark.django_db

# The fixtures of the service tests: the PIs of sites 01 and 02, SCR, a complete XX form.
pi, pi02 = services_tests.pi, services_tests.pi02
scr, vitals = services_tests.scr, services_tests.vitals
LESIONS = services_tests.LESIONS

WRONG = "not-the-password"


def _visit_url(subject: Subject, code: str = "SCR") -> str:
    return reverse(
        "data_management:sign_visit", kwargs={"subject_pk": subject.pk, "visit_code": code}
    )


def _casebook_url(subject: Subject) -> str:
    return reverse("data_management:sign_casebook", kwargs={"subject_pk": subject.pk})


def _post(client: Any, url: str, subject: Subject, visit: Visit | None, password: str) -> Any:
    return client.post(
        url,
        {
            "password": password,
            "confirm": "on",
            "data_sha256": signatures.data_sha256(subject, visit),
        },
    )


def test_pi_sees_the_summary_the_statement_and_the_password(client, pi, subject01, scr, vitals):
    client.force_login(pi)

    page = client.get(_visit_url(subject01)).content.decode()

    assert "Signature of visit SCR of subject" in page
    assert "XX · Test vitals" in page
    assert "LS: 2" in page  # the lesion rows
    assert signatures.data_sha256(subject01, scr) in page
    assert "I have reviewed the data of visit SCR of subject" in page
    assert 'name="password"' in page and 'autocomplete="current-password"' in page
    assert 'data-testid="sign"' in page


def test_pi_signs_with_the_password(client, pi, subject01, scr, vitals) -> None:
    client.force_login(pi)

    response = _post(client, _visit_url(subject01), subject01, scr, PASSWORD)

    assert response.status_code == 302
    signature = Signature.objects.get()
    assert (signature.signer, signature.scope, signature.visit) == (pi, SignatureScope.VISIT, scr)
    page = client.get(_visit_url(subject01)).content.decode()
    assert "Signed. The signature is recorded below." in page
    assert "Signed by Wei Zhang on" in page and "UTC)" in page
    assert 'data-testid="signature-state">Valid<' in page
    assert 'name="password"' not in page  # signed: nothing more to sign


def test_pi_signs_the_casebook(client, pi, subject01, vitals) -> None:
    client.force_login(pi)

    response = _post(client, _casebook_url(subject01), subject01, None, PASSWORD)

    assert response.status_code == 302
    assert Signature.objects.get().scope == SignatureScope.CASEBOOK


def test_the_confirmation_is_required(client, pi, subject01, scr, vitals) -> None:
    client.force_login(pi)

    response = client.post(
        _visit_url(subject01),
        {"password": PASSWORD, "data_sha256": signatures.data_sha256(subject01, scr)},
    )

    assert response.status_code == 200
    assert "Confirm that you sign the statement." in response.content.decode()
    assert not Signature.objects.exists()


def test_a_wrong_password_is_refused_with_a_clear_error_and_logged(
    client, pi, subject01, scr, vitals
) -> None:
    client.force_login(pi)

    response = _post(client, _visit_url(subject01), subject01, scr, WRONG)

    assert response.status_code == 200
    assert "The password is not correct; nothing was signed." in response.content.decode()
    assert not Signature.objects.exists()
    failures = AuthEvent.objects.filter(kind=AuthEventKind.LOGIN_FAILED)
    assert list(failures.values_list("username", "ip_address")) == [("pi01", "127.0.0.1")]


def test_five_wrong_signing_passwords_lock_the_account_as_at_sign_in(
    client, pi, subject01, scr, vitals
) -> None:
    client.force_login(pi)
    for _ in range(SESSION_POLICY.failed_logins_before_lock - 1):
        assert _post(client, _visit_url(subject01), subject01, scr, WRONG).status_code == 200

    locked = _post(client, _visit_url(subject01), subject01, scr, WRONG)

    assert locked.status_code == 403
    assert "This account is locked for 15 minutes after 5 failed sign-in attempts" in (
        locked.content.decode()
    )
    assert "_auth_user_id" not in client.session  # the session ended
    sign_in = client.post(reverse("study:login"), {"username": "pi01", "password": PASSWORD})
    assert sign_in.status_code == 403
    assert "This account is locked" in sign_in.content.decode()
    assert not Signature.objects.exists()


def test_four_wrong_signing_passwords_do_not_lock(client, pi, subject01, scr, vitals) -> None:
    client.force_login(pi)
    for _ in range(SESSION_POLICY.failed_logins_before_lock - 1):
        _post(client, _visit_url(subject01), subject01, scr, WRONG)

    assert _post(client, _visit_url(subject01), subject01, scr, PASSWORD).status_code == 302


def test_data_changed_since_the_page_was_shown_are_not_signed(
    client, pi, investigator, subject01, scr, vitals
) -> None:
    client.force_login(pi)
    shown = signatures.data_sha256(subject01, scr)
    save_xx(
        investigator, subject01, instance=vitals, systolic=140, reason=Reason("TRANSCRIPTION_ERROR")
    )

    response = client.post(
        _visit_url(subject01), {"password": PASSWORD, "confirm": "on", "data_sha256": shown}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "The data changed since this page was opened; nothing was signed." in page
    assert signatures.data_sha256(subject01, scr) in page  # the data as they are now
    assert not Signature.objects.exists()


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.SITE_COORDINATOR])
def test_a_sub_investigator_or_coordinator_sees_the_page_without_the_form(
    client, people, subject01, scr, vitals, role
) -> None:
    client.force_login(people[role])

    page = client.get(_visit_url(subject01)).content.decode()

    assert "I have reviewed the data of visit SCR" in page
    assert 'name="password"' not in page
    assert 'data-testid="cannot-sign"' in page


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.SITE_COORDINATOR, Role.MONITOR])
def test_a_post_from_anyone_but_the_pi_is_refused(
    client, people, subject01, scr, vitals, role
) -> None:
    client.force_login(people[role])

    response = _post(client, _visit_url(subject01), subject01, scr, PASSWORD)

    assert response.status_code == 403
    assert not Signature.objects.exists()


def test_another_sites_subject_is_not_found(client, pi, subject02) -> None:
    client.force_login(pi)

    assert client.get(_visit_url(subject02)).status_code == 404
    assert client.get(_casebook_url(subject02)).status_code == 404
    assert _post(client, _casebook_url(subject02), subject02, None, PASSWORD).status_code == 404


def test_a_pi_of_another_site_cannot_sign_a_study_wide_roles_subject(
    client, pi02, subject01, scr, vitals
) -> None:
    client.force_login(pi02)

    assert client.get(_visit_url(subject01)).status_code == 404


def test_an_unknown_visit_is_not_found(client, pi, subject01) -> None:
    client.force_login(pi)

    assert client.get(_visit_url(subject01, "C9D1")).status_code == 404


def test_an_invalidated_signature_shows_the_sentence(
    client, pi, investigator, subject01, scr, vitals
) -> None:
    client.force_login(pi)
    _post(client, _visit_url(subject01), subject01, scr, PASSWORD)
    save_xx(
        investigator, subject01, instance=vitals, systolic=131, reason=Reason("TRANSCRIPTION_ERROR")
    )

    page = client.get(_visit_url(subject01)).content.decode()

    assert 'data-testid="signature-state">Invalidated<' in page
    assert "Signature invalidated by the change of SYSBP (Systolic BP) in Test vitals on" in page
    assert "by inv01." in page
    assert 'name="password"' in page  # to sign again


# --- The signing queue -----------------------------------------------------------------------


def test_queue_shows_the_pi_what_to_sign(client, pi, subject01, vitals) -> None:
    services_tests.end_study(subject01)
    client.force_login(pi)

    page = client.get(reverse("data_management:signature_queue")).content.decode()

    assert subject01.label in page
    assert "Sign the casebook" in page
    assert _visit_url(subject01) in page


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.SITE_COORDINATOR, Role.MONITOR])
def test_queue_is_read_only_for_others(client, people, subject01, vitals, role) -> None:
    services_tests.end_study(subject01)
    client.force_login(people[role])

    page = client.get(reverse("data_management:signature_queue")).content.decode()

    assert subject01.label in page
    assert "View the casebook" in page and "Sign the casebook" not in page


def test_queue_shows_only_the_readers_sites(
    client, people, investigator, subject01, subject02, vitals
) -> None:
    save_xx(investigator, subject02, complete=True, lesions=LESIONS)
    client.force_login(people[Role.SITE_COORDINATOR])

    page = client.get(reverse("data_management:signature_queue")).content.decode()

    assert subject01.label in page and subject02.label not in page


def test_queue_page_reads_a_constant_number_of_queries(
    client, pi, investigator, sites, subject01, vitals, django_assert_max_num_queries
) -> None:
    from enrollment.services import register_screening

    client.force_login(pi)
    url = reverse("data_management:signature_queue")
    client.get(url)
    with django_assert_max_num_queries(12) as small:
        client.get(url)
    for _ in range(4):
        other = register_screening(actor=investigator, site=sites["01"])
        save_xx(investigator, other, complete=True, lesions=LESIONS)

    with django_assert_max_num_queries(len(small.captured_queries)):
        page = client.get(url).content.decode()

    assert page.count('data-testid="queue-row"') == 5


# --- The subject page and the form page -------------------------------------------------------


def _subject_page(client: Any, subject: Subject) -> str:
    return client.get(
        reverse("crf:subject_detail", kwargs={"subject_pk": subject.pk})
    ).content.decode()


def test_subject_page_shows_the_pi_the_way_to_sign(client, pi, people, subject01, vitals) -> None:
    client.force_login(pi)
    assert 'data-testid="sign-casebook-link"' in _subject_page(client, subject01)

    client.force_login(people[Role.INVESTIGATOR])  # a sub-investigator: same role, no PI mark
    assert 'data-testid="sign-casebook-link"' not in _subject_page(client, subject01)


def test_subject_page_shows_signatures_and_their_invalidation(
    client, pi, investigator, subject01, scr, vitals
) -> None:
    client.force_login(pi)
    _post(client, _visit_url(subject01), subject01, scr, PASSWORD)
    assert 'data-testid="signature-state">Valid<' in _subject_page(client, subject01)

    save_xx(
        investigator, subject01, instance=vitals, systolic=131, reason=Reason("TRANSCRIPTION_ERROR")
    )

    page = _subject_page(client, subject01)
    assert 'data-testid="signature-state">Invalidated<' in page
    assert "Signature invalidated by the change of SYSBP (Systolic BP)" in page


def test_form_of_a_signed_visit_says_a_change_invalidates(
    client, pi, subject01, scr, vitals
) -> None:
    client.force_login(pi)
    form_url = reverse(
        "crf:visit_form",
        kwargs={"subject_pk": subject01.pk, "visit_code": "SCR", "form_code": "XX"},
    )
    assert 'data-testid="signed-form-panel"' not in client.get(form_url).content.decode()

    _post(client, _visit_url(subject01), subject01, scr, PASSWORD)

    page = client.get(form_url).content.decode()
    assert 'data-testid="signed-form-panel"' in page
    assert "Any change to these data invalidates the signature" in page


def test_pi_home_counts_what_awaits_the_signature(client, pi, people, subject01, vitals) -> None:
    client.force_login(pi)
    page = client.get(reverse("study:home")).content.decode()
    assert 'data-testid="signatures-home-panel"' in page
    assert "0 casebooks · 1 visit" in page

    client.force_login(people[Role.INVESTIGATOR])  # a sub-investigator
    assert 'data-testid="signatures-home-panel"' not in (
        client.get(reverse("study:home")).content.decode()
    )
